#include "edm/diffusion/schedule.h"

#include <cmath>

#include "edm/core/error.h"
#include "edm/diffusion/vp.h"

namespace edm {

Schedule Schedule::parse(const std::string& name, double beta_d, double beta_min) {
  Schedule s;
  s.beta_d = beta_d;
  s.beta_min = beta_min;
  if (name == "linear")
    s.kind = Kind::Linear;
  else if (name == "vp")
    s.kind = Kind::VP;
  else if (name == "ve")
    s.kind = Kind::VE;
  else
    throw UsageError("unknown schedule '" + name + "' (linear, vp or ve)");
  return s;
}

double Schedule::sigma(double t) const {
  switch (kind) {
    case Kind::VP:
      return vp_sigma(t, beta_d, beta_min);
    case Kind::VE:
      return std::sqrt(t);
    default:
      return t;
  }
}

double Schedule::sigma_deriv(double t) const {
  switch (kind) {
    case Kind::VP:
      return vp_sigma_deriv(t, beta_d, beta_min);
    case Kind::VE:
      return 0.5 / std::sqrt(t);
    default:
      return 1;
  }
}

double Schedule::sigma_inv(double sig) const {
  switch (kind) {
    case Kind::VP:
      return vp_sigma_inv(sig, beta_d, beta_min);
    case Kind::VE:
      return sig * sig;
    default:
      return sig;
  }
}

Scaling Scaling::parse(const std::string& name) {
  Scaling s;
  if (name == "none")
    s.kind = Kind::None;
  else if (name == "vp")
    s.kind = Kind::VP;
  else
    throw UsageError("unknown scaling '" + name + "' (none or vp)");
  return s;
}

double Scaling::s(double t, const Schedule& sch) const {
  if (kind == Kind::None) return 1;
  const double sig = sch.sigma(t);
  return 1 / std::sqrt(1 + sig * sig);
}

double Scaling::s_deriv(double t, const Schedule& sch) const {
  if (kind == Kind::None) return 0;
  const double st = s(t, sch);
  return -sch.sigma(t) * sch.sigma_deriv(t) * (st * st * st);
}

}  // namespace edm
