// Sampler accuracy against NFE: the Gaussian-mixture ideal denoiser of the
// first 2,000 Fashion-MNIST training images (std 0.1), 32 latents from seed 0;
// RMSE of every deterministic solver against a 1024-step Heun solution, at NFE
// from 5 to 63 (the adaptive solver: at several --rtol, with the NFE it
// used). Prints tables and draws a log-log plot. The RMSE over the 32 latents
// is dominated by the few whose trajectory ends in another mode (training
// image) than the reference's, so two more tables split it: how many latents
// did, and the median of the per-latent RMSE. Rows on searched, fitted and
// window levels (made from other latents) follow; --latents N measures N
// latents from seed 0 instead of 32. The window-fit rows (not in the default
// rows: about 26 minutes for the two, 2 threads) fit every level from the
// window, on --fit-latents other latents.
//
//   build/bench/sampler_accuracy [--points 2000] [--ref-steps 1024] [--plot FILE] [--threads N]
//                                [--searched-only 1] [--latents 32] [--fit-latents 512]
//                                [--rows main,searched,fitted,window,window-fit,adaptive]
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>

#include "edm/core/rng.h"
#include "edm/core/runtime.h"
#include "edm/data/idx.h"
#include "edm/io/image.h"
#include "edm/sampling/counting_denoiser.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/sampling/samplers.h"
#include "edm/sampling/step_fit.h"
#include "edm/sampling/step_search.h"
#include "edm/sampling/step_window.h"
#include "edm/viz/plot.h"

using namespace edm;

namespace {

struct Solver {
  std::string label, sampler;
  SamplerOptions base;
};

std::vector<Solver> solvers() {
  SamplerOptions edm;
  SamplerOptions euler = edm;
  euler.solver = "euler";
  SamplerOptions vp = edm;  // the paper's VP baseline: Euler, VP schedule, scaling and steps
  vp.solver = "euler", vp.discretization = "vp", vp.schedule = "vp", vp.scaling = "vp";
  SamplerOptions ve = edm;  // the VE baseline
  ve.solver = "euler", ve.discretization = "ve", ve.schedule = "ve", ve.scaling = "none";
  SamplerOptions bh1 = edm;
  bh1.variant = "bh1";
  return {{"EDM Heun", "edm", edm},
          {"Euler (= DDIM)", "ablation", euler},
          {"DPM-Solver++(2M)", "dpmpp2m", edm},
          {"DPM-Solver++(3M)", "dpmpp3m", edm},
          {"Euler, VP (DDIM-VP)", "ablation", vp},
          {"Euler, VE", "ablation", ve},
          {"Heun, AFS", "heun_afs", edm},
          {"iPNDM (4)", "ipndm", edm},
          {"iPNDM-v (4)", "ipndm_v", edm},
          {"DEIS tAB3", "deis", edm},
          {"UniPC-3 bh2", "unipc", edm},
          {"UniPC-3 bh1", "unipc", bh1}};
}

// What one run of a solver is measured by.
struct Error {
  double rmse, median;  // over all pixels; the median of the per-latent RMSEs
  int64_t switched;     // latents ending nearest another training image than the reference's
};

// The index of the training image nearest to each image of x.
torch::Tensor nearest_point(const torch::Tensor& x, const torch::Tensor& points) {
  return torch::cdist(x.reshape({x.size(0), -1}).to(torch::kFloat64), points.reshape({points.size(0), -1})).argmin(1);
}

// truth_nearest: nearest_point(truth, points), found once for every row.
Error error_of(const torch::Tensor& x, const torch::Tensor& truth, const torch::Tensor& truth_nearest,
               const torch::Tensor& points) {
  auto d = (x - truth).reshape({x.size(0), -1}).square();
  const auto switched = (nearest_point(x, points) != truth_nearest).sum().item<int64_t>();
  return {d.mean().sqrt().item<double>(), d.mean(1).sqrt().median().item<double>(), switched};
}

// The step count that spends `nfe` evaluations (Heun: 2N - 1).
int64_t steps_for(const Solver& s, int64_t nfe) {
  SamplerOptions o = s.base;
  for (int64_t n = 1; n <= nfe; ++n) {
    o.num_steps = n;
    if (sampler_nfe(s.sampler, o) >= nfe) return n;
  }
  return nfe;
}

// One row and plot series: `sampler` on the levels `levels_for(nfe)` gives,
// one evaluation per level, at each NFE. With `switched` a second row gives
// how many latents ended in another mode.
void levels_row(const std::string& label, const SamplerInfo& sampler, const std::vector<int64_t>& nfes,
                const std::function<std::vector<double>(int64_t)>& levels_for, IdealDenoiser& net,
                const torch::Tensor& latents, const torch::Tensor& truth, plot::Plot& p,
                const std::function<int64_t(const torch::Tensor&)>& switched = {}) {
  std::printf("%-22s", label.c_str());
  std::vector<double> xs, ys;
  std::vector<int64_t> counts;
  std::vector<double> first;  // RMSE on the bench's own 32 latents, when there are more
  for (auto nfe : nfes) {
    SamplerOptions o;
    o.steps = levels_for(nfe);
    o.num_steps = static_cast<int64_t>(o.steps.size());
    auto x = run_sampler(sampler, net, latents, {}, {}, o);
    xs.push_back(static_cast<double>(nfe));
    ys.push_back((x - truth).square().mean().sqrt().item<double>());
    if (switched) counts.push_back(switched(x));
    if (switched && latents.size(0) > 32)
      first.push_back((x - truth).narrow(0, 0, 32).square().mean().sqrt().item<double>());
    std::printf(" %8.4f", ys.back());
    std::fflush(stdout);
  }
  std::printf("\n");
  if (switched) {
    std::printf("%-22s", "  in another mode");
    for (auto c : counts) std::printf(" %8lld", static_cast<long long>(c));
    std::printf("\n");
  }
  if (!first.empty()) {
    std::printf("%-22s", "  first 32 latents");
    for (auto e : first) std::printf(" %8.4f", e);
    std::printf("\n");
  }
  p.add_series(label, xs, ys, {}, 2, 3);
}

// Latents other than the measured ones (seed 1), to search or fit levels on;
// the first 32 are the same whatever the count.
torch::Tensor other_latents(const torch::Tensor& latents, int64_t count = 32) {
  auto gen = seed_generator(1);
  auto shape = latents.sizes().vec();
  shape[0] = count;
  return at::randn(shape, gen, torch::TensorOptions().dtype(torch::kFloat32));
}

// Samplers on time steps searched for each NFE (step_search.h) with the
// trajectories of the other latents, grid 256.
void searched_rows(IdealDenoiser& net, const std::vector<int64_t>& nfes, const torch::Tensor& truth,
                   const torch::Tensor& latents, plot::Plot& p) {
  StepSearch search(net, other_latents(latents), {}, SamplerOptions{});
  for (auto [label, sampler] : {std::pair{"iPNDM (4), searched", "ipndm"}, {"UniPC-3, searched", "unipc"}})
    levels_row(
        label, find_sampler(sampler), nfes, [&](int64_t nfe) { return search.levels(nfe); }, net, latents, truth, p);
}

// Samplers on time steps fitted for each NFE up to 15 (step_fit.h) on the
// other latents, from EDM's rho = 7 steps.
void fitted_rows(IdealDenoiser& net, const std::vector<int64_t>& nfes, const torch::Tensor& truth,
                 const torch::Tensor& latents, plot::Plot& p) {
  const auto fit_latents = other_latents(latents);
  std::vector<int64_t> few;  // the fit is for few steps
  for (auto nfe : nfes)
    if (nfe <= 15) few.push_back(nfe);
  for (auto [label, sampler] :
       {std::pair{"iPNDM (4), fitted", "ipndm"}, {"UniPC-3, fitted", "unipc"}, {"DEIS tAB3, fitted", "deis"}}) {
    const SamplerInfo& info = find_sampler(sampler);
    StepFitObjective objective(net, fit_latents, {}, info, SamplerOptions{}, 256);
    auto fit = [&](int64_t nfe) {
      SamplerOptions o;
      o.num_steps = steps_for_nfe(info, o, nfe);
      auto start = noise_levels(net, o);
      start.pop_back();  // the final 0 is implied
      return fit_levels([&](const std::vector<double>& t) { return objective(t); }, start, StepFitOptions{});
    };
    levels_row(label, info, few, fit, net, latents, truth, p);
  }
}

// Samplers on window levels (step_window.h) searched for each NFE up to 15 on
// `search_count` other latents: sigma_max, then a rho window of the default
// grid; with `fit`, every level then fitted from the window (step_fit.h) on
// the same latents.
void window_rows(IdealDenoiser& net, const torch::Tensor& truth, const torch::Tensor& truth_nearest,
                 const torch::Tensor& latents, plot::Plot& p, bool fit, int64_t search_count,
                 const std::vector<std::pair<const char*, const char*>>& rows) {
  const auto search_latents = other_latents(latents, search_count);
  const std::vector<int64_t> few = {5, 7, 9, 10, 11, 15};  // 10 too: UniPC and iPNDM make any NFE
  std::printf("\n%-22s", "NFE");
  for (auto n : few) std::printf(" %8lld", static_cast<long long>(n));
  std::printf("\n");
  auto switched = [&](const torch::Tensor& x) { return error_of(x, truth, truth_nearest, net.points()).switched; };
  for (auto [label, sampler] : rows) {
    const SamplerInfo& info = find_sampler(sampler);
    StepFitObjective objective(net, search_latents, {}, info, SamplerOptions{}, 256);
    std::string chosen;  // the window of each NFE, printed after the row
    auto window = [&](int64_t nfe) {
      const int64_t levels = steps_for_nfe(info, SamplerOptions{}, nfe);
      auto best = search_window([&](const std::vector<double>& t) { return objective(t); }, default_sigma_max("edm"),
                                levels, StepWindowGrid{});
      char line[160];
      std::snprintf(
          line, sizeof line, "  %lld NFE: sigma_hi %g, sigma_lo %g, rho %g (error %.4f on the other latents)\n",
          static_cast<long long>(nfe), best.window.sigma_hi, best.window.sigma_lo, best.window.rho, best.error);
      chosen += line;
      if (!fit) return best.levels;
      double fitted = best.error;  // the last pass's error, not evaluated again
      auto levels_fitted = fit_levels([&](const std::vector<double>& t) { return objective(t); }, best.levels,
                                      StepFitOptions{}, [&](int64_t, double e) { fitted = e; });
      std::snprintf(line, sizeof line, "    fitted: error %.4f on the other latents\n", fitted);
      chosen += line;
      return levels_fitted;
    };
    levels_row(label, info, few, window, net, latents, truth, p, switched);
    std::printf("%s", chosen.c_str());
  }
}

// DPM-Solver-12 at several tolerances: its NFE is what it used (mean per image).
void adaptive_rows(IdealDenoiser& net, const torch::Tensor& latents, const torch::Tensor& truth, plot::Plot& p) {
  std::shared_ptr<Denoiser> shared(&net, [](Denoiser*) {});
  std::printf("\n%-22s %8s %8s\n", "adaptive --rtol", "NFE", "RMSE");
  std::vector<double> xs, ys;
  for (double rtol : {0.2, 0.1, 0.05, 0.02, 0.01, 0.005}) {
    CountingDenoiser counting(shared);
    SamplerOptions o;
    o.rtol = rtol;
    auto x = run_sampler("adaptive", counting, latents, {}, {}, o);
    xs.push_back(static_cast<double>(counting.rows()) / static_cast<double>(latents.size(0)));
    ys.push_back((x - truth).square().mean().sqrt().item<double>());
    std::printf("%-22g %8.1f %8.4f\n", rtol, xs.back(), ys.back());
    std::fflush(stdout);
  }
  p.add_series("DPM-Solver-12 adaptive", xs, ys, {}, 2, 3);
}

// The RMSE split: latents ending at another training image, and the median
// per-latent RMSE (torch's median: the lower of the two middle values).
void print_splits(const std::vector<std::pair<std::string, std::vector<Error>>>& splits,
                  const std::vector<int64_t>& nfes) {
  if (splits.empty()) return;
  const char* titles[] = {"latents in another mode", "median per-latent RMSE"};
  for (int t = 0; t < 2; ++t) {
    std::printf("\n%-22s", titles[t]);
    for (auto n : nfes) std::printf(" %8lld", static_cast<long long>(n));
    std::printf("\n");
    for (const auto& [label, errors] : splits) {
      std::printf("%-22s", label.c_str());
      for (const auto& e : errors)
        t == 0 ? std::printf(" %8lld", static_cast<long long>(e.switched)) : std::printf(" %8.4f", e.median);
      std::printf("\n");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int64_t num_points = 2000, ref_steps = 1024, num_latents = 32, fit_latents = 512;
  std::string plot_path = "sampler_accuracy.png";
  int threads = 0;
  std::string rows = "main,searched,fitted,window,adaptive";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--points")
      num_points = std::stoll(argv[i + 1]);
    else if (a == "--ref-steps")
      ref_steps = std::stoll(argv[i + 1]);
    else if (a == "--plot")
      plot_path = argv[i + 1];
    else if (a == "--searched-only")  // value 1: only the rows on searched, fitted and window steps
      rows = std::stoi(argv[i + 1]) != 0 ? "searched,fitted,window" : rows;
    else if (a == "--rows")  // some of main,searched,fitted,window,adaptive
      rows = argv[i + 1];
    else if (a == "--threads")
      threads = std::stoi(argv[i + 1]);
    else if (a == "--latents")
      num_latents = std::stoll(argv[i + 1]);
    else if (a == "--fit-latents")  // the other latents the window-fit rows are searched and fitted on
      fit_latents = std::stoll(argv[i + 1]);
  }
  edm::retain_freed_memory();  // as edm does
  init_threads(threads);
  auto data = load_fashion_mnist("train");
  auto pts = from_uint8(data.images.narrow(0, 0, num_points), torch::kFloat64);
  IdealDenoiser net(pts, {}, 0.1, 0, /*fast=*/true);
  auto gen = seed_generator(0);
  auto latents = at::randn({num_latents, 1, 28, 28}, gen, torch::TensorOptions().dtype(torch::kFloat32));
  auto zero = [](const torch::Tensor& x) { return torch::zeros_like(x); };

  SamplerOptions ref;
  ref.num_steps = ref_steps;
  std::cerr << "reference: Heun, " << ref_steps << " steps\n";
  auto truth = edm_sampler(net, latents, {}, zero, ref);

  const std::vector<int64_t> nfes = {5, 7, 9, 11, 15, 19, 23, 27, 35, 47, 63};
  auto has = [&](const std::string& row) { return ("," + rows + ",").find("," + row + ",") != std::string::npos; };
  if (has("main") || has("searched") || has("fitted")) {
    std::printf("%-22s", "NFE");
    for (auto n : nfes) std::printf(" %8lld", static_cast<long long>(n));
    std::printf("\n");
  }
  plot::Plot p;
  p.title("Sampler error vs NFE (ideal GMM denoiser, Fashion-MNIST)")
      .xlabel("NFE")
      .ylabel("RMSE vs 1024-step Heun")
      .log_x()
      .log_y()
      .size(900, 600);
  std::vector<std::pair<std::string, std::vector<Error>>> splits;
  const auto truth_nearest = nearest_point(truth, pts);
  for (const auto& s : has("main") ? solvers() : std::vector<Solver>{}) {
    std::printf("%-22s", s.label.c_str());
    std::vector<double> xs, ys;
    std::vector<Error> errors;
    for (auto nfe : nfes) {
      SamplerOptions o = s.base;
      o.num_steps = steps_for(s, nfe);
      errors.push_back(error_of(run_sampler(s.sampler, net, latents, {}, zero, o), truth, truth_nearest, pts));
      xs.push_back(static_cast<double>(sampler_nfe(s.sampler, o)));
      ys.push_back(errors.back().rmse);
      std::printf(" %8.4f", ys.back());
      std::fflush(stdout);
    }
    std::printf("\n");
    p.add_series(s.label, xs, ys, {}, 2, 3);
    splits.emplace_back(s.label, errors);
  }
  print_splits(splits, nfes);
  if (has("searched")) searched_rows(net, nfes, truth, latents, p);
  if (has("fitted")) fitted_rows(net, nfes, truth, latents, p);
  if (has("window"))
    window_rows(net, truth, truth_nearest, latents, p, false, 32,
                {{"UniPC-3, window", "unipc"}, {"iPNDM (4), window", "ipndm"}});
  if (has("window-fit"))
    window_rows(net, truth, truth_nearest, latents, p, true, fit_latents,
                {{"UniPC-3, window+fit", "unipc"}, {"iPNDM (4), window+fit", "ipndm"}});
  if (has("adaptive")) adaptive_rows(net, latents, truth, p);
  p.save(plot_path);
  std::cout << "plot in " << plot_path << "\n";
}
