#!/usr/bin/env python3
"""Run search_bench with repetitions and print docs/performance.md's "Mixed precision" table.

  bench/search_table.py --bench build/bench/search_bench [--repetitions 3] [--filter REGEX]

Prints the date, the load average before and after (the machine is shared: wall time suffers,
CPU time much less), then one row per model and strategy: the min and median of the times over
the repetitions, the medians of the memory figures. Evaluations and kept nodes must not vary
between repetitions (a search is deterministic); the script fails if they do.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile


def load_average():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(bench, repetitions, pattern):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "search.json")
        command = [bench, f"--benchmark_repetitions={repetitions}", f"--benchmark_out={out}",
                   "--benchmark_out_format=json"]
        if pattern:
            command.append(f"--benchmark_filter={pattern}")
        subprocess.run(command, check=True, stdout=sys.stderr)
        with open(out) as f:
            return json.load(f)["benchmarks"]


def spread(values, digits):
    return f"{min(values):.{digits}f} / {statistics.median(values):.{digits}f}"


def rows(benchmarks):
    runs = {}
    for b in benchmarks:
        if b.get("run_type") == "iteration" and not b.get("error_occurred"):
            runs.setdefault(b["run_name"], []).append(b)
        elif b.get("error_occurred"):
            sys.exit(f"{b['name']}: {b.get('error_message')}")
    for name, reps in runs.items():
        _, model, strategy = name.split("/")[:3]
        for key in ("evaluations", "kept_by_search"):
            if len({r[key] for r in reps}) != 1:
                sys.exit(f"{name}: {key} differs between repetitions")
        r = reps[0]
        yield (f"| {model} | {strategy} | {r['rtol']:g} / {r['atol']:g} | {r['evaluations']:.0f} "
               f"| {r['kept_by_search']:.0f} | {spread([x['real_time'] for x in reps], 3)} "
               f"| {spread([x['cpu_time'] for x in reps], 3)} "
               f"| {statistics.median([x['retained_MB'] for x in reps]):.3g} "
               f"| {statistics.median([x['peak_rss_MB'] for x in reps]):.0f} "
               f"({statistics.median([x['rss_before_MB'] for x in reps]):.0f}) |")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="the search_bench program")
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--filter", default="", help="--benchmark_filter of search_bench")
    a = ap.parse_args()
    start = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    before = load_average()
    benchmarks = run(a.bench, a.repetitions, a.filter)
    print(f"{start}, {os.cpu_count()} cores, load average before {before}, "
          f"after {load_average()}; min / median of {a.repetitions} repetitions")
    print("| model | strategy | rtol / atol | evaluations | nodes kept by the search "
          "| wall s | CPU s | peak retained MB | peak RSS MB (before the search) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows(benchmarks):
        print(row)


if __name__ == "__main__":
    main()
