#!/usr/bin/env python3
"""halfcast's real-model checks against ONNX Runtime 1.30 (CPU, onnxruntime-node).

Each mode is one ctest test (label "integration"); `prepare` is their fixture.

  prepare    write the feeds of inputs.json (make_feeds.py) and ONNX Runtime's float32 outputs
             of every model: WORK/feeds/<model>/<input>.npy, WORK/ort_fp32/<model>/<output>.npy
  convert    `halfcast convert` the model (--keep-io-types or not, --target); the result must
             pass onnx's checker with strict shape inference; float16: it must load and run in
             ONNX Runtime and (unless --run-only) match ONNX Runtime's float32 outputs within
             --rtol/--atol. bfloat16: ONNX Runtime has almost no CPU kernels for it, so only the
             checker and halfcast's own evaluator (it must run) are required; a model below
             opset 13 (where Cast first accepts bfloat16) must be refused with no output file.
  evaluator  `halfcast run` in float32 must match ONNX Runtime's float32 outputs within --rtol/--atol
  auto       `halfcast auto` with --rtol/--atol; the result, run in ONNX Runtime, must match
             ONNX Runtime's float32 outputs within the same tolerances

  ort_checks.py prepare --models tests/data/models --work DIR
  ort_checks.py MODE --cli HALFCAST --model M.onnx --work DIR [--keep-io-types] [--target T]
                [--rtol R --atol A] [--run-only]
"""
import argparse
import glob
import os
import subprocess
import sys

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_ORT = os.path.join(HERE, "ort", "run_ort.js")
ONNX_MAX_IR = 8  # onnx 1.12's checker understands IR versions up to 8


def run(cmd, what):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"FAIL: {what} (exit {result.returncode})\n$ {' '.join(cmd)}\n"
                 f"{result.stdout}{result.stderr}")
    return result.stdout


def feed_args(work, model):
    files = sorted(glob.glob(os.path.join(work, "feeds", os.path.basename(model), "*.npy")))
    if not files:
        sys.exit(f"FAIL: no feeds for {model} in {work}/feeds (the prepare fixture did not run?)")
    args = []
    for f in files:
        args += ["--input", f"{os.path.splitext(os.path.basename(f))[0]}={f}"]
    return args


def run_ort(model, feeds, out_dir):
    run(["node", RUN_ORT, model] + feeds + ["--output-dir", out_dir],
        f"ONNX Runtime loads and runs {os.path.basename(model)}")


def compare(reference_dir, candidate_dir, rtol, atol, what, required=True):
    """numpy.allclose per output file; prints the errors, exits on a mismatch if required."""
    failures = []
    references = sorted(glob.glob(os.path.join(reference_dir, "*.npy")))
    if not references:
        sys.exit(f"FAIL: no reference outputs in {reference_dir}")
    for ref_file in references:
        name = os.path.basename(ref_file)
        cand_file = os.path.join(candidate_dir, name)
        if not os.path.exists(cand_file):
            failures.append(f"{name}: missing")
            continue
        ref = np.load(ref_file).astype(np.float64)
        cand = np.load(cand_file).astype(np.float64)
        if ref.shape != cand.shape:
            failures.append(f"{name}: shape {cand.shape} != {ref.shape}")
            continue
        diff = np.abs(cand - ref)
        max_abs = float(np.max(diff)) if diff.size else 0.0
        nonzero = ref != 0
        max_rel = float(np.max(diff[nonzero] / np.abs(ref[nonzero]))) if nonzero.any() else 0.0
        close = bool(np.allclose(cand, ref, rtol=rtol, atol=atol))
        print(f"{what}: {name}: max abs error {max_abs:.3g}, max rel error {max_rel:.3g}, "
              f"allclose(rtol={rtol}, atol={atol}) {close}")
        if not close:
            failures.append(f"{name}: max abs error {max_abs:.3g} (rtol={rtol}, atol={atol})")
    if failures and required:
        sys.exit(f"FAIL: {what}: " + "; ".join(failures))
    if failures:
        print("accuracy not required for this model: " + "; ".join(failures))


def default_opset(path):
    model = onnx.load(path, load_external_data=False)
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)


def expect_refusal(cmd, out, reason):
    """The command must fail naming `reason` on stderr and leave no output file."""
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode == 0 or reason not in result.stderr or os.path.exists(out):
        sys.exit(f"FAIL: expected a refusal naming '{reason}' and no {out}\n$ {' '.join(cmd)}\n"
                 f"exit {result.returncode}\n{result.stdout}{result.stderr}")
    print(f"refused as expected: {result.stderr.strip()}")


def check_onnx(path):
    model = onnx.load(path)
    if model.ir_version > ONNX_MAX_IR:
        print(f"{path}: IR version {model.ir_version} is newer than onnx 1.12 knows; checker skipped")
        return
    try:
        # full_check runs strict type and shape inference.
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # onnx raises several types
        sys.exit(f"FAIL: onnx checker rejects {path}: {e}")
    print(f"{os.path.basename(path)}: onnx checker with strict shape inference: ok")


def prepare(args):
    models_dir = args.models
    run([sys.executable, os.path.join(HERE, "make_feeds.py"), "--models", models_dir, "--out",
         os.path.join(args.work, "feeds")], "make_feeds.py")
    for model in sorted(glob.glob(os.path.join(models_dir, "*.onnx"))):
        run_ort(model, feed_args(args.work, model),
                os.path.join(args.work, "ort_fp32", os.path.basename(model)))
    print(f"feeds and ONNX Runtime float32 outputs in {args.work}")


def case_dir(args, label):
    path = os.path.join(args.work, "cases", f"{os.path.basename(args.model)}.{label}")
    os.makedirs(path, exist_ok=True)
    for f in glob.glob(os.path.join(path, "**", "*"), recursive=True):
        if os.path.isfile(f):
            os.remove(f)
    return path


def convert(args):
    label = f"{args.target}.{'keep_io' if args.keep_io_types else 'all'}"
    work = case_dir(args, f"convert.{label}")
    out = os.path.join(work, "converted.onnx")
    cmd = [args.cli, "convert", args.model, out, "--target", args.target]
    if args.keep_io_types:
        cmd.append("--keep-io-types")
    if args.target == "bfloat16" and default_opset(args.model) < 13:
        expect_refusal(cmd, out, "opset 13")
        return
    print(run(cmd, "halfcast convert"))
    check_onnx(out)
    feeds = feed_args(args.work, args.model)
    if args.target == "bfloat16":
        run([args.cli, "run", out] + feeds, "halfcast run on the bfloat16 model")
        return
    run_ort(out, feeds, os.path.join(work, "ort"))
    compare(os.path.join(args.work, "ort_fp32", os.path.basename(args.model)),
            os.path.join(work, "ort"), args.rtol, args.atol, f"convert {label} in ONNX Runtime",
            required=not args.run_only)


def evaluator(args):
    work = case_dir(args, "evaluator")
    run([args.cli, "run", args.model] + feed_args(args.work, args.model) +
        ["--output-dir", work], "halfcast run (float32)")
    compare(os.path.join(args.work, "ort_fp32", os.path.basename(args.model)), work, args.rtol,
            args.atol, "halfcast evaluator vs ONNX Runtime, float32")


def auto(args):
    work = case_dir(args, f"auto.{args.strategy}")
    out = os.path.join(work, "mixed.onnx")
    feeds = feed_args(args.work, args.model)
    print(run([args.cli, "auto", args.model, out, "--rtol", str(args.rtol), "--atol",
               str(args.atol), "--strategy", args.strategy, "--quiet", "--report-json",
               os.path.join(work, "report.json")] +
              feeds, "halfcast auto"))
    check_onnx(out)
    run_ort(out, feeds, os.path.join(work, "ort"))
    compare(os.path.join(args.work, "ort_fp32", os.path.basename(args.model)),
            os.path.join(work, "ort"), args.rtol, args.atol, "auto result in ONNX Runtime")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["prepare", "convert", "evaluator", "auto"])
    parser.add_argument("--cli", help="the halfcast executable")
    parser.add_argument("--model", help="the model to check (all modes but prepare)")
    parser.add_argument("--models", help="prepare: the folder of the models and inputs.json")
    parser.add_argument("--work", required=True)
    parser.add_argument("--keep-io-types", action="store_true")
    parser.add_argument("--target", default="float16", choices=["float16", "bfloat16"])
    parser.add_argument("--rtol", type=float, default=0.01)
    parser.add_argument("--atol", type=float, default=0.001)
    parser.add_argument("--strategy", default="error-guided", choices=["error-guided", "bisect"])
    parser.add_argument("--run-only", action="store_true",
                        help="float16 result must load and run; accuracy not checked")
    args = parser.parse_args()
    if (args.mode == "prepare") != (args.models is not None) or \
            (args.mode != "prepare" and (args.model is None or args.cli is None)):
        parser.error("prepare needs --models; the other modes need --model and --cli")
    {"prepare": prepare, "convert": convert, "evaluator": evaluator, "auto": auto}[args.mode](args)


if __name__ == "__main__":
    main()
