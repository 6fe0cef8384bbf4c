#!/usr/bin/env python3
"""Generate synthetic, realistic float32 ONNX models (opset 17) for halfcast's end-to-end benchmarks.

Adapted from ../shared/tools/gen_models.py: --stream-external writes every weight straight to the
side file as it is generated, so models far beyond RAM or protobuf's 2 GB limit (the > 4 GB
external-data benchmark) are generated with one tensor in memory at a time.

Deterministic: every weight comes from numpy.random.default_rng(seed).

Kinds
  transformer  GPT-2/BERT-style pre-LN decoder stack:
               Gather(token emb) + Add(pos emb), per layer: LayerNormalization,
               MatMul+Add (fused QKV), Split, Reshape/Transpose, MatMul(QK^T), Mul(scale),
               Add(causal mask), Softmax, MatMul(PV), Transpose/Reshape, MatMul+Add (proj),
               residual Add, LayerNormalization, MLP MatMul+Add, Gelu-as-Erf
               (Div, Erf, Add, Mul, Mul), MatMul+Add, residual Add;
               final LayerNormalization and tied LM head (Transpose(wte) + MatMul).
               Input input_ids int64 [batch, S] (dynamic batch); output logits [batch, S, V].
               --overflow-layer N scales layer N's MLP c_fc weight by --overflow-scale and its
               c_proj weight by the inverse: the layer computes about the same function, but
               its MLP activations exceed float16's 65504 (outlier features, as in large
               language models), so a mixed-precision search must keep that MLP in float32.
  cnn          ResNet-style CNN (basic blocks): Conv/BatchNormalization/Relu, MaxPool,
               Add (residual), GlobalAveragePool, Flatten, Gemm.
               Input [batch, 3, R, R]; output [batch, classes].
  chain        "many small nodes" DAG of elementwise nodes, 4 nodes per block:
               a=Mul(y,c_mul[W]); b=Add(a,c_add[W]); t=Tanh(b); y'=Add(t,a).
               --blocked-every K replaces Tanh by Max(b, c_floor) (an op in the converter's
               DEFAULT_OP_BLOCK_LIST) in every K-th block, to exercise the Cast-insertion path.

Examples
  gen_models.py transformer --layers 12 --hidden 768 --vocab 50257 --seq 128 --out m.onnx
  gen_models.py cnn --stages 2,2,2,2 --width 64 --out r18.onnx
  gen_models.py chain --nodes 20000 --out c20k.onnx
  gen_models.py transformer --layers 12 --hidden 256 --vocab 512 --seq 32 --overflow-layer 6 \
      --out overflow.onnx                       # needs float32 in layer 6's MLP
  gen_models.py transformer ... --external      # save with external data (needed > 2 GB)
  gen_models.py transformer --layers 40 --hidden 1536 --out big.onnx --stream-external
                                                # ~4.8 GB in big.onnx.data, little RAM
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class Builder:
    def __init__(self, seed, external_file=None):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.counter = 0
        self.weight_bytes = 0
        # (path, open file): tensors of >= 1 KiB are appended to it as they are made.
        self.external_file = external_file

    def name(self, prefix):
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def init(self, name, arr):
        arr = np.ascontiguousarray(arr)
        if self.external_file is not None and arr.nbytes >= 1024:
            t = self.external_tensor(name, arr)
        else:
            t = numpy_helper.from_array(arr, name)
        self.inits.append(t)
        if arr.dtype == np.float32:
            self.weight_bytes += arr.nbytes
        return name

    def external_tensor(self, name, arr):
        location, f = self.external_file
        offset = f.tell()
        f.write(arr.tobytes())
        t = TensorProto(name=name, dims=arr.shape,
                        data_type=onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[arr.dtype])
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", offset), ("length", arr.nbytes)):
            entry = t.external_data.add()
            entry.key, entry.value = key, str(value)
        return t

    def randn(self, name, shape, std):
        a = self.rng.standard_normal(size=shape, dtype=np.float32)
        a *= np.float32(std)
        return self.init(name, a)

    def const(self, name, value, dtype=np.float32):
        return self.init(name, np.array(value, dtype=dtype))

    def node(self, op, inputs, n_out=1, name=None, **attrs):
        name = name or self.name(op)
        outs = [f"{name}_out{i}" if n_out > 1 else f"{name}_out" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs if n_out > 1 else outs[0]


# --------------------------------------------------------------------------- transformer
def build_transformer(L, H, V, S, heads, seed, external_file=None, overflow_layer=None,
                      overflow_scale=1e5):
    assert H % heads == 0
    assert overflow_layer is None or 0 <= overflow_layer < L, "--overflow-layer out of range"
    hd = H // heads
    b = Builder(seed, external_file)
    std = 0.02
    wte = b.randn("wte", (V, H), std)
    wpe = b.randn("wpe", (S, H), 0.01)
    # shared small constants
    ax = b.const("split_qkv", [H, H, H], np.int64)
    shp4 = b.const("shape_bsnh", [0, 0, heads, hd], np.int64)
    shp3 = b.const("shape_bsh", [0, 0, H], np.int64)
    scale = b.const("attn_scale", 1.0 / math.sqrt(hd))
    mask = np.triu(np.full((S, S), -10000.0, dtype=np.float32), k=1).reshape(1, 1, S, S)
    mask = b.init("causal_mask", mask)
    sqrt2 = b.const("gelu_sqrt2", math.sqrt(2.0))
    one = b.const("gelu_one", 1.0)
    half = b.const("gelu_half", 0.5)

    emb = b.node("Gather", [wte, "input_ids"], name="embed_tokens", axis=0)
    x = b.node("Add", [emb, wpe], name="embed_add_pos")
    for l in range(L):
        p = f"h{l}"
        g1 = b.init(f"{p}.ln_1.weight", (1.0 + 0.1 * b.rng.standard_normal(H)).astype(np.float32))
        b1 = b.randn(f"{p}.ln_1.bias", (H,), 0.02)
        ln1 = b.node("LayerNormalization", [x, g1, b1], name=f"{p}/ln_1", axis=-1, epsilon=1e-5)
        wqkv = b.randn(f"{p}.attn.c_attn.weight", (H, 3 * H), std)
        bqkv = b.randn(f"{p}.attn.c_attn.bias", (3 * H,), std)
        qkv = b.node("MatMul", [ln1, wqkv], name=f"{p}/attn/c_attn/MatMul")
        qkv = b.node("Add", [qkv, bqkv], name=f"{p}/attn/c_attn/Add")
        q, k, v = b.node("Split", [qkv, ax], n_out=3, name=f"{p}/attn/Split", axis=-1)
        q = b.node("Reshape", [q, shp4], name=f"{p}/attn/q/Reshape")
        k = b.node("Reshape", [k, shp4], name=f"{p}/attn/k/Reshape")
        v = b.node("Reshape", [v, shp4], name=f"{p}/attn/v/Reshape")
        q = b.node("Transpose", [q], name=f"{p}/attn/q/Transpose", perm=[0, 2, 1, 3])
        k = b.node("Transpose", [k], name=f"{p}/attn/k/Transpose", perm=[0, 2, 3, 1])
        v = b.node("Transpose", [v], name=f"{p}/attn/v/Transpose", perm=[0, 2, 1, 3])
        s = b.node("MatMul", [q, k], name=f"{p}/attn/QK")
        s = b.node("Mul", [s, scale], name=f"{p}/attn/scale")
        s = b.node("Add", [s, mask], name=f"{p}/attn/mask")
        pr = b.node("Softmax", [s], name=f"{p}/attn/Softmax", axis=-1)
        c = b.node("MatMul", [pr, v], name=f"{p}/attn/PV")
        c = b.node("Transpose", [c], name=f"{p}/attn/ctx/Transpose", perm=[0, 2, 1, 3])
        c = b.node("Reshape", [c, shp3], name=f"{p}/attn/ctx/Reshape")
        wo = b.randn(f"{p}.attn.c_proj.weight", (H, H), std / math.sqrt(2 * L))
        bo = b.randn(f"{p}.attn.c_proj.bias", (H,), std)
        o = b.node("MatMul", [c, wo], name=f"{p}/attn/c_proj/MatMul")
        o = b.node("Add", [o, bo], name=f"{p}/attn/c_proj/Add")
        x = b.node("Add", [x, o], name=f"{p}/residual_1")
        g2 = b.init(f"{p}.ln_2.weight", (1.0 + 0.1 * b.rng.standard_normal(H)).astype(np.float32))
        b2 = b.randn(f"{p}.ln_2.bias", (H,), 0.02)
        ln2 = b.node("LayerNormalization", [x, g2, b2], name=f"{p}/ln_2", axis=-1, epsilon=1e-5)
        # The same draws with or without the overflow: only the one layer's scales differ.
        mlp_scale = overflow_scale if l == overflow_layer else 1.0
        w1 = b.randn(f"{p}.mlp.c_fc.weight", (H, 4 * H), std * mlp_scale)
        bb1 = b.randn(f"{p}.mlp.c_fc.bias", (4 * H,), std)
        h = b.node("MatMul", [ln2, w1], name=f"{p}/mlp/c_fc/MatMul")
        h = b.node("Add", [h, bb1], name=f"{p}/mlp/c_fc/Add")
        # Gelu (erf form), as exported by torch.onnx for nn.GELU()
        d = b.node("Div", [h, sqrt2], name=f"{p}/mlp/gelu/Div")
        e = b.node("Erf", [d], name=f"{p}/mlp/gelu/Erf")
        e = b.node("Add", [e, one], name=f"{p}/mlp/gelu/Add")
        gm = b.node("Mul", [h, e], name=f"{p}/mlp/gelu/Mul")
        gm = b.node("Mul", [gm, half], name=f"{p}/mlp/gelu/Mul_1")
        w2 = b.randn(f"{p}.mlp.c_proj.weight", (4 * H, H), std / math.sqrt(2 * L) / mlp_scale)
        bb2 = b.randn(f"{p}.mlp.c_proj.bias", (H,), std)
        m = b.node("MatMul", [gm, w2], name=f"{p}/mlp/c_proj/MatMul")
        m = b.node("Add", [m, bb2], name=f"{p}/mlp/c_proj/Add")
        x = b.node("Add", [x, m], name=f"{p}/residual_2")
    gf = b.init("ln_f.weight", np.ones(H, np.float32))
    bf = b.init("ln_f.bias", np.zeros(H, np.float32))
    x = b.node("LayerNormalization", [x, gf, bf], name="ln_f", axis=-1, epsilon=1e-5)
    wt = b.node("Transpose", [wte], name="lm_head/Transpose", perm=[1, 0])
    b.nodes.append(helper.make_node("MatMul", [x, wt], ["logits"], name="lm_head/MatMul"))
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", S])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", S, V])]
    graph = helper.make_graph(b.nodes, f"transformer_L{L}_H{H}_V{V}_S{S}", inputs, outputs, b.inits)
    return graph, b.weight_bytes


# --------------------------------------------------------------------------- cnn
def build_cnn(stages, width, classes, res, seed):
    b = Builder(seed)

    def conv_bn(x, cin, cout, k, stride, prefix, relu=True):
        fan = cin * k * k
        w = b.randn(f"{prefix}.conv.weight", (cout, cin, k, k), math.sqrt(2.0 / fan))
        y = b.node("Conv", [x, w], name=f"{prefix}/Conv", kernel_shape=[k, k],
                   strides=[stride, stride], pads=[k // 2] * 4)
        sc = b.init(f"{prefix}.bn.weight", (1.0 + 0.1 * b.rng.standard_normal(cout)).astype(np.float32))
        bi = b.randn(f"{prefix}.bn.bias", (cout,), 0.05)
        mu = b.randn(f"{prefix}.bn.running_mean", (cout,), 0.05)
        var = b.init(f"{prefix}.bn.running_var", (1.0 + 0.1 * b.rng.random(cout)).astype(np.float32))
        y = b.node("BatchNormalization", [y, sc, bi, mu, var], name=f"{prefix}/BatchNormalization",
                   epsilon=1e-5)
        if relu:
            y = b.node("Relu", [y], name=f"{prefix}/Relu")
        return y

    x = conv_bn("input", 3, width, 7, 2, "stem")
    x = b.node("MaxPool", [x], name="stem/MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = width
    for si, nblk in enumerate(stages):
        cout = width * (2 ** si)
        for bi_ in range(nblk):
            stride = 2 if (bi_ == 0 and si > 0) else 1
            p = f"layer{si + 1}.{bi_}"
            y = conv_bn(x, cin, cout, 3, stride, f"{p}.1")
            y = conv_bn(y, cout, cout, 3, 1, f"{p}.2", relu=False)
            sc = x
            if stride != 1 or cin != cout:
                sc = conv_bn(x, cin, cout, 1, stride, f"{p}.downsample", relu=False)
            x = b.node("Add", [y, sc], name=f"{p}/Add")
            x = b.node("Relu", [x], name=f"{p}/Relu")
            cin = cout
    x = b.node("GlobalAveragePool", [x], name="head/GlobalAveragePool")
    x = b.node("Flatten", [x], name="head/Flatten", axis=1)
    fw = b.randn("fc.weight", (classes, cin), 1.0 / math.sqrt(cin))
    fb = b.randn("fc.bias", (classes,), 0.01)
    b.nodes.append(helper.make_node("Gemm", [x, fw, fb], ["output"], name="head/Gemm", transB=1))
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, res, res])]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", classes])]
    graph = helper.make_graph(b.nodes, f"resnet_{'-'.join(map(str, stages))}_w{width}", inputs, outputs, b.inits)
    return graph, b.weight_bytes


# --------------------------------------------------------------------------- chain
def build_chain(n_nodes, width, blocked_every, seed):
    assert n_nodes % 4 == 0, "--nodes must be a multiple of 4"
    b = Builder(seed)
    y = "x"
    for blk in range(n_nodes // 4):
        p = f"b{blk}"
        cm = b.init(f"{p}.mul", b.rng.uniform(0.4, 0.6, width).astype(np.float32))
        ca = b.init(f"{p}.add", b.rng.uniform(-0.1, 0.1, width).astype(np.float32))
        a = b.node("Mul", [y, cm], name=f"{p}/Mul")
        bb = b.node("Add", [a, ca], name=f"{p}/Add")
        if blocked_every and blk % blocked_every == blocked_every - 1:
            cf = b.init(f"{p}.floor", np.full(width, -0.5, np.float32))
            t = b.node("Max", [bb, cf], name=f"{p}/Max")
        else:
            t = b.node("Tanh", [bb], name=f"{p}/Tanh")
        last = blk == n_nodes // 4 - 1
        if last:
            b.nodes.append(helper.make_node("Add", [t, a], ["y"], name=f"{p}/Add_1"))
        else:
            y = b.node("Add", [t, a], name=f"{p}/Add_1")
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", width])]
    graph = helper.make_graph(b.nodes, f"chain_{n_nodes}", inputs, outputs, b.inits)
    return graph, b.weight_bytes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="kind", required=True)
    t = sub.add_parser("transformer")
    t.add_argument("--layers", type=int, default=12)
    t.add_argument("--hidden", type=int, default=768)
    t.add_argument("--vocab", type=int, default=50257)
    t.add_argument("--seq", type=int, default=128)
    t.add_argument("--heads", type=int, default=0, help="default hidden/64")
    t.add_argument("--overflow-layer", type=int, default=None,
                   help="layer whose MLP activations exceed float16's range (default none)")
    t.add_argument("--overflow-scale", type=float, default=1e5,
                   help="factor on that layer's c_fc weight (its c_proj weight gets 1/factor)")
    c = sub.add_parser("cnn")
    c.add_argument("--stages", default="2,2,2,2", help="basic blocks per stage (ResNet-18: 2,2,2,2; -34: 3,4,6,3)")
    c.add_argument("--width", type=int, default=64)
    c.add_argument("--classes", type=int, default=1000)
    c.add_argument("--res", type=int, default=224)
    ch = sub.add_parser("chain")
    ch.add_argument("--nodes", type=int, default=1000)
    ch.add_argument("--width", type=int, default=16, help="elements per small initializer")
    ch.add_argument("--blocked-every", type=int, default=0)
    for p in (t, c, ch):
        p.add_argument("--out", required=True)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--external", action="store_true", help="save weights as external data (<out>.data)")
        p.add_argument("--no-check", action="store_true")
    t.add_argument("--stream-external", action="store_true",
                   help="write weights to <out>.data while generating (any size, little RAM)")
    a = ap.parse_args(argv)

    t0 = time.perf_counter()
    stream = None
    if a.kind == "transformer" and a.stream_external:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        stream = (os.path.basename(a.out) + ".data", open(a.out + ".data", "wb"))
        a.external = True
    if a.kind == "transformer":
        heads = a.heads or max(1, a.hidden // 64)
        graph, wb = build_transformer(a.layers, a.hidden, a.vocab, a.seq, heads, a.seed, stream,
                                      a.overflow_layer, a.overflow_scale)
        if stream is not None:
            stream[1].close()
    elif a.kind == "cnn":
        graph, wb = build_cnn([int(s) for s in a.stages.split(",")], a.width, a.classes, a.res, a.seed)
    else:
        graph, wb = build_chain(a.nodes, a.width, a.blocked_every, a.seed)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="fp16-bench-gen")
    model.ir_version = 8
    t1 = time.perf_counter()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    if stream is not None:
        onnx.save_model(model, a.out)  # weights are already in <out>.data
    elif a.external:
        loc = os.path.basename(a.out) + ".data"
        if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(a.out)), loc)):
            os.remove(os.path.join(os.path.dirname(os.path.abspath(a.out)), loc))
        onnx.save_model(model, a.out, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=loc, size_threshold=1024)
    else:
        onnx.save_model(model, a.out)
    t2 = time.perf_counter()
    n_nodes = len(model.graph.node)
    n_init = len(model.graph.initializer)
    del model, graph
    status = "skipped"
    if not a.no_check:
        # path-based check works for any size (and for external data)
        onnx.checker.check_model(a.out, full_check=False)
        status = "ok"
    t3 = time.perf_counter()
    size = os.path.getsize(a.out)
    if a.external:
        size += os.path.getsize(a.out + ".data")
    print(f"{a.out}: kind={a.kind} nodes={n_nodes} initializers={n_init} weight_bytes={wb} "
          f"file_bytes={size} build={t1 - t0:.1f}s save={t2 - t1:.1f}s checker={status}({t3 - t2:.1f}s)")


if __name__ == "__main__":
    main()
