#include "edm/model/upsampler.h"

#include "edm/core/error.h"
#include "edm/core/forwarding_denoiser.h"
#include "edm/core/rng.h"
#include "edm/diffusion/cascade.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"

namespace edm {

namespace {

// D of the upsampler with its condition set for each evaluation (the
// network is shared by every batch) and the level as augment label.
class ConditionedDenoiser : public ForwardingDenoiser<Denoiser> {
 public:
  ConditionedDenoiser(std::shared_ptr<Denoiser> d, std::shared_ptr<networks::PrecondImpl> net, torch::Tensor condition,
                      torch::Tensor label)
      : ForwardingDenoiser(std::move(d)), net_(std::move(net)), condition_(condition), label_(label) {}
  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels,
                        const torch::Tensor&) override {
    net_->set_condition(condition_);
    auto D = inner_->denoise(x, sigma, class_labels, label_);
    net_->set_condition({});
    return D;
  }

 private:
  std::shared_ptr<networks::PrecondImpl> net_;
  torch::Tensor condition_, label_;
};

}  // namespace

Upsampler::Upsampler(std::shared_ptr<networks::PrecondImpl> net, torch::Device device)
    : net_(std::move(net)), denoiser_(networks::as_denoiser(net_, device)) {}

std::shared_ptr<Denoiser> Upsampler::conditioned_on(const torch::Tensor& low, double sigma_aug,
                                                    const torch::Tensor& n) {
  const auto device = denoiser_->device();
  auto level = torch::full({low.size(0)}, sigma_aug, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  auto condition = cascade::condition(low.to(device, torch::kFloat32), net_->img_resolution(), level, n.to(device));
  return std::make_shared<ConditionedDenoiser>(denoiser_, net_, condition, cascade::augment_label(level));
}

torch::Tensor upsample_batch(Upsampler& up, const torch::Tensor& low, const std::vector<uint64_t>& seeds,
                             const GenerateOptions& o, double sigma_aug, const StepFn& on_step) {
  std::vector<uint64_t> aug_seeds;
  for (auto s : seeds) aug_seeds.push_back((s + kCondAugSeedOffset) % (uint64_t(1) << 32));
  SeedBatch rnd(aug_seeds);
  const int64_t R = up.resolution();
  auto n = rnd.randn({up.img_channels(), R, R}, torch::kFloat32, torch::kCPU);
  auto net = up.conditioned_on(low, sigma_aug, n);
  GenerateOptions unconditional = o;  // the upsampler takes no class
  unconditional.class_idx.reset();
  return generate_batch(*net, seeds, unconditional, {}, on_step);
}

std::shared_ptr<Upsampler> load_upsampler(const std::string& path, torch::Device device,
                                          networks::Precision precision) {
  TensorFile file(path);
  auto config = read_model_config(file);
  if (!config.contains("upsampler")) throw Error(path + " is not an upsampler (edm train --cascade-from R makes one)");
  auto net = load_precond(file, config, device);
  net->set_precision(precision);
  return std::make_shared<Upsampler>(std::move(net), device);
}

void check_upsampler_fits(const Upsampler& up, const std::vector<int64_t>& base, const std::string& up_path,
                          const std::string& base_path) {
  if (base.size() != 3 || base[1] != up.low_resolution() || base[0] != up.img_channels())
    throw UsageError("--upsampler " + up_path + " enlarges " + std::to_string(up.img_channels()) + "x" +
                     std::to_string(up.low_resolution()) + "x" + std::to_string(up.low_resolution()) +
                     " images; --net " + base_path + " makes " + c10::str(c10::IntArrayRef(base)));
}

}  // namespace edm
