// How layers create their parameters: the reference's init modes (xavier or
// kaiming, uniform or normal, scaled by init_weight / init_bias) and where the
// tensors live. Loading and counting skip the random draws.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace edm::networks {

enum class InitMode { XavierUniform, XavierNormal, KaimingUniform, KaimingNormal };

// "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal".
InitMode parse_init_mode(const std::string& name);

struct Init {
  InitMode mode = InitMode::KaimingNormal;
  double weight = 1;  // init_weight: scale of the weight draw
  double bias = 0;    // init_bias: scale of the bias draw
};

// Where parameters are made. initialise=false leaves them uninitialised (they
// are about to be overwritten by a model file); the meta device allocates
// nothing at all (parameter counts of huge networks).
// max_tensors / max_values (0: no bound) are the tensor table of the file the
// network is about to be loaded from: a configuration needing more tensors
// than the file holds is refused before a module is made.
struct Build {
  torch::Device device = torch::kCPU;
  bool initialise = true;
  int64_t max_tensors = 0, max_values = 0;
};

// A float32 tensor of `shape` drawn as the mode says, times `scale`.
torch::Tensor weight_init(const std::vector<int64_t>& shape, InitMode mode, int64_t fan_in, int64_t fan_out,
                          double scale, const Build& build);

}  // namespace edm::networks
