// edm toy (placeholder until its implementation lands).
#include "common.h"
#include "edm/core/error.h"

namespace edm::cli {

void register_toy(CLI::App& app) {
  auto* sub = app.add_subcommand("toy", "(not yet available)");
  sub->callback([] { throw Error("'edm toy' is not available in this build yet"); });
}

}  // namespace edm::cli
