#!/usr/bin/env python3
"""Model IO checks too big for the unit suite, with halfcast_bench_io (bench/model_io_bench.cc).

  io_large.py --bench build/bench/halfcast_bench_io [--dir /tmp/halfcast_io_bench] [--keep]
              [--only single|external]

Cases (models made by gen_models.py next to this script):
  single    ~1.5 GB of float32 weights in one protobuf: load + save; peak RSS close to the model's
            size (bound: 1.3x the file).
  external  ~2.6 GB of external data (over protobuf's 2 GB limit in total): load it all, save it
            again with external data, reload checking every reference (bound: 1.3x the data).

Prints one Markdown table row per case; exits 1 if a case fails or exceeds its memory bound.
"""
import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = {
    "single": ["transformer", "--layers", "26", "--hidden", "1024"],
    "external": ["transformer", "--layers", "20", "--hidden", "1536", "--stream-external"],
}
MEMORY_BOUND = 1.3


def model_bytes(path):
    total = os.path.getsize(path)
    if os.path.exists(path + ".data"):
        total += os.path.getsize(path + ".data")
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--dir", default="/tmp/halfcast_io_bench")
    parser.add_argument("--only", action="append", choices=sorted(CASES))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    failed = False
    print("| case | model bytes | load s | save s | peak RSS MiB | peak / model |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in args.only or sorted(CASES):
        src = os.path.join(args.dir, f"{name}.onnx")
        dst_dir = os.path.join(args.dir, f"{name}_out")
        os.makedirs(dst_dir, exist_ok=True)
        dst = os.path.join(dst_dir, f"{name}.onnx")
        if not os.path.exists(src):
            subprocess.run([sys.executable, os.path.join(HERE, "gen_models.py"), *CASES[name],
                            "--out", src, "--no-check"], check=True, stdout=subprocess.DEVNULL)
        size = model_bytes(src)
        cmd = [args.bench, src, dst] + (["--external-data"] if name == "external" else [])
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"| {name} | {size} | failed: {result.stderr.strip()} | | | |")
            failed = True
            continue
        fields = dict(item.split("=") for item in result.stdout.split())
        peak = int(fields["peak_rss_mib"])
        ratio = peak * (1 << 20) / size
        failed |= ratio > MEMORY_BOUND
        print(f"| {name} | {size} | {fields['load_s']} | {fields['save_s']} | {peak} | "
              f"{ratio:.2f} |")
        if not args.keep:
            shutil.rmtree(dst_dir)
            for path in (src, src + ".data"):
                if os.path.exists(path):
                    os.remove(path)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
