#include "cli/stop_signal.h"

namespace lmsim::cli {

volatile std::sig_atomic_t g_stop_signal = 0;

namespace {
extern "C" void on_stop_signal(int signo) { g_stop_signal = signo; }
}  // namespace

void install_stop_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

const char* signal_name(int signo) { return signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "a signal"; }

}  // namespace lmsim::cli
