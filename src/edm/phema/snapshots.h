// Post-hoc EMA snapshot files: model files named
// <prefix>-<kimg:07d>-<std:.3f>.safetensors whose metadata also holds the
// training time ("edm.nimg") and the EMA's std ("edm.std"), and the
// reconstruction of new model files from a run directory of them.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace edm {

struct PhemaSnapshot {
  std::string path;
  int64_t nimg = 0;
  double std = 0;
};

// "<dir>/<prefix>-<nimg/1000:07d>-<std:.3f>.safetensors".
std::string phema_snapshot_path(const std::string& dir, const std::string& prefix, int64_t nimg, double std);

// Writes one EMA as a model file with its nimg and std, atomically.
void save_phema_snapshot(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                         const nlohmann::json& config, int64_t nimg, double std);

// The network-snapshot-<kimg>-<std>.safetensors files of `dir`, sorted by
// (nimg, std). nimg and std come from the metadata, or from the name where
// the metadata lacks them (nimg by kimg_to_nimg). Throws edm::Error if the
// directory cannot be read.
std::vector<PhemaSnapshot> list_phema_snapshots(const std::string& dir);

// The inputs a reconstruction at out_nimg uses (0 < nimg <= out_nimg) and
// that time (default: the last snapshot). Throws edm::Error when there are no
// snapshots and edm::UsageError when out_nimg is before the first or matches
// no snapshot.
std::vector<PhemaSnapshot> select_phema_inputs(const std::vector<PhemaSnapshot>& all, std::optional<int64_t>& out_nimg);

// Reconstructs one model file per std (sorted, duplicates dropped) at
// out_nimg from `inputs` into outdir as phema-<kimg:07d>-<std:.3f>.safetensors
// (the metadata of the last input, nimg and std updated). Returns the paths.
std::vector<std::string> write_phema_reconstructions(const std::vector<PhemaSnapshot>& inputs,
                                                     std::vector<double> out_std, int64_t out_nimg,
                                                     const std::string& outdir);

}  // namespace edm
