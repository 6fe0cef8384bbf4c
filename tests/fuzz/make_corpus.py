#!/usr/bin/python3
"""Writes the fuzz seed corpus (corpus/*.onnx): small models covering what the converter
rewrites - If/Loop bodies with outer-scope captures, Casts, shared initializers, an empty Resize
scales, Constant/ConstantOfShape/random ops, a model-local function, external-looking data.
Run: tests/fuzz/make_corpus.py (Debian's python3-onnx); the outputs are committed."""
import os

import onnx
from onnx import parser

HERE = os.path.dirname(os.path.abspath(__file__))

MODELS = {
    "if_outer_scope": """
      <ir_version: 8, opset_import: ["" : 16]>
      g (float[2] x, bool c) => (float[2] y) <float[2] w = {1.5, -2.0}> {
        t = Mul(x, w)
        y = If(c) <
          then_branch = a () => (float[2] o) { o = Add(t, w) },
          else_branch = b () => (float[2] o) { o = Sub(t, x) }
        >
      }""",
    "loop_and_casts": """
      <ir_version: 8, opset_import: ["" : 15]>
      g (float[3] x, int64 n) => (float[3] y, double[3] d) {
        cond = Constant <value = bool {1}> ()
        y = Loop(n, cond, x) <
          body = b (int64 i, bool ci, float[3] acc) => (bool co, float[3] next) {
            co = Identity(ci)
            h = Cast <to = 1> (acc)
            next = Add(h, acc)
          }
        >
        d = Cast <to = 11> (y)
      }""",
    "shared_initializer_resize": """
      <ir_version: 8, opset_import: ["" : 13]>
      g (float[1,1,2,2] x) => (float[1,1,4,4] y, float[1,1,2,2] z)
          <float[4] w = {1.0, 1.0, 2.0, 2.0}, float[0] roi = {}, float[0] scales = {},
           int64[4] sizes = {1, 1, 4, 4}> {
        r = Resize <mode = "nearest"> (x, roi, scales, sizes)
        y = Max(r, r)
        z = Mul(x, x)
      }""",
    "constants_and_random": """
      <ir_version: 8, opset_import: ["" : 17]>
      g (float[2,3] x) => (float[2,3] y, float[2,3] r, float[2,3] e) {
        k = Constant <value = float[1] {1e-9}> ()
        s = Shape(x)
        z = ConstantOfShape <value = float[1] {70000.0}> (s)
        a = Add(x, k)
        y = Add(a, z)
        r = RandomNormalLike <dtype = 1> (x)
        e = EyeLike <dtype = 1> (x)
      }""",
    "local_function": """
      <ir_version: 8, opset_import: ["" : 17, "local" : 1]>
      g (float[4] x) => (float[4] y) {
        t = local.Twice(x)
        y = Relu(t)
      }
      <domain: "local", opset_import: ["" : 17]>
      Twice (a) => (b) { b = Add(a, a) }""",
}


def main():
    os.makedirs(os.path.join(HERE, "corpus"), exist_ok=True)
    for name, text in MODELS.items():
        model = parser.parse_model(text)
        onnx.checker.check_model(model)
        onnx.save(model, os.path.join(HERE, "corpus", name + ".onnx"))


if __name__ == "__main__":
    main()
