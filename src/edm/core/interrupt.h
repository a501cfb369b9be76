// SIGINT and SIGTERM as a request to stop at the next safe point (the end of a
// training step), so that long work ends with its files written; a second
// signal ends the process at once, as without the handler.
#pragma once

namespace edm {

// Installs the handlers (idempotent).
void stop_on_signals();
// The signal that asked to stop, or 0.
int stop_signal();

}  // namespace edm
