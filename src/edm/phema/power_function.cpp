#include "edm/phema/power_function.h"

#include <algorithm>
#include <cmath>

#include "edm/core/error.h"

namespace edm {

double exp_to_std(double gamma) { return std::sqrt((gamma + 1) / ((gamma + 2) * (gamma + 2)) / (gamma + 3)); }

double std_to_exp(double std) {
  // f is convex right of -7/3 and f(sqrt(t)), f'(sqrt(t)) > 0, so Newton from
  // sqrt(t) falls monotonically onto the largest root.
  const double t = 1 / (std * std);
  auto f = [t](double x) { return ((x + 7) * x + 16 - t) * x + 12 - t; };
  auto df = [t](double x) { return (3 * x + 14) * x + 16 - t; };
  double x = std::sqrt(t);
  for (int i = 0; i < 200; ++i) {
    const double next = x - f(x) / df(x);
    if (!(next < x)) break;  // no more progress: converged to rounding
    x = next;
  }
  return x;
}

bool valid_std(double std) { return std > 0 && std < 0.289; }

double power_function_beta(double std, double t_next, double t_delta) {
  return std::pow(1 - t_delta / t_next, std_to_exp(std) + 1);
}

double power_function_correlation(double a_ofs, double a_std, double b_ofs, double b_std) {
  const double a_exp = std_to_exp(a_std), b_exp = std_to_exp(b_std);
  const double t_ratio = a_ofs / b_ofs;
  const double t_exp = a_ofs < b_ofs ? b_exp : -a_exp;
  const double t_max = std::max(a_ofs, b_ofs);
  return (a_exp + 1) * (b_exp + 1) * std::pow(t_ratio, t_exp) / ((a_exp + b_exp + 1) * t_max);
}

torch::Tensor power_function_response(const std::vector<double>& ofs, const std::vector<double>& std, int64_t len) {
  if (ofs.size() != std.size()) throw Error("power_function_response: ofs and std differ in length");
  auto resp = torch::zeros({len, static_cast<int64_t>(ofs.size())}, torch::kFloat64);
  auto r = resp.accessor<double, 2>();
  for (size_t j = 0; j < ofs.size(); ++j) {
    const double gamma = std_to_exp(std[j]);
    double sum = 0;
    for (int64_t t = 0; t < len; ++t) {
      const double v = t <= ofs[j] ? std::pow(t / ofs[j], gamma) / ofs[j] * (gamma + 1) : 0.0;
      r[t][j] = v;
      sum += v;
    }
    for (int64_t t = 0; t < len; ++t) r[t][j] /= sum;
  }
  return resp;
}

torch::Tensor correlation_matrix(const std::vector<double>& a_ofs, const std::vector<double>& a_std,
                                 const std::vector<double>& b_ofs, const std::vector<double>& b_std) {
  auto m = torch::zeros({static_cast<int64_t>(a_ofs.size()), static_cast<int64_t>(b_ofs.size())}, torch::kFloat64);
  auto a = m.accessor<double, 2>();
  for (size_t i = 0; i < a_ofs.size(); ++i)
    for (size_t j = 0; j < b_ofs.size(); ++j)
      a[i][j] = power_function_correlation(a_ofs[i], a_std[i], b_ofs[j], b_std[j]);
  return m;
}

namespace {

// One offset for every std, or one per std.
std::vector<double> broadcast(const std::vector<double>& ofs, size_t n, const char* what) {
  if (ofs.size() == n) return ofs;
  if (ofs.size() == 1) return std::vector<double>(n, ofs[0]);
  throw Error(std::string("solve_posthoc_coefficients: ") + what + " offsets do not match the stds");
}

}  // namespace

torch::Tensor solve_posthoc_coefficients(const std::vector<double>& in_ofs, const std::vector<double>& in_std,
                                         const std::vector<double>& out_ofs, const std::vector<double>& out_std) {
  const auto a_ofs = broadcast(in_ofs, in_std.size(), "input");
  const auto b_ofs = broadcast(out_ofs, out_std.size(), "output");
  auto A = correlation_matrix(a_ofs, in_std, a_ofs, in_std);
  auto B = correlation_matrix(a_ofs, in_std, b_ofs, out_std);
  auto X = torch::linalg_solve(A, B);
  return X / X.sum(0, /*keepdim=*/true);
}

int64_t kimg_to_nimg(int64_t kimg) {
  // The largest multiple of 1024 images whose kimg is this one.
  const int64_t nimg = (kimg * 1000 + 999) / 1024 * 1024;
  if (nimg / 1000 != kimg) throw Error("no multiple of 1024 images gives " + std::to_string(kimg) + " kimg");
  return nimg;
}

}  // namespace edm
