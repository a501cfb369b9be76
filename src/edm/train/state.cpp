#include "edm/train/state.h"

#include "edm/core/error.h"
#include "edm/io/safetensors.h"

namespace edm {

std::vector<std::pair<std::string, torch::Tensor>> named_tensors(torch::nn::Module& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : m.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : m.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

void save_train_state(const std::string& path, nn::PrecondImpl& net, nn::PrecondImpl& ema, const Adam& adam,
                      const TrainCounters& c) {
  std::map<std::string, torch::Tensor> t;
  for (auto& [name, v] : named_tensors(net)) t["net." + name] = v.detach().cpu();
  for (auto& [name, v] : named_tensors(ema)) t["ema." + name] = v.detach().cpu();
  for (auto& [name, v] : adam.state()) t["adam." + name] = v.detach().cpu();
  nlohmann::json info = {
      {"cur_nimg", c.cur_nimg}, {"cur_tick", c.cur_tick}, {"adam_steps", c.adam_steps}, {"seed", c.seed}};
  save_tensors(path, t,
               {{"edm.format", "edm-train-state-v1"}, {"edm.config", net.config().dump()}, {"edm.train", info.dump()}});
}

TrainStateInfo read_train_state_info(const std::string& path) {
  TensorFile f(path);
  if (f.metadata("edm.format", "") != "edm-train-state-v1")
    throw Error(path + ": not a training state (use a training-state-*.safetensors file)");
  TrainStateInfo s;
  try {
    auto info = nlohmann::json::parse(f.metadata("edm.train", ""));
    s.counters.cur_nimg = info.at("cur_nimg");
    s.counters.cur_tick = info.at("cur_tick");
    s.counters.adam_steps = info.at("adam_steps");
    s.counters.seed = info.at("seed");
    s.config = nlohmann::json::parse(f.metadata("edm.config", ""));
  } catch (const nlohmann::json::exception&) {
    throw Error(path + ": training state has corrupt metadata");
  }
  return s;
}

void load_train_state(const std::string& path, nn::PrecondImpl& net, nn::PrecondImpl& ema, Adam& adam) {
  TensorFile f(path);
  auto info = read_train_state_info(path);
  std::set<std::string> used;
  auto load = [&](const std::string& prefix, torch::nn::Module& m) {
    torch::NoGradGuard no_grad;
    for (auto& [name, v] : named_tensors(m)) {
      const auto key = prefix + name;
      if (!f.has(key)) throw Error(path + ": training state has no tensor " + key);
      auto t = f.get(key);
      if (!t.sizes().equals(v.sizes()))
        throw Error(path + ": tensor " + key + " has shape " + c10::str(t.sizes()) + ", the network expects " +
                    c10::str(v.sizes()));
      v.copy_(t);
      used.insert(key);
    }
  };
  load("net.", net);
  load("ema.", ema);
  std::map<std::string, torch::Tensor> moments;
  for (const auto& name : f.names())
    if (name.rfind("adam.", 0) == 0) {
      moments[name.substr(5)] = f.get(name);
      used.insert(name);
    }
  adam.load_state(moments, info.counters.adam_steps);
  for (const auto& name : f.names())
    if (!used.count(name)) throw Error(path + ": unexpected tensor " + name + " in training state");
}

}  // namespace edm
