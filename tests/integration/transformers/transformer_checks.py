#!/usr/bin/env python3
"""halfcast on today's transformer models, checked in ONNX Runtime 1.30 (CPU, onnxruntime-node).

One ctest test per mode and model (labels "integration" and "transformers"); `prepare` is their
fixture.

  prepare    gen_transformers.py writes WORK/models/<model>.onnx and WORK/feeds/<model>/*.npy;
             ONNX Runtime's optimizer (ort/optimize.js) writes bert and gpt2 at 'basic' and
             'extended' and bert_opset12 at 'extended' as <model>.ort_<level>.onnx (the fused
             operators found are printed and saved in WORK/fused_ops.json; at 'extended' each
             must gain SkipLayerNormalization and BiasGelu or FastGelu, bert_opset12 also
             Attention, or the generator no longer matches ORT's fusion patterns); ONNX Runtime's float32 outputs of every model go to WORK/ort_fp32/<model>/.
  convert    `halfcast convert` (--keep-io-types or not) with --report-json, then
             (a) ONNX Runtime loads and runs the result,
             (b) its outputs are within --rtol/--atol of ONNX Runtime's float32 outputs,
             (c) the report keeps no node of the transformer op types below in float32, and its
                 "matmul_flops" has in_16bit/total >= 0.99 (skipped, saying so, if the report has
                 no "matmul_flops"),
             (d) MatMulNBits: B and zero_points initializers byte-identical to the input model's,
                 scales float16.
             Every check runs; the case fails listing each failed one.
  evaluator  `halfcast run` on the float32 model matches ONNX Runtime's float32 outputs within
             --rtol/--atol; an operator the evaluator does not support fails the case.
  sorted     `halfcast convert` of a model whose nodes are not in topological order: the result's
             nodes are sorted, and it loads, runs and matches in ONNX Runtime.

  transformer_checks.py prepare --work DIR [--node NODE]
  transformer_checks.py MODE --model NAME --cli HALFCAST --work DIR [--keep-io-types]
                        [--rtol R --atol A] [--node NODE]
"""
import argparse
import concurrent.futures
import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ORT_DIR = os.path.join(os.path.dirname(HERE), "ort")
RUN_ORT = os.path.join(ORT_DIR, "run_ort.js")
OPTIMIZE = os.path.join(ORT_DIR, "optimize.js")
GENERATOR = os.path.join(HERE, "gen_transformers.py")

OPTIMIZED = {"bert": ("basic", "extended"), "gpt2": ("basic", "extended"),
             "bert_opset12": ("extended",)}
# At 'extended', ONNX Runtime must fuse at least these (one of each inner tuple).
REQUIRED_FUSIONS = {
    "bert": [("SkipLayerNormalization",), ("BiasGelu", "FastGelu")],
    "gpt2": [("SkipLayerNormalization",), ("FastGelu", "BiasGelu")],
    "bert_opset12": [("Attention",), ("SkipLayerNormalization",), ("BiasGelu", "FastGelu")],
}
# Ops that must compute in 16 bits after conversion (FusedGemm is ORT's Gemm + activation).
MUST_CONVERT = {
    "FusedMatMul", "Attention", "MultiHeadAttention", "GroupQueryAttention",
    "SkipLayerNormalization", "SkipSimplifiedLayerNormalization", "SimplifiedLayerNormalization",
    "LayerNormalization", "BiasGelu", "FastGelu", "Gelu", "RotaryEmbedding", "RMSNormalization",
    "GroupNormalization", "MatMulNBits", "MatMul", "Gemm", "FusedGemm",
}
MIN_16BIT_FLOP_SHARE = 0.99
# Nodes whose work "matmul_flops" counts.
MATMUL_LIKE = {"MatMul", "Gemm", "FusedMatMul", "FusedGemm", "MatMulNBits", "Attention",
               "MultiHeadAttention", "GroupQueryAttention"}


class Failures:
    def __init__(self):
        self.items = []

    def add(self, what):
        print(f"FAIL: {what}")
        self.items.append(what)

    def finish(self, case):
        if self.items:
            sys.exit(f"FAIL: {case}: {len(self.items)} check(s) failed:\n  - " +
                     "\n  - ".join(self.items))
        print(f"PASS: {case}")


def run(cmd, what, failures=None):
    """Runs cmd; on failure exits (failures None) or records it and returns None."""
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        message = (f"{what} (exit {result.returncode})\n$ {' '.join(cmd)}\n"
                   f"{result.stdout}{result.stderr}".rstrip())
        if failures is None:
            sys.exit(f"FAIL: {message}")
        failures.add(message)
        return None
    return result.stdout


def model_path(work, name):
    return os.path.join(work, "models", f"{name}.onnx")


def feed_args(work, name):
    files = sorted(glob.glob(os.path.join(work, "feeds", name, "*.npy")))
    if not files:
        sys.exit(f"FAIL: no feeds for {name} in {work}/feeds (did transformers.prepare run?)")
    args = []
    for f in files:
        args += ["--input", f"{os.path.basename(f)[:-len('.npy')]}={f}"]
    return args


def reference_dir(work, name):
    path = os.path.join(work, "ort_fp32", name)
    if not glob.glob(os.path.join(path, "*.npy")):
        sys.exit(f"FAIL: no ONNX Runtime float32 outputs in {path} (did transformers.prepare run?)")
    return path


def compare(ref_dir, cand_dir, rtol, atol, what):
    """numpy.allclose per output; returns a list of mismatch descriptions."""
    problems = []
    for ref_file in sorted(glob.glob(os.path.join(ref_dir, "*.npy"))):
        name = os.path.basename(ref_file)
        cand_file = os.path.join(cand_dir, name)
        if not os.path.exists(cand_file):
            problems.append(f"{name}: missing")
            continue
        ref = np.load(ref_file).astype(np.float64)
        cand = np.load(cand_file).astype(np.float64)
        if ref.shape != cand.shape:
            problems.append(f"{name}: shape {cand.shape} != {ref.shape}")
            continue
        diff = np.abs(cand - ref)
        max_abs = float(np.max(diff)) if diff.size else 0.0
        excess = float(np.max(diff - rtol * np.abs(ref))) if diff.size else 0.0
        close = bool(np.allclose(cand, ref, rtol=rtol, atol=atol))
        print(f"{what}: {name}: max abs error {max_abs:.3g}, max(|err| - rtol*|ref|) "
              f"{excess:.3g}, allclose(rtol={rtol}, atol={atol}) {close}")
        if not close:
            problems.append(f"{name}: max abs error {max_abs:.3g} not within rtol={rtol}, "
                            f"atol={atol}")
    return problems


def case_dir(work, label):
    path = os.path.join(work, "cases", label)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


# ---------------------------------------------------------------------------------- prepare
def prepare(args):
    work = args.work
    for sub in ("models", "feeds", "ort_fp32", "cases"):
        shutil.rmtree(os.path.join(work, sub), ignore_errors=True)
    print(run([sys.executable, GENERATOR, "--out", work], "gen_transformers.py"), end="")

    fused = {}
    jobs = [(m, level) for m, levels in OPTIMIZED.items() for level in levels]

    def optimize(job):
        model, level = job
        name = f"{model}.ort_{level}"
        out = run([args.node, OPTIMIZE, model_path(work, model), model_path(work, name),
                   "--level", level], f"ONNX Runtime's optimizer ({level}) on {model}.onnx")
        shutil.copytree(os.path.join(work, "feeds", model), os.path.join(work, "feeds", name))
        return name, json.loads(out.strip().splitlines()[-1])["op_types"]

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for name, op_types in pool.map(optimize, jobs):
            fused[name] = {k: v for k, v in sorted(op_types.items())
                           if k.startswith("com.microsoft:")}
            print(f"{name}.onnx: com.microsoft ops "
                  f"{json.dumps(fused[name]) if fused[name] else 'none'}")
    with open(os.path.join(work, "fused_ops.json"), "w") as f:
        json.dump(fused, f, indent=1, sort_keys=True)
    problems = []
    for model, groups in REQUIRED_FUSIONS.items():
        have = {k.split(":", 1)[1] for k in fused[f"{model}.ort_extended"]}
        for group in groups:
            if not have.intersection(group):
                problems.append(f"{model}.ort_extended has none of {'/'.join(group)} "
                                f"(has {sorted(have)})")
    if problems:
        sys.exit("FAIL: ONNX Runtime's optimizer no longer fuses the generated graphs as "
                 "expected: " + "; ".join(problems))

    names = sorted(os.path.basename(p)[:-len(".onnx")]
                   for p in glob.glob(os.path.join(work, "models", "*.onnx")))

    def reference(name):
        run([args.node, RUN_ORT, model_path(work, name)] + feed_args(work, name) +
            ["--output-dir", os.path.join(work, "ort_fp32", name)],
            f"ONNX Runtime (float32) loads and runs {name}.onnx")
        return name

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for name in pool.map(reference, names):
            print(f"{name}.onnx: ONNX Runtime float32 outputs written")
    print(f"models, feeds and ONNX Runtime float32 outputs in {work}")


# ---------------------------------------------------------------------------------- convert
def check_report(report_file, matmul_nodes, failures):
    """matmul_nodes: op types of the input model's MatMul/Gemm/attention nodes (one per node)."""
    try:
        with open(report_file) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        failures.add(f"(c) cannot read the report {report_file}: {e}")
        return
    kept = [k for k in report.get("kept_nodes", []) if k.get("op_type") in MUST_CONVERT]
    if kept:
        lines = [f"{k.get('op_type')} '{k.get('name')}' (graph {k.get('graph') or 'main'}, reason "
                 f"{k.get('reason')}{': ' + k['detail'] if k.get('detail') else ''})"
                 for k in kept]
        failures.add(f"(c) {len(kept)} transformer node(s) kept in float32: " + "; ".join(lines))
    else:
        print(f"(c) kept_nodes: no node of the transformer op types kept in float32 "
              f"({len(report.get('kept_nodes', []))} kept in all)")
    flops = report.get("matmul_flops")
    if flops is None:
        print("SKIP (c) matmul_flops: the report has no 'matmul_flops' key (the converter does "
              "not write it yet); the 16-bit FLOP share is not checked")
        return
    try:
        total = float(flops["total"])
        in_16bit = float(flops["in_16bit"])
    except (KeyError, TypeError, ValueError):
        failures.add(f"(c) matmul_flops is not an object with numeric total and in_16bit: {flops}")
        return
    if total <= 0:
        if matmul_nodes:
            failures.add(f"(c) matmul_flops.total is {total}, but the model has "
                         f"{len(matmul_nodes)} MatMul/Gemm/attention node(s) "
                         f"({', '.join(sorted(set(matmul_nodes)))})")
        else:
            print("(c) matmul_flops: total 0 and the model has no MatMul/Gemm/attention node; "
                  "the 16-bit share does not apply")
        return
    share = in_16bit / total
    extra = {k: v for k, v in flops.items() if k not in ("total", "in_16bit")}
    print(f"(c) matmul_flops: {in_16bit:.0f} of {total:.0f} in 16 bits ({share:.4f})"
          f"{' ' + json.dumps(extra) if extra else ''}")
    if share < MIN_16BIT_FLOP_SHARE:
        failures.add(f"(c) only {share:.4f} of the MatMul/Gemm/attention FLOPs run in 16 bits "
                     f"(need >= {MIN_16BIT_FLOP_SHARE}): {flops}")


def all_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from all_nodes(attr.g)
            for g in attr.graphs:
                yield from all_nodes(g)


def initializer_map(model):
    return {t.name: t for t in model.graph.initializer}


def check_matmulnbits(source_file, converted_file, failures):
    source = onnx.load(source_file)
    converted = onnx.load(converted_file)
    src_inits, out_inits = initializer_map(source), initializer_map(converted)
    out_nodes = {n.name: n for n in all_nodes(converted.graph) if n.op_type == "MatMulNBits"}
    checked = 0
    for node in all_nodes(source.graph):
        if node.op_type != "MatMulNBits":
            continue
        out = out_nodes.get(node.name)
        if out is None:
            failures.add(f"(d) MatMulNBits '{node.name}' is missing from the converted model")
            continue
        for index, role in ((1, "B"), (3, "zero_points")):
            if index >= len(node.input) or not node.input[index]:
                continue
            before = src_inits[node.input[index]]
            name = out.input[index] if index < len(out.input) else ""
            after = out_inits.get(name)
            if after is None:
                failures.add(f"(d) MatMulNBits '{node.name}': {role} is no longer an initializer "
                             f"(input {index} is '{name}')")
                continue
            a, b = numpy_helper.to_array(before), numpy_helper.to_array(after)
            if (after.data_type != before.data_type or list(after.dims) != list(before.dims) or
                    a.tobytes() != b.tobytes()):
                failures.add(f"(d) MatMulNBits '{node.name}': {role} '{name}' changed "
                             f"(type {TensorProto.DataType.Name(before.data_type)}"
                             f"{list(before.dims)} -> {TensorProto.DataType.Name(after.data_type)}"
                             f"{list(after.dims)}, bytes equal: {a.tobytes() == b.tobytes()})")
        name = out.input[2]
        scales = out_inits.get(name)
        if scales is None:
            failures.add(f"(d) MatMulNBits '{node.name}': scales are not an initializer of the "
                         f"converted model (input 2 is '{name}')")
        elif scales.data_type != TensorProto.FLOAT16:
            failures.add(f"(d) MatMulNBits '{node.name}': scales '{name}' are "
                         f"{TensorProto.DataType.Name(scales.data_type)}, not FLOAT16")
        else:
            expected = numpy_helper.to_array(src_inits[node.input[2]]).astype(np.float16)
            if not np.array_equal(numpy_helper.to_array(scales), expected):
                failures.add(f"(d) MatMulNBits '{node.name}': scales '{name}' are not the "
                             f"float16 rounding of the input's scales")
        checked += 1
    if checked:
        print(f"(d) {checked} MatMulNBits nodes checked: B and zero_points unchanged, "
              f"scales float16 (unless reported above)")


def convert(args):
    label = f"{args.model}.{'keep_io' if args.keep_io_types else 'all'}"
    work = case_dir(args.work, f"convert.{label}")
    source = model_path(args.work, args.model)
    out = os.path.join(work, "converted.onnx")
    report = os.path.join(work, "report.json")
    feeds = feed_args(args.work, args.model)
    ref = reference_dir(args.work, args.model)
    cmd = [args.cli, "convert", source, out, "--report-json", report]
    if args.keep_io_types:
        cmd.append("--keep-io-types")
    printed = run(cmd, "halfcast convert")
    print(printed, end="")
    failures = Failures()
    source_ops = [n.op_type for n in all_nodes(onnx.load(source).graph)]
    check_report(report, [op for op in source_ops if op in MATMUL_LIKE], failures)
    if "MatMulNBits" in source_ops:
        check_matmulnbits(source, out, failures)
    ort_out = os.path.join(work, "ort")
    if run([args.node, RUN_ORT, out] + feeds + ["--output-dir", ort_out],
           "(a) ONNX Runtime loads and runs the converted model", failures) is not None:
        print("(a) ONNX Runtime loads and runs the converted model")
        problems = compare(ref, ort_out, args.rtol, args.atol, "(b) converted in ONNX Runtime")
        if problems:
            failures.add("(b) converted model vs float32 in ONNX Runtime: " + "; ".join(problems))
    failures.finish(f"convert {label}")


# -------------------------------------------------------------------------------- evaluator
def evaluator(args):
    work = case_dir(args.work, f"evaluator.{args.model}")
    cmd = [args.cli, "run", model_path(args.work, args.model)] + \
        feed_args(args.work, args.model) + ["--output-dir", work]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        text = (result.stdout + result.stderr).strip()
        hint = (" - the evaluator does not support an operator of this model"
                if "support" in text.lower() else "")
        sys.exit(f"FAIL: halfcast run (float32) failed (exit {result.returncode}){hint}\n"
                 f"$ {' '.join(cmd)}\n{text}")
    problems = compare(reference_dir(args.work, args.model), work, args.rtol, args.atol,
                       "halfcast evaluator vs ONNX Runtime, float32")
    if problems:
        sys.exit("FAIL: halfcast run (float32) does not match ONNX Runtime: " + "; ".join(problems))
    print(f"PASS: evaluator {args.model}")


# ----------------------------------------------------------------------------------- sorted
def topological_problem(graph, outer=()):
    """The first node reading a value not yet produced, or None if graph is sorted."""
    known = set(outer) | {i.name for i in graph.input} | {t.name for t in graph.initializer}
    known.add("")
    for index, node in enumerate(graph.node):
        for name in node.input:
            if name not in known:
                return f"node {index} '{node.name}' ({node.op_type}) reads '{name}' before it " \
                       f"is produced"
        for attr in node.attribute:
            subgraphs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
            for sub in subgraphs:
                problem = topological_problem(sub, known)
                if problem:
                    return f"in a subgraph of '{node.name}': {problem}"
        known.update(node.output)
    return None


def sorted_case(args):
    work = case_dir(args.work, f"sorted.{args.model}")
    source = model_path(args.work, args.model)
    problem = topological_problem(onnx.load(source).graph)
    if problem is None:
        sys.exit(f"FAIL: {args.model}.onnx is already topologically sorted; the case tests nothing")
    print(f"input model is out of order: {problem}")
    out = os.path.join(work, "converted.onnx")
    print(run([args.cli, "convert", source, out], "halfcast convert of an unsorted model"), end="")
    failures = Failures()
    problem = topological_problem(onnx.load(out).graph)
    if problem:
        failures.add(f"the converted model is not topologically sorted: {problem}")
    else:
        print("the converted model's nodes are in topological order")
    ort_out = os.path.join(work, "ort")
    if run([args.node, RUN_ORT, out] + feed_args(args.work, args.model) +
           ["--output-dir", ort_out], "ONNX Runtime loads and runs the converted model",
           failures) is not None:
        problems = compare(reference_dir(args.work, args.model), ort_out, args.rtol, args.atol,
                           "converted in ONNX Runtime")
        if problems:
            failures.add("converted model vs float32 in ONNX Runtime: " + "; ".join(problems))
    failures.finish(f"sorted {args.model}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["prepare", "convert", "evaluator", "sorted"])
    parser.add_argument("--work", required=True)
    parser.add_argument("--model", help="model name in WORK/models (all modes but prepare)")
    parser.add_argument("--cli", help="the halfcast executable (all modes but prepare)")
    parser.add_argument("--node", default="node", help="the node executable")
    parser.add_argument("--keep-io-types", action="store_true")
    parser.add_argument("--rtol", type=float, default=0.05)
    parser.add_argument("--atol", type=float, default=0.01)
    args = parser.parse_args()
    if args.mode != "prepare" and (args.model is None or args.cli is None):
        parser.error(f"{args.mode} needs --model and --cli")
    {"prepare": prepare, "convert": convert, "evaluator": evaluator,
     "sorted": sorted_case}[args.mode](args)


if __name__ == "__main__":
    main()
