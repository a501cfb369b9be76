// Safetensors files as torch tensors: memory-mapped reading, atomic writing.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "edm/io/safetensors_format.h"

namespace edm {

class TensorFile {
 public:
  // Maps the file and validates its header; throws edm::Error naming the file.
  explicit TensorFile(const std::string& path);

  bool has(const std::string& name) const { return header_.find(name) != nullptr; }
  // A CPU tensor viewing the mapped file (copied only when misaligned); it
  // keeps the mapping alive. Throws edm::Error naming a missing tensor.
  torch::Tensor get(const std::string& name) const;
  std::vector<std::string> names() const;
  std::map<std::string, torch::Tensor> all() const;
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  std::string metadata(const std::string& key, const std::string& fallback) const;
  const std::string& path() const { return path_; }

 private:
  struct Mapping;
  std::string path_;
  std::shared_ptr<Mapping> map_;
  safetensors::Header header_;
};

// Writes tensors (any device, made contiguous on the CPU) atomically.
void save_tensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                  const std::map<std::string, std::string>& metadata = {});

torch::ScalarType to_scalar_type(safetensors::DType d);
safetensors::DType to_dtype(torch::ScalarType t);  // throws edm::Error if unsupported

}  // namespace edm
