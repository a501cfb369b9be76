// Training states (training-state-NNNNNN.safetensors): the network, its EMA,
// the optimizer's moments and the counters, everything a run needs to go on
// exactly where it stopped. Random numbers need no state of their own: every
// step reseeds from (seed, rank, images so far), and the data order is a
// function of the seed (loader.h).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "edm/nn/precond.h"
#include "edm/train/adam.h"

namespace edm {

struct TrainCounters {
  int64_t cur_nimg = 0, cur_tick = 0, adam_steps = 0;
  uint64_t seed = 0;
};

// `arch` is the preset the run trains with (its recipe: loss, learning
// rate, EMAs), so that a resume goes on with the same one.
void save_train_state(const std::string& path, networks::PrecondImpl& net, networks::PrecondImpl& ema, const Adam& adam,
                      const TrainCounters& c, const std::string& arch);

// Reads the counters and the network config of a state (to rebuild the run).
struct TrainStateInfo {
  TrainCounters counters;
  nlohmann::json config;
  std::string arch;     // "" in states written before it was stored
  nlohmann::json adam;  // Adam's betas and eps (null if not stored)
};
TrainStateInfo read_train_state_info(const std::string& path);

// Loads weights, EMA and moments into modules built from the state's config.
// Throws edm::Error naming a missing, unexpected or mis-shaped tensor, or
// when the state's Adam betas and eps are not those of `adam`.
void load_train_state(const std::string& path, networks::PrecondImpl& net, networks::PrecondImpl& ema, Adam& adam);

}  // namespace edm
