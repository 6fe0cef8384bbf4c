#!/usr/bin/env python3
"""Mixed precision inside If/Loop/Scan bodies, checked in ONNX Runtime 1.30 (CPU).

Builds models whose float16 trouble sits in a body (x*1000*1000/1e6: the middle value overflows
65504), runs `halfcast auto --keep-io-types` on each, and requires that the search kept exactly
the two nodes that overflow (by location, from the JSON report), that the result passes onnx's
checker, and that ONNX Runtime loads it and matches its own float32 outputs within the
tolerances.

A Silero VAD network moved into the branches of one If is searched the same way: the nodes kept
must all sit inside the If, and ONNX Runtime must accept the result at the same tolerances.

  subgraph_search.py --cli HALFCAST --work DIR --models tests/data/models
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ort_checks import check_onnx, compare, run, run_ort  # noqa: E402

RTOL, ATOL = 0.01, 0.001
F4 = [4]


def const(name, value):
    return helper.make_tensor(name, TensorProto.FLOAT, [1], [value])


def chain(x, out, prefix):
    """x*1000*1000/1e6 as three nodes reading k and m from the main graph."""
    return [helper.make_node("Mul", [x, "k"], [f"{prefix}a"]),
            helper.make_node("Mul", [f"{prefix}a", "k"], [f"{prefix}b"]),
            helper.make_node("Div", [f"{prefix}b", "m"], [out])]


def model(nodes, inputs, outputs):
    graph = helper.make_graph(nodes, "g", inputs, outputs,
                              initializer=[const("k", 1000.0), const("m", 1e6)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def vinfo(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def if_model():
    then_g = helper.make_graph(chain("s", "t", "then_"), "then_g", [], [vinfo("t", TensorProto.FLOAT, F4)])
    else_g = helper.make_graph([helper.make_node("Identity", ["s"], ["e"])], "else_g", [],
                               [vinfo("e", TensorProto.FLOAT, F4)])
    nodes = [helper.make_node("Mul", ["x", "x"], ["s"]),
             helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)]
    return model(nodes, [vinfo("x", TensorProto.FLOAT, F4), vinfo("c", TensorProto.BOOL, [])],
                 [vinfo("y", TensorProto.FLOAT, F4)]), {"1/then_branch": [1, 2]}


def loop_model():
    body = helper.make_graph(
        [helper.make_node("Identity", ["cin"], ["cout"])] + chain("xin", "xout", "body_"),
        "loop_body",
        [vinfo("i", TensorProto.INT64, []), vinfo("cin", TensorProto.BOOL, []),
         vinfo("xin", TensorProto.FLOAT, F4)],
        [vinfo("cout", TensorProto.BOOL, []), vinfo("xout", TensorProto.FLOAT, F4)])
    nodes = [helper.make_node("Loop", ["n", "", "x"], ["y"], body=body)]
    return model(nodes, [vinfo("x", TensorProto.FLOAT, F4), vinfo("n", TensorProto.INT64, [])],
                 [vinfo("y", TensorProto.FLOAT, F4)]), {"0/body": [2, 3]}


def scan_model():
    body = helper.make_graph(
        chain("xi", "yi", "body_") + [helper.make_node("Add", ["acc", "yi"], ["acc_out"])],
        "scan_body", [vinfo("acc", TensorProto.FLOAT, F4), vinfo("xi", TensorProto.FLOAT, F4)],
        [vinfo("acc_out", TensorProto.FLOAT, F4), vinfo("yi", TensorProto.FLOAT, F4)])
    nodes = [helper.make_node("Scan", ["x", "xs"], ["sum", "ys"], num_scan_inputs=1, body=body)]
    return model(nodes, [vinfo("x", TensorProto.FLOAT, F4), vinfo("xs", TensorProto.FLOAT, [2, 4])],
                 [vinfo("sum", TensorProto.FLOAT, F4), vinfo("ys", TensorProto.FLOAT, [2, 4])]), \
        {"0/body": [1, 2]}


def nested_model():
    then_g = helper.make_graph(chain("xin", "t", "then_"), "then_g", [],
                               [vinfo("t", TensorProto.FLOAT, F4)])
    else_g = helper.make_graph([helper.make_node("Neg", ["xin"], ["e"])], "else_g", [],
                               [vinfo("e", TensorProto.FLOAT, F4)])
    body = helper.make_graph(
        [helper.make_node("Identity", ["cin"], ["cout"]),
         helper.make_node("If", ["c"], ["xout"], then_branch=then_g, else_branch=else_g)],
        "loop_body",
        [vinfo("i", TensorProto.INT64, []), vinfo("cin", TensorProto.BOOL, []),
         vinfo("xin", TensorProto.FLOAT, F4)],
        [vinfo("cout", TensorProto.BOOL, []), vinfo("xout", TensorProto.FLOAT, F4)])
    nodes = [helper.make_node("Loop", ["n", "", "x"], ["y"], body=body)]
    return model(nodes, [vinfo("x", TensorProto.FLOAT, F4), vinfo("n", TensorProto.INT64, []),
                         vinfo("c", TensorProto.BOOL, [])],
                 [vinfo("y", TensorProto.FLOAT, F4)]), {"0/body/1/then_branch": [1, 2]}


FEEDS = {
    "x": np.array([0.5, -0.25, 0.125, 1.0], dtype=np.float32),
    "c": np.array(True),
    "n": np.array(2, dtype=np.int64),
    "xs": np.array([[0.5, -0.25, 0.125, 1.0], [0.75, 2.0, -1.5, 0.0]], dtype=np.float32),
}

CASES = {"if": if_model, "loop": loop_model, "scan": scan_model, "nested": nested_model}


def silero_in_an_if(models_dir):
    """The Silero VAD network moved into both branches of one If (the issue's variant): every
    candidate sits in a body. A loud input (amplitude 64) makes the STFT's squared magnitudes
    overflow float16, so plain conversion fails (the LSTM state is off by 2)."""
    original = onnx.load(os.path.join(models_dir, "silero_vad_16k_op15.onnx"))
    branch = onnx.GraphProto()
    branch.CopyFrom(original.graph)
    del branch.input[:]
    wrapped = onnx.ModelProto()
    wrapped.CopyFrom(original)
    graph = wrapped.graph
    del graph.node[:]
    del graph.initializer[:]
    del graph.value_info[:]
    then_g, else_g = onnx.GraphProto(), onnx.GraphProto()
    for g, name in ((then_g, "then_branch"), (else_g, "else_branch")):
        g.CopyFrom(branch)
        g.name = name
        # A branch must not redefine the names of the If's outputs (no shadowing in ONNX).
        renamed = {o.name: f"{name}/{o.name}" for o in g.output}
        for node in g.node:
            node.output[:] = [renamed.get(v, v) for v in node.output]
            node.input[:] = [renamed.get(v, v) for v in node.input]
        for v in list(g.output) + list(g.value_info):
            v.name = renamed.get(v.name, v.name)
    graph.node.extend([
        helper.make_node("Constant", [], ["use_network"],
                         value=helper.make_tensor("v", TensorProto.BOOL, [], [True])),
        helper.make_node("If", ["use_network"], [o.name for o in original.graph.output],
                         name="choose_network", then_branch=then_g, else_branch=else_g)])
    rng = np.random.default_rng(1)
    feeds = {"input": rng.uniform(-64, 64, (1, 512)).astype(np.float32),
             "state": np.zeros((2, 1, 128), dtype=np.float32),
             "sr": np.array(16000, dtype=np.int64)}
    return wrapped, feeds


def search_and_run(cli, work, name, m, feed_values, rtol, atol):
    """`halfcast auto` on `m`; checks the result in onnx's checker and ONNX Runtime. Returns the
    search's kept nodes as {location graph: sorted indexes}."""
    case = os.path.join(work, name)
    shutil.rmtree(case, ignore_errors=True)
    os.makedirs(case)
    path = os.path.join(case, "model.onnx")
    onnx.save(m, path)
    feeds = []
    for graph_input in m.graph.input:
        f = os.path.join(case, f"{graph_input.name}.npy")
        np.save(f, feed_values[graph_input.name])
        feeds += ["--input", f"{graph_input.name}={f}"]
    out = os.path.join(case, "mixed.onnx")
    report_path = os.path.join(case, "report.json")
    run([cli, "auto", path, out, "--keep-io-types", "--rtol", str(rtol), "--atol", str(atol),
         "--quiet", "--report-json", report_path] + feeds, f"halfcast auto on the {name} model")
    with open(report_path) as f:
        report = json.load(f)
    kept = {}
    for node in report["conversion"]["kept_nodes"]:
        if node["reason"] == "search":
            kept.setdefault(node["location_graph"], []).append(node["index"])
    check_onnx(out)
    run_ort(path, feeds, os.path.join(case, "ort_fp32"))
    run_ort(out, feeds, os.path.join(case, "ort_mixed"))
    compare(os.path.join(case, "ort_fp32"), os.path.join(case, "ort_mixed"), rtol, atol,
            f"{name}: auto result in ONNX Runtime")
    return {graph: sorted(indexes) for graph, indexes in kept.items()}


def check_case(cli, work, name, build):
    m, expected = build()
    kept = search_and_run(cli, work, name, m, FEEDS, RTOL, ATOL)
    if kept != expected:
        sys.exit(f"FAIL: {name}: the search kept {kept}, expected {expected}")
    print(f"{name}: the search kept {kept} in float32, as expected")


def check_silero(cli, work, models_dir):
    m, feeds = silero_in_an_if(models_dir)
    kept = search_and_run(cli, work, "silero_in_an_if", m, feeds, RTOL, ATOL)
    if not kept or any(not graph.startswith("1/") for graph in kept):
        sys.exit(f"FAIL: silero_in_an_if: expected nodes kept inside the If, got {kept}")
    print(f"silero_in_an_if: {sum(map(len, kept.values()))} nodes kept inside the If's branches")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--models", required=True, help="tests/data/models")
    args = parser.parse_args()
    for name, build in CASES.items():
        check_case(args.cli, args.work, name, build)
    check_silero(args.cli, args.work, args.models)


if __name__ == "__main__":
    main()
