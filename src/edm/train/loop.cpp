#include "edm/train/loop.h"

#include <iostream>

#include "edm/core/runtime.h"
#include "edm/train/run.h"

namespace edm {

std::string train(const TrainOptions& o, const TrainFrontEnd& fe) {
  TrainRun run(o, parse_device(fe.device), fe.quiet);
  if (run.options().dry_run) {
    if (run.is_main()) std::cout << "dry run: exiting\n";
    return "";
  }
  run.start();
  for (;;) {
    run.step();
    if (!run.tick_due()) continue;
    run.end_tick();
    if (run.done()) break;
  }
  return run.finish(fe);
}

}  // namespace edm
