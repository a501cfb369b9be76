// `--nproc N`: starts N local copies of this program as ranks of one job, the
// way torchrun would, and stops them all when one fails.
#pragma once
#include <chrono>
#include <string>
#include <vector>

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

// A TCP port on 127.0.0.1 that nothing listens on right now.
int free_port();

}  // namespace edm::dist
