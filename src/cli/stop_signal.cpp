#include "cli/stop_signal.h"

#include <unistd.h>

namespace lmsim::cli {

volatile std::sig_atomic_t g_stop_signal = 0;

namespace {
extern "C" void on_stop_signal(int signo) { g_stop_signal = signo; }
extern "C" void on_exit_signal(int signo) {
    // Only async-signal-safe calls: write(2) and _exit(2).
    static const char msg[] = "lmsim: interrupted before any result was complete; nothing written\n";
    ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(128 + signo);
}
void install(void (*handler)(int)) {
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}
}  // namespace

void install_stop_handlers() { install(on_stop_signal); }
void install_exit_at_once_handlers() { install(on_exit_signal); }

const char* signal_name(int signo) { return signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "a signal"; }

}  // namespace lmsim::cli
