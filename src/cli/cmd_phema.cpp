// edm phema: post-hoc EMA reconstruction (EDM2's reconstruct_phema.py) from
// the power-function EMA snapshots of a training run (edm train --ema-std).
#include <iostream>
#include <optional>

#include "common.h"
#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/phema/power_function.h"
#include "edm/phema/snapshots.h"

namespace edm::cli {

namespace {

struct PhemaArgs {
  std::string indir, outdir, std;
  std::optional<int64_t> nimg;
  RuntimeOptions runtime;
};

void run(PhemaArgs& a) {
  init_threads(a.runtime.threads);
  const auto out_std = parse_double_list(a.std, "std");
  for (double s : out_std)
    if (!valid_std(s)) throw UsageError("--std " + std::to_string(s) + " is out of range (0, 0.289)");
  if (a.nimg && *a.nimg < 1) throw UsageError("--nimg must be positive");
  auto inputs = select_phema_inputs(list_phema_snapshots(a.indir), a.nimg);
  for (const auto& in : inputs)
    if (!valid_std(in.std)) throw Error(in.path + ": EMA std " + std::to_string(in.std) + " is out of range");
  const auto paths = write_phema_reconstructions(inputs, out_std, *a.nimg, a.outdir);
  std::cout << "reconstructed at " << *a.nimg << " images from " << inputs.size() << " snapshots:\n";
  for (const auto& path : paths) std::cout << path << "\n";
}

}  // namespace

void register_phema(CLI::App& app) {
  auto* sub = app.add_subcommand("phema", "Post-hoc EMA: a model of any EMA length from a run's --ema-std snapshots");
  auto a = std::make_shared<PhemaArgs>();
  sub->add_option("--indir", a->indir, "Run directory with network-snapshot-<kimg>-<std>.safetensors")->required();
  sub->add_option("--std", a->std, "EMA lengths to reconstruct (relative std), e.g. 0.05,0.1")->required();
  sub->add_option("--nimg", a->nimg, "Training time to reconstruct, images (default: the last snapshot)");
  sub->add_option("--outdir", a->outdir, "Where to write phema-<kimg>-<std>.safetensors")->required();
  sub->add_option("--threads", a->runtime.threads, "CPU threads (default: all cores)");
  sub->callback([a] { run(*a); });
}

}  // namespace edm::cli
