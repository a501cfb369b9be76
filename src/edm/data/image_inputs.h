// The sources the reference's dataset_tool.py converts, one image at a time:
// a folder or zip of images (labels from dataset.json, else from top-level
// folder names), MNIST-style IDX files (padded to 32x32 as the reference
// does), the built-in Fashion-MNIST, and CIFAR-10's binary archive.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>

namespace edm {

struct InputImage {
  torch::Tensor pixels;          // uint8 [H,W,C], C as stored (1 grey, 3 RGB, 2/4 with alpha)
  std::optional<int64_t> label;  // none when the source has no label for it
  std::string name;              // where it came from, for errors: "source/file.png"
};

class ImageInput {
 public:
  virtual ~ImageInput() = default;
  virtual int64_t size() const = 0;
  virtual InputImage get(int64_t i) = 0;  // 0 <= i < size(), in the reference's order
};

// "fashion-mnist" (":test" for the test split), a directory, a .zip, an IDX
// images file (*-images-idx3-ubyte[.gz], labels from the matching
// *-labels-idx1-ubyte[.gz]) or cifar-10-binary.tar.gz. Throws edm::Error
// naming the source when it is missing or of no known kind.
std::unique_ptr<ImageInput> open_image_input(const std::string& source);

// Labelled images held in memory, uint8 [N,C,H,W] and int64 [N].
std::unique_ptr<ImageInput> tensor_input(torch::Tensor nchw, torch::Tensor labels, std::string name);

}  // namespace edm
