// edm fid (placeholder until its implementation lands).
#include "common.h"
#include "edm/core/error.h"

namespace edm::cli {

void register_fid(CLI::App& app) {
  auto* sub = app.add_subcommand("fid", "(not yet available)");
  sub->callback([] { throw Error("'edm fid' is not available in this build yet"); });
}

}  // namespace edm::cli
