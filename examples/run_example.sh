#!/usr/bin/env bash
# Builds and runs one example against an installed halfcast (the test suite's "examples" label).
# Usage: run_example.sh LANGUAGE PREFIX LIBDIR WORK_DIR MODEL [TOOL]
#   LANGUAGE  c | cpp | python | rust | go | csharp
#   LIBDIR    the install's library folder (PREFIX/lib usually)
#   TOOL      the interpreter or toolchain driver (python3, cargo, go) where one is needed
# Each example writes WORK_DIR/LANGUAGE/model.fp16.onnx and runs mixed precision.
set -euo pipefail
language=$1 prefix=$2 libdir=$3 work=$4 model=$5 tool=${6:-}
here=$(cd "$(dirname "$0")" && pwd)
out=$work/$language
rm -rf "$out" && mkdir -p "$out"
export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

case $language in
  c)
    # shellcheck disable=SC2046 # pkg-config output is meant to be split
    cc -std=c99 -O2 -Wall -Wextra -pedantic -Werror "$here/c/example.c" -o "$out/example" \
      $(pkg-config --cflags --libs halfcast) -lm
    "$out/example" "$model" "$out" ;;
  cpp)
    cmake -S "$here/cpp" -B "$out/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
      >"$out/configure.log"
    cmake --build "$out/build" -j2 >"$out/build.log"
    "$out/build/example" "$model" "$out" ;;
  python)
    HALFCAST_LIBRARY="$libdir/libhalfcast_c.so" "$tool" "$here/python/example.py" "$model" "$out" ;;
  rust)
    # Offline: the crate has no dependencies. The target folder is kept between runs.
    CARGO_TARGET_DIR="$work/rust-target" HALFCAST_LIB_DIR="$libdir" \
      "$tool" build --offline --release --quiet --manifest-path "$here/rust/Cargo.toml"
    "$work/rust-target/release/halfcast-example" "$model" "$out" ;;
  go)
    export GOCACHE="$work/go-cache" GOPATH="$work/go-path" GOFLAGS=-mod=mod GOPROXY=off
    (cd "$here/go" && "$tool" build -o "$out/example" .)
    "$out/example" "$model" "$out" ;;
  csharp)
    # The Halfcast binding (bindings/dotnet) built into the example's folder, then its user.
    "$here/../bindings/dotnet/build.sh" "$out"
    mcs -nologo -r:"$out/Halfcast.dll" -out:"$out/example.exe" "$here/csharp/Example.cs"
    mono "$out/example.exe" "$model" "$out" ;;
  *)
    echo "unknown language '$language'" >&2; exit 2 ;;
esac
test -s "$out/model.fp16.onnx" || { echo "no $out/model.fp16.onnx written" >&2; exit 1; }
