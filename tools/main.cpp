#include "tools/cli.hpp"

int main(int argc, char** argv) { return spikenn::cli_main(argc, argv); }
