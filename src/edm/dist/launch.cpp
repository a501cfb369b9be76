#include "edm/dist/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "edm/core/error.h"

namespace edm::dist {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("cannot open a socket to find a free port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw Error("cannot find a free port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

namespace {

bool usage_error(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 2; }

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

volatile sig_atomic_t g_signal = 0;
void remember_signal(int sig) { g_signal = sig; }

// While the ranks run, SIGINT and SIGTERM to the launcher are passed on to
// them (so they save and stop as they would alone) instead of leaving them
// running; the launcher then reports it once they are gone.
class SignalForwarding {
 public:
  SignalForwarding() {
    g_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = remember_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~SignalForwarding() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  // The signal received since the last call, or 0.
  int take() {
    int sig = g_signal;
    if (sig) forwarded_ = sig;
    g_signal = 0;
    return sig;
  }
  int forwarded() const { return forwarded_; }

 private:
  struct sigaction old_int_ {
  }, old_term_{};
  int forwarded_ = 0;
};

// The rank ends when the launcher does, however the launcher ends.
void die_with_parent(pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(1);
}

}  // namespace

std::string self_executable() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw Error("cannot find the path of the running executable");
  return std::string(buf, static_cast<size_t>(n));
}

void launch_local(int nproc, const std::string& program, const std::vector<std::string>& args,
                  std::chrono::milliseconds grace) {
  if (nproc < 1) throw UsageError("--nproc must be at least 1");
  const int port = free_port();
  std::vector<pid_t> pids(nproc, -1);
  SignalForwarding signals;
  const pid_t launcher = ::getpid();
  for (int r = 0; r < nproc; ++r) {
    pid_t pid = ::fork();
    if (pid < 0) throw Error("cannot start rank " + std::to_string(r));
    if (pid == 0) {
      die_with_parent(launcher);
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      std::vector<char*> argv;
      std::string self = program;
      argv.push_back(self.data());
      std::vector<std::string> copy = args;
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(self.c_str(), argv.data());
      ::_exit(127);
    }
    pids[r] = pid;
  }
  int running = nproc, failed_rank = -1, failed_status = 0, rank0_status = 0;
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (int r = 0; r < nproc; ++r) {
        if (pids[r] != pid) continue;
        pids[r] = -1;
        --running;
        if (r == 0) rank0_status = status;
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && failed_rank < 0) {
          failed_rank = r;
          failed_status = status;
          // A usage error is the same on every rank: rank 0 is let finish
          // printing it; other failures stop the ranks at once.
          if (!usage_error(status))
            for (pid_t p : pids)
              if (p > 0) ::kill(p, SIGTERM);
          deadline = std::chrono::steady_clock::now() + grace;
        }
      }
      continue;
    }
    if (int sig = signals.take()) {
      for (pid_t p : pids)
        if (p > 0) ::kill(p, sig);
      deadline = std::min(deadline, std::chrono::steady_clock::now() + grace);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      for (pid_t p : pids)
        if (p > 0) ::kill(p, SIGKILL);
      deadline = std::chrono::steady_clock::time_point::max();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (signals.forwarded())
    throw Error(std::string("stopped by signal ") + strsignal(signals.forwarded()) + "; the ranks were stopped too");
  if (failed_rank >= 0 && usage_error(rank0_status)) throw ReportedUsageError();  // rank 0 printed it
  if (failed_rank >= 0)
    throw Error("rank " + std::to_string(failed_rank) + " of " + std::to_string(nproc) + " " + describe(failed_status) +
                "; stopped the other ranks");
}

}  // namespace edm::dist
