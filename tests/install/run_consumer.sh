#!/usr/bin/env bash
# Builds and runs an outside project against an installed halfcast.
# Usage: run_consumer.sh find_package|pkg_config PREFIX LIBDIR WORK_DIR MODEL
set -euo pipefail
kind=$1 prefix=$2 libdir=$3 work=$4 model=$5
here=$(cd "$(dirname "$0")" && pwd)
out=$work/$kind
rm -rf "$out" && mkdir -p "$out"
case $kind in
  find_package)
    # Only the install prefix is given: the package must find its own dependencies.
    cmake -S "$here/find_package" -B "$out" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix" >"$out/configure.log"
    cmake --build "$out" -j2 >"$out/build.log"
    "$out/consumer" "$model" ;;
  pkg_config)
    export PKG_CONFIG_PATH="$libdir/pkgconfig"
    [ "$(pkg-config --modversion halfcast)" != "" ]
    # shellcheck disable=SC2046 # pkg-config output is meant to be split
    cc -std=c99 -Wall -Wextra -pedantic -Werror "$here/pkg_config/main.c" -o "$out/consumer" \
      $(pkg-config --cflags --libs halfcast) -Wl,-rpath,"$(pkg-config --variable=libdir halfcast)"
    "$out/consumer" "$model" ;;
  *)
    echo "unknown consumer '$kind'" >&2; exit 2 ;;
esac
