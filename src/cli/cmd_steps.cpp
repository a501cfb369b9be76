// edm steps: searches the time steps of a sampler for a model and an NFE
// budget (GITS-style, step_search.h) and writes them for --steps-file.
#include <iostream>

#include "common.h"
#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/model/model_file.h"
#include "edm/sampling/generate.h"
#include "edm/sampling/step_search.h"
#include "edm/sampling/steps_file.h"
#include "sampler_args.h"

namespace edm::cli {

namespace {

struct StepsArgs {
  RuntimeOptions runtime;
  std::string net, out, seeds = "0-31", sampler = "ipndm";
  int64_t nfe = 10;
  StepSearchOptions search;
  SamplerOptions o;
  PrecisionOptions precision;
};

void run(StepsArgs& a) {
  init_threads(a.runtime.threads);
  const auto device = parse_device(a.runtime.device);
  const SamplerInfo& sampler = find_sampler(a.sampler);
  const int64_t levels = steps_for_nfe(sampler, a.o, a.nfe);
  if (levels < 2) throw UsageError("--nfe " + std::to_string(a.nfe) + " leaves no steps to search");
  auto net = load_denoiser(a.net, device, resolve_precision(a.precision, device));
  SeedBatch rnd(parse_seed_list(a.seeds));
  GenerateOptions gen;
  auto in = draw_seed_inputs(rnd, *net, gen, device);
  auto t = StepSearch(*net, in.latents, in.class_labels, a.o, a.search).levels(levels);
  write_steps_file(a.out, t,
                   std::to_string(levels) + " noise levels for " + a.sampler + " at " + std::to_string(a.nfe) +
                       " NFE, searched on seeds " + a.seeds + " (grid " + std::to_string(a.search.grid) + ")");
  std::cout << levels << " noise levels in " << a.out << "\n";
}

}  // namespace

void register_steps(CLI::App& app) {
  auto* sub = app.add_subcommand("steps", "Search time steps for a model and an NFE budget; write a --steps-file");
  auto a = std::make_shared<StepsArgs>();
  sub->add_option("--net,--network", a->net, "Model file (.safetensors)")->required();
  sub->add_option("--out", a->out, "The steps file to write")->required();
  sub->add_option("--nfe", a->nfe, "Evaluations the sampler will make")->capture_default_str();
  sub->add_option("--sampler", a->sampler, "The sampler the steps are for (sets the number of levels)")
      ->capture_default_str();
  sub->add_option("--seeds", a->seeds, "Seeds whose trajectories the search uses")->capture_default_str();
  sub->add_option("--grid", a->search.grid, "Fine EDM noise levels the steps are chosen from")->capture_default_str();
  sub->add_option("--sigma_min", a->o.sigma_min, "Lowest noise level (default: 0.002)");
  sub->add_option("--sigma_max", a->o.sigma_max, "Highest noise level (default: 80)");
  sub->add_option("--rho", a->o.disc.rho, "The grid's time step exponent")->capture_default_str();
  add_runtime_options(sub, a->runtime);
  add_precision_options(sub, a->precision);
  sub->callback([a] { run(*a); });
}

}  // namespace edm::cli
