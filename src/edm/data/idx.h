// IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed.
#pragma once
#include <torch/torch.h>

#include <string>

namespace edm {

// Reads an IDX file of unsigned bytes: images [N,H,W] or labels [N] as uint8.
// Throws edm::Error naming the file if it is missing, truncated or not IDX.
torch::Tensor read_idx(const std::string& path);

// Where Debian's dataset-fashion-mnist installs the data set.
std::string fashion_mnist_dir();

// Fashion-MNIST split "train" or "t10k": images uint8 [N,1,28,28], labels int64 [N].
struct LabelledImages {
  torch::Tensor images, labels;
};
LabelledImages load_fashion_mnist(const std::string& split, const std::string& dir = fashion_mnist_dir());

}  // namespace edm
