#!/usr/bin/env bash
# Builds and runs an outside project against an installed halfcast.
# Usage: run_consumer.sh find_package|find_package_c|pkg_config PREFIX LIBDIR WORK_DIR MODEL
set -euo pipefail
kind=$1 prefix=$2 libdir=$3 work=$4 model=$5
here=$(cd "$(dirname "$0")" && pwd)
out=$work/$kind
rm -rf "$out" && mkdir -p "$out"

# configure_c_component DIR ARGS...: the C-only consumer, with the C++ component's dependencies
# made unfindable.
configure_c_component() {
  local dir=$1; shift
  cmake -S "$here/find_package_c" -B "$dir" -DCMAKE_BUILD_TYPE=Release --no-warn-unused-cli \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_DISABLE_FIND_PACKAGE_ONNX=ON \
    -DCMAKE_DISABLE_FIND_PACKAGE_Protobuf=ON -DCMAKE_DISABLE_FIND_PACKAGE_absl=ON \
    -DCMAKE_DISABLE_FIND_PACKAGE_Eigen3=ON "$@"
}

# says LOG PATTERN: LOG, its lines joined (CMake wraps long messages), matches PATTERN.
says() { tr -s ' \n' '  ' <"$1" | grep -E "$2" >/dev/null; }

case $kind in
  find_package)
    # Only the install prefix is given: the package must find its own dependencies.
    cmake -S "$here/find_package" -B "$out" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix" >"$out/configure.log"
    cmake --build "$out" -j2 >"$out/build.log"
    "$out/consumer" "$model" ;;
  find_package_c)
    configure_c_component "$out/c" >"$out/configure.log"
    cmake --build "$out/c" -j2 >"$out/build.log"
    "$out/c/consumer" "$model"
    # CXX as an optional component: not found, and C still usable.
    configure_c_component "$out/optional" -DHALFCAST_OPTIONAL=CXX >"$out/optional.log"
    says "$out/optional.log" "halfcast_C_FOUND=TRUE halfcast_CXX_FOUND=FALSE" ||
      { echo "optional CXX without its dependencies:"; cat "$out/optional.log"; exit 1; }
    # CXX as a required component: refused, naming what it misses (or, from a self-contained
    # build, saying that it has none).
    if configure_c_component "$out/cxx" "-DHALFCAST_REQUIRED=C;CXX" >"$out/cxx.log" 2>&1; then
      echo "COMPONENTS CXX was found although ONNX, Protobuf, Abseil and Eigen3 were disabled"
      exit 1
    fi
    says "$out/cxx.log" \
      "component CXX needs Protobuf, ONNX, absl, Eigen3|has the C component only" ||
      { echo "COMPONENTS CXX failed without naming its dependencies:"; cat "$out/cxx.log"; exit 1; }
    # An unknown component is refused by name.
    if configure_c_component "$out/unknown" -DHALFCAST_REQUIRED=Fortran >"$out/unknown.log" 2>&1
    then
      echo "an unknown component was accepted"; exit 1
    fi
    says "$out/unknown.log" "unknown halfcast component 'Fortran'" ||
      { cat "$out/unknown.log"; exit 1; }
    echo "components: C alone works without the C++ dependencies; CXX is refused without them" ;;
  pkg_config)
    export PKG_CONFIG_PATH="$libdir/pkgconfig"
    [ "$(pkg-config --modversion halfcast)" != "" ]
    # shellcheck disable=SC2046 # pkg-config output is meant to be split
    cc -std=c99 -Wall -Wextra -pedantic -Werror "$here/c_consumer.c" -o "$out/consumer" \
      $(pkg-config --cflags --libs halfcast) -Wl,-rpath,"$(pkg-config --variable=libdir halfcast)"
    "$out/consumer" "$model" ;;
  *)
    echo "unknown consumer '$kind'" >&2; exit 2 ;;
esac
