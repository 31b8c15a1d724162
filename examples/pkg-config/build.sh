#!/usr/bin/env bash
# Builds each example with pkg-config alone, without CMake:
#   PKG_CONFIG_PATH=PREFIX/lib/pkgconfig examples/pkg-config/build.sh [OUTPUT_DIR]
# puts OUTPUT_DIR/load_and_run and OUTPUT_DIR/demo_in_code (OUTPUT_DIR: . unless given).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-.}
mkdir -p "$out"
for example in load_and_run demo_in_code; do
  # The libraries come after the source that uses them.
  # shellcheck disable=SC2046 # pkg-config's flags are words
  c++ -std=c++20 -O2 "$here/../$example/main.cpp" -o "$out/$example" $(pkg-config --cflags --libs spikenn)
done
