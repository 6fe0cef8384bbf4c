#!/usr/bin/env bash
# Installs what is missing, builds halfcast with its tests, and runs the whole suite, then the
# C API stress test under ThreadSanitizer and the self-contained C library's tests, each in a
# separate build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 1500
# The C API stress test again under ThreadSanitizer, in its own instrumented build (issue 5).
./tests/capi/tsan_stress.sh build-tsan
# The self-contained C library and its tests, in its own build folder (issue 13): its first run
# builds onnx, protobuf and Abseil from source (docs/c-api.md, "Self-contained library").
./scripts/test-self-contained.sh
