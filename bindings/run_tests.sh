#!/usr/bin/env bash
# Runs one binding's own test suite against the built libhalfcast_c (ctest: bindings.LANGUAGE).
# Usage: run_tests.sh LANGUAGE LIB_DIR PKG_CONFIG_DIR WORK_DIR [TOOL...]
#   LANGUAGE        rust (TOOL: cargo) | go (TOOL: go) | dotnet (TOOLS: mcs mono) |
#                   python (TOOL: python3; only the ABI check: tests/python has the suite),
#                   each tool a path or, when configure did not find it, its name
#   LIB_DIR         the folder holding libhalfcast_c.so
#   PKG_CONFIG_DIR  the folder holding a halfcast.pc for that library
# A missing toolchain exits 77, which ctest reports as skipped, after a line saying why.
set -euo pipefail
language=$1 libdir=$2 pcdir=$3 work=$4
shift 4
here=$(cd "$(dirname "$0")" && pwd)
models=$(cd "$here/../tests/data/models" && pwd)
for tool in "$@"; do
  if ! command -v "$tool" >/dev/null; then
    echo "bindings.$language skipped: $tool not found (scripts/setup-debian.sh installs the" \
      "toolchains; Rust comes from rustup)"
    exit 77
  fi
done
export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p "$work"
# After the suite, its test of the ABI check, against a stand-in library of ABI 2.
foreign="$work/$language-foreign-abi"  # one per suite: ctest may run them at once
"$here/foreign_abi_library.sh" "$here/../capi/include/halfcast/halfcast_c.h" "$foreign"
with_foreign_abi() { LD_LIBRARY_PATH="$foreign:$LD_LIBRARY_PATH" HALFCAST_TEST_FOREIGN_ABI=1 "$@"; }

case $language in
  rust)
    # Offline: the crates have no dependencies. The target folder is kept between runs.
    export CARGO_TARGET_DIR="$work/rust-target"
    manifest="$here/rust/Cargo.toml"
    "$1" test --offline --manifest-path "$manifest"
    RUSTDOCFLAGS=-Dwarnings "$1" doc --offline --no-deps --quiet --manifest-path "$manifest"
    with_foreign_abi "$1" test --offline --manifest-path "$manifest" --test halfcast_test -- \
      --ignored --exact a_library_of_another_abi_is_refused_on_first_use ;;
  go)
    export GOCACHE="$work/go-cache" GOPATH="$work/go-path" GOFLAGS=-mod=mod GOPROXY=off
    cd "$here/go"
    "$1" vet ./...
    "$1" test -count=1 ./...
    with_foreign_abi "$1" test -count=1 -v -run '^TestALibraryOfAnotherABIIsRefusedOnFirstUse$' ./... ;;
  dotnet)
    "$here/dotnet/build.sh" "$work/dotnet" --tests
    rm -rf "$work/dotnet/scratch"
    tests=("$2" --debug "$work/dotnet/HalfcastTests.exe" "$models" "$work/dotnet/scratch")
    "${tests[@]}"
    with_foreign_abi "${tests[@]}" --foreign-abi ;;
  python)
    # The package (python/) loads the library named by HALFCAST_LIBRARY and checks its ABI.
    HALFCAST_LIBRARY="$foreign/libhalfcast_c.so.1" PYTHONPATH="$here/../python" "$1" -c '
import halfcast
try:
    halfcast.library_path()
except halfcast.LibraryError as error:
    assert "implements C ABI version 2, this package needs 1" in str(error), error
    print("refused:", error)
else:
    raise SystemExit("a library of ABI 2 was accepted")' ;;
  *)
    echo "unknown binding '$language'" >&2
    exit 2 ;;
esac
