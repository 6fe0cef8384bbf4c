#!/usr/bin/env python3
"""Writes the deterministic test feeds of tests/data/models/inputs.json as .npy files.

For each model listed there: OUT/<model file name>/<input name>.npy. Float inputs (the model's
declared element type) are uniform in [lo, hi] (default [-1, 1]) from numpy's default_rng seeded
with SEED + the model's position in sorted order; integer inputs are filled with `value`. The C++
tests, the integration checks and the benchmarks all read these files, so every consumer sees the
same numbers.

  make_feeds.py --models tests/data/models --out build/feeds [--seed 0]
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx

_NP_TYPES = {
    onnx.TensorProto.FLOAT: np.float32,
    onnx.TensorProto.DOUBLE: np.float64,
    onnx.TensorProto.FLOAT16: np.float16,
    onnx.TensorProto.INT64: np.int64,
    onnx.TensorProto.INT32: np.int32,
    onnx.TensorProto.INT8: np.int8,
    onnx.TensorProto.UINT8: np.uint8,
    onnx.TensorProto.BOOL: np.bool_,
}


def declared_types(model_path):
    # The graph alone (no external data) is enough to read input types.
    model = onnx.load(model_path, load_external_data=False)
    return {i.name: i.type.tensor_type.elem_type for i in model.graph.input}


def make_feed(name, spec, elem_type, rng):
    if elem_type not in _NP_TYPES:
        raise SystemExit(f"input {name}: element type {elem_type} not supported")
    dtype = _NP_TYPES[elem_type]
    shape = tuple(spec["shape"])
    if np.issubdtype(dtype, np.floating):
        lo, hi = spec.get("lo", -1.0), spec.get("hi", 1.0)
        return rng.uniform(lo, hi, size=shape).astype(dtype)
    return np.full(shape, spec.get("value", 0), dtype=dtype)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", required=True, help="folder with the models and inputs.json")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with open(os.path.join(args.models, "inputs.json")) as f:
        table = json.load(f)
    models = sorted(k for k in table if not k.startswith("_"))
    for index, model in enumerate(models):
        types = declared_types(os.path.join(args.models, model))
        rng = np.random.default_rng(args.seed + index)
        folder = os.path.join(args.out, model)
        os.makedirs(folder, exist_ok=True)
        for name, spec in table[model].items():
            if name not in types:
                raise SystemExit(f"{model}: inputs.json names '{name}', not an input of the model")
            np.save(os.path.join(folder, name + ".npy"), make_feed(name, spec, types[name], rng))
    print(f"feeds for {len(models)} models in {args.out}")


if __name__ == "__main__":
    sys.exit(main())
