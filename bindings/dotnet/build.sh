#!/usr/bin/env bash
# Builds Halfcast.dll (with its XML documentation and Mono's dllmap config) into OUT_DIR with
# Mono's mcs; with --tests also the test program HalfcastTests.exe.
# Usage: build.sh OUT_DIR [--tests]
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
# CS1591 (a public member without an XML comment) is left to judgement: enum values named
# after the C header's need none.
mcs -nologo -target:library -warn:4 -nowarn:1591 -warnaserror+ -out:"$out/Halfcast.dll" \
  -doc:"$out/Halfcast.xml" "$here"/Halfcast/*.cs
cp "$here/Halfcast/Halfcast.dll.config" "$out/"
if [ "${2:-}" = --tests ]; then
  mcs -nologo -warn:4 -warnaserror+ -r:"$out/Halfcast.dll" -out:"$out/HalfcastTests.exe" \
    "$here"/tests/*.cs
fi
