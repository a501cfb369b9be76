// edm train (placeholder until its implementation lands).
#include "common.h"
#include "edm/core/error.h"

namespace edm::cli {

void register_train(CLI::App& app) {
  auto* sub = app.add_subcommand("train", "(not yet available)");
  sub->callback([] { throw Error("'edm train' is not available in this build yet"); });
}

}  // namespace edm::cli
