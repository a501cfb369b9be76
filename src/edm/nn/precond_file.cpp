// Model files: the state_dict under the reference's key names plus the
// edm.config, so that loading is a straight name-to-tensor map.
#include <set>

#include "edm/core/error.h"
#include "edm/nn/precond.h"

namespace edm::nn {

namespace {

std::string shape_str(torch::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

std::shared_ptr<PrecondImpl> load_precond(const TensorFile& file, const nlohmann::json& config, torch::Device device) {
  std::shared_ptr<PrecondImpl> net;
  try {
    net = make_precond(config, Build{device, false});  // every tensor comes from the file
  } catch (const Error& e) {
    throw Error(file.path() + ": " + e.what());
  }
  std::set<std::string> expected;
  torch::NoGradGuard no_grad;
  auto fill = [&](const std::string& name, torch::Tensor& target) {
    expected.insert(name);
    if (!file.has(name)) throw Error(file.path() + ": missing tensor '" + name + "'");
    auto t = file.get(name);
    if (t.sizes() != target.sizes())
      throw Error(file.path() + ": tensor '" + name + "' has shape " + shape_str(t.sizes()) + ", expected " +
                  shape_str(target.sizes()));
    if (!t.is_floating_point()) throw Error(file.path() + ": tensor '" + name + "' is not floating point");
    target.copy_(t);
  };
  for (auto& p : net->named_parameters()) fill(p.key(), p.value());
  for (auto& b : net->named_buffers()) fill(b.key(), b.value());
  for (const auto& name : file.names())
    if (!expected.count(name)) throw Error(file.path() + ": unexpected tensor '" + name + "'");
  return net;
}

void save_precond(const std::string& path, PrecondImpl& net) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& p : net.named_parameters()) tensors[p.key()] = p.value().detach();
  for (const auto& b : net.named_buffers()) tensors[b.key()] = b.value().detach();
  save_tensors(path, tensors, {{"edm.config", net.config().dump()}, {"edm.format", "edm-model-v1"}});
}

}  // namespace edm::nn
