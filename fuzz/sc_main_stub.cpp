// libsystemc references sc_main; the fuzz targets own main (libFuzzer's or replay_main.cpp's).
extern "C" int sc_main(int, char**) { return 0; }
