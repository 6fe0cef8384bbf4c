#!/usr/bin/env python3
"""Writes tiny.onnx, the C API tests' model: y = Relu(x @ W + b), x float32 [1, 4].

W holds one value above max_finite_val (1e4) and one below min_positive_val (1e-7), so a
conversion with the default options clips exactly two values; the C tests compute the same
function in C to check the numbers the library produces. Run with Debian's python3-onnx.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

W = np.array([[0.5, -1.0, 2.0, 0.25],
              [1.5, 0.75, -0.5, 1e-9],
              [-2.0, 0.125, 1.0, 3.0],
              [0.0, 2.5, -1.25, 2e4]], dtype=np.float32)
B = np.array([0.1, -0.2, 0.3, -0.4], dtype=np.float32)

graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "W"], ["h"], name="matmul"),
     helper.make_node("Add", ["h", "b"], ["a"], name="add"),
     helper.make_node("Relu", ["a"], ["y"], name="relu")],
    "tiny",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    [numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "b")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="halfcast tests")
model.ir_version = 7
onnx.checker.check_model(model, full_check=True)
onnx.save(model, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny.onnx"))
