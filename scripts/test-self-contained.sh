#!/usr/bin/env bash
# The self-contained C library (issue 13) in its own build folder: onnx, protobuf and Abseil are
# built from Debian's source packages first (scripts/self-contained-deps.sh, about 15-30 minutes
# on two cores, once per folder), then the tests labelled "selfcontained" run against it. Part of
# scripts/test.sh; skipped, with a line saying so, only when the source tarballs cannot be fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-selfcontained
# The dependencies before CMake (whose configure would run the same script and find them done),
# so that unreachable sources are told apart from a failed build.
status=0
./scripts/self-contained-deps.sh "$build/self-contained/prefix" "$build/self-contained/work" ||
  status=$?
if [ "$status" -eq 3 ]; then
  echo "self-contained library: SKIPPED, its dependencies' sources cannot be fetched (above)"
  exit 0
elif [ "$status" -ne 0 ]; then
  exit "$status"
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHALFCAST_SELF_CONTAINED=ON \
  -DHALFCAST_BUILD_BENCH=OFF
cmake --build "$build" -j"$(nproc)" --target halfcast_c capi_test capi_header_test \
  capi_self_contained_consumer
ctest --test-dir "$build" --output-on-failure -L selfcontained
