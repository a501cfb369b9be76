#include "edm/train/phema_tracker.h"

#include <filesystem>

#include "edm/core/error.h"
#include "edm/io/safetensors.h"
#include "edm/phema/snapshots.h"

namespace edm {

namespace {

NamedTensors named(const torch::OrderedDict<std::string, torch::Tensor>& d) {
  NamedTensors out;
  for (const auto& kv : d) out.emplace_back(kv.key(), kv.value());
  return out;
}

}  // namespace

PhemaTracker::PhemaTracker(networks::PrecondImpl& net, std::vector<double> stds)
    : ema_(named(net.named_parameters()), named(net.named_buffers()), std::move(stds)) {}

void PhemaTracker::save_snapshots(const std::string& dir, int64_t nimg, const nlohmann::json& config) const {
  for (size_t i = 0; i < ema_.stds().size(); ++i) {
    const double s = ema_.stds()[i];
    save_phema_snapshot(phema_snapshot_path(dir, "network-snapshot", nimg, s), ema_.get(i), config, nimg, s);
  }
}

std::string PhemaTracker::state_path(const std::string& train_state_path) {
  auto p = std::filesystem::path(train_state_path);
  return (p.parent_path() / (p.stem().string() + ".phema.safetensors")).string();
}

void PhemaTracker::save_state(const std::string& train_state_path) const {
  std::map<std::string, torch::Tensor> all;
  for (size_t i = 0; i < ema_.stds().size(); ++i)
    for (const auto& [name, t] : ema_.averaged(i)) all["ema" + std::to_string(i) + "." + name] = t;
  save_tensors(state_path(train_state_path), all, {{"edm.ema_std", nlohmann::json(ema_.stds()).dump()}});
}

void PhemaTracker::load_state(const std::string& train_state_path) {
  const auto path = state_path(train_state_path);
  if (!std::filesystem::exists(path)) throw Error("--ema-std: no post-hoc EMA state " + path + " to resume from");
  TensorFile f(path);
  if (nlohmann::json::parse(f.metadata("edm.ema_std", "[]")) != nlohmann::json(ema_.stds()))
    throw Error(path + ": tracks EMA stds " + f.metadata("edm.ema_std", "[]") + ", not those of --ema-std");
  for (size_t i = 0; i < ema_.stds().size(); ++i) {
    const std::string prefix = "ema" + std::to_string(i) + ".";
    std::map<std::string, torch::Tensor> mine;
    for (const auto& [name, t] : f.all())
      if (name.rfind(prefix, 0) == 0) mine[name.substr(prefix.size())] = t;
    ema_.load(i, mine, path);
  }
}

}  // namespace edm
