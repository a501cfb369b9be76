// The training loop of the reference (training_loop.py): Adam with a
// learning-rate ramp-up, gradient accumulation, non-finite gradients zeroed,
// EMA of the weights, ticks of kimg with statistics, periodic snapshots and
// training states, all written atomically by the main process. The phases
// live in TrainRun (run.h).
#pragma once
#include <string>

#include "edm/train/options.h"

namespace edm {

// Runs a whole training (or prints its plan with dry_run), ending with the
// front end's sample grid and loss curve. Returns the run directory ("" for
// a dry run and off the main process). Throws edm::UsageError / edm::Error
// with a one-line reason.
std::string train(const TrainOptions& o, const TrainFrontEnd& fe = {});

}  // namespace edm
