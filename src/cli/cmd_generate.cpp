// edm generate (placeholder until its implementation lands).
#include "common.h"
#include "edm/core/error.h"

namespace edm::cli {

void register_generate(CLI::App& app) {
  auto* sub = app.add_subcommand("generate", "(not yet available)");
  sub->callback([] { throw Error("'edm generate' is not available in this build yet"); });
}

}  // namespace edm::cli
