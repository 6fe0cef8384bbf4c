#!/usr/bin/env bash
# Usage: check_symbols.sh LIBRARY HEADER EXPECTED_SONAME
# Fails if LIBRARY exports a dynamic symbol that is not halfcast_*, if a function declared in
# HEADER is not exported, or if the SONAME is not EXPECTED_SONAME.
set -euo pipefail
lib=$1 header=$2 soname=$3
status=0

exported=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u)
foreign=$(grep -v '^halfcast_' <<<"$exported" || true)
if [ -n "$foreign" ]; then
  echo "symbols exported by $lib that are not halfcast_*:"; echo "$foreign" | head -50
  status=1
fi

# Every function the header declares (the name before '(' after HALFCAST_C_EXPORT, possibly on
# the next line) must be exported.
declared=$(tr '\n' ' ' <"$header" | grep -oE 'HALFCAST_C_EXPORT [^;(]*\(' |
           grep -oE 'halfcast_[a-z0-9_]+ *\($' | tr -d ' (' | sort -u)
[ -n "$declared" ] || { echo "no declarations found in $header"; exit 1; }
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
if [ -n "$missing" ]; then
  echo "declared in $(basename "$header") but not exported:"; echo "$missing"
  status=1
fi

actual=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
if [ "$actual" != "$soname" ]; then
  echo "SONAME is '$actual', expected '$soname'"
  status=1
fi
echo "$(wc -l <<<"$declared") functions declared, $(wc -l <<<"$exported") symbols exported"
exit $status
