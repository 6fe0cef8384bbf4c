#!/usr/bin/env bash
# Builds a stand-in libhalfcast_c.so.1 that implements C ABI 2, to check that each binding
# refuses a library of another ABI on first use. It defines every function of the header (so
# that a binary bound at load time, as Rust's are, still loads): the version queries and
# halfcast_status_code_name work, every other function aborts, since no binding may call one
# before its ABI check.
# Usage: foreign_abi_library.sh HEADER OUT_DIR
set -euo pipefail
header=$1 out=$2
mkdir -p "$out"
{
  echo '#include <stdlib.h>'
  echo 'int halfcast_abi_version(void) { return 2; }'
  echo 'const char* halfcast_version(void) { return "9.0.0"; }'
  echo 'const char* halfcast_status_code_name(int code) {'
  echo '  return code == 9 ? "failed_precondition" : "unknown_code";'
  echo '}'
  grep '^HALFCAST_C_EXPORT' "$header" | grep -o 'halfcast_[a-z0-9_]*(' | tr -d '(' | sort -u |
    grep -v -x -e halfcast_abi_version -e halfcast_version -e halfcast_status_code_name |
    sed 's/.*/void &(void) { abort(); }/'
} >"$out/foreign_abi.c"
cc -shared -fPIC -Wl,-soname,libhalfcast_c.so.1 -o "$out/libhalfcast_c.so.1" "$out/foreign_abi.c"
ln -sf libhalfcast_c.so.1 "$out/libhalfcast_c.so"
