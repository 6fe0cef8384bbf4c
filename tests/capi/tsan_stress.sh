#!/usr/bin/env bash
# Builds libhalfcast_c and capi_stress_test with ThreadSanitizer in a separate build folder and
# runs the stress test there. scripts/test.sh runs it after ctest (not inside it: instrumenting
# every module takes about five minutes on two cores).
# Usage: tests/capi/tsan_stress.sh [BUILD_DIR] (default build-tsan).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-tsan}
flags="-fsanitize=thread -g -O1"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHALFCAST_BUILD_BENCH=OFF \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread
cmake --build "$build" -j2 --target capi_stress_test
# halt_on_error: any race fails the run.
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" "$build/tests/capi/capi_stress_test"
