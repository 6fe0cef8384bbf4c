#!/usr/bin/env bash
# Checks a libhalfcast_c.so built with -DHALFCAST_SELF_CONTAINED=ON:
#  1. its NEEDED entries are the C and C++ runtimes alone (libc, libm, the dynamic loader,
#     libstdc++, libgcc_s), and ldd lists no onnx, protobuf or Abseil library;
#  2. it loads and converts MODEL in a fresh, container-like root that holds only libc, libm,
#     libstdc++ and libgcc_s (what a base image has), with the library in a folder of its own
#     as the only library path, run under `env -i`.
# Usage: self_contained_test.sh LIBRARY CONSUMER MODEL WORK_DIR
# CONSUMER is tests/install/c_consumer.c built against LIBRARY. Exit 77 (skipped) when neither
# chroot nor an unprivileged user namespace is available.
set -euo pipefail
lib=$1 consumer=$2 model=$3 work=$4
runtimes="libc.so.6 libm.so.6 libstdc++.so.6 libgcc_s.so.1"
status=0

# The dynamic loader is glibc's too: thread-locals of position-independent code need its
# __tls_get_addr.
loader=$(readelf -l "$consumer" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
needed=$(objdump -p "$lib" | awk '$1 == "NEEDED" {print $2}')
for name in $needed; do
  case " $runtimes $(basename "$loader") " in
    *" $name "*) ;;
    *) echo "$lib needs $name, which is not a C or C++ runtime library"; status=1 ;;
  esac
done
if ldd "$lib" | grep -Ei 'onnx|protobuf|absl'; then
  echo "ldd lists the libraries above for $lib"; status=1
fi
echo "NEEDED: $(echo $needed)"

# The root: the dynamic loader and the runtimes where Debian keeps them, the library alone in
# /opt/halfcast.
root=$work/root
rm -rf "$root" && mkdir -p "$root/lib64" "$root/lib/x86_64-linux-gnu" "$root/opt/halfcast"
cp -L "$loader" "$root$loader"
for name in $runtimes; do
  path=$(ldconfig -p | awk -v n="$name" '$1 == n && /x86-64/ && !p {print $NF; p = 1}')
  [ -n "$path" ] || { echo "no $name on this machine"; exit 1; }
  cp -L "$path" "$root/lib/x86_64-linux-gnu/$name"
done
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
cp -L "$lib" "$root/opt/halfcast/$soname"
cp "$consumer" "$root/consumer"
cp "$model" "$root/model.onnx"

# chroot needs root; an unprivileged user namespace gives the same without it.
chroot_bin=$(command -v chroot || echo /usr/sbin/chroot)
if env -i "$chroot_bin" "$root" "$loader" --version >/dev/null 2>&1; then
  run=("$chroot_bin")
elif env -i "$(command -v unshare)" -r "$chroot_bin" "$root" "$loader" --version >/dev/null 2>&1
then
  run=("$(command -v unshare)" -r "$chroot_bin")
else
  echo "skipped: neither chroot nor unshare -r works here"; exit 77
fi
if ! env -i LD_LIBRARY_PATH=/opt/halfcast "${run[@]}" "$root" /consumer /model.onnx; then
  echo "the library did not load or convert in a root with only $runtimes"; status=1
fi
exit $status
