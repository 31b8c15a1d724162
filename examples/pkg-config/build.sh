#!/usr/bin/env bash
# Builds the load_and_run example with pkg-config alone, without CMake:
#   PKG_CONFIG_PATH=PREFIX/lib/pkgconfig examples/pkg-config/build.sh [OUTPUT]
# OUTPUT is ./load_and_run unless given.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-load_and_run}
# The libraries come after the source that uses them.
# shellcheck disable=SC2046 # pkg-config's flags are words
c++ -std=c++20 -O2 "$here/../load_and_run/main.cpp" -o "$out" $(pkg-config --cflags --libs spikenn)
