// edm steps: searches the time steps of a sampler for a model and an NFE
// budget (GITS-style, step_search.h; a window, step_window.h; or a window with
// every level then fitted, step_fit.h) and writes them for --steps-file.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "common.h"
#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/model/model_file.h"
#include "edm/sampling/generate.h"
#include "edm/sampling/step_fit.h"
#include "edm/sampling/step_search.h"
#include "edm/sampling/step_window.h"
#include "edm/sampling/steps_file.h"
#include "sampler_args.h"

namespace edm::cli {

namespace {

std::string join(const std::vector<double>& values) {
  std::ostringstream s;
  for (size_t i = 0; i < values.size(); ++i) s << (i ? "," : "") << values[i];
  return s.str();
}

struct StepsArgs {
  RuntimeOptions runtime;
  std::string net, out, seeds = "0-31", sampler = "ipndm", method = "search";
  int64_t nfe = 10, ref_steps = 256;
  StepSearchOptions search;
  StepFitOptions fit;
  std::string window_hi = join(StepWindowGrid{}.sigma_hi), window_lo = join(StepWindowGrid{}.sigma_lo),
              window_rho = join(StepWindowGrid{}.rho);
  SamplerOptions o;
  PrecisionOptions precision;
};

StepWindowGrid window_grid(const StepsArgs& a) {
  StepWindowGrid g;
  g.sigma_hi = parse_double_list(a.window_hi, "window-hi");
  g.sigma_lo = parse_double_list(a.window_lo, "window-lo");
  g.rho = parse_double_list(a.window_rho, "window-rho");
  return g;
}

// The window of the grid with the least end-point error of the sampler on the
// seeds, against the same seeds solved by --ref-steps Heun steps; with
// --method fit, every level then fitted from it to the same error.
void write_window(const StepsArgs& a, Denoiser& net, const SamplerInfo& sampler, const torch::Tensor& latents,
                  const torch::Tensor& labels, int64_t levels, const std::string& what) {
  SamplerOptions plain = a.o;  // the sampler's default levels, for comparison
  plain.num_steps = levels;
  auto plain_levels = noise_levels(net, plain);
  plain_levels.pop_back();  // the final 0 is implied
  const double sigma_max = plain_levels.front();
  const auto grid = window_grid(a);
  std::cout << grid_windows(grid, sigma_max).size() << " windows to try\n";  // checks the grid before the solve
  std::cout << "solving the seeds with " << a.ref_steps << " Heun steps\n";
  StepFitObjective objective(net, latents, labels, sampler, a.o, a.ref_steps);
  const double reference = objective(plain_levels);
  std::printf("%s on its default levels: error %.4g\n", a.sampler.c_str(), reference);
  auto best = search_window([&](const std::vector<double>& t) { return objective(t); }, sigma_max, levels, grid,
                            [](const StepWindow& w, double e) {
                              std::printf("sigma_hi %-6g sigma_lo %-6g rho %-4g error %.4g\n", w.sigma_hi, w.sigma_lo,
                                          w.rho, e);
                              std::fflush(stdout);
                            });
  char window[120], chosen[240];
  std::snprintf(window, sizeof window, "window: sigma_hi %g, sigma_lo %g, rho %g", best.window.sigma_hi,
                best.window.sigma_lo, best.window.rho);
  std::snprintf(chosen, sizeof chosen, " (%s; error %.4g, %.4g on the default levels)", window, best.error, reference);
  auto written = best.levels;
  if (a.method == "fit") {
    std::cout << "fitting every level from the window, " << a.fit.sweeps << " passes\n";
    if (latents.size(0) < 256)  // docs/sampling.md: fitted on few seeds, levels carry less to others
      std::cout << "note: fitting on " << latents.size(0) << " seeds; a few hundred make levels that carry better to "
                << "other seeds\n";
    double fitted = best.error;
    written = fit_levels([&](const std::vector<double>& t) { return objective(t); }, best.levels, a.fit,
                         [&](int64_t pass, double e) {
                           std::printf("pass %lld error %.4g\n", static_cast<long long>(pass), e);
                           std::fflush(stdout);
                           fitted = e;
                         });
    std::snprintf(chosen, sizeof chosen,
                  " (fitted from the %s; error %.4g, %.4g on the window, %.4g on the default levels)", window, fitted,
                  best.error, reference);
  }
  write_steps_file(a.out, written, what + chosen);
  std::cout << levels << " noise levels in " << a.out << chosen << "\n";
}

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
  const std::string what = std::to_string(levels) + " noise levels for " + a.sampler + " at " + std::to_string(a.nfe) +
                           " NFE, searched on seeds " + a.seeds;
  if (a.method == "window" || a.method == "fit") {
    write_window(a, *net, sampler, in.latents, in.class_labels, levels, what);
    return;
  }
  auto t = StepSearch(*net, in.latents, in.class_labels, a.o, a.search).levels(levels);
  write_steps_file(a.out, t, what + " (grid " + std::to_string(a.search.grid) + ")");
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
  sub->add_option("--method", a->method,
                  "search: GITS-style dynamic programming; window: sigma_max, then a rho window searched on a grid; "
                  "fit: the window, then every level fitted")
      ->check(CLI::IsMember({"search", "window", "fit"}))
      ->capture_default_str();
  sub->add_option("--grid", a->search.grid, "search: fine EDM noise levels the steps are chosen from")
      ->capture_default_str();
  sub->add_option("--ref-steps", a->ref_steps, "window, fit: Heun steps of the seeds' reference solution")
      ->check(CLI::Range(int64_t{2}, int64_t{1000000}))
      ->capture_default_str();
  sub->add_option("--window-hi", a->window_hi, "window, fit: the sigma_hi values tried")->capture_default_str();
  sub->add_option("--window-lo", a->window_lo, "window, fit: the sigma_lo values tried")->capture_default_str();
  sub->add_option("--window-rho", a->window_rho, "window, fit: the rho values tried")->capture_default_str();
  sub->add_option("--sweeps", a->fit.sweeps, "fit: passes over every interior level")
      ->check(CLI::Range(int64_t{1}, int64_t{100}))
      ->capture_default_str();
  sub->add_option("--sigma_min", a->o.sigma_min, "Lowest noise level (default: 0.002)");
  sub->add_option("--sigma_max", a->o.sigma_max, "Highest noise level (default: 80)");
  sub->add_option("--rho", a->o.disc.rho, "The grid's time step exponent")->capture_default_str();
  add_runtime_options(sub, a->runtime);
  add_precision_options(sub, a->precision);
  sub->callback([a, sub] {
    // A method's own options are an error with another.
    const std::vector<std::pair<const char*, std::string>> methods_of = {
        {"--grid", "search"},          {"--ref-steps", "window,fit"},  {"--window-hi", "window,fit"},
        {"--window-lo", "window,fit"}, {"--window-rho", "window,fit"}, {"--sweeps", "fit"}};
    for (const auto& [name, methods] : methods_of)
      if (sub->count(name) > 0 && ("," + methods + ",").find("," + a->method + ",") == std::string::npos)
        throw UsageError(std::string(name) + " does not apply to --method " + a->method);
    run(*a);
  });
}

}  // namespace edm::cli
