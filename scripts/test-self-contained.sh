#!/usr/bin/env bash
# The self-contained C library (issue 13) in its own build folder: onnx, protobuf and Abseil are
# built from Debian's source packages when it is first configured (scripts/self-contained-deps.sh,
# about 15-30 minutes on two cores), then the tests labelled "selfcontained" run against it.
# Not yet part of scripts/test.sh: see docs/c-api.md, "Self-contained library".
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-selfcontained -DCMAKE_BUILD_TYPE=Release -DHALFCAST_SELF_CONTAINED=ON \
  -DHALFCAST_BUILD_BENCH=OFF
cmake --build build-selfcontained -j"$(nproc)" --target halfcast_c capi_test capi_header_test \
  capi_self_contained_consumer
ctest --test-dir build-selfcontained --output-on-failure -L selfcontained
