// lmsim command line: Ctrl-C and SIGTERM ask a long command to stop at the next safe point
// (run: between simulation slices; dse: between points) and keep what is complete.
#pragma once
#include <csignal>

namespace lmsim::cli {

// The signal that asked the command to stop (SIGINT, SIGTERM), 0 while none did.
extern volatile std::sig_atomic_t g_stop_signal;
// SIGINT and SIGTERM set g_stop_signal: the command stops at its next safe point and writes what
// is complete (exit 128 + signal).
void install_stop_handlers();
// Before a command has anything to keep (loading, quantizing): a signal ends it at once, with a
// line on stderr, nothing written, exit 128 + signal. install_stop_handlers() switches back.
void install_exit_at_once_handlers();
const char* signal_name(int signo);

}  // namespace lmsim::cli
