#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

// libsystemc expects the program to define sc_main; Catch owns main here, and SystemC tests call
// sc_start() directly inside their test case.
extern "C" int sc_main(int, char**) { return 0; }
