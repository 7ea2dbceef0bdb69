// Files to remove when the process is ended by SIGINT, SIGTERM or SIGHUP.
//
// A fixed table of paths that the signal handler reads with async-signal-safe calls only
// (atomic loads, unlink(2), sigaction(2), raise(3)); after removing the files the handler restores
// the previous disposition and re-raises the signal, so the exit status still says which signal
// ended the process. A previous handler (installed by the host program) is called instead of the
// default action. Signals that were ignored when the first path was registered (nohup) stay
// ignored.
#pragma once

#include <string>

namespace strata::io::detail {

/// Registers `path` (made absolute here, so a later chdir does not matter); returns the slot to
/// pass to forget_on_signal, or -1 when the table (16 slots) is full or the path is too long.
int remove_on_signal(const std::string& path);
/// Stops removing the path of `slot` (no-op for -1).
void forget_on_signal(int slot) noexcept;

}  // namespace strata::io::detail
