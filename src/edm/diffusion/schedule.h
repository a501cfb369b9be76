// Noise schedules sigma(t) and signal scalings s(t) (paper Table 1), with the
// derivatives the ODE needs and the inverses that map noise levels to time.
// Linear and VE are written here; the VP formulas live in vp.h.
#pragma once
#include <string>

namespace edm {

struct Schedule {
  enum class Kind { Linear, VP, VE } kind = Kind::Linear;
  double beta_d = 19.9, beta_min = 0.1;  // VP only

  static Schedule parse(const std::string& name, double beta_d = 19.9, double beta_min = 0.1);
  double sigma(double t) const;
  double sigma_deriv(double t) const;
  double sigma_inv(double sigma) const;
};

struct Scaling {
  enum class Kind { None, VP } kind = Kind::None;

  static Scaling parse(const std::string& name);
  double s(double t, const Schedule& sch) const;
  double s_deriv(double t, const Schedule& sch) const;
};

}  // namespace edm
