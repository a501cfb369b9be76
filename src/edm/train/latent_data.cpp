#include "edm/train/latent_data.h"

#include <filesystem>
#include <iostream>

#include "edm/core/error.h"
#include "edm/core/progress.h"
#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "edm/io/sha256.h"
#include "edm/model/autoencoder_file.h"

namespace edm {

namespace fs = std::filesystem;

namespace {

void check_fits(const networks::AutoencoderKLImpl& ae, const Dataset& pixels, const std::string& path) {
  const int64_t f = ae.options().factor();
  if (ae.image_channels() != pixels.channels())
    throw Error("--latent " + path + " encodes images of " + std::to_string(ae.image_channels()) +
                " channels, the data has " + std::to_string(pixels.channels()));
  if (pixels.resolution() % f)
    throw Error("--latent " + path + " downsamples by " + std::to_string(f) + ", which does not divide the data's " +
                std::to_string(pixels.resolution()) + " px");
}

// The cached latents when the file is whole and of the expected shape.
torch::Tensor read_cache(const std::string& path, const std::vector<int64_t>& shape) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return {};
  try {
    auto z = TensorFile(path).get("latents").clone();
    if (z.sizes().vec() == shape && z.scalar_type() == torch::kFloat32 && torch::isfinite(z).all().item<bool>())
      return z;
  } catch (const Error&) {
  }
  std::cerr << "latent cache " << path << " is unreadable or stale: encoding again\n";
  return {};
}

torch::Tensor encode_all(networks::AutoencoderKLImpl& ae, const torch::Tensor& images, torch::Device device,
                         bool verbose) {
  torch::NoGradGuard no_grad;
  constexpr int64_t chunk = 256;
  const int64_t n = images.size(0);
  Progress progress("encoding", n, verbose);
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < n; i += chunk) {
    auto x = from_uint8(images.slice(0, i, std::min(n, i + chunk)).to(device));
    parts.push_back(ae.encode(x).mean.to(torch::kCPU));
    progress.update(std::min(n, i + chunk));
  }
  progress.finish();
  return torch::cat(parts);
}

}  // namespace

EncodedData encode_dataset(const Dataset& pixels, const std::string& autoencoder, const std::string& cache_dir,
                           torch::Device device, bool write, bool verbose) {
  auto ae = load_autoencoder(autoencoder, device);
  check_fits(*ae, pixels, autoencoder);
  EncodedData out{{}, sha256_file_hex(autoencoder)};
  const auto images = pixels.images.contiguous();
  const auto data_sha = sha256_hex(std::string(static_cast<const char*>(images.data_ptr()), images.nbytes()));
  const auto cache =
      (fs::path(cache_dir) / (out.autoencoder_sha256.substr(0, 16) + "-" + data_sha.substr(0, 16) + ".safetensors"))
          .string();
  const int64_t r = pixels.resolution() / ae->options().factor();
  out.latents = read_cache(cache, {pixels.size(), ae->options().latent_channels, r, r});
  if (out.latents.defined()) {
    if (verbose) std::cout << "latents      read from " << cache << "\n";
    return out;
  }
  out.latents = encode_all(*ae, images, device, verbose);
  if (write) {
    std::error_code ec;
    fs::create_directories(cache_dir, ec);
    if (ec) throw Error("cannot create the latent cache " + cache_dir + ": " + ec.message());
    save_tensors(cache, {{"latents", out.latents}},
                 {{"autoencoder_sha256", out.autoencoder_sha256}, {"images_sha256", data_sha}});
    if (verbose) std::cout << "latents      encoded and cached in " << cache << "\n";
  }
  return out;
}

}  // namespace edm
