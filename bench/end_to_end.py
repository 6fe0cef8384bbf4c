#!/usr/bin/env python3
"""Times `halfcast convert` end to end (load, convert, save) against issue 2's targets, in one run.

  end_to_end.py --cli build/src/cli/halfcast --floor build/bench/halfcast_bench_floor \\
                [--dir /tmp/halfcast_bench] [--only chain|transformer|external ...] [--keep]

Cases (models made by gen_models.py next to this script, deleted afterwards unless --keep):
  chain        50,000-node elementwise graph          target: < 0.1 s
  transformer  ~1.5 GB of float32 weights, one protobuf target: < 2.5 s, peak RSS <= 2x input
  external     ~4.8 GB of external data                target: peak RSS < 1 GB (--external-data)
The floor (halfcast_bench_floor: read + parse + narrow + serialize + write, nothing else) is
timed alongside the chain and the transformer.

Each time is the best of --repeat runs after one warm-up run (so the page cache holds the input in
every case); peak memory is the process's maximum resident set size (wait4's ru_maxrss). Prints a
Markdown table for docs/performance.md; exits 1 if a target is missed.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GIB = 1 << 30

CASES = {
    # name: (gen_models.py arguments, target seconds, peak memory bound)
    "chain": (["chain", "--nodes", "50000"], 0.1, None),
    "transformer": (["transformer", "--layers", "26", "--hidden", "1024"], 2.5, "2x input"),
    "external": (["transformer", "--layers", "40", "--hidden", "1536", "--stream-external"], None,
                 "1 GiB"),
}


def run_measured(cmd):
    """Runs cmd, returning (wall seconds, peak RSS bytes, stdout) from wait4's rusage."""
    out_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"e2e_stdout_{os.getpid()}")
    with open(out_path, "wb") as out:
        start = time.perf_counter()
        pid = os.posix_spawn(cmd[0], cmd, os.environ,
                             file_actions=[(os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                                           (os.POSIX_SPAWN_DUP2, out.fileno(), 2)])
        # wait4 gives this child's own rusage (RUSAGE_CHILDREN would mix all children).
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - start
    with open(out_path) as f:
        text = f.read()
    os.remove(out_path)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} (exit {os.waitstatus_to_exitcode(status)})\n{text}")
    return seconds, usage.ru_maxrss * 1024, text


def input_bytes(model):
    size = os.path.getsize(model)
    if os.path.exists(model + ".data"):
        size += os.path.getsize(model + ".data")
    return size


def remove_model(path):
    for f in (path, path + ".data"):
        if os.path.exists(f):
            os.remove(f)


def best_of(cmd, repeat):
    run_measured(cmd)  # warm-up: the input in the page cache, as for every later run
    runs = [run_measured(cmd) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--floor", required=True)
    parser.add_argument("--dir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                      "halfcast_bench"))
    parser.add_argument("--only", action="append", choices=sorted(CASES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the generated models")
    args = parser.parse_args()
    cases = args.only or list(CASES)
    os.makedirs(args.dir, exist_ok=True)
    free = shutil.disk_usage(args.dir).free
    if "external" in cases and free < 12 * GIB:
        sys.exit(f"FAIL: {args.dir} has {free / GIB:.1f} GiB free; the external case needs 12")

    rows = []
    missed = []
    for name in cases:
        gen_args, target_seconds, memory_bound = CASES[name]
        model = os.path.join(args.dir, f"{name}.onnx")
        output = os.path.join(args.dir, f"{name}.fp16.onnx")
        if not os.path.exists(model):
            subprocess.run([sys.executable, os.path.join(HERE, "gen_models.py")] + gen_args +
                           ["--out", model, "--no-check"], check=True)
        size = input_bytes(model)
        cmd = [os.path.abspath(args.cli), "convert", model, output, "--quiet"]
        if name == "external":
            cmd.append("--external-data")
        repeat = 1 if name == "external" else args.repeat
        seconds, peak, _ = best_of(cmd, repeat)
        floor = ""
        if name != "external":  # the floor program reads one protobuf, no external data
            floor_seconds, _, floor_text = best_of(
                [os.path.abspath(args.floor), model, output + ".floor"], repeat)
            floor = f"{floor_seconds:.2f} s ({floor_text.strip()})"
            remove_model(output + ".floor")
        ok = True
        if target_seconds is not None and seconds >= target_seconds:
            ok = False
        if memory_bound == "2x input" and peak > 2 * size:
            ok = False
        if memory_bound == "1 GiB" and peak >= GIB:
            ok = False
        if not ok:
            missed.append(name)
        target = " and ".join(t for t in (
            f"< {target_seconds} s" if target_seconds else "",
            f"peak <= {memory_bound}" if memory_bound else "") if t)
        rows.append(f"| {name} | {size / 1e9:.3f} GB | {seconds:.3f} s | {peak / 1e6:.0f} MB "
                    f"| {floor or '-'} | {target} | {'yes' if ok else 'NO'} |")
        remove_model(output)
        if not args.keep:
            remove_model(model)
    print("| case | input | halfcast convert | peak RSS | floor | target | met |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    if missed:
        print(f"targets missed: {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
