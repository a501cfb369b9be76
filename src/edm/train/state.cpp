#include "edm/train/state.h"

#include "edm/core/error.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"

namespace edm {

namespace {
constexpr int64_t kMaxStateNimg = int64_t(1e15);  // --duration's bound, 1e9 Mimg
}  // namespace

void save_train_state(const std::string& path, networks::PrecondImpl& net, networks::PrecondImpl& ema, const Adam& adam,
                      const TrainCounters& c, const std::string& arch) {
  std::map<std::string, torch::Tensor> t;
  for (auto& [name, v] : state_dict(net)) t["net." + name] = v.cpu();
  for (auto& [name, v] : state_dict(ema)) t["ema." + name] = v.cpu();
  for (auto& [name, v] : adam.state()) t["adam." + name] = v.detach().cpu();
  nlohmann::json info = {{"cur_nimg", c.cur_nimg}, {"cur_tick", c.cur_tick}, {"adam_steps", c.adam_steps},
                         {"seed", c.seed},         {"arch", arch},           {"adam", adam.hyperparameters()}};
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
    s.arch = info.value("arch", "");
    s.adam = info.value("adam", nlohmann::json());
    s.config = nlohmann::json::parse(f.metadata("edm.config", ""));
  } catch (const nlohmann::json::exception&) {
    throw Error(path + ": training state has corrupt metadata");
  }
  const auto& c = s.counters;
  // As --duration: image counts far beyond any run would overflow the step arithmetic.
  if (c.cur_nimg < 0 || c.cur_nimg > kMaxStateNimg || c.cur_tick < 0 || c.cur_tick > kMaxStateNimg ||
      c.adam_steps < 0 || c.adam_steps > kMaxStateNimg)
    throw Error(path + ": training state counters out of range (cur_nimg " + std::to_string(c.cur_nimg) +
                ", cur_tick " + std::to_string(c.cur_tick) + ", adam_steps " + std::to_string(c.adam_steps) + ")");
  std::map<std::string, torch::Tensor> net;
  for (const auto& name : f.names())
    if (name.rfind("net.", 0) == 0) net[name.substr(4)] = f.get(name);
  check_config_matches(s.config, net, path + " (net)");  // before a network of its config is built
  return s;
}

void load_train_state(const std::string& path, networks::PrecondImpl& net, networks::PrecondImpl& ema, Adam& adam) {
  TensorFile f(path);
  auto info = read_train_state_info(path);
  // Split by prefix; the model-file loader checks each network's tensors by name and shape.
  std::map<std::string, std::map<std::string, torch::Tensor>> parts;
  for (const auto& name : f.names()) {
    const auto dot = name.find('.');
    const auto prefix = dot == std::string::npos ? name : name.substr(0, dot);
    if (prefix != "net" && prefix != "ema" && prefix != "adam")
      throw Error(path + ": unexpected tensor " + name + " in training state");
    parts[prefix][name.substr(dot + 1)] = f.get(name);
  }
  load_state_dict(net, parts["net"], path + " (net)");
  load_state_dict(ema, parts["ema"], path + " (ema)");
  if (!info.adam.is_null() && info.adam != adam.hyperparameters())
    throw Error(path + ": Adam " + info.adam.dump() + " differs from this run's " + adam.hyperparameters().dump());
  adam.load_state(parts["adam"], info.counters.adam_steps);
}
}  // namespace edm
