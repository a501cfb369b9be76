// `--nproc N`: starts N local copies of this program as ranks of one job, the
// way torchrun would, and stops them all when one fails.
#pragma once
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "edm/core/error.h"

namespace edm::dist {

// Runs `program` with `args` (argv without the program name and without --nproc) in N child
// processes with RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a
// free MASTER_PORT set. If a child fails, the others get SIGTERM, then
// SIGKILL after `grace`; throws edm::Error naming the failed rank. Returns
// when all children have exited successfully.
void launch_local(int nproc, const std::string& program, const std::vector<std::string>& args,
                  std::chrono::milliseconds grace = std::chrono::seconds(10));
// The running executable, for launching copies of it.
std::string self_executable();

// A usage error that rank 0 of an --nproc job already printed: the launcher
// exits 2 without a second line.
class ReportedUsageError : public UsageError {
 public:
  ReportedUsageError() : UsageError("") {}
};

// Whether this process is a rank other than 0 of an --nproc job (RANK set):
// such a rank leaves usage errors, the same on every rank, to rank 0.
inline bool is_secondary_rank() {
  const char* rank = std::getenv("RANK");
  return rank && std::string(rank) != "0";
}

// A TCP port on 127.0.0.1 that nothing listens on right now.
int free_port();

}  // namespace edm::dist
