// DDPM++ and NCSN++ (Song et al., "Score-Based Generative Modeling through
// Stochastic Differential Equations") as the reference reimplements them.
#pragma once
#include <string>
#include <vector>

#include "edm/nn/config_reader.h"
#include "edm/nn/embedding.h"
#include "edm/nn/network.h"
#include "edm/nn/unet_block.h"
#include "edm/nn/unet_options.h"

namespace edm::networks {

struct SongUNetOptions : UNetOptions {        // the shared defaults are DDPM++'s
  std::string embedding_type = "positional";  // "positional" (DDPM++) or "fourier" (NCSN++)
  int64_t channel_mult_noise = 1;             // 1 (DDPM++) or 2 (NCSN++)
  std::string encoder_type = "standard";      // "standard", "skip" or "residual" (NCSN++)
  std::string decoder_type = "standard";      // "standard" or "skip"
  std::vector<double> resample_filter{1, 1};  // [1,1] (DDPM++) or [1,3,3,1] (NCSN++)

  static SongUNetOptions read(ConfigReader& r);
};

class SongUNetImpl : public NetworkImpl {
 public:
  SongUNetImpl(const NetworkShape& shape, const SongUNetOptions& options, const Build& build);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise_labels, const torch::Tensor& class_labels,
                        const torch::Tensor& augment_labels) override;

 private:
  enum class Kind { Conv, Block, AuxDown, AuxSkip, AuxResidual, AuxUp, AuxNorm, AuxConv };
  struct Stage {
    Kind kind;
    std::shared_ptr<torch::nn::Module> module;
  };
  void add(std::vector<Stage>& list, torch::nn::Module& dict, const std::string& name, Kind kind,
           std::shared_ptr<torch::nn::Module> module);

  SongUNetOptions options_;
  PositionalEmbedding map_positional_{nullptr};  // one of the two is `map_noise`
  FourierEmbedding map_fourier_{nullptr};
  Linear map_label_{nullptr}, map_augment_{nullptr}, map_layer0_{nullptr}, map_layer1_{nullptr};
  std::vector<Stage> enc_, dec_;
};

}  // namespace edm::networks
