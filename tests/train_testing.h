// Helpers for tests that run the training loop in-process.
#pragma once
#include "edm/train/options.h"

namespace edm::test {

// A quiet run on the CPU ending with a small grid of `per_class` images per
// class, sampled in two steps.
inline TrainFrontEnd quiet_cpu(int per_class = 1) {
  TrainFrontEnd fe;
  fe.device = "cpu";
  fe.quiet = true;
  fe.grid_per_class = per_class;
  fe.grid_steps = 2;
  return fe;
}

}  // namespace edm::test
