// Placeholder until the networks land; removed with them.
#include "edm/core/error.h"
#include "edm/nn/precond.h"

namespace edm::nn {

std::shared_ptr<Denoiser> load_denoiser(const TensorFile& file, const nlohmann::json&, torch::Device) {
  throw Error(file.path() + ": networks are not available in this build yet");
}

}  // namespace edm::nn
