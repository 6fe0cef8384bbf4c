#!/usr/bin/env python3
"""ONNX's backend test cases with sequences and optionals, converted to float16 by halfcast.

Every case of Debian's libonnx-testdata whose graph has a sequence or optional value (as an
input, an output, or an op's) is converted with and without --keep-io-types. The result must
pass onnx's checker with strict shape inference and, run by `halfcast run` on the case's inputs,
match the case's expected outputs within float16 tolerances (rtol 1e-2, atol 1e-3). Cases whose
inputs and outputs are tensors also run in ONNX Runtime (onnxruntime-node cannot feed sequences).
keep_io_types on a float optional input or output of a model below opset 16 must be refused with
no output file: an optional cannot change type there (If returns optionals from opset 16).

  sequence_models.py --cli HALFCAST --work DIR [--data /usr/share/libonnx-testdata/data]
"""
import argparse
import glob
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_ORT = os.path.join(HERE, "ort", "run_ort.js")
RTOL, ATOL = 1e-2, 1e-3
SEQUENCE_OPS = ("Sequence", "Optional", "SplitToSequence", "ConcatFromSequence")


def kinds(values):
    return {v.type.WhichOneof("value") for v in values}


def op_types(graph):
    found = set()
    for node in graph.node:
        found.add(node.op_type)
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                found |= op_types(attr.g)
    return found


def cases(data):
    for case in sorted(glob.glob(os.path.join(data, "*", "*"))):
        path = os.path.join(case, "model.onnx")
        if not os.path.exists(path):
            continue
        model = onnx.load(path)
        io_kinds = kinds(model.graph.input) | kinds(model.graph.output)
        uses = any(op.startswith(SEQUENCE_OPS) for op in op_types(model.graph))
        if io_kinds != {"tensor_type"} or uses:
            yield case, model, io_kinds == {"tensor_type"}


def read_value(path, type_proto):
    """A .pb file as numpy: an array, a list of arrays (sequence), or (has, content) (optional)."""
    data = open(path, "rb").read()
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        proto = onnx.TensorProto()
        proto.ParseFromString(data)
        return numpy_helper.to_array(proto)
    if kind == "sequence_type":
        proto = onnx.SequenceProto()
        proto.ParseFromString(data)
        return [numpy_helper.to_array(t) for t in proto.tensor_values]
    proto = onnx.OptionalProto()
    proto.ParseFromString(data)
    if proto.HasField("tensor_value"):
        return (True, numpy_helper.to_array(proto.tensor_value))
    if proto.HasField("sequence_value"):
        return (True, [numpy_helper.to_array(t) for t in proto.sequence_value.tensor_values])
    return (False, None)


def mismatch(expected, actual, where):
    """'' when `actual` matches `expected` within float16 tolerances, else what differs."""
    if isinstance(expected, tuple):
        if not isinstance(actual, tuple) or expected[0] != actual[0]:
            return f"{where}: optional {actual!r:.80}, expected {expected!r:.80}"
        return mismatch(expected[1], actual[1], where) if expected[0] else ""
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{where}: {type(actual).__name__} of {len(actual)}, expected {len(expected)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            message = mismatch(e, a, f"{where}[{i}]")
            if message:
                return message
        return ""
    if expected.shape != actual.shape:
        return f"{where}: shape {actual.shape}, expected {expected.shape}"
    if expected.dtype.kind == "f":
        close = np.allclose(actual.astype(np.float64), expected.astype(np.float64), rtol=RTOL,
                            atol=ATOL, equal_nan=True)
    else:
        close = np.array_equal(actual, expected)
    return "" if close else f"{where}: {actual.ravel()[:6]} vs expected {expected.ravel()[:6]}"


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def file_stem(name):
    """An output's file name as `halfcast run` and run_ort.js write it."""
    return "".join(c if c.isalnum() or c in "_.-" else "_" for c in name)


def expected_outputs(model, set_dir):
    outputs = {}
    for k, output in enumerate(model.graph.output):
        path = os.path.join(set_dir, f"output_{k}.pb")
        if os.path.exists(path):
            outputs[output.name] = read_value(path, output.type)
    return outputs


def halfcast_outputs(cli, converted, set_dir, out_dir, model):
    result = run([cli, "run", converted, "--input-dir", set_dir, "--output-dir", out_dir])
    if result.returncode != 0:
        return None, result.stderr.strip()
    outputs = {}
    for output in model.graph.output:
        stem = file_stem(output.name)
        if output.type.WhichOneof("value") == "tensor_type":
            value = np.load(os.path.join(out_dir, stem + ".npy"))
        else:
            value = read_value(os.path.join(out_dir, stem + ".pb"), output.type)
        outputs[output.name] = value
    return outputs, ""


def ort_outputs(converted, set_dir, out_dir, model):
    feedable = [i for i in model.graph.input
                if i.name not in {t.name for t in model.graph.initializer}]
    args = []
    for k, value in enumerate(feedable):
        path = os.path.join(set_dir, f"input_{k}.pb")
        if not os.path.exists(path):
            continue
        npy = os.path.join(out_dir, f"input_{k}.npy")
        np.save(npy, read_value(path, value.type))
        args += ["--input", f"{value.name}={npy}"]
    result = run(["node", RUN_ORT, converted] + args + ["--output-dir", out_dir])
    if result.returncode != 0:
        return None, result.stderr.strip()[-600:]
    return {o.name: np.load(os.path.join(out_dir, file_stem(o.name) + ".npy"))
            for o in model.graph.output}, ""


def has_float_optional_io(model):
    """An input or output that is an optional holding float32 tensors."""
    for value in list(model.graph.input) + list(model.graph.output):
        inner = value.type.optional_type.elem_type
        if inner.HasField("sequence_type"):
            inner = inner.sequence_type.elem_type
        if value.type.HasField("optional_type") and \
                inner.tensor_type.elem_type == onnx.TensorProto.FLOAT:
            return True
    return False


def default_opset(model):
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def check_case(args, case, model, tensor_io, keep_io):
    label = f"{os.path.basename(os.path.dirname(case))}/{os.path.basename(case)}" + \
            (" keep_io" if keep_io else "")
    work = os.path.join(args.work, os.path.basename(case) + (".keep_io" if keep_io else ""))
    os.makedirs(work, exist_ok=True)
    converted = os.path.join(work, "converted.onnx")
    if os.path.exists(converted):
        os.remove(converted)
    cmd = [args.cli, "convert", os.path.join(case, "model.onnx"), converted, "-q"]
    if keep_io:
        cmd.append("--keep-io-types")
    result = run(cmd)
    if keep_io and has_float_optional_io(model) and default_opset(model) < 16:
        if result.returncode == 0 or "opset 16" not in result.stderr or os.path.exists(converted):
            return [f"{label}: expected a refusal naming opset 16 and no output, got exit "
                    f"{result.returncode}: {result.stderr.strip()}"]
        return []
    if result.returncode != 0:
        return [f"{label}: halfcast convert failed: {result.stderr.strip()}"]
    try:
        onnx.checker.check_model(onnx.load(converted), full_check=True)
    except Exception as e:  # onnx raises several types
        return [f"{label}: onnx checker: {e}"]
    failures = []
    for set_dir in sorted(glob.glob(os.path.join(case, "test_data_set_*"))):
        expected = expected_outputs(model, set_dir)
        runners = [("halfcast run",
                    lambda out: halfcast_outputs(args.cli, converted, set_dir, out, model))]
        if tensor_io:
            runners.append(("ONNX Runtime", lambda out: ort_outputs(converted, set_dir, out, model)))
        for name, runner in runners:
            out_dir = os.path.join(work, os.path.basename(set_dir), name.split()[0])
            os.makedirs(out_dir, exist_ok=True)
            actual, error = runner(out_dir)
            if actual is None:
                failures.append(f"{label}: {name} failed: {error}")
                continue
            for output, value in expected.items():
                message = mismatch(value, actual[output], f"{label} {name} {output}")
                if message:
                    failures.append(message)
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--data", default="/usr/share/libonnx-testdata/data")
    args = parser.parse_args()
    failures = []
    count = 0
    in_ort = 0
    for case, model, tensor_io in cases(args.data):
        for keep_io in (False, True):
            count += 1
            in_ort += tensor_io
            failures += check_case(args, case, model, tensor_io, keep_io)
    for failure in failures:
        print("FAIL:", failure)
    print(f"{count} conversions of {count // 2} sequence and optional cases ({in_ort} also run in "
          f"ONNX Runtime), {len(failures)} failures")
    if count == 0:
        sys.exit("FAIL: no case with sequences or optionals found under " + args.data)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
