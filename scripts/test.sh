#!/usr/bin/env bash
# Installs what is missing, builds halfcast with its tests, and runs the whole suite, then the
# C API stress test under ThreadSanitizer and the self-contained C library, each in a separate
# build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 1500
# The C API stress test again under ThreadSanitizer, in its own instrumented build (issue 5).
./tests/capi/tsan_stress.sh build-tsan
# The self-contained C library (issue 13) in its own build: onnx, protobuf and Abseil built from
# Debian's source packages when it is first configured, then label "selfcontained".
cmake -S . -B build-selfcontained -DCMAKE_BUILD_TYPE=Release -DHALFCAST_SELF_CONTAINED=ON \
  -DHALFCAST_BUILD_BENCH=OFF
cmake --build build-selfcontained -j"$(nproc)" --target halfcast_c capi_test capi_header_test \
  capi_self_contained_consumer
ctest --test-dir build-selfcontained --output-on-failure -L selfcontained
