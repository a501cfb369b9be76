// Training data as the reference lays it out: a folder or zip of PNG images
// with an optional dataset.json of labels, or the built-in Fashion-MNIST.
// Everything is held in memory as uint8 [N,C,H,W].
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace edm {

struct Dataset {
  std::string name;
  torch::Tensor images;  // uint8 [N,C,H,W]; float32 normalised latents for edm train --latent
  torch::Tensor labels;  // int64 [N], undefined when the data set has none
  int64_t label_dim = 0;
  std::vector<std::string> class_names;  // empty when unknown

  int64_t size() const { return images.size(0); }
  int64_t channels() const { return images.size(1); }
  int64_t resolution() const { return images.size(2); }
};

// "fashion-mnist" (training split; "fashion-mnist:test" the test split), a
// directory or a .zip. Throws edm::Error naming what is wrong: missing or
// empty data, an unreadable image, images of different sizes, bad dataset.json.
Dataset load_dataset(const std::string& spec);

// Doubles the data set with mirrored copies (--xflip).
Dataset with_xflip(const Dataset& d);

// The standard deviation of all the data's values about their mean, in the
// networks' units (pixels as from_uint8 scales them to [-1, 1]): EDM's
// sigma_data. Summed in float64, a chunk of images at a time.
double data_std(const Dataset& d);

}  // namespace edm
