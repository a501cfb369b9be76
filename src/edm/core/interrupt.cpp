#include "edm/core/interrupt.h"

#include <signal.h>
#include <unistd.h>

namespace edm {

namespace {

volatile sig_atomic_t g_stop = 0;

void on_signal(int sig) {
  if (g_stop) {  // the second: no more waiting
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return;
  }
  g_stop = sig;
  static const char msg[] = "\nedm: stopping after this step (signal again to stop at once)\n";
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
}

}  // namespace

void stop_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;  // a file being written is not cut short
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

int stop_signal() { return g_stop; }

}  // namespace edm
