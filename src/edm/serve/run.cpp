#include "edm/serve/run.h"

#include "edm/core/error.h"
#include "edm/core/forwarding_denoiser.h"
#include "edm/io/image.h"
#include "edm/sampling/generation_record.h"
#include "edm/sampling/guidance.h"

namespace edm::serve {

namespace {

// Passes every call through unchanged and keeps the last answer.
class WatchedDenoiser : public ForwardingDenoiser<Denoiser> {
 public:
  using ForwardingDenoiser::ForwardingDenoiser;
  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels = {},
                        const torch::Tensor& augment_labels = {}) override {
    last = inner_->denoise(x, sigma, class_labels, augment_labels);
    last_sigma = sigma.flatten()[0].item<double>();
    ++nfe;
    return last;
  }

  torch::Tensor last;
  double last_sigma = 0;
  int64_t nfe = 0;
};

struct Cancelled {};

nlohmann::json pngs(const torch::Tensor& images) {
  auto u8 = to_uint8_nhwc(images);
  nlohmann::json out = nlohmann::json::array();
  for (int64_t i = 0; i < u8.size(0); ++i) out.push_back(base64(encode_png(u8[i])));
  return out;
}

}  // namespace

std::string base64(const std::string& bytes) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = uint8_t(bytes[i]) << 16 | uint8_t(bytes[i + 1]) << 8 | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += a[(v >> s) & 63];
  }
  if (i < bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16 | (i + 1 < bytes.size() ? uint8_t(bytes[i + 1]) << 8 : 0);
    out += a[(v >> 18) & 63];
    out += a[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? a[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void run_generation(Model& m, torch::Device device, const GenerateRequest& r, const Emit& emit) {
  check_class_idx(*m.net, r.gen.class_idx);
  std::shared_ptr<Denoiser> net = m.net;
  if (r.guidance) {
    check_guidance(*m.net, *r.guidance);
    net = std::make_shared<GuidedDenoiser>(net, *r.guidance);
  }
  auto watched = std::make_shared<WatchedDenoiser>(net);
  const int64_t steps = r.gen.sampler_options.num_steps;
  torch::Tensor images;
  try {
    images = generate_batch(*watched, r.seeds, r.gen, {}, [&](int64_t i) {
               if (!r.stream || !watched->last.defined()) return;
               nlohmann::json e = {{"type", "step"},      {"step", i},
                                   {"steps", steps},      {"sigma", watched->last_sigma},
                                   {"nfe", watched->nfe}, {"images", pngs(watched->last.cpu())}};
               if (!emit(e)) throw Cancelled{};
             }).cpu();
  } catch (const Cancelled&) {
    return;
  }
  const auto record = model_record(m.name, m.sha256, r.gen, r.guidance, device);
  auto u8 = to_uint8_nhwc(images);
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < r.seeds.size(); ++i)
    out.push_back({{"seed", r.seeds[i]}, {"png", base64(png_with_record(u8[i], record, r.seeds[i], r.seeds))}});
  emit({{"type", "done"}, {"sampler", record.gen.sampler}, {"nfe", watched->nfe}, {"images", out}});
}

}  // namespace edm::serve
