// lmsim command line: Ctrl-C and SIGTERM ask a long command to stop at the next safe point
// (run: between simulation slices; dse: between points) and keep what is complete.
#pragma once
#include <csignal>

namespace lmsim::cli {

// The signal that asked the command to stop (SIGINT, SIGTERM), 0 while none did.
extern volatile std::sig_atomic_t g_stop_signal;
void install_stop_handlers();
const char* signal_name(int signo);

}  // namespace lmsim::cli
