// edm toy: the pictures that explain the method. 1-D: a bimodal density
// diffusing in time with exact ODE/SDE paths for a schedule; 2-D: a small MLP
// trained with the EDM recipe and sampled with the EDM sampler.
#include <cstdio>
#include <iostream>

#include "common.h"
#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/toy/toy1d.h"
#include "edm/toy/toy2d.h"

namespace edm::cli {

namespace {

struct ToyOptions {
  Toy1dOptions one;
  Toy2dOptions two;
  std::string out1 = "toy_1d.png", out2 = "toy_2d.png";
  int threads = 0;
};

void run_1d(const ToyOptions& o) {
  std::vector<std::string> names{o.one.schedule};
  if (o.one.schedule == "all") names = {"linear", "vp", "ve"};
  auto data = Mixture1d::bimodal();
  std::vector<plot::Plot> plots;
  for (const auto& name : names) {
    Toy1dOptions opt = o.one;
    opt.schedule = name;
    auto r = toy1d_paths(data, opt);
    std::printf("%-6s t_max %.4f  ODE bend %.4f\n", name.c_str(), r.t_max, r.ode_straightness);
    plots.push_back(toy1d_plot(data, opt, r));
  }
  plot::save_row(o.out1, plots);
  std::cerr << "wrote " << o.out1 << "\n";
}

void run_2d(const ToyOptions& o) {
  init_threads(o.threads);
  auto data = toy2d_data(o.two.data, 20000, o.two.seed);
  double loss = 0;
  auto net = train_toy2d(data, o.two, &loss);
  auto samples = sample_toy2d(*net, o.two.num_samples, o.two.sampler_steps, o.two.seed + 7);
  auto shown = data.slice(0, 0, 4000);
  double d_samples = nearest_distance(samples, data.slice(0, 4000)),
         d_data = nearest_distance(shown, data.slice(0, 4000));
  std::printf("%s: loss %.4f  nearest-data distance: samples %.4f, held-out data %.4f\n", o.two.data.c_str(), loss,
              d_samples, d_data);
  char title[128];
  std::snprintf(title, sizeof title, "%s: EDM, Heun, %lld steps", o.two.data.c_str(),
                static_cast<long long>(o.two.sampler_steps));
  toy2d_plot(shown, samples, title).save(o.out2);
  std::cerr << "wrote " << o.out2 << "\n";
}

}  // namespace

void register_toy(CLI::App& app) {
  auto o = std::make_shared<ToyOptions>();
  auto* toy =
      app.add_subcommand("toy", "Toy pictures: 1-D diffusion with exact ODE/SDE paths; '2d' trains a toy model");
  toy->add_option("--schedule", o->one.schedule, "linear (sigma = t), vp, ve, or all (side by side)")
      ->check(CLI::IsMember({"linear", "vp", "ve", "all"}))
      ->capture_default_str();
  toy->add_option("--sigma-max", o->one.sigma_max, "Largest noise level drawn")->capture_default_str();
  toy->add_option("--ode", o->one.num_ode, "ODE curves (at most 10000)")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  toy->add_option("--sde", o->one.num_sde, "SDE paths (at most 10000)")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  toy->add_option("--seed", o->one.seed, "Seed of the SDE paths")->capture_default_str();
  toy->add_option("--out", o->out1, "PNG to write")->capture_default_str();
  toy->callback([o, toy] {
    if (toy->get_subcommands().empty()) run_1d(*o);
  });

  auto* two = toy->add_subcommand("2d", "Train a small MLP denoiser on 2-D data and plot its samples");
  two->add_option("--data", o->two.data, "moons, gmm or spiral")
      ->check(CLI::IsMember({"moons", "gmm", "spiral"}))
      ->capture_default_str();
  two->add_option("--train-steps", o->two.steps, "Training steps (at most 10^7)")
      ->check(CLI::Range(1, 10000000))
      ->capture_default_str();
  two->add_option("--batch", o->two.batch, "Batch size (at most 10^6)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  two->add_option("--lr", o->two.lr, "Adam learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  two->add_option("--samples", o->two.num_samples, "Samples drawn (at most 10^7)")
      ->check(CLI::Range(1, 10000000))
      ->capture_default_str();
  two->add_option("--steps", o->two.sampler_steps, "Sampler steps (Heun, EDM time steps; at most 10^6)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  two->add_option("--seed", o->two.seed, "Seed")->capture_default_str();
  two->add_option("--out", o->out2, "PNG to write")->capture_default_str();
  two->add_option("--threads", o->threads, "CPU threads (default: all cores)")->check(CLI::Range(0, 4096));
  two->callback([o] { run_2d(*o); });
}

}  // namespace edm::cli
