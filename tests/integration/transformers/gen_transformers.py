#!/usr/bin/env python3
"""Small, deterministic transformer models for halfcast's ONNX Runtime checks.

Needs Debian's python3 with onnx 1.12 and numpy. Nothing here runs onnx.checker on a model
newer than opset 17 (onnx 1.12 does not know those operators); every model is meant to load
and run in ONNX Runtime 1.30 (CPU) in float32.

Dimensions everywhere: hidden 64, 4 heads (head size 16), 2 layers, vocab 100, sequence 8,
batch 1 in the feeds (batch is symbolic in the graphs).

  bert.onnx          opset 17, post-LN BERT encoder written the way torch.onnx exports
                     BertModel: word + position Gather embeddings, LayerNormalization, per layer
                     separate Q/K/V MatMul+Add, Reshape/Transpose, MatMul, Div by sqrt(head),
                     additive mask from the int64 attention_mask (Unsqueeze, Unsqueeze, Cast,
                     Sub from 1, Mul by -10000), Softmax, output projection, residual Add +
                     LayerNormalization, FFN with Gelu as its Erf formula; a pooler (Gather of
                     token 0, Gemm, Tanh).
  bert_opset12.onnx  the same BERT as torch.onnx writes it at opset 12: LayerNorm decomposed,
                     Unsqueeze with an axes attribute (ORT's AttentionFusion only matches
                     Unsqueeze-1/11, so only this one gains com.microsoft Attention).
  bert_ms.onnx       opset 17 + com.microsoft 1: BERT as onnxruntime.transformers' optimizer
                     leaves it (ORT's own optimizer fuses no Attention at opset 17): layer 0
                     Attention (packed QKV), layer 1 MultiHeadAttention, SkipLayerNormalization
                     with bias, BiasGelu / FastGelu with bias; int32 2-D key padding mask.
  gpt2.onnx          opset 17, pre-LN GPT-2 decoder: fused c_attn MatMul+Add and Split, causal
                     mask through Where with float32's lowest value, Gelu's tanh approximation
                     written out (Mul, Pow, Mul, Add, Mul, Tanh, Add, Mul), tied LM head
                     (Transpose of the token embedding + MatMul).
  gelu20.onnx        opset 20: MLP using Gelu (approximate none and tanh).
  groupnorm21.onnx   opset 21: Conv, GroupNormalization, SiLU, Conv.
  rmsnorm23.onnx     opset 23: RMSNormalization between MatMuls.
  attention23.onnx   opset 23: Q/K/V projections into ONNX Attention (3-D inputs, is_causal,
                     grouped K/V heads), output projection.
  rotary23.onnx      opset 23: ONNX RotaryEmbedding on 4-D Q/K with position_ids, then
                     attention written with MatMul/Softmax.
  llm_decoder.onnx   opset 21 + com.microsoft 1, shaped as ONNX Runtime GenAI's model builder
                     writes a 4-bit decoder: MatMulNBits (bits 4, block 32), GroupQueryAttention
                     with past/present KV, seqlens_k and total_sequence_length (layer 0 with
                     do_rotary and cos/sin caches; layer 1 after separate com.microsoft
                     RotaryEmbedding on Q and K), SimplifiedLayerNormalization,
                     SkipSimplifiedLayerNormalization, SiLU MLP, and an If that picks the
                     cos/sin caches by total sequence length.
  bert_shuffled.onnx bert.onnx with its node list shuffled (not topologically sorted).

Feeds: OUT/feeds/<model>/<input>.npy (file name = input name).

  gen_transformers.py --out DIR
"""
import argparse
import math
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper
import onnx

HIDDEN = 64
HEADS = 4
HEAD = HIDDEN // HEADS
LAYERS = 2
VOCAB = 100
SEQ = 8
FFN = 4 * HIDDEN


def ir_for(opset):
    return 10 if opset >= 21 else 8


class Graph:
    """Collects nodes and initializers; every weight comes from one seeded generator."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.names = set()
        self.count = 0

    def fresh(self, prefix):
        self.count += 1
        return f"{prefix}_{self.count}"

    def init(self, name, array):
        assert name not in self.names, name
        self.names.add(name)
        self.inits.append(numpy_helper.from_array(np.array(array, order="C", copy=True), name))
        return name

    def normal(self, name, shape, std=0.02, mean=0.0):
        a = self.rng.standard_normal(size=shape).astype(np.float32) * np.float32(std)
        return self.init(name, a + np.float32(mean))

    def const(self, name, value, dtype=np.float32):
        return self.init(name, np.array(value, dtype=dtype))

    def op(self, op_type, inputs, name=None, outputs=1, domain=None, **attrs):
        name = name or self.fresh(op_type)
        if isinstance(outputs, int):
            outs = [name + "_out"] if outputs == 1 else [f"{name}_out{i}" for i in range(outputs)]
        else:
            outs = list(outputs)
        kwargs = dict(attrs)
        if domain:
            kwargs["domain"] = domain
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=name, **kwargs))
        return outs[0] if len(outs) == 1 else outs

    def model(self, name, inputs, outputs, opsets, value_info=()):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits,
                                  value_info=list(value_info))
        imports = [helper.make_opsetid(domain, version) for domain, version in opsets]
        model = helper.make_model(graph, opset_imports=imports, producer_name="gen_transformers")
        model.ir_version = ir_for(dict(opsets)[""])
        return model


def tensor(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


# --------------------------------------------------------------------------------------- bert
def build_bert(opset=17):
    """opset 17: LayerNormalization and Unsqueeze-13 (axes as input). Below 13 (torch.onnx at
    opset 12): LayerNorm decomposed (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add),
    Unsqueeze with an axes attribute; ORT's optimizer then also fuses Attention."""
    g = Graph(1001)

    def layer_norm(inp, prefix, name, outputs=1):
        gamma = g.normal(f"{prefix}.weight", (HIDDEN,), 0.05, 1.0)
        beta = g.normal(f"{prefix}.bias", (HIDDEN,), 0.02)
        if opset >= 17:
            return g.op("LayerNormalization", [inp, gamma, beta], name=f"{name}/LayerNormalization",
                        outputs=outputs, axis=-1, epsilon=1e-12)
        mean = g.op("ReduceMean", [inp], name=f"{name}/ReduceMean", axes=[-1])
        centered = g.op("Sub", [inp, mean], name=f"{name}/Sub")
        var = g.op("Pow", [centered, g.const(f"{prefix}.two", 2.0)], name=f"{name}/Pow")
        var = g.op("ReduceMean", [var], name=f"{name}/ReduceMean_1", axes=[-1])
        var = g.op("Add", [var, g.const(f"{prefix}.eps", 1e-12)], name=f"{name}/Add")
        std = g.op("Sqrt", [var], name=f"{name}/Sqrt")
        y = g.op("Div", [centered, std], name=f"{name}/Div")
        y = g.op("Mul", [y, gamma], name=f"{name}/Mul")
        return g.op("Add", [y, beta], name=f"{name}/Add_1", outputs=outputs)

    def unsqueeze(inp, axis, name):
        if opset >= 13:
            return g.op("Unsqueeze", [inp, g.const(f"mask_axis_{axis}", [axis], np.int64)],
                        name=name)
        return g.op("Unsqueeze", [inp], name=name, axes=[axis])
    word = g.normal("embeddings.word_embeddings.weight", (VOCAB, HIDDEN))
    pos = g.normal("embeddings.position_embeddings.weight", (SEQ, HIDDEN))
    pos_ids = g.const("embeddings.position_ids", np.arange(SEQ).reshape(1, SEQ), np.int64)
    we = g.op("Gather", [word, "input_ids"], name="/embeddings/word_embeddings/Gather")
    pe = g.op("Gather", [pos, pos_ids], name="/embeddings/position_embeddings/Gather")
    x = g.op("Add", [we, pe], name="/embeddings/Add")
    x = layer_norm(x, "embeddings.LayerNorm", "/embeddings/LayerNorm")

    # Extended attention mask, as BertModel.get_extended_attention_mask exports.
    m = unsqueeze(unsqueeze("attention_mask", 1, "/Unsqueeze"), 2, "/Unsqueeze_1")
    m = g.op("Cast", [m], name="/Cast", to=TensorProto.FLOAT)
    m = g.op("Sub", [g.const("mask_one", 1.0), m], name="/Sub")
    mask = g.op("Mul", [m, g.const("mask_min", -10000.0)], name="/Mul")

    split_heads = g.const("shape_bsnh", [0, 0, HEADS, HEAD], np.int64)
    merge_heads = g.const("shape_bsh", [0, 0, HIDDEN], np.int64)
    sqrt_head = g.const("sqrt_head_size", math.sqrt(HEAD))
    sqrt2 = g.const("gelu_sqrt2", math.sqrt(2.0))
    one = g.const("gelu_one", 1.0)
    half = g.const("gelu_half", 0.5)

    def linear(inp, prefix, fan_in, fan_out, std=0.05):
        w = g.normal(f"{prefix}.weight", (fan_in, fan_out), std)
        b = g.normal(f"{prefix}.bias", (fan_out,), 0.02)
        path = "/" + prefix.replace(".", "/")
        y = g.op("MatMul", [inp, w], name=f"{path}/MatMul")
        return g.op("Add", [y, b], name=f"{path}/Add")

    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}"
        pp = f"/encoder/layer.{layer}"
        q = linear(x, f"{p}.attention.self.query", HIDDEN, HIDDEN)
        k = linear(x, f"{p}.attention.self.key", HIDDEN, HIDDEN)
        v = linear(x, f"{p}.attention.self.value", HIDDEN, HIDDEN)
        q = g.op("Reshape", [q, split_heads], name=f"{pp}/attention/self/Reshape")
        k = g.op("Reshape", [k, split_heads], name=f"{pp}/attention/self/Reshape_1")
        v = g.op("Reshape", [v, split_heads], name=f"{pp}/attention/self/Reshape_2")
        q = g.op("Transpose", [q], name=f"{pp}/attention/self/Transpose", perm=[0, 2, 1, 3])
        k = g.op("Transpose", [k], name=f"{pp}/attention/self/Transpose_1", perm=[0, 2, 3, 1])
        v = g.op("Transpose", [v], name=f"{pp}/attention/self/Transpose_2", perm=[0, 2, 1, 3])
        s = g.op("MatMul", [q, k], name=f"{pp}/attention/self/MatMul")
        s = g.op("Div", [s, sqrt_head], name=f"{pp}/attention/self/Div")
        s = g.op("Add", [s, mask], name=f"{pp}/attention/self/Add")
        s = g.op("Softmax", [s], name=f"{pp}/attention/self/Softmax", axis=3)
        c = g.op("MatMul", [s, v], name=f"{pp}/attention/self/MatMul_1")
        c = g.op("Transpose", [c], name=f"{pp}/attention/self/Transpose_3", perm=[0, 2, 1, 3])
        c = g.op("Reshape", [c, merge_heads], name=f"{pp}/attention/self/Reshape_3")
        o = linear(c, f"{p}.attention.output.dense", HIDDEN, HIDDEN)
        o = g.op("Add", [o, x], name=f"{pp}/attention/output/Add")
        x = layer_norm(o, f"{p}.attention.output.LayerNorm", f"{pp}/attention/output/LayerNorm")
        h = linear(x, f"{p}.intermediate.dense", HIDDEN, FFN)
        d = g.op("Div", [h, sqrt2], name=f"{pp}/intermediate/intermediate_act_fn/Div")
        e = g.op("Erf", [d], name=f"{pp}/intermediate/intermediate_act_fn/Erf")
        e = g.op("Add", [e, one], name=f"{pp}/intermediate/intermediate_act_fn/Add")
        h = g.op("Mul", [h, e], name=f"{pp}/intermediate/intermediate_act_fn/Mul")
        h = g.op("Mul", [h, half], name=f"{pp}/intermediate/intermediate_act_fn/Mul_1")
        o = linear(h, f"{p}.output.dense", FFN, HIDDEN, 0.03)
        o = g.op("Add", [o, x], name=f"{pp}/output/Add")
        outs = ["last_hidden_state"] if layer == LAYERS - 1 else 1
        x = layer_norm(o, f"{p}.output.LayerNorm", f"{pp}/output/LayerNorm", outs)
    first = g.op("Gather", [x, g.const("pooler_index", 0, np.int64)], name="/pooler/Gather",
                 axis=1)
    pooled = g.op("Gemm", [first, g.normal("pooler.dense.weight", (HIDDEN, HIDDEN), 0.1),
                           g.normal("pooler.dense.bias", (HIDDEN,), 0.02)],
                  name="/pooler/dense/Gemm", alpha=1.0, beta=1.0, transB=1)
    g.op("Tanh", [pooled], name="/pooler/activation/Tanh", outputs=["pooler_output"])
    inputs = [tensor("input_ids", TensorProto.INT64, ["batch", SEQ]),
              tensor("attention_mask", TensorProto.INT64, ["batch", SEQ])]
    outputs = [tensor("last_hidden_state", TensorProto.FLOAT, ["batch", SEQ, HIDDEN]),
               tensor("pooler_output", TensorProto.FLOAT, ["batch", HIDDEN])]
    return g.model("bert" if opset == 17 else f"bert_opset{opset}", inputs, outputs,
                   [("", opset)])


def build_bert_ms():
    """BERT already fused, as onnxruntime.transformers' optimizer leaves it (ORT's own
    optimizer cannot fuse Attention at opset 17): layer 0 com.microsoft Attention with packed
    QKV weights, layer 1 MultiHeadAttention on separate Q/K/V MatMuls; SkipLayerNormalization
    with bias, BiasGelu (layer 0) and FastGelu with bias (layer 1)."""
    g = Graph(1003)
    ms = "com.microsoft"
    word = g.normal("embeddings.word_embeddings.weight", (VOCAB, HIDDEN))
    pos = g.normal("embeddings.position_embeddings.weight", (SEQ, HIDDEN))
    x = g.op("Add", [g.op("Gather", [word, "input_ids"], name="/embeddings/word/Gather"),
                     g.op("Gather", [pos, g.const("embeddings.position_ids",
                                                  np.arange(SEQ).reshape(1, SEQ), np.int64)],
                          name="/embeddings/position/Gather")], name="/embeddings/Add")
    x = g.op("LayerNormalization",
             [x, g.normal("embeddings.LayerNorm.weight", (HIDDEN,), 0.05, 1.0),
              g.normal("embeddings.LayerNorm.bias", (HIDDEN,), 0.02)],
             name="/embeddings/LayerNorm", axis=-1, epsilon=1e-12)
    mask = g.op("Cast", ["attention_mask"], name="/mask/Cast", to=TensorProto.INT32)
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}"
        if layer == 0:
            a = g.op("Attention", [x, g.normal(f"{p}.attention.qkv.weight", (HIDDEN, 3 * HIDDEN),
                                               0.05),
                                   g.normal(f"{p}.attention.qkv.bias", (3 * HIDDEN,), 0.02), mask],
                     name=f"/{p}/Attention", domain=ms, num_heads=HEADS)
        else:
            q, k, v = (g.op("MatMul", [x, g.normal(f"{p}.attention.{t}.weight", (HIDDEN, HIDDEN),
                                                   0.05)], name=f"/{p}/{t}/MatMul")
                       for t in ("query", "key", "value"))
            a = g.op("MultiHeadAttention",
                     [q, k, v, g.normal(f"{p}.attention.qkv.bias", (3 * HIDDEN,), 0.02), mask],
                     name=f"/{p}/MultiHeadAttention", domain=ms, num_heads=HEADS)
        o = g.op("MatMul", [a, g.normal(f"{p}.attention.output.dense.weight", (HIDDEN, HIDDEN),
                                        0.05)], name=f"/{p}/attention/output/MatMul")
        x = g.op("SkipLayerNormalization",
                 [o, x, g.normal(f"{p}.attention.output.LayerNorm.weight", (HIDDEN,), 0.05, 1.0),
                  g.normal(f"{p}.attention.output.LayerNorm.bias", (HIDDEN,), 0.02),
                  g.normal(f"{p}.attention.output.dense.bias", (HIDDEN,), 0.02)],
                 name=f"/{p}/attention/output/SkipLayerNorm", domain=ms, epsilon=1e-12)
        h = g.op("MatMul", [x, g.normal(f"{p}.intermediate.dense.weight", (HIDDEN, FFN), 0.05)],
                 name=f"/{p}/intermediate/MatMul")
        bias = g.normal(f"{p}.intermediate.dense.bias", (FFN,), 0.02)
        if layer == 0:
            h = g.op("BiasGelu", [h, bias], name=f"/{p}/intermediate/BiasGelu", domain=ms)
        else:
            h = g.op("FastGelu", [h, bias], name=f"/{p}/intermediate/FastGelu", domain=ms)
        o = g.op("MatMul", [h, g.normal(f"{p}.output.dense.weight", (FFN, HIDDEN), 0.03)],
                 name=f"/{p}/output/MatMul")
        outs = ["last_hidden_state"] if layer == LAYERS - 1 else 1
        x = g.op("SkipLayerNormalization",
                 [o, x, g.normal(f"{p}.output.LayerNorm.weight", (HIDDEN,), 0.05, 1.0),
                  g.normal(f"{p}.output.LayerNorm.bias", (HIDDEN,), 0.02),
                  g.normal(f"{p}.output.dense.bias", (HIDDEN,), 0.02)],
                 name=f"/{p}/output/SkipLayerNorm", domain=ms, outputs=outs, epsilon=1e-12)
    inputs = [tensor("input_ids", TensorProto.INT64, ["batch", SEQ]),
              tensor("attention_mask", TensorProto.INT64, ["batch", SEQ])]
    outputs = [tensor("last_hidden_state", TensorProto.FLOAT, ["batch", SEQ, HIDDEN])]
    return g.model("bert_ms", inputs, outputs, [("", 17), ("com.microsoft", 1)])


def bert_feeds(rng):
    ids = rng.integers(1, VOCAB, size=(1, SEQ), dtype=np.int64)
    mask = np.ones((1, SEQ), np.int64)
    mask[0, -2:] = 0  # two padding tokens
    return {"input_ids": ids, "attention_mask": mask}


# --------------------------------------------------------------------------------------- gpt2
def build_gpt2():
    g = Graph(1002)
    wte = g.normal("transformer.wte.weight", (VOCAB, HIDDEN), 0.1)
    wpe = g.normal("transformer.wpe.weight", (SEQ, HIDDEN), 0.05)
    pos_ids = g.const("position_ids", np.arange(SEQ).reshape(1, SEQ), np.int64)
    x = g.op("Add", [g.op("Gather", [wte, "input_ids"], name="/transformer/wte/Gather"),
                     g.op("Gather", [wpe, pos_ids], name="/transformer/wpe/Gather")],
             name="/transformer/Add")
    split = g.const("split_qkv", [HIDDEN, HIDDEN, HIDDEN], np.int64)
    split_heads = g.const("shape_bsnh", [0, 0, HEADS, HEAD], np.int64)
    merge_heads = g.const("shape_bsh", [0, 0, HIDDEN], np.int64)
    scale = g.const("attn_scale", math.sqrt(HEAD))
    causal = g.const("causal_bias", np.tril(np.ones((SEQ, SEQ), bool)).reshape(1, 1, SEQ, SEQ),
                     np.bool_)
    lowest = g.const("mask_value", np.finfo(np.float32).min)
    c_half = g.const("gelu_half", 0.5)
    c_three = g.const("gelu_three", 3.0)
    c_coef = g.const("gelu_coef", 0.044715)
    c_sqrt = g.const("gelu_sqrt_2_over_pi", math.sqrt(2.0 / math.pi))
    c_one = g.const("gelu_one", 1.0)

    def ln(inp, prefix, out=1):
        return g.op("LayerNormalization",
                    [inp, g.normal(f"{prefix}.weight", (HIDDEN,), 0.05, 1.0),
                     g.normal(f"{prefix}.bias", (HIDDEN,), 0.02)],
                    name="/" + prefix.replace(".", "/") + "/LayerNormalization", outputs=out,
                    axis=-1, epsilon=1e-5)

    def conv1d(inp, prefix, fan_in, fan_out, std):
        path = "/" + prefix.replace(".", "/")
        y = g.op("MatMul", [inp, g.normal(f"{prefix}.weight", (fan_in, fan_out), std)],
                 name=f"{path}/MatMul")
        return g.op("Add", [g.normal(f"{prefix}.bias", (fan_out,), 0.02), y], name=f"{path}/Add")

    for layer in range(LAYERS):
        p = f"transformer.h.{layer}"
        pp = f"/transformer/h.{layer}"
        h = ln(x, f"{p}.ln_1")
        qkv = conv1d(h, f"{p}.attn.c_attn", HIDDEN, 3 * HIDDEN, 0.08)
        q, k, v = g.op("Split", [qkv, split], name=f"{pp}/attn/Split", outputs=3, axis=2)
        q = g.op("Transpose", [g.op("Reshape", [q, split_heads], name=f"{pp}/attn/Reshape")],
                 name=f"{pp}/attn/Transpose", perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [k, split_heads], name=f"{pp}/attn/Reshape_1")],
                 name=f"{pp}/attn/Transpose_1", perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [v, split_heads], name=f"{pp}/attn/Reshape_2")],
                 name=f"{pp}/attn/Transpose_2", perm=[0, 2, 1, 3])
        s = g.op("MatMul", [q, k], name=f"{pp}/attn/MatMul")
        s = g.op("Div", [s, scale], name=f"{pp}/attn/Div")
        s = g.op("Where", [causal, s, lowest], name=f"{pp}/attn/Where")
        s = g.op("Softmax", [s], name=f"{pp}/attn/Softmax", axis=-1)
        c = g.op("MatMul", [s, v], name=f"{pp}/attn/MatMul_1")
        c = g.op("Transpose", [c], name=f"{pp}/attn/Transpose_3", perm=[0, 2, 1, 3])
        c = g.op("Reshape", [c, merge_heads], name=f"{pp}/attn/Reshape_3")
        o = conv1d(c, f"{p}.attn.c_proj", HIDDEN, HIDDEN, 0.05)
        x = g.op("Add", [o, x], name=f"{pp}/Add")
        h = ln(x, f"{p}.ln_2")
        h = conv1d(h, f"{p}.mlp.c_fc", HIDDEN, FFN, 0.08)
        # NewGELUActivation: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
        a = f"{pp}/mlp/act"
        hx = g.op("Mul", [h, c_half], name=f"{a}/Mul")
        cube = g.op("Pow", [h, c_three], name=f"{a}/Pow")
        cube = g.op("Mul", [cube, c_coef], name=f"{a}/Mul_1")
        inner = g.op("Add", [h, cube], name=f"{a}/Add")
        inner = g.op("Mul", [inner, c_sqrt], name=f"{a}/Mul_2")
        t = g.op("Tanh", [inner], name=f"{a}/Tanh")
        t = g.op("Add", [t, c_one], name=f"{a}/Add_1")
        h = g.op("Mul", [hx, t], name=f"{a}/Mul_3")
        o = conv1d(h, f"{p}.mlp.c_proj", FFN, HIDDEN, 0.03)
        x = g.op("Add", [x, o], name=f"{pp}/Add_1")
    x = ln(x, "transformer.ln_f")
    wt = g.op("Transpose", [wte], name="/lm_head/Transpose", perm=[1, 0])
    g.op("MatMul", [x, wt], name="/lm_head/MatMul", outputs=["logits"])
    inputs = [tensor("input_ids", TensorProto.INT64, ["batch", SEQ])]
    outputs = [tensor("logits", TensorProto.FLOAT, ["batch", SEQ, VOCAB])]
    return g.model("gpt2", inputs, outputs, [("", 17)])


def gpt2_feeds(rng):
    return {"input_ids": rng.integers(0, VOCAB, size=(1, SEQ), dtype=np.int64)}


def hidden_feed(rng, name="hidden_states", scale=1.0):
    return {name: (rng.standard_normal((1, SEQ, HIDDEN)) * scale).astype(np.float32)}


# ------------------------------------------------------------------------------ new-op models
def build_gelu20():
    g = Graph(1020)
    h = g.op("MatMul", ["hidden_states", g.normal("fc1.weight", (HIDDEN, FFN), 0.15)],
             name="fc1/MatMul")
    h = g.op("Add", [h, g.normal("fc1.bias", (FFN,), 0.05)], name="fc1/Add")
    a = g.op("Gelu", [h], name="act/Gelu")
    b = g.op("Gelu", [h], name="act/Gelu_tanh", approximate="tanh")
    h = g.op("Add", [a, b], name="act/Add")
    h = g.op("MatMul", [h, g.normal("fc2.weight", (FFN, HIDDEN), 0.05)], name="fc2/MatMul")
    g.op("Add", [h, "hidden_states"], name="residual/Add", outputs=["output"])
    io = [tensor("hidden_states", TensorProto.FLOAT, ["batch", SEQ, HIDDEN])]
    return g.model("gelu20", io, [tensor("output", TensorProto.FLOAT, ["batch", SEQ, HIDDEN])],
                   [("", 20)])


def build_groupnorm21():
    g = Graph(1021)
    c = 16
    x = g.op("Conv", ["image", g.normal("conv1.weight", (c, 3, 3, 3), 0.2),
                      g.normal("conv1.bias", (c,), 0.05)],
             name="conv1/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    x = g.op("GroupNormalization", [x, g.normal("norm.weight", (c,), 0.1, 1.0),
                                    g.normal("norm.bias", (c,), 0.05)],
             name="norm/GroupNormalization", num_groups=4, epsilon=1e-5)
    x = g.op("Mul", [x, g.op("Sigmoid", [x], name="act/Sigmoid")], name="act/Mul")
    g.op("Conv", [x, g.normal("conv2.weight", (8, c, 3, 3), 0.1),
                  g.normal("conv2.bias", (8,), 0.05)],
         name="conv2/Conv", outputs=["output"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    return g.model("groupnorm21", [tensor("image", TensorProto.FLOAT, ["batch", 3, 8, 8])],
                   [tensor("output", TensorProto.FLOAT, ["batch", 8, 8, 8])], [("", 21)])


def build_rmsnorm23():
    g = Graph(1023)
    x = g.op("RMSNormalization", ["hidden_states", g.normal("norm1.weight", (HIDDEN,), 0.1, 1.0)],
             name="norm1/RMSNormalization", axis=-1, epsilon=1e-6)
    x = g.op("MatMul", [x, g.normal("proj.weight", (HIDDEN, HIDDEN), 0.12)], name="proj/MatMul")
    x = g.op("Add", [x, "hidden_states"], name="residual/Add")
    x = g.op("RMSNormalization", [x, g.normal("norm2.weight", (HIDDEN,), 0.1, 1.0)],
             name="norm2/RMSNormalization", axis=-1, epsilon=1e-6)
    g.op("MatMul", [x, g.normal("head.weight", (HIDDEN, VOCAB), 0.12)], name="head/MatMul",
         outputs=["logits"])
    return g.model("rmsnorm23",
                   [tensor("hidden_states", TensorProto.FLOAT, ["batch", SEQ, HIDDEN])],
                   [tensor("logits", TensorProto.FLOAT, ["batch", SEQ, VOCAB])], [("", 23)])


def build_attention23():
    g = Graph(1024)
    kv_heads = 2
    q = g.op("MatMul", ["hidden_states", g.normal("q_proj.weight", (HIDDEN, HIDDEN), 0.15)],
             name="q_proj/MatMul")
    k = g.op("MatMul", ["hidden_states",
                        g.normal("k_proj.weight", (HIDDEN, kv_heads * HEAD), 0.15)],
             name="k_proj/MatMul")
    v = g.op("MatMul", ["hidden_states",
                        g.normal("v_proj.weight", (HIDDEN, kv_heads * HEAD), 0.15)],
             name="v_proj/MatMul")
    a = g.op("Attention", [q, k, v], name="attn/Attention", is_causal=1, q_num_heads=HEADS,
             kv_num_heads=kv_heads)
    g.op("MatMul", [a, g.normal("o_proj.weight", (HIDDEN, HIDDEN), 0.15)], name="o_proj/MatMul",
         outputs=["output"])
    return g.model("attention23",
                   [tensor("hidden_states", TensorProto.FLOAT, ["batch", SEQ, HIDDEN])],
                   [tensor("output", TensorProto.FLOAT, ["batch", SEQ, HIDDEN])], [("", 23)])


def rope_caches(positions, rotary_dim, base=10000.0):
    inv = 1.0 / (base ** (np.arange(0, rotary_dim, 2, dtype=np.float64) / rotary_dim))
    freqs = np.outer(np.arange(positions, dtype=np.float64), inv)
    return np.cos(freqs).astype(np.float32), np.sin(freqs).astype(np.float32)


def build_rotary23():
    g = Graph(1025)
    cos, sin = rope_caches(32, HEAD)
    cos = g.init("cos_cache", cos)
    sin = g.init("sin_cache", sin)
    split_heads = g.const("shape_bsnh", [0, 0, HEADS, HEAD], np.int64)
    merge_heads = g.const("shape_bsh", [0, 0, HIDDEN], np.int64)

    def heads(name, perm):
        y = g.op("MatMul", ["hidden_states", g.normal(f"{name}.weight", (HIDDEN, HIDDEN), 0.15)],
                 name=f"{name}/MatMul")
        y = g.op("Reshape", [y, split_heads], name=f"{name}/Reshape")
        return g.op("Transpose", [y], name=f"{name}/Transpose", perm=perm)

    q = heads("q_proj", [0, 2, 1, 3])
    k = heads("k_proj", [0, 2, 1, 3])
    v = heads("v_proj", [0, 2, 1, 3])
    q = g.op("RotaryEmbedding", [q, cos, sin, "position_ids"], name="q_rope/RotaryEmbedding")
    k = g.op("RotaryEmbedding", [k, cos, sin, "position_ids"], name="k_rope/RotaryEmbedding",
             interleaved=1)
    kt = g.op("Transpose", [k], name="k/Transpose", perm=[0, 1, 3, 2])
    s = g.op("MatMul", [q, kt], name="attn/MatMul")
    s = g.op("Mul", [s, g.const("attn_scale", 1.0 / math.sqrt(HEAD))], name="attn/Mul")
    s = g.op("Softmax", [s], name="attn/Softmax", axis=-1)
    c = g.op("MatMul", [s, v], name="attn/MatMul_1")
    c = g.op("Transpose", [c], name="attn/Transpose", perm=[0, 2, 1, 3])
    c = g.op("Reshape", [c, merge_heads], name="attn/Reshape")
    g.op("MatMul", [c, g.normal("o_proj.weight", (HIDDEN, HIDDEN), 0.15)], name="o_proj/MatMul",
         outputs=["output"])
    inputs = [tensor("hidden_states", TensorProto.FLOAT, ["batch", SEQ, HIDDEN]),
              tensor("position_ids", TensorProto.INT64, ["batch", SEQ])]
    return g.model("rotary23", inputs,
                   [tensor("output", TensorProto.FLOAT, ["batch", SEQ, HIDDEN])], [("", 23)])


def rotary23_feeds(rng):
    feeds = hidden_feed(rng)
    feeds["position_ids"] = (np.arange(SEQ, dtype=np.int64) + 3).reshape(1, SEQ)
    return feeds


# ------------------------------------------------------------------------------- llm decoder
LLM_KV_HEADS = 2
LLM_FFN = 128
LLM_PAST = 4
LLM_MAX_POS = 32
LLM_SMALL_POS = 8  # the If picks the "long" caches above this total sequence length
BLOCK = 32


def quantize_4bit(w, block=BLOCK):
    """w: float [K, N] (MatMul's B). Returns MatMulNBits's B [N, blocks, block/2] uint8,
    scales [N * blocks] float32, zero_points [N * ceil(blocks/2)] uint8 (asymmetric, per
    block) and the dequantized float [K, N] weight."""
    k, n = w.shape
    assert k % block == 0
    blocks = k // block
    wt = w.T.reshape(n, blocks, block).astype(np.float64)
    lo = np.minimum(wt.min(axis=2), 0.0)
    hi = np.maximum(wt.max(axis=2), 0.0)
    scale = np.maximum((hi - lo) / 15.0, 1e-8).astype(np.float32)
    zero = np.clip(np.round(-lo / scale), 0, 15).astype(np.uint8)
    q = np.clip(np.round(wt / scale[:, :, None]) + zero[:, :, None], 0, 15).astype(np.uint8)
    packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)
    zp_blocks = blocks + (blocks % 2)
    zp = np.zeros((n, zp_blocks), np.uint8)
    zp[:, :blocks] = zero
    zp_packed = (zp[:, 0::2] | (zp[:, 1::2] << 4)).astype(np.uint8)
    deq = ((q.astype(np.float32) - zero[:, :, None]) * scale[:, :, None]).reshape(n, k).T
    return packed, scale.reshape(-1), zp_packed.reshape(-1), deq


def build_llm_decoder():
    g = Graph(1030)
    ms = "com.microsoft"
    kv = LLM_KV_HEADS * HEAD

    def nbits(inp, name, k, n, std):
        w = (g.rng.standard_normal((k, n)) * std).astype(np.float32)
        packed, scales, zps, _ = quantize_4bit(w)
        b = g.init(f"{name}.MatMul.weight_Q4", packed)
        s = g.init(f"{name}.MatMul.weight_scales", scales)
        z = g.init(f"{name}.MatMul.weight_zp", zps)
        return g.op("MatMulNBits", [inp, b, s, z], name=f"/{name}/MatMulNBits", domain=ms,
                    K=k, N=n, bits=4, block_size=BLOCK, accuracy_level=0)

    def norm_weight(name):
        return g.normal(name, (HIDDEN,), 0.1, 1.0)

    emb = g.op("Gather", [g.normal("model.embed_tokens.weight", (VOCAB, HIDDEN), 0.5),
                          "input_ids"], name="/model/embed_tokens/Gather")

    # Attention-mask bookkeeping, as the builder writes it for GroupQueryAttention.
    one = g.const("/model/constants/INT64/1", 1, np.int64)
    axis1 = g.const("/model/constants/INT64/[1]", [1], np.int64)
    red = g.op("ReduceSum", ["attention_mask", axis1],
               name="/model/attn_mask_reformat/attn_mask_subgraph/ReduceSum", keepdims=0)
    red = g.op("Sub", [red, one], name="/model/attn_mask_reformat/attn_mask_subgraph/Sub")
    seqlens_k = g.op("Cast", [red], name="/model/attn_mask_reformat/attn_mask_subgraph/Sub/Cast",
                     to=TensorProto.INT32)
    shp = g.op("Shape", ["attention_mask"],
               name="/model/attn_mask_reformat/attn_mask_subgraph/Shape")
    total = g.op("Gather", [shp, one], name="/model/attn_mask_reformat/attn_mask_subgraph/Gather",
                 axis=0)
    total_i32 = g.op("Cast", [total],
                     name="/model/attn_mask_reformat/attn_mask_subgraph/Gather/Cast",
                     to=TensorProto.INT32)

    # cos/sin caches chosen by an If on the total sequence length (long-RoPE style).
    def cache_branch(tag, base, scale):
        cos, sin = rope_caches(LLM_MAX_POS, HEAD, base)
        cos = (cos * np.float32(scale)).astype(np.float32)
        sin = (sin * np.float32(scale)).astype(np.float32)
        nodes = [helper.make_node("Constant", [], [f"{kind}_cache_{tag}"],
                                  name=f"/model/rotemb_caches_subgraph/{tag}/{kind}",
                                  value=numpy_helper.from_array(value, f"{kind}_cache_{tag}_value"))
                 for kind, value in (("cos", cos), ("sin", sin))]
        outs = [tensor(f"cos_cache_{tag}", TensorProto.FLOAT, [LLM_MAX_POS, HEAD // 2]),
                tensor(f"sin_cache_{tag}", TensorProto.FLOAT, [LLM_MAX_POS, HEAD // 2])]
        return helper.make_graph(nodes, f"rotemb_caches_{tag}", [], outs)

    longer = g.op("Greater", [total, g.const("/model/constants/INT64/original_max_position",
                                             LLM_SMALL_POS, np.int64)],
                  name="/model/rotemb_caches_subgraph/Greater")
    cos_cache, sin_cache = g.op("If", [longer], name="/model/rotemb_caches_subgraph/If",
                                outputs=["cos_cache", "sin_cache"],
                                then_branch=cache_branch("large", 40000.0, 1.05),
                                else_branch=cache_branch("small", 10000.0, 1.0))

    residual = emb
    normed = g.op("SimplifiedLayerNormalization",
                  [emb, norm_weight("model.layers.0.input_layernorm.weight")],
                  name="/model/layers.0/input_layernorm/LayerNorm", axis=-1, epsilon=1e-6,
                  stash_type=1)
    presents = []
    for layer in range(LAYERS):
        p = f"model.layers.{layer}"
        pp = f"model/layers.{layer}"
        q = nbits(normed, f"{pp}/attn/q_proj", HIDDEN, HIDDEN, 0.2)
        k = nbits(normed, f"{pp}/attn/k_proj", HIDDEN, kv, 0.2)
        v = nbits(normed, f"{pp}/attn/v_proj", HIDDEN, kv, 0.2)
        past_k = f"past_key_values.{layer}.key"
        past_v = f"past_key_values.{layer}.value"
        present = [f"present.{layer}.key", f"present.{layer}.value"]
        presents += present
        if layer == 0:
            attn = g.op("GroupQueryAttention",
                        [q, k, v, past_k, past_v, seqlens_k, total_i32, cos_cache, sin_cache],
                        name=f"/{pp}/attn/GroupQueryAttention", domain=ms,
                        outputs=[f"/{pp}/attn/GroupQueryAttention/output_0"] + present,
                        num_heads=HEADS, kv_num_heads=LLM_KV_HEADS, do_rotary=1,
                        rotary_interleaved=0, local_window_size=-1,
                        scale=1.0 / math.sqrt(HEAD))[0]
        else:
            q = g.op("RotaryEmbedding", [q, "position_ids", cos_cache, sin_cache],
                     name=f"/{pp}/attn/q_rotary/RotaryEmbedding", domain=ms, interleaved=0,
                     num_heads=HEADS)
            k = g.op("RotaryEmbedding", [k, "position_ids", cos_cache, sin_cache],
                     name=f"/{pp}/attn/k_rotary/RotaryEmbedding", domain=ms, interleaved=0,
                     num_heads=LLM_KV_HEADS)
            attn = g.op("GroupQueryAttention",
                        [q, k, v, past_k, past_v, seqlens_k, total_i32],
                        name=f"/{pp}/attn/GroupQueryAttention", domain=ms,
                        outputs=[f"/{pp}/attn/GroupQueryAttention/output_0"] + present,
                        num_heads=HEADS, kv_num_heads=LLM_KV_HEADS, do_rotary=0,
                        local_window_size=-1)[0]
        o = nbits(attn, f"{pp}/attn/o_proj", HIDDEN, HIDDEN, 0.2)
        normed, _, _, residual = g.op(
            "SkipSimplifiedLayerNormalization",
            [residual, o, norm_weight(f"{p}.post_attention_layernorm.weight")],
            name=f"/{pp}/post_attention_layernorm/SkipLayerNorm", domain=ms,
            outputs=[f"/{pp}/post_attention_layernorm/output_0", "", "",
                     f"/{pp}/post_attention_layernorm/output_3"], epsilon=1e-6)
        gate = nbits(normed, f"{pp}/mlp/gate_proj", HIDDEN, LLM_FFN, 0.2)
        up = nbits(normed, f"{pp}/mlp/up_proj", HIDDEN, LLM_FFN, 0.2)
        act = g.op("Mul", [gate, g.op("Sigmoid", [gate], name=f"/{pp}/mlp/act_fn/Sigmoid")],
                   name=f"/{pp}/mlp/act_fn/Mul")
        h = g.op("Mul", [act, up], name=f"/{pp}/mlp/Mul")
        down = nbits(h, f"{pp}/mlp/down_proj", LLM_FFN, HIDDEN, 0.15)
        nxt = (f"model.layers.{layer + 1}.input_layernorm.weight" if layer + 1 < LAYERS
               else "model.norm.weight")
        tag = f"layers.{layer + 1}/input_layernorm" if layer + 1 < LAYERS else "norm"
        normed, _, _, residual = g.op(
            "SkipSimplifiedLayerNormalization", [residual, down, norm_weight(nxt)],
            name=f"/model/{tag}/SkipLayerNorm", domain=ms,
            outputs=[f"/model/{tag}/output_0", "", "", f"/model/{tag}/output_3"], epsilon=1e-6)
    # Weights of std 0.15 give logits of std ~1.2, the spread trained decoders have; float16's
    # error on logits is relative to their size.
    logits = nbits(normed, "lm_head", HIDDEN, VOCAB, 0.15)
    g.op("Identity", [logits], name="/lm_head/Identity", outputs=["logits"])

    inputs = [tensor("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
              tensor("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]),
              tensor("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"])]
    for layer in range(LAYERS):
        for kind in ("key", "value"):
            inputs.append(tensor(f"past_key_values.{layer}.{kind}", TensorProto.FLOAT,
                                 ["batch_size", LLM_KV_HEADS, "past_sequence_length", HEAD]))
    outputs = [tensor("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", VOCAB])]
    for name in presents:
        outputs.append(tensor(name, TensorProto.FLOAT,
                              ["batch_size", LLM_KV_HEADS, "total_sequence_length", HEAD]))
    return g.model("llm_decoder", inputs, outputs, [("", 21), ("com.microsoft", 1)])


def llm_decoder_feeds(rng):
    total = LLM_PAST + SEQ
    feeds = {
        "input_ids": rng.integers(0, VOCAB, size=(1, SEQ), dtype=np.int64),
        "attention_mask": np.ones((1, total), np.int64),
        "position_ids": np.arange(LLM_PAST, total, dtype=np.int64).reshape(1, SEQ),
    }
    for layer in range(LAYERS):
        for kind in ("key", "value"):
            feeds[f"past_key_values.{layer}.{kind}"] = rng.standard_normal(
                (1, LLM_KV_HEADS, LLM_PAST, HEAD)).astype(np.float32)
    return feeds


def shuffled(model, seed):
    """The same model with its (top-level) node list in a random, non-topological order."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    nodes = list(out.graph.node)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(nodes))
    # Make sure the result is really out of order: the last node must come first.
    order = [len(nodes) - 1] + [int(i) for i in order if i != len(nodes) - 1]
    del out.graph.node[:]
    out.graph.node.extend([nodes[i] for i in order])
    out.graph.name = model.graph.name + "_shuffled"
    return out


MODELS = {
    "bert": (build_bert, bert_feeds),
    "bert_ms": (build_bert_ms, bert_feeds),
    "bert_opset12": (lambda: build_bert(12), bert_feeds),
    "gpt2": (build_gpt2, gpt2_feeds),
    "gelu20": (build_gelu20, hidden_feed),
    "groupnorm21": (build_groupnorm21,
                    lambda rng: {"image": rng.standard_normal((1, 3, 8, 8)).astype(np.float32)}),
    "rmsnorm23": (build_rmsnorm23, hidden_feed),
    "attention23": (build_attention23, hidden_feed),
    "rotary23": (build_rotary23, rotary23_feeds),
    "llm_decoder": (build_llm_decoder, llm_decoder_feeds),
}


def write_feeds(out_dir, name, feeds):
    folder = os.path.join(out_dir, "feeds", name)
    os.makedirs(folder, exist_ok=True)
    for input_name, value in feeds.items():
        np.save(os.path.join(folder, f"{input_name}.npy"), value)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="work folder: models/ and feeds/")
    parser.add_argument("--only", nargs="*", help="generate only these models")
    args = parser.parse_args()
    models_dir = os.path.join(args.out, "models")
    os.makedirs(models_dir, exist_ok=True)
    for seed, (name, (build, feeds)) in enumerate(sorted(MODELS.items())):
        if args.only and name not in args.only:
            continue
        model = build()
        if model.opset_import[0].version <= 17 and len(model.opset_import) == 1:
            onnx.checker.check_model(model, full_check=True)
        onnx.save(model, os.path.join(models_dir, f"{name}.onnx"))
        write_feeds(args.out, name, feeds(np.random.default_rng(2000 + seed)))
        if name == "bert":
            onnx.save(shuffled(model, 7), os.path.join(models_dir, "bert_shuffled.onnx"))
            write_feeds(args.out, "bert_shuffled", feeds(np.random.default_rng(2000 + seed)))
        print(f"wrote {name}.onnx ({len(model.graph.node)} nodes)")


if __name__ == "__main__":
    main()
