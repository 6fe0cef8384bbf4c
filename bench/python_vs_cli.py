#!/usr/bin/env python3
"""Times the halfcast Python package against the `halfcast convert` command, in one run.

  python_vs_cli.py --cli build/src/cli/halfcast --library build/capi/libhalfcast_c.so \\
                   [--repeat 5] [--transformer] [--dir /tmp/halfcast_bench_py] [--keep]

Models come from gen_models.py next to this script (deleted afterwards unless --keep):
  chain        50,000-node elementwise graph (5 MB)
  transformer  ~1.5 GB of float32 weights in one protobuf (only with --transformer)

Measured, each the best of --repeat runs after one warm-up run (so the input is in the page
cache every time):
  cli           `halfcast convert IN OUT --quiet`: the process, start to exit
  py file       convert_float_to_float16_file(IN, OUT) (halfcast_convert_file), timed inside a
                Python process that has already imported the package and loaded the library
  py file cold  the same call as the first one of a fresh process (loads libhalfcast_c, builds
                onnx's schema registry), timed inside that process
  py proto      the drop-in workflow: convert_float_to_float16(model) on a ModelProto already
                in memory, returning a ModelProto (serialize, library parse, convert, serialize,
                Python parse)
  py load+save  onnx.load(IN) + convert_float_to_float16 + onnx.save(OUT), what a script
                written for onnxconverter-common does
The process figures exclude Python's start-up and `import onnx` (about 0.3 s here), which a
Python user pays with onnxconverter-common too; the `py process` column gives them for the file
call. Overhead = package time / CLI time - 1. The package runs from python/ in this checkout
(PYTHONPATH) over --library unless --installed. Prints a Markdown table for docs/performance.md.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CASES = {
    "chain": ["chain", "--nodes", "50000"],
    "transformer": ["transformer", "--layers", "26", "--hidden", "1024"],
}

# Runs in a child process: prints JSON with the timings of each way of converting.
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import onnx
import halfcast.float16 as float16
imported = time.perf_counter() - t0
model_in, out, repeat, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
result = {"import": imported}
t = time.perf_counter()
float16.convert_float_to_float16_file(model_in, out)
result["file_cold"] = time.perf_counter() - t
if mode == "all":
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        float16.convert_float_to_float16_file(model_in, out)
        runs.append(time.perf_counter() - t)
    result["file"] = min(runs)
    model = onnx.load(model_in)
    float16.convert_float_to_float16(model)  # warm-up
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        float16.convert_float_to_float16(model)
        runs.append(time.perf_counter() - t)
    result["proto"] = min(runs)
    del model
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        onnx.save(float16.convert_float_to_float16(onnx.load(model_in)), out)
        runs.append(time.perf_counter() - t)
    result["load_save"] = min(runs)
print(json.dumps(result))
"""


def wall(command, env=None):
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--library", help="libhalfcast_c.so (HALFCAST_LIBRARY for the package)")
    parser.add_argument("--installed", action="store_true",
                        help="use the halfcast package installed for this python3")
    parser.add_argument("--transformer", action="store_true",
                        help="also the 1.5 GB transformer (needs ~6 GB of RAM and disk)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                      "halfcast_bench_py"))
    parser.add_argument("--keep", action="store_true", help="keep the generated models")
    args = parser.parse_args()
    env = dict(os.environ)
    if not args.installed:
        env["PYTHONPATH"] = os.path.join(ROOT, "python")
    if args.library:
        env["HALFCAST_LIBRARY"] = os.path.abspath(args.library)
    os.makedirs(args.dir, exist_ok=True)
    cases = ["chain"] + (["transformer"] if args.transformer else [])
    rows = []
    for name in cases:
        model = os.path.join(args.dir, f"{name}.onnx")
        out = os.path.join(args.dir, f"{name}.fp16.onnx")
        if not os.path.exists(model):
            subprocess.run([sys.executable, os.path.join(HERE, "gen_models.py"), *CASES[name],
                            "--out", model, "--no-check"], check=True, stdout=subprocess.DEVNULL)
        cli = [os.path.abspath(args.cli), "convert", model, out, "--quiet"]
        wall(cli)
        cli_seconds = min(wall(cli) for _ in range(args.repeat))
        with open(out, "rb") as f:
            cli_bytes = f.read()
        child = [sys.executable, "-c", CHILD, model, out, str(args.repeat)]
        text = subprocess.run(child + ["all"], check=True, env=env, capture_output=True,
                              text=True).stdout
        timings = json.loads(text.strip().splitlines()[-1])
        with open(out, "rb") as f:
            same = f.read() == cli_bytes  # the last write was onnx.save of the drop-in result
        colds, processes = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            text = subprocess.run(child + ["cold"], check=True, env=env, capture_output=True,
                                  text=True).stdout
            processes.append(time.perf_counter() - start)
            colds.append(json.loads(text.strip().splitlines()[-1])["file_cold"])
        size = os.path.getsize(model)

        def cell(seconds):
            return f"{seconds:.3f} s ({100 * (seconds / cli_seconds - 1):+.0f}%)"

        rows.append(f"| {name} ({size / 1e6:,.1f} MB) | {cli_seconds:.3f} s | "
                    f"{cell(timings['file'])} | {cell(min(colds))} | "
                    f"{cell(timings['proto'])} | {cell(timings['load_save'])} | "
                    f"{min(processes):.3f} s | {'yes' if same else 'NO'} |")
        for path in (out,) + (() if args.keep else (model,)):
            if os.path.exists(path):
                os.remove(path)
    print("| model | cli | py file | py file cold | py proto | py load+save | py process "
          "(file, cold) | same bytes |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
