// Pieces the multistep samplers share: the order an option asks for, and
// Lagrange interpolation weights.
#pragma once
#include <cmath>
#include <vector>

#include "edm/sampling/sampler.h"

namespace edm {

// o.order, or `fallback` when unset; throws edm::UsageError outside [1, max].
int sampler_order(const SamplerOptions& o, int fallback, int max, const char* sampler);

// Weights w_j = integral over [a, b] of the Lagrange basis polynomial of node
// j of `nodes`, evaluated at tau(s): sum_j w_j f(nodes_j) integrates the
// interpolant of f in tau exactly against ds (Gauss-Legendre, composite).

template <class Tau>
std::vector<double> lagrange_integrals(const std::vector<double>& nodes, double a, double b, Tau tau) {
  // 5-point Gauss-Legendre on 32 panels: exact for the polynomials of the
  // tAB rule in tau and converged to rounding for the smooth tau(s).
  static const double x5[] = {0, 0.5384693101056831, -0.5384693101056831, 0.9061798459386640, -0.9061798459386640};
  static const double w5[] = {0.5688888888888889, 0.4786286704993665, 0.4786286704993665, 0.2369268850561891,
                              0.2369268850561891};
  const int panels = 32;
  const size_t k = nodes.size();
  std::vector<double> w(k, 0.0);
  const double width = (b - a) / panels;
  for (int p = 0; p < panels; ++p)
    for (int q = 0; q < 5; ++q) {
      const double s = a + width * (p + 0.5 + 0.5 * x5[q]);
      const double t = tau(s);
      for (size_t j = 0; j < k; ++j) {
        double basis = 1;
        for (size_t m = 0; m < k; ++m)
          if (m != j) basis *= (t - nodes[m]) / (nodes[j] - nodes[m]);
        w[j] += 0.5 * width * w5[q] * basis;
      }
    }
  return w;
}

}  // namespace edm
