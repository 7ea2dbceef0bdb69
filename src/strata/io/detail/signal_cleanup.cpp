#include "strata/io/detail/signal_cleanup.hpp"

#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>

namespace strata::io::detail {

namespace {

constexpr int slot_count = 16;
constexpr int handled_signals[] = {SIGINT, SIGTERM, SIGHUP};
constexpr int handled_count = sizeof(handled_signals) / sizeof(handled_signals[0]);

// A slot is free (0), being filled (1) or armed (2); the handler only reads armed slots, whose
// path is complete. std::atomic<int> is lock-free on every platform Strata builds on, which makes
// it usable in a signal handler.
std::atomic<int> slot_state[slot_count];
char slot_path[slot_count][PATH_MAX];
struct sigaction previous_action[handled_count];
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");

int signal_index(int signal_number) {
  for (int k = 0; k < handled_count; ++k) {
    if (handled_signals[k] == signal_number) return k;
  }
  return -1;
}

void remove_registered_files(int signal_number, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  for (int i = 0; i < slot_count; ++i) {
    if (slot_state[i].load() == 2) unlink(slot_path[i]);
  }
  const int k = signal_index(signal_number);
  const struct sigaction& old = previous_action[k];
  if ((old.sa_flags & SA_SIGINFO) != 0 && old.sa_sigaction != nullptr) {
    old.sa_sigaction(signal_number, info, context);
  } else if ((old.sa_flags & SA_SIGINFO) == 0 && old.sa_handler != SIG_DFL &&
             old.sa_handler != SIG_IGN) {
    old.sa_handler(signal_number);
  } else {
    // Default action: restore it and re-raise; the signal is blocked while this handler runs and
    // is delivered (ending the process) as soon as it returns.
    sigaction(signal_number, &old, nullptr);
    raise(signal_number);
  }
  errno = saved_errno;
}

void install_handlers() {
  for (int k = 0; k < handled_count; ++k) {
    struct sigaction current;
    if (sigaction(handled_signals[k], nullptr, &current) != 0) continue;
    if ((current.sa_flags & SA_SIGINFO) == 0 && current.sa_handler == SIG_IGN) continue;
    previous_action[k] = current;
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_sigaction = remove_registered_files;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (const int s : handled_signals) sigaddset(&action.sa_mask, s);
    sigaction(handled_signals[k], &action, nullptr);
  }
}

}  // namespace

int remove_on_signal(const std::string& path) {
  static std::once_flag once;
  std::call_once(once, install_handlers);
  std::error_code ec;
  const std::string absolute = std::filesystem::absolute(path, ec).string();
  if (ec || absolute.size() >= PATH_MAX) return -1;
  for (int i = 0; i < slot_count; ++i) {
    int expected = 0;
    if (slot_state[i].compare_exchange_strong(expected, 1)) {
      std::memcpy(slot_path[i], absolute.c_str(), absolute.size() + 1);
      slot_state[i].store(2);
      return i;
    }
  }
  return -1;
}

void forget_on_signal(int slot) noexcept {
  if (slot >= 0 && slot < slot_count) slot_state[slot].store(0);
}

}  // namespace strata::io::detail
