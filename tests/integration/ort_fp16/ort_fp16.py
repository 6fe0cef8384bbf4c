#!/usr/bin/env python3
"""How ONNX Runtime 1.30's CPU float16 execution compares with halfcast's evaluator.

  ort_fp16.py ops --cli HALFCAST --eval-run ORT_FP16_EVAL_RUN --work DIR [--case NAME] [--strict]
      Small float16 models (one op or a few, random float16-exact feeds and weights at realistic
      sizes; "mixed" cases are `halfcast convert --keep-io-types --node-block-list` results) run
      in ONNX Runtime (onnxruntime-node, CPU) and in halfcast's evaluator under both float16
      models (round every op; ONNX Runtime CPU), all compared with ONNX Runtime's run of the
      float32 model. Prints, per case, which ops ONNX Runtime ran with a float16 kernel (the
      nodes of its optimized graph that still read float16), each side's largest error in units
      of the tolerance (|a - ref| / (atol + rtol |ref|), rtol 0.01, atol 0.001) and in absolute
      terms; writes DIR/ops.json. --strict: fail when ONNX Runtime's error exceeds the ONNX
      Runtime model's by more than float32 noise (2% + 0.001 tolerance units).

  ort_fp16.py auto --cli HALFCAST --models tests/data/models --work DIR [--model NAME]
      `halfcast auto --keep-io-types --rtol 0.01 --atol 0.001` on each real model of tests/data
      and on a generated CNN (Conv + LeakyRelu + MaxPool); every returned model must match
      ONNX Runtime's float32 outputs within the same tolerances when run in ONNX Runtime.
"""
import argparse
import glob
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ORT_DIR = os.path.join(HERE, "..", "ort")
RUN_ORT = os.path.join(ORT_DIR, "run_ort.js")
OPTIMIZE = os.path.join(ORT_DIR, "optimize.js")
sys.path.insert(0, os.path.join(HERE, ".."))
from ort_checks import compare, run  # noqa: E402 (tests/integration/ort_checks.py)

F = TensorProto.FLOAT
F16 = TensorProto.FLOAT16
RTOL, ATOL = 0.01, 0.001


def rng_values(seed, shape, lo=-1.0, hi=1.0):
    values = np.random.default_rng(seed).uniform(lo, hi, size=shape)
    # float16-exact, so the float32 reference reads the same numbers as the float16 model.
    return values.astype(np.float16).astype(np.float32)


# ---- models -------------------------------------------------------------------------------------

class Case:
    """A graph built twice: float32 (the reference) and float16 (inputs, outputs, weights)."""

    def __init__(self, name, nodes, inputs, outputs, weights=None, opset=17, seed=0, keep=(),
                 blocked=None):
        self.name = name
        # Node names kept float32: the float16 model is then `halfcast convert --keep-io-types
        # --node-block-list` of the float32 one (a mixed model, with its Casts), not all float16.
        self.blocked = blocked
        self.keep = set(keep)         # weights that stay float32 (Resize's scales)
        self.nodes = nodes
        self.inputs = inputs          # [(name, shape, lo, hi)]
        self.outputs = outputs        # [name]
        self.weights = weights or {}  # name -> float32 array (float16-exact)
        self.opset = opset
        self.seed = seed

    def model(self, elem):
        np_type = np.float16 if elem == F16 else np.float32
        graph = helper.make_graph(
            self.nodes, self.name,
            [helper.make_tensor_value_info(n, elem, list(s)) for n, s, _, _ in self.inputs],
            [helper.make_tensor_value_info(n, elem, None) for n in self.outputs],
            initializer=[numpy_helper.from_array(w.astype(np_type if n not in self.keep else
                                                          np.float32), n)
                         for n, w in self.weights.items()])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                 ir_version=8, producer_name="halfcast-ort-fp16")

    def feeds(self):
        return {n: rng_values(self.seed + i, s, lo, hi)
                for i, (n, s, lo, hi) in enumerate(self.inputs)}


def node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, **attrs)


def weight(seed, shape, scale):
    return rng_values(1000 + seed, shape, -scale, scale)


def unary(name, op, shape=(1, 16, 32, 32), lo=-4.0, hi=4.0, opset=17, **attrs):
    return Case(name, [node(op, ["x"], ["y"], **attrs)], [("x", shape, lo, hi)], ["y"],
                opset=opset)


def binary(name, op, shape=(1, 16, 32, 32), lo=-4.0, hi=4.0):
    return Case(name, [node(op, ["a", "b"], ["y"])], [("a", shape, lo, hi), ("b", shape, lo, hi)],
                ["y"])


def reduce(name, op, shape, axes, opset=17, lo=-1.0, hi=1.0):
    if opset >= 18 or op == "ReduceSum":
        case = Case(name, [node(op, ["x", "axes"], ["y"], keepdims=1)], [("x", shape, lo, hi)],
                    ["y"], opset=opset)
        case.nodes.insert(0, helper.make_node(
            "Constant", [], ["axes"],
            value=numpy_helper.from_array(np.array(axes, np.int64), "axes")))
        return case
    return Case(name, [node(op, ["x"], ["y"], axes=axes, keepdims=1)], [("x", shape, lo, hi)],
                ["y"], opset=opset)


def conv(name, cin, cout, k, hw, group=1, act=None, bias=True, extra=()):
    w = weight(1, (cout, cin // group, k, k), (6.0 / (cin // group * k * k)) ** 0.5)
    weights = {"W": w}
    ins = ["x", "W"]
    if bias:
        weights["B"] = weight(2, (cout,), 0.5)
        ins.append("B")
    nodes = [node("Conv", ins, ["c"], kernel_shape=[k, k], pads=[k // 2] * 4, group=group)]
    last = "c"
    for i, (op, attrs) in enumerate([(act, {})] if isinstance(act, str) else (act or [])):
        out = f"a{i}"
        nodes.append(node(op, [last], [out], **attrs))
        last = out
    for i, (op, attrs) in enumerate(extra):
        out = f"e{i}"
        nodes.append(node(op, [last], [out], **attrs))
        last = out
    nodes[-1].output[0] = "y"
    return Case(name, nodes, [("x", (1, cin, hw, hw), -1.0, 1.0)], ["y"], weights)


def matmul(name, m, k, n, gemm=False, add=False):
    weights = {"B": weight(3, (k, n), (3.0 / k) ** 0.5)}
    if gemm:
        weights["C"] = weight(4, (n,), 0.5)
        nodes = [node("Gemm", ["a", "B", "C"], ["y"])]
    elif add:
        weights["C"] = weight(4, (n,), 0.5)
        nodes = [node("MatMul", ["a", "B"], ["m"]), node("Add", ["m", "C"], ["y"])]
    else:
        nodes = [node("MatMul", ["a", "B"], ["y"])]
    return Case(name, nodes, [("a", (m, k), -1.0, 1.0)], ["y"], weights)


def normalization(name, op, shape, **attrs):
    c = shape[1] if op != "LayerNormalization" else shape[-1]
    weights = {"scale": weight(5, (c,), 1.0) + 1.0, "bias": weight(6, (c,), 0.5)}
    ins = ["x", "scale", "bias"]
    if op == "BatchNormalization":
        weights["mean"] = weight(7, (c,), 0.5)
        weights["var"] = np.abs(weight(8, (c,), 1.0)) + 0.5
        ins += ["mean", "var"]
    return Case(name, [node(op, ins, ["y"], **attrs)], [("x", shape, -2.0, 2.0)], ["y"], weights)


def cnn(name="cnn_leaky", layers=10, channels=16, hw=48, alpha=0.1, seed=0, gain=None):
    """The issue's kind of model: Conv + LeakyRelu blocks with MaxPool between stages. `gain`:
    layer -> factor on its weights (activations past float16's range there)."""
    nodes, weights = [], {}
    last, cin = "x", 3
    for i in range(layers):
        w = f"W{i}"
        # A power-of-two gain keeps the weights float16-exact.
        weights[w] = weight(seed * 100 + 2 * i, (channels, cin, 3, 3),
                            (2.0 / (cin * 9)) ** 0.5) * (gain or {}).get(i, 1.0)
        weights[f"B{i}"] = weight(seed * 100 + 2 * i + 1, (channels,), 0.1)
        nodes.append(node("Conv", [last, w, f"B{i}"], [f"c{i}"], kernel_shape=[3, 3],
                          pads=[1, 1, 1, 1]))
        nodes.append(node("LeakyRelu", [f"c{i}"], [f"r{i}"], alpha=alpha))
        last, cin = f"r{i}", channels
        if i % 3 == 2:
            nodes.append(node("MaxPool", [last], [f"p{i}"], kernel_shape=[2, 2], strides=[2, 2]))
            last = f"p{i}"
    nodes.append(node("GlobalAveragePool", [last], ["g"]))
    nodes.append(node("Flatten", ["g"], ["f"]))
    weights["Wfc"] = weight(seed * 100 + 99, (channels, 10), (1.0 / channels) ** 0.5)
    nodes.append(node("MatMul", ["f", "Wfc"], ["y"]))
    return Case(name, nodes, [("x", (1, 3, hw, hw), -1.0, 1.0)], ["y"], weights, opset=13)


def mixed(case, name, blocked):
    """`case` as a mixed model: the named nodes float32, the rest float16 between Casts."""
    for i, n in enumerate(case.nodes):
        n.name = n.name or f"n{i}"
    return Case(name, case.nodes, case.inputs, case.outputs, case.weights, case.opset, case.seed,
                case.keep, blocked)


def conv_bn(name, cin, cout, hw, bias=True):
    """Conv + BatchNormalization, which ONNX Runtime fuses in float16."""
    weights = {"W": weight(11, (cout, cin, 3, 3), (2.0 / (cin * 9)) ** 0.5),
               "scale": weight(12, (cout,), 0.5) + 1.0, "beta": weight(13, (cout,), 0.5),
               "mean": weight(14, (cout,), 0.5), "var": np.abs(weight(15, (cout,), 1.0)) + 0.2}
    ins = ["x", "W"]
    if bias:
        weights["B"] = weight(16, (cout,), 0.2)
        ins.append("B")
    nodes = [node("Conv", ins, ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             node("BatchNormalization", ["c", "scale", "beta", "mean", "var"], ["b"]),
             node("Relu", ["b"], ["y"])]
    return Case(name, nodes, [("x", (1, cin, hw, hw), -1.0, 1.0)], ["y"], weights)


def op_cases():
    cases = [
        conv_bn("Conv+BatchNormalization", 32, 32, 32),
        conv_bn("Conv+BatchNormalization.no_bias", 64, 32, 32, bias=False),
        conv("Conv.3x3.c64", 64, 64, 3, 32),
        conv("Conv.1x1.c256", 256, 64, 1, 16),
        conv("Conv.depthwise.c64", 64, 64, 3, 32, group=64),
        conv("Conv+Relu", 32, 32, 3, 32, act="Relu"),
        conv("Conv+LeakyRelu", 32, 32, 3, 32, act=[("LeakyRelu", {"alpha": 0.1})]),
        conv("Conv+LeakyRelu+MaxPool", 32, 32, 3, 32, act=[("LeakyRelu", {"alpha": 0.1})],
             extra=[("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2]})]),
        conv("Conv+HardSigmoid", 32, 32, 3, 32,
             act=[("HardSigmoid", {"alpha": 0.2, "beta": 0.5})]),
        Case("ConvTranspose.2x2.c32",
             [node("ConvTranspose", ["x", "W", "B"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
             [("x", (1, 32, 16, 16), -1.0, 1.0)], ["y"],
             {"W": weight(9, (32, 16, 2, 2), 0.35), "B": weight(10, (16,), 0.2)}),
        matmul("MatMul.64x768x768", 64, 768, 768),
        matmul("MatMul+Add.64x768x256", 64, 768, 256, add=True),
        matmul("Gemm.64x768x256", 64, 768, 256, gemm=True),
        unary("LeakyRelu.alpha0.1", "LeakyRelu", alpha=0.1),
        unary("LeakyRelu.alpha0.01", "LeakyRelu", alpha=0.01),
        unary("Relu", "Relu"),
        unary("Sigmoid", "Sigmoid"),
        unary("Tanh", "Tanh"),
        unary("HardSigmoid", "HardSigmoid", alpha=0.2, beta=0.5),
        unary("HardSwish", "HardSwish"),
        unary("Elu", "Elu", alpha=0.3),
        unary("Selu", "Selu"),
        unary("Softplus", "Softplus"),
        unary("Exp", "Exp", lo=-4, hi=4),
        unary("Log", "Log", lo=0.01, hi=8),
        unary("Sqrt", "Sqrt", lo=0, hi=8),
        unary("Reciprocal", "Reciprocal", lo=0.1, hi=8),
        unary("Erf", "Erf"),
        unary("Gelu", "Gelu", opset=20),
        unary("Clip", "Clip", opset=11),
        unary("Softmax.1000", "Softmax", shape=(64, 1000), axis=-1),
        unary("Softmax.64", "Softmax", shape=(8, 64, 64), axis=-1),
        unary("LogSoftmax.1000", "LogSoftmax", shape=(64, 1000), axis=-1),
        unary("MaxPool.3x3", "MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        unary("AveragePool.3x3", "AveragePool", kernel_shape=[3, 3], strides=[1, 1],
              pads=[1, 1, 1, 1]),
        unary("GlobalAveragePool.64x64", "GlobalAveragePool", shape=(1, 32, 64, 64), lo=0, hi=2),
        unary("GlobalMaxPool", "GlobalMaxPool", shape=(1, 32, 64, 64)),
        binary("Add", "Add"),
        binary("Mul", "Mul"),
        binary("Div", "Div", lo=0.5, hi=4),
        reduce("ReduceSum.4096", "ReduceSum", (16, 4096), [1], opset=13, lo=0, hi=1),
        reduce("ReduceMean.4096", "ReduceMean", (16, 4096), [1], lo=0, hi=1),
        reduce("ReduceMean.18.4096", "ReduceMean", (16, 4096), [1], opset=18, lo=0, hi=1),
        reduce("ReduceL2.4096", "ReduceL2", (16, 4096), [1]),
        reduce("ReduceSumSquare.4096", "ReduceSumSquare", (16, 4096), [1]),
        reduce("ReduceMax.4096", "ReduceMax", (16, 4096), [1]),
        normalization("LayerNormalization.768", "LayerNormalization", (64, 768), axis=-1),
        normalization("BatchNormalization", "BatchNormalization", (1, 32, 32, 32)),
        normalization("InstanceNormalization", "InstanceNormalization", (1, 32, 32, 32)),
        Case("Resize.nearest", [node("Resize", ["x", "", "scales"], ["y"], mode="nearest")],
             [("x", (1, 16, 32, 32), -2.0, 2.0)], ["y"],
             {"scales": np.array([1, 1, 2, 2], np.float32)}, opset=13, keep=["scales"]),
        Case("Resize.linear", [node("Resize", ["x", "", "scales"], ["y"], mode="linear")],
             [("x", (1, 16, 32, 32), -2.0, 2.0)], ["y"],
             {"scales": np.array([1, 1, 2, 2], np.float32)}, opset=13, keep=["scales"]),
        cnn(),
        mixed(cnn(), "cnn_leaky.mixed", ["n0", "n4", "n9"]),
        mixed(cnn(layers=9, hw=32), "cnn_leaky.mixed_conv", ["n3", "n10", "n11"]),
        mixed(conv("Conv+Concat.mixed", 16, 16, 3, 32, act=[("LeakyRelu", {"alpha": 0.1})],
                   extra=[("Flatten", {})]), "Conv+Flatten.mixed", ["n0"]),
    ]
    return cases


# ---- running ------------------------------------------------------------------------------------

def write_feeds(case, folder):
    os.makedirs(folder, exist_ok=True)
    args = []
    for name, value in case.feeds().items():
        path = os.path.join(folder, f"{name}.npy")
        np.save(path, value)
        args += ["--input", f"{name}={path}"]
    return args


def load_outputs(folder, names):
    return [np.load(os.path.join(folder, f"{n}.npy")).astype(np.float64) for n in names]


def error(candidate, reference):
    """(largest error in tolerance units, largest absolute error), NaN/inf counted as failing."""
    diff = np.abs(candidate - reference)
    bad = ~np.isfinite(candidate)
    units = diff / (ATOL + RTOL * np.abs(reference))
    units[bad] = np.inf
    diff[bad] = np.inf
    return float(units.max()), float(diff.max())


def float16_nodes(optimized_path):
    """Op types of the nodes of ONNX Runtime's optimized graph that read a float16 value other
    than Casts: those ran in a float16 kernel. Values whose type the saved graph leaves out are
    followed through the nodes (a node reading float16 makes float16 outputs unless a Cast)."""
    model = onnx.load(optimized_path)
    g = model.graph
    types = {v.name: v.type.tensor_type.elem_type for v in list(g.input) + list(g.value_info) +
             list(g.output)}
    for init in g.initializer:
        types[init.name] = init.data_type
    kernels = []
    for n in g.node:
        reads16 = any(types.get(i) == F16 for i in n.input if i)
        if n.op_type == "Cast":
            to = next(a.i for a in n.attribute if a.name == "to")
            for o in n.output:
                types.setdefault(o, to)
            continue
        if reads16:
            kernels.append(n.op_type)
            for o in n.output:
                types.setdefault(o, F16)
        else:
            for o in n.output:
                types.setdefault(o, F)
    return kernels


def measure(case, args, evaluators):
    work = os.path.join(args.work, "ops", case.name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    feeds = write_feeds(case, os.path.join(work, "feeds"))
    paths = {label: os.path.join(work, f"{label}.onnx") for label in ("fp32", "fp16")}
    onnx.save(case.model(F), paths["fp32"])
    half_feeds = []
    if case.blocked:
        run([args.cli, "convert", paths["fp32"], paths["fp16"], "--keep-io-types",
             "--node-block-list=" + ",".join(case.blocked)], f"{case.name}: halfcast convert")
        half_feeds = feeds
    else:
        onnx.save(case.model(F16), paths["fp16"])
        for name, value in case.feeds().items():
            path = os.path.join(work, "feeds", f"{name}.f16.npy")
            np.save(path, value.astype(np.float16))
            half_feeds += ["--input", f"{name}={path}"]
    run(["node", RUN_ORT, paths["fp32"]] + feeds + ["--output-dir", os.path.join(work, "ref")],
        f"{case.name}: ONNX Runtime float32")
    run(["node", RUN_ORT, paths["fp16"]] + feeds + ["--output-dir", os.path.join(work, "ort")],
        f"{case.name}: ONNX Runtime float16")
    optimized = os.path.join(work, "fp16.ort_optimized.onnx")
    run(["node", OPTIMIZE, paths["fp16"], optimized, "--level", "basic"],
        f"{case.name}: ONNX Runtime's optimized graph")
    ref = load_outputs(os.path.join(work, "ref"), case.outputs)
    result = {"case": case.name, "float16_kernels": sorted(set(float16_nodes(optimized)))}
    sides = [("ort", os.path.join(work, "ort"))]
    for label, mode in evaluators:
        out = os.path.join(work, label)
        os.makedirs(out)
        run([args.eval_run, mode, paths["fp16"], out] +
            [a for a in half_feeds if a != "--input"], f"{case.name}: evaluator ({mode})")
        sides.append((label, out))
    for label, folder in sides:
        errors = [error(c, r) for c, r in zip(load_outputs(folder, case.outputs), ref)]
        result[label] = max(e[0] for e in errors)
        result[label + "_abs"] = max(e[1] for e in errors)
    return result


def ops(args):
    evaluators = [("round_each_op", "round-every-op"), ("ort_model", "onnxruntime-cpu")]
    cases = [c for c in op_cases() if args.case is None or c.name == args.case]
    if not cases:
        sys.exit("FAIL: no case selected")
    labels = ["ort"] + [label for label, _ in evaluators]
    print(f"{'case':32} {'ORT fp16 kernels':28} " +
          " ".join(f"{label:>13} {'abs':>9}" for label in labels))
    results, problems = [], []
    for case in cases:
        r = measure(case, args, evaluators)
        results.append(r)
        print(f"{r['case']:32} {','.join(r['float16_kernels']) or '-':28} " +
              " ".join(f"{r[label]:13.3g} {r[label + '_abs']:9.3g}" for label in labels))
        # The ONNX Runtime model must match ONNX Runtime up to float32 summation order.
        if r["ort"] > r["ort_model"] * 1.02 + 1e-3:
            problems.append(f"{r['case']}: ONNX Runtime {r['ort']:.4g} > ort_model "
                            f"{r['ort_model']:.4g}")
    with open(os.path.join(args.work, "ops.json"), "w") as f:
        json.dump(results, f, indent=1)
    if problems:
        print("ONNX Runtime less accurate than the evaluator's model of it:\n  " +
              "\n  ".join(problems))
        if args.strict:
            sys.exit("FAIL: the evaluator's ONNX Runtime CPU model is less pessimistic than "
                     "ONNX Runtime")


# ---- auto on real models -------------------------------------------------------------------------

def auto(args):
    models = sorted(glob.glob(os.path.join(args.models, "*.onnx")))
    generated = os.path.join(args.work, "generated")
    os.makedirs(generated, exist_ok=True)
    # Layers 3 and 4 scale activations by 2^10 each (layer 4's outputs reach 2.9e5, past
    # float16's 65504), layers 5 and 6 scale them back: plain float16 overflows there, so the
    # search must keep nodes in float32. (Weights stay below the converter's max_finite_val 1e4.)
    case = cnn(layers=12, channels=16, hw=64, seed=3,
               gain={3: 2.0**10, 4: 2.0**10, 5: 2.0**-10, 6: 2.0**-10})
    # Weights not float16-exact, so float16 storage loses precision.
    rng = np.random.default_rng(7)
    case.weights = {n: (w * (1 + rng.uniform(-1e-3, 1e-3, w.shape))).astype(np.float32)
                    for n, w in case.weights.items()}
    cnn_path = os.path.join(generated, "cnn_leaky.onnx")
    onnx.save(case.model(F), cnn_path)
    feeds_root = os.path.join(args.work, "feeds")
    run([sys.executable, os.path.join(HERE, "..", "make_feeds.py"), "--models", args.models,
         "--out", feeds_root], "make_feeds.py")
    write_feeds(case, os.path.join(feeds_root, "cnn_leaky.onnx"))
    models.append(cnn_path)
    if args.model:
        models = [m for m in models if os.path.basename(m) == args.model]
        if not models:
            sys.exit(f"FAIL: no model {args.model}")
    for model in models:
        base = os.path.basename(model)
        work = os.path.join(args.work, "auto", base)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        feeds = []
        for f in sorted(glob.glob(os.path.join(feeds_root, base, "*.npy"))):
            feeds += ["--input", f"{os.path.splitext(os.path.basename(f))[0]}={f}"]
        run(["node", RUN_ORT, model] + feeds + ["--output-dir", os.path.join(work, "ref")],
            f"ONNX Runtime float32 {base}")
        out = os.path.join(work, "mixed.onnx")
        print(run([args.cli, "auto", model, out, "--rtol", str(RTOL), "--atol", str(ATOL),
                   "--keep-io-types", "--quiet", "--report-json",
                   os.path.join(work, "report.json")] + feeds, f"halfcast auto {base}").strip())
        run(["node", RUN_ORT, out] + feeds + ["--output-dir", os.path.join(work, "ort")],
            f"ONNX Runtime runs the mixed {base}")
        compare(os.path.join(work, "ref"), os.path.join(work, "ort"), RTOL, ATOL,
                f"{base}: auto result in ONNX Runtime")
        if args.eval_run:
            model_errors(args, base, out, feeds, work)


def model_errors(args, base, model, feeds, work):
    """The returned model in both of the evaluator's float16 models, against ONNX Runtime's
    float32 outputs: the ONNX Runtime CPU model's error must be ONNX Runtime's own."""
    names = [os.path.splitext(os.path.basename(f))[0]
             for f in sorted(glob.glob(os.path.join(work, "ref", "*.npy")))]
    ref = load_outputs(os.path.join(work, "ref"), names)
    errors = {"ort": [error(c, r) for c, r in
                      zip(load_outputs(os.path.join(work, "ort"), names), ref)]}
    for label, mode in (("round_each_op", "round-every-op"), ("ort_model", "onnxruntime-cpu")):
        folder = os.path.join(work, label)
        os.makedirs(folder)
        run([args.eval_run, mode, model, folder] + [a for a in feeds if a != "--input"],
            f"{base}: evaluator ({mode})")
        errors[label] = [error(c, r) for c, r in zip(load_outputs(folder, names), ref)]
    for i, name in enumerate(names):
        print(f"{base}: {name}: error in tolerance units: " +
              ", ".join(f"{label} {errors[label][i][0]:.4g}" for label in errors))
        if errors["ort"][i][0] > errors["ort_model"][i][0] * 1.02 + 1e-3:
            sys.exit(f"FAIL: {base}: {name}: ONNX Runtime's error {errors['ort'][i][0]:.4g} "
                     f"exceeds the ONNX Runtime CPU model's {errors['ort_model'][i][0]:.4g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["ops", "auto"])
    parser.add_argument("--cli", required=True, help="the halfcast executable")
    parser.add_argument("--work", required=True)
    parser.add_argument("--models", help="auto: tests/data/models")
    parser.add_argument("--model", help="auto: only this model (file name)")
    parser.add_argument("--case", help="ops: only this case")
    parser.add_argument("--eval-run", help="the ort_fp16_eval_run executable (ops: required; "
                        "auto: also check the returned models in the evaluator's two models)")
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    if args.mode == "auto" and not args.models:
        parser.error("auto needs --models")
    if args.mode == "ops" and not args.eval_run:
        parser.error("ops needs --eval-run")
    os.makedirs(args.work, exist_ok=True)
    {"ops": ops, "auto": auto}[args.mode](args)


if __name__ == "__main__":
    main()
