#!/usr/bin/env bash
# Checks what `cmake --install` gives a user: installs BUILD_DIR into a fresh temporary
# prefix, checks what is there, compiles each installed header on its own from the prefix,
# builds every examples/*/ with CMake against the prefix and again with pkg-config alone,
# and runs each on scenarios/demo.yaml: each must print the fingerprint the scenario expects.
#   tools/check_install.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[[ $# -eq 1 ]] || { echo "usage: tools/check_install.sh BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
fail() { echo "check_install: FAILED: $*" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
echo "-- installing $build into $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log" >&2; fail "cmake --install"; }

# What is installed.
[[ -x $prefix/bin/spikenn ]] || fail "no bin/spikenn"
"$prefix/bin/spikenn" --version >/dev/null || fail "the installed bin/spikenn does not run"
config=$(find "$prefix" -path '*/cmake/spikenn/spikennConfig.cmake')
[[ -n $config ]] || fail "no lib/cmake/spikenn/spikennConfig.cmake"
config_dir=$(dirname "$config")
for f in spikennConfigVersion.cmake spikennTargets.cmake FindXXHash.cmake; do
  [[ -f $config_dir/$f ]] || fail "no $f beside spikennConfig.cmake"
done
pc=$(find "$prefix" -path '*/pkgconfig/spikenn.pc')
[[ -n $pc ]] || fail "no lib/pkgconfig/spikenn.pc"
headers=()
for h in "$root"/*/include/spikenn/*.hpp; do
  headers+=("$(basename "$h")")
done
headers+=(version.hpp)
for h in "${headers[@]}"; do
  [[ -f $prefix/include/spikenn/$h ]] || fail "include/spikenn/$h is not installed"
done
# The exported targets name no path of this machine's build, nothing of the command line's
# own dependencies, and no target of the project that is not exported.
if grep -nE "$root|$build|/usr/|spdlog|CLI11|libedit|spikenn_options|spikenn_cli" "$config_dir"/spikennTargets*.cmake; then
  fail "the exported targets above name something a user's machine need not have"
fi

# Each installed header compiles on its own, with the prefix's include directory alone
# (and the system's): none needs a private header, or one the prefix does not have.
echo "-- compiling each of the ${#headers[@]} installed headers on its own"
for h in "${headers[@]}"; do
  echo "#include <spikenn/$h>" | c++ -std=c++20 -fsyntax-only -x c++ -I"$prefix/include" - ||
    fail "<spikenn/$h> does not compile from the prefix alone"
done

expected=$(grep -A3 '^expect:' "$root/scenarios/demo.yaml" | sed -n 's/^ *fingerprint: *\(0x[0-9a-fA-F]*\).*/\1/p')
[[ -n $expected ]] || fail "scenarios/demo.yaml has no expect: fingerprint:"
check_run() { # NAME PROGRAM: runs PROGRAM on the demo and compares its fingerprint
  local out
  out=$("$2" "$root/scenarios/demo.yaml") || fail "$1: the run failed"
  echo "$out" | sed 's/^/   /'
  local got
  got=$(echo "$out" | sed -n 's/^fingerprint \(0x[0-9a-f]*\)$/\1/p')
  [[ $got == "$expected" ]] || fail "$1 printed the fingerprint '${got}', scenarios/demo.yaml expects $expected"
  echo "-- $1: fingerprint $got, as scenarios/demo.yaml expects"
}

# Every example, with CMake, each in a build folder of its own.
for dir in "$root"/examples/*/; do
  [[ -f $dir/CMakeLists.txt ]] || continue
  name=$(basename "$dir")
  echo "-- building examples/$name with CMake against the prefix"
  cmake -S "$dir" -B "$tmp/build-$name" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/$name.log" ||
    { cat "$tmp/$name.log" >&2; fail "configuring examples/$name"; }
  found=$(sed -n 's/^spikenn_DIR:PATH=//p' "$tmp/build-$name/CMakeCache.txt")
  [[ $found == "$config_dir" ]] || fail "examples/$name found spikenn in '$found', not in the prefix"
  cmake --build "$tmp/build-$name" -j2 >>"$tmp/$name.log" || { cat "$tmp/$name.log" >&2; fail "building examples/$name"; }
done
check_run "load_and_run (CMake)" "$tmp/build-load_and_run/load_and_run"
check_run "demo_in_code (CMake)" "$tmp/build-demo_in_code/demo_in_code"

echo "-- building the examples with pkg-config against the prefix"
PKG_CONFIG_PATH=$(dirname "$pc") "$root/examples/pkg-config/build.sh" "$tmp/pkg-config" ||
  fail "building the examples with pkg-config"
check_run "load_and_run (pkg-config)" "$tmp/pkg-config/load_and_run"
check_run "demo_in_code (pkg-config)" "$tmp/pkg-config/demo_in_code"

# The Python package, when the build has it: installed under the prefix where the build says,
# importable from there alone (the source tree's copy is not on the path), and running the demo
# to its fingerprint.
pydir=$(sed -n 's/^SPIKENN_PYTHON_INSTALL_DIR:STRING=//p' "$build/CMakeCache.txt")
# The interpreter the module was built for: the cache's Python_EXECUTABLE, or what FindPython found.
python=$(sed -n 's/^Python_EXECUTABLE:[A-Z]*=//p' "$build/CMakeCache.txt")
[[ -n $python ]] || python=$(sed -n 's/^_Python_EXECUTABLE:INTERNAL=//p' "$build/CMakeCache.txt")
[[ -n $python ]] || python=/usr/bin/python3
if [[ -n $pydir && -d $build/python/spikenn ]]; then
  [[ -f $prefix/$pydir/spikenn/__init__.py ]] || fail "the Python package is not installed in $pydir"
  ls "$prefix/$pydir"/spikenn/_spikenn*.so >/dev/null 2>&1 || fail "the Python module _spikenn is not installed in $pydir/spikenn"
  echo "-- importing the installed Python package from $pydir"
  got=$(cd "$tmp" && PYTHONPATH="$prefix/$pydir" "$python" -c "
import spikenn
assert spikenn.__file__.startswith('$prefix/'), spikenn.__file__
sim = spikenn.load('$root/scenarios/demo.yaml')
sim.run()
print(hex(sim.fingerprint))") || fail "the installed Python package does not run the demo"
  [[ $got == "$expected" ]] || fail "the installed Python package gave the fingerprint '${got}', scenarios/demo.yaml expects $expected"
  echo "-- Python: fingerprint $got, as scenarios/demo.yaml expects"
fi

echo "check_install: the installed library, headers, command, CMake package, pkg-config file and Python package work"
