#include "edm/phema/snapshots.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <set>

#include "edm/core/error.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/nn/precond.h"
#include "edm/phema/power_function.h"
#include "edm/phema/reconstruct.h"

namespace edm {

namespace fs = std::filesystem;

std::string phema_snapshot_path(const std::string& dir, const std::string& prefix, int64_t nimg, double std) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "-%07lld-%.3f.safetensors", static_cast<long long>(nimg / 1000), std);
  return (fs::path(dir) / (prefix + buf)).string();
}

void save_phema_snapshot(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                         const nlohmann::json& config, int64_t nimg, double std) {
  save_tensors(path, tensors,
               {{"edm.config", config.dump()},
                {"edm.format", model_format(config)},
                {"edm.nimg", std::to_string(nimg)},
                {"edm.std", nlohmann::json(std).dump()}});
}

namespace {

PhemaSnapshot read_snapshot(const fs::path& path, int64_t kimg, double name_std) {
  TensorFile f(path.string());
  const auto& meta = f.metadata();
  PhemaSnapshot s{path.string(), 0, name_std};
  try {
    s.nimg = meta.count("edm.nimg") ? std::stoll(meta.at("edm.nimg")) : kimg_to_nimg(kimg);
    if (meta.count("edm.std")) s.std = std::stod(meta.at("edm.std"));
  } catch (const std::logic_error&) {
    throw Error(s.path + ": edm.nimg / edm.std metadata are not numbers");
  }
  return s;
}

}  // namespace

std::vector<PhemaSnapshot> list_phema_snapshots(const std::string& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw Error("cannot read snapshot directory " + dir + ": " + ec.message());
  const std::regex name(R"(network-snapshot-(\d+)-(\d+\.\d+)\.safetensors)");
  std::vector<PhemaSnapshot> out;
  for (const auto& e : it) {
    std::smatch m;
    const auto file = e.path().filename().string();
    if (!e.is_regular_file() || !std::regex_match(file, m, name)) continue;
    out.push_back(read_snapshot(e.path(), std::stoll(m[1]), std::stod(m[2])));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.nimg != b.nimg ? a.nimg < b.nimg : a.std < b.std; });
  return out;
}

std::vector<PhemaSnapshot> select_phema_inputs(const std::vector<PhemaSnapshot>& all,
                                               std::optional<int64_t>& out_nimg) {
  if (all.empty()) throw Error("no post-hoc EMA snapshots (network-snapshot-<kimg>-<std>.safetensors)");
  if (!out_nimg) out_nimg = all.back().nimg;
  if (*out_nimg < all.front().nimg)
    throw UsageError("--nimg " + std::to_string(*out_nimg) + " is before the first snapshot (" +
                     std::to_string(all.front().nimg) + " images)");
  std::vector<PhemaSnapshot> used;
  bool match = false;
  for (const auto& s : all) {
    match = match || s.nimg == *out_nimg;
    if (s.nimg > 0 && s.nimg <= *out_nimg) used.push_back(s);
  }
  if (!match)
    throw UsageError("--nimg " + std::to_string(*out_nimg) + " is the time of no snapshot (the last is " +
                     std::to_string(all.back().nimg) + ")");
  return used;
}

namespace {

// The names of the network's buffers (copied, not averaged), from its config.
std::set<std::string> buffer_names(const TensorFile& last) {
  const auto config = read_model_config(last);
  if (config["precond"] == "ideal") return {};
  std::set<std::string> names;
  for (const auto& b : networks::make_precond(config, networks::Build{torch::kMeta, false})->named_buffers())
    names.insert(b.key());
  return names;
}

}  // namespace

std::vector<std::string> write_phema_reconstructions(const std::vector<PhemaSnapshot>& inputs,
                                                     std::vector<double> out_std, int64_t out_nimg,
                                                     const std::string& outdir) {
  std::sort(out_std.begin(), out_std.end());
  out_std.erase(std::unique(out_std.begin(), out_std.end()), out_std.end());
  std::vector<double> in_nimg, in_std;
  std::vector<TensorFile> files;
  std::vector<PhemaInput> in;
  for (const auto& s : inputs) {
    in_nimg.push_back(static_cast<double>(s.nimg)), in_std.push_back(s.std);
    files.emplace_back(s.path);
    in.push_back({s.path, files.back().all()});
  }
  const auto coefs = solve_posthoc_coefficients(in_nimg, in_std, {static_cast<double>(out_nimg)}, out_std);
  const auto outs = reconstruct_phema(in, coefs, buffer_names(files.back()));
  std::error_code ec;
  fs::create_directories(outdir, ec);
  if (ec) throw Error("cannot create --outdir " + outdir + ": " + ec.message());
  std::vector<std::string> paths;
  for (size_t j = 0; j < outs.size(); ++j) {
    auto meta = files.back().metadata();
    meta["edm.nimg"] = std::to_string(out_nimg);
    meta["edm.std"] = nlohmann::json(out_std[j]).dump();
    paths.push_back(phema_snapshot_path(outdir, "phema", out_nimg, out_std[j]));
    save_tensors(paths.back(), outs[j], meta);
  }
  return paths;
}

}  // namespace edm
