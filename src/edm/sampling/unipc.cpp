#include <cmath>
#include <deque>

#include "edm/sampling/multistep.h"
#include "edm/sampling/samplers.h"

namespace edm {

namespace {

// Solves the small dense system A r = b (Gaussian elimination, partial pivoting).
std::vector<double> solve(std::vector<std::vector<double>> A, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t p = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::abs(A[r][c]) > std::abs(A[p][c])) p = r;
    std::swap(A[c], A[p]);
    std::swap(b[c], b[p]);
    for (size_t r = c + 1; r < n; ++r) {
      const double f = A[r][c] / A[c][c];
      for (size_t k = c; k < n; ++k) A[r][k] -= f * A[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (size_t r = n; r-- > 0;) {
    double s = b[r];
    for (size_t k = r + 1; k < n; ++k) s -= A[r][k] * x[k];
    x[r] = s / A[r][r];
  }
  return x;
}

struct History {
  std::deque<torch::Tensor> D;  // denoiser outputs, newest first
  std::deque<double> lambda;    // their lambda = -log sigma
};

// One UniPC step (Zhao et al. 2023, data prediction, B(h) = h or e^h - 1)
// from x at h.lambda[0] to sigma_next using `order` outputs of the history:
// the predictor UniP, or with D_next (the output at the predicted point) the
// corrector UniC, one order higher.
torch::Tensor uni_step(const torch::Tensor& x, const History& hist, double sigma_next, int order, bool bh1,
                       const torch::Tensor* D_next) {
  const double sigma = std::exp(-hist.lambda[0]);
  const double h = -std::log(sigma_next) - hist.lambda[0];
  std::vector<double> r;
  std::vector<torch::Tensor> D1;  // divided differences
  for (int k = 1; k < order; ++k) {
    r.push_back((hist.lambda[k] - hist.lambda[0]) / h);
    D1.push_back((hist.D[k] - hist.D[0]) / r.back());
  }
  r.push_back(1.0);
  const double hh = -h, h_phi_1 = std::expm1(hh), B_h = bh1 ? hh : std::expm1(hh);
  // R[i][k] = r_k^i and b_i = i! phi_{i+1}(h) h / B(h), phi by recursion.
  std::vector<std::vector<double>> R(order, std::vector<double>(order));
  std::vector<double> b(order);
  double h_phi_k = h_phi_1 / hh - 1, factorial = 1;
  for (int i = 0; i < order; ++i) {
    for (int k = 0; k < order; ++k) R[i][k] = std::pow(r[k], i);
    b[i] = h_phi_k * factorial / B_h;
    factorial *= i + 2;
    h_phi_k = h_phi_k / hh - 1 / factorial;
  }
  auto out = (sigma_next / sigma) * x - h_phi_1 * hist.D[0];
  if (D_next) {
    const auto rho = order == 1 ? std::vector<double>{0.5} : solve(R, b);
    auto res = rho.back() * (*D_next - hist.D[0]);
    for (size_t k = 0; k + 1 < rho.size(); ++k) res = res + rho[k] * D1[k];
    return out - B_h * res;
  }
  if (order == 1) return out;
  std::vector<double> rho{0.5};
  if (order > 2) {
    R.pop_back(), b.pop_back();
    for (auto& row : R) row.pop_back();
    rho = solve(R, b);
  }
  auto res = rho[0] * D1[0];
  for (size_t k = 1; k < rho.size(); ++k) res = res + rho[k] * D1[k];
  return out - B_h * res;
}

}  // namespace

// UniPC: each output D(x_i) first corrects x_i (UniC, reusing the evaluation)
// and then predicts x_{i+1} (UniP); one evaluation per step, the last step
// into sigma = 0 being x = D. Warm start: order min(order, i + 1) at step i.
torch::Tensor unipc_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                            const NoiseFn&, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  const int max_order = sampler_order(o, 3, 3, "unipc");
  const bool bh1 = o.variant == "bh1";
  const auto t = noise_levels(net, o);
  auto x = latents.to(torch::kFloat64) * t[0];
  History hist;
  torch::Tensor x_prev;
  int order_prev = 0;
  for (int64_t i = 0; i < o.num_steps; ++i) {
    auto D = denoise_at(net, x, t[i], class_labels);
    if (t[i + 1] == 0) {
      x = D;
    } else {
      if (order_prev > 0) x = uni_step(x_prev, hist, t[i], order_prev, bh1, &D);
      hist.D.push_front(D);
      hist.lambda.push_front(-std::log(t[i]));
      if (hist.D.size() > static_cast<size_t>(max_order)) hist.D.pop_back(), hist.lambda.pop_back();
      order_prev = static_cast<int>(hist.D.size());
      x_prev = x;
      x = uni_step(x, hist, t[i + 1], order_prev, bh1, nullptr);
    }
    if (on_step) on_step(i + 1);
  }
  return x;
}

}  // namespace edm
