// 2-D toy data (two moons, a Gaussian mixture, a spiral) learnt in seconds by
// a small MLP (nn/mlp.h) with EDM preconditioning and the EDM loss of `edm
// train`, then sampled with the EDM sampler (Heun, EDM time steps): the whole
// method on a page.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "edm/core/denoiser.h"
#include "edm/viz/plot.h"

namespace edm {

// n points [n,2] of "moons", "gmm" or "spiral", scaled to about unit variance
// per axis times sigma_data = 0.5. Throws edm::UsageError for other names.
torch::Tensor toy2d_data(const std::string& name, int64_t n, uint64_t seed);

struct Toy2dOptions {
  std::string data = "moons";
  int64_t steps = 3000, batch = 512, hidden = 128;
  double lr = 2e-3;
  int64_t num_samples = 2000;
  int64_t sampler_steps = 32;
  uint64_t seed = 0;
};

// The edm.config of the toy model: EDMPrecond (sigma_data 0.5) around an MLP
// of `hidden` units on points [N,2]; make_precond / save_precond take it like
// any other model.
nlohmann::json toy2d_config(int64_t hidden);

// The trained toy model as a denoiser over points [N,2].
std::shared_ptr<Denoiser> train_toy2d(const torch::Tensor& data, const Toy2dOptions& o, double* final_loss = nullptr);

// Samples [n,2] from a denoiser trained by train_toy2d.
torch::Tensor sample_toy2d(Denoiser& net, int64_t n, int64_t steps, uint64_t seed);

// Mean distance from each sample to its nearest data point.
double nearest_distance(const torch::Tensor& samples, const torch::Tensor& data);

plot::Plot toy2d_plot(const torch::Tensor& data, const torch::Tensor& samples, const std::string& title);

}  // namespace edm
