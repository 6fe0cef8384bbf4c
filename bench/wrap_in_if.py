#!/usr/bin/env python3
"""Move a model's whole network into both branches of one If, for the search benchmark.

The shape of exported models that pick a network by a flag (issue 9's Silero VAD variant): the
main graph keeps the inputs, the outputs, a Constant condition (true) and the If; each branch is
the original graph with its inputs removed (it reads them from the main graph) and its outputs
renamed <branch>/<name> (ONNX forbids a branch redefining the If's output names).

  wrap_in_if.py --model silero_vad_16k_op15.onnx --out silero_vad_16k_op15_in_if.onnx
"""
import argparse
import os

import onnx
from onnx import TensorProto, helper


def branch_of(graph, branch_name):
    branch = onnx.GraphProto()
    branch.CopyFrom(graph)
    branch.name = branch_name
    del branch.input[:]
    renamed = {out.name: f"{branch_name}/{out.name}" for out in branch.output}
    for out in branch.output:
        out.name = renamed[out.name]
    for info in branch.value_info:
        info.name = renamed.get(info.name, info.name)
    for node in branch.node:
        node.input[:] = [renamed.get(name, name) for name in node.input]
        node.output[:] = [renamed.get(name, name) for name in node.output]
    return branch


def wrap_in_if(model):
    graph = model.graph
    condition = helper.make_node(
        "Constant", [], ["use_network"],
        value=helper.make_tensor("use_network_value", TensorProto.BOOL, [], [True]))
    choose = helper.make_node(
        "If", ["use_network"], [out.name for out in graph.output], name="choose_network",
        then_branch=branch_of(graph, "then_branch"), else_branch=branch_of(graph, "else_branch"))
    main = helper.make_graph([condition, choose], graph.name, list(graph.input),
                             list(graph.output))
    wrapped = onnx.ModelProto()
    wrapped.CopyFrom(model)
    wrapped.graph.CopyFrom(main)
    return wrapped


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    wrapped = wrap_in_if(onnx.load(a.model))
    onnx.checker.check_model(wrapped)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    onnx.save(wrapped, a.out)
    print(f"{a.out}: {len(wrapped.graph.node[1].attribute[0].g.node)} nodes in each branch")


if __name__ == "__main__":
    main()
