#!/usr/bin/env bash
# Installs what halfcast needs on Debian 12 (build, tests, benchmarks, examples) if missing,
# and ONNX Runtime for Node.js (the integration checks' runtime) under tests/integration/ort.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make pkg-config protobuf-compiler libprotobuf-dev libonnx-dev libonnx-testdata
  python3-onnx python3-numpy python3-pytest python3-venv libabsl-dev libeigen3-dev libgtest-dev
  libgmock-dev libbenchmark-dev nodejs npm golang-go mono-mcs valgrind)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs may come from outside Debian (nodesource); only install it when node is absent.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# onnxruntime-node: the prebuilt CPU binary is in the npm tarball; --ignore-scripts skips the
# optional GPU download.
if [ ! -f tests/integration/ort/node_modules/onnxruntime-node/package.json ]; then
  (cd tests/integration/ort && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
