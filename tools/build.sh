#!/usr/bin/env bash
# Installs what spike-nn needs (Debian packages, as root, only those missing), then
# configures and builds it.
#   tools/build.sh              Release build with tests, in build/
#   tools/build.sh --sanitize   Debug build with AddressSanitizer + UBSan, in build-asan/
#   tools/build.sh --fuzz       the five libFuzzer targets (clang; the libraries with ASan +
#                               UBSan), in build-fuzz/
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build libfmt-dev libyaml-cpp-dev doctest-dev libspdlog-dev libcli11-dev libxxhash-dev libedit-dev gdb
  nlohmann-json3-dev libpugixml-dev gtkwave librsvg2-bin graphviz) # the last five: the tests read the exports back
packages+=(pkgconf) # tools/check_install.sh builds an example with pkg-config
packages+=(libopenblas-dev) # bench/bench_block's reference GEMM, linked by the benchmark only (optional there)
packages+=(libopenmpi-dev openmpi-bin) # runs on several processes (mpirun); -DSPIKENN_MPI=OFF builds without
packages+=(pybind11-dev python3-dev python3-numpy) # the Python module; -DSPIKENN_PYTHON=OFF builds without
packages+=(python3-pytest python3-matplotlib python3-torch libopenblas0-pthread) # its tests, and the examples they run
[[ ${1:-} == --fuzz ]] && packages+=(clang libclang-rt-14-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "spike-nn: installing ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "spike-nn: run as root, or install these first: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ ${1:-} == --fuzz ]]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DSPIKENN_FUZZ=ON -DSPIKENN_TESTS=OFF >/dev/null
  # Only the targets: the rest of an instrumented build is of no use.
  cmake --build build-fuzz -j2 --target fuzz_eventlog fuzz_checkpoint fuzz_scenario fuzz_npy fuzz_safetensors
elif [[ ${1:-} == --sanitize ]]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSPIKENN_SANITIZE=ON >/dev/null
  cmake --build build-asan -j2
else
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j2
fi
