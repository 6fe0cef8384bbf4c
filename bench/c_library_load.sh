#!/usr/bin/env bash
# Size and load time of one or more builds of libhalfcast_c.so (docs/c-api.md, "Self-contained
# library"): file size, .text size, the libraries it pulls in, and the median over RUNS fresh
# processes of dlopen(RTLD_NOW) and of the first conversion of tests/capi/data/tiny.onnx
# (bench/c_library_load.c).
# Usage: bench/c_library_load.sh [-n RUNS] LIBRARY...
set -euo pipefail
runs=31
if [ "${1:-}" = "-n" ]; then runs=$2; shift 2; fi
[ $# -ge 1 ] || { echo "usage: $0 [-n RUNS] LIBRARY..." >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
model=$here/../tests/capi/data/tiny.onnx
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -std=c99 -O2 -Wall -Wextra -I"$here/../capi/include" "$here/c_library_load.c" -o "$tmp/load" -ldl

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
row='%-60s %9s %9s %5s %10s %12s\n'
# shellcheck disable=SC2059 # the format is the row's
printf "$row" library "file KiB" "text KiB" libs "dlopen us" "1st conv us"
for lib in "$@"; do
  lib=$(readlink -f "$lib")
  "$tmp/load" "$lib" "$model" >/dev/null  # warms the file cache
  for _ in $(seq "$runs"); do "$tmp/load" "$lib" "$model"; done >"$tmp/times"
  text=$(size -A "$lib" | awk '$1 == ".text" {print int($2 / 1024)}')
  libs=$(ldd "$lib" | grep -c '=>')
  # shellcheck disable=SC2059
  printf "$row" "$(realpath --relative-to="$PWD" "$lib")" \
    $(($(stat -c %s "$lib") / 1024)) "$text" "$libs" \
    "$(cut -d' ' -f1 "$tmp/times" | median)" "$(cut -d' ' -f2 "$tmp/times" | median)"
done
