// A resumed run goes on with the network, preconditioning and seed of its
// training state: the options that define them are taken from the state, and
// one given on the command line with another value is an error, so that
// neither the run nor its records (directory name, training_options.json)
// ever pretend to use a value the run ignores.
#pragma once
#include <string>

#include "edm/train/options.h"
#include "edm/train/state.h"

namespace edm {

// Throws edm::UsageError "--cbase 64 conflicts with the training state's 32
// (<path>)" for the first such option; then sets o.arch and o.precond to the
// state's. Options left open are not conflicts; --transfer with --resume is.
void adopt_resumed_options(TrainOptions& o, const TrainStateInfo& state, const std::string& path);

}  // namespace edm
