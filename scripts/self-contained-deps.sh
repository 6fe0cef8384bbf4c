#!/usr/bin/env bash
# Builds Abseil, protobuf and onnx as static, position-independent libraries from Debian's
# source packages and installs them into PREFIX, for -DHALFCAST_SELF_CONTAINED=ON (CMake runs
# this when it configures; it can also be run by hand).
# Usage: scripts/self-contained-deps.sh PREFIX WORK_DIR
# Environment: HALFCAST_DEPS_JOBS (default 2), HALFCAST_DEPS_LAUNCHER (e.g. ccache).
# Exit status 3: a source tarball could not be fetched (no network or no Debian source index);
# scripts/test-self-contained.sh skips on it, any other failure fails.
#
# Why not Debian's own .a files: libonnx-dev has no libonnx.a, and libprotobuf.a and the Abseil
# archives are built as PIE with local-exec TLS (R_X86_64_TPOFF32), which ld refuses in a shared
# object. Why onnx comes from trixie: the package registry this project is limited to serves
# onnx 1.17.0's upstream tarball but not bookworm's onnx 1.12.0 source; see docs/c-api.md.
# Only upstream tarballs are taken (apt-get source --tar-only): no dpkg-dev is needed, and apt
# checks each against the signed Sources index.
set -euo pipefail
prefix=$1 work=$2
jobs=${HALFCAST_DEPS_JOBS:-2}
launcher=${HALFCAST_DEPS_LAUNCHER:-}
mkdir -p "$prefix" "$work"
prefix=$(cd "$prefix" && pwd) work=$(cd "$work" && pwd)

# The source versions: Abseil and protobuf as installed (so headers match the system's protoc),
# onnx the one trixie has.
installed_source_version() { dpkg-query -W -f='${source:Version}' "$1" | sed 's/^[0-9]*://'; }
absl_version=$(installed_source_version libabsl-dev)
protobuf_version=$(installed_source_version libprotobuf-dev)
onnx_suite=trixie

# A private apt configuration with deb-src entries for this machine's mirrors, so nothing under
# /etc/apt changes and no root is needed.
apt_dir=$work/apt
mkdir -p "$apt_dir/sources" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
first_uri="" keyring=""
for file in /etc/apt/sources.list.d/*.sources; do
  [ -e "$file" ] || continue
  sed 's/^Types:.*/Types: deb-src/' "$file" >"$apt_dir/sources/$(basename "$file")"
  [ -n "$first_uri" ] || first_uri=$(awk '$1 == "URIs:" {print $2; exit}' "$file")
  [ -n "$keyring" ] || keyring=$(awk '$1 == "Signed-By:" {print $2; exit}' "$file")
done
if [ -f /etc/apt/sources.list ]; then
  sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list >"$apt_dir/sources/system.list"
  [ -n "$first_uri" ] || first_uri=$(awk '$1 == "deb" && $2 !~ /^\[/ {print $2; exit}' \
                                      /etc/apt/sources.list)
fi
[ -n "$first_uri" ] || { echo "no Debian mirror found in /etc/apt" >&2; exit 1; }
{
  echo "Types: deb-src"; echo "URIs: $first_uri"; echo "Suites: $onnx_suite"
  echo "Components: main"; [ -z "$keyring" ] || echo "Signed-By: $keyring"
} >"$apt_dir/sources/onnx-$onnx_suite.sources"
cat >"$apt_dir/apt.conf" <<EOF
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$apt_dir/sources";
Dir::State::Lists "$apt_dir/lists";
Dir::Cache "$apt_dir/cache";
APT::Sandbox::User "root";
EOF
export APT_CONFIG=$apt_dir/apt.conf

# fetch NAME SPEC: the upstream tarball of source package SPEC (name=version or name/suite),
# unpacked once into $work/src/NAME; prints that folder.
fetch() {
  local name=$1 spec=$2 dir=$work/src/$1
  if [ ! -f "$dir/.unpacked" ]; then
    if [ ! -f "$apt_dir/.updated" ]; then
      apt-get update -qq >&2 || { echo "cannot read the Debian source indexes" >&2; exit 3; }
      touch "$apt_dir/.updated"
    fi
    rm -rf "$dir" "$work/download-$name" && mkdir -p "$dir" "$work/download-$name"
    (cd "$work/download-$name" && apt-get source -qq --tar-only "$spec") >&2 ||
      { echo "cannot fetch the source tarball of $spec" >&2; exit 3; }
    tar -xf "$work/download-$name"/*.orig.tar.* -C "$dir" --strip-components=1
    touch "$dir/.unpacked"
  fi
  echo "$dir"
}

common=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON
        -DCMAKE_CXX_STANDARD=17 -DCMAKE_CXX_VISIBILITY_PRESET=hidden
        -DCMAKE_VISIBILITY_INLINES_HIDDEN=ON -DCMAKE_INSTALL_PREFIX="$prefix"
        -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_PREFIX_PATH="$prefix")
[ -z "$launcher" ] || common+=(-DCMAKE_C_COMPILER_LAUNCHER="$launcher"
                               -DCMAKE_CXX_COMPILER_LAUNCHER="$launcher")

# step LOG COMMAND...: runs COMMAND with its output in $work/LOG.log, shown in part if it fails.
step() {
  local log=$work/$1.log; shift
  "$@" >"$log" 2>&1 || { tail -40 "$log" >&2; echo "failed: $* (log: $log)" >&2; return 1; }
}

# build NAME SPEC CMAKE_ARGS...: configure, build and install one dependency unless done.
build() {
  local name=$1 spec=$2; shift 2
  local stamp=$prefix/.$name-${spec//[\/=]/-}.done
  [ -f "$stamp" ] && return
  local src start=$SECONDS
  src=$(fetch "$name" "$spec")
  echo "self-contained: building $name ($spec) as a static PIC library" >&2
  step "$name-configure" cmake -S "$src" -B "$work/build-$name" "${common[@]}" "$@"
  step "$name-build" cmake --build "$work/build-$name" -j"$jobs"
  step "$name-install" cmake --install "$work/build-$name"
  echo "self-contained: $name took $((SECONDS - start)) s" >&2
  touch "$stamp"
}

build abseil "abseil=$absl_version" -DABSL_PROPAGATE_CXX_STD=ON -DABSL_BUILD_TESTING=OFF \
  -DBUILD_TESTING=OFF -DABSL_ENABLE_INSTALL=ON
# protoc is the system's (same version); zlib stays out so that the library needs no libz.
build protobuf "protobuf=$protobuf_version" -Dprotobuf_BUILD_TESTS=OFF \
  -Dprotobuf_BUILD_PROTOC_BINARIES=OFF -Dprotobuf_BUILD_LIBPROTOC=OFF -Dprotobuf_WITH_ZLIB=OFF
# The Protobuf_* hints keep onnx from taking the system's libprotobuf next to /usr/bin/protoc.
build onnx "onnx/$onnx_suite" -DONNX_ML=1 -DONNX_NAMESPACE=onnx -DONNX_BUILD_TESTS=OFF \
  -DBUILD_ONNX_PYTHON=OFF -DONNX_GEN_PB_TYPE_STUBS=OFF -DONNX_USE_PROTOBUF_SHARED_LIBS=OFF \
  -DProtobuf_PROTOC_EXECUTABLE="$(command -v protoc)" \
  -DProtobuf_LIBRARY="$prefix/lib/libprotobuf.a" \
  -DProtobuf_LITE_LIBRARY="$prefix/lib/libprotobuf-lite.a" \
  -DProtobuf_INCLUDE_DIR="$prefix/include"
