#!/usr/bin/env python3
"""Single-op models of the transformer ops run in ONNX Runtime 1.30 and in `halfcast run`.

Each case is one tiny model (written with onnx.helper, not checked: onnx 1.12's checker knows
neither opsets past 17 nor com.microsoft) and its feeds; ONNX Runtime (onnxruntime-node, CPU)
and halfcast's evaluator run it and every output must agree within the case's tolerance.
A group of cases (the op family) is one ctest test.

  eval_ops.py --cli HALFCAST --work DIR [--node NODE] [--group G] [--case NAME] [--list]
  eval_ops.py --work DIR --case NAME --print   ONNX Runtime's outputs as C++ initializers
"""
import argparse
import os
import shutil
import subprocess
import sys
import zlib

import numpy as np
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_ORT = os.path.join(HERE, "..", "ort", "run_ort.js")

F = TensorProto.FLOAT
F16 = TensorProto.FLOAT16
I32 = TensorProto.INT32
I64 = TensorProto.INT64
BOOL = TensorProto.BOOL
U8 = TensorProto.UINT8
NP_TYPES = {F: np.float32, F16: np.float32, I32: np.int32, I64: np.int64, BOOL: np.bool_}

CASES = []  # (group, name, model, feeds, rtol, atol)


def rand(seed, *shape):
    return np.random.default_rng(seed).uniform(-1, 1, size=shape).astype(np.float32)


def wave(phase, *shape):
    """Smooth deterministic values, sin(0.37 i + phase): the unit tests (tests/eval/
    transformer_kernels_test.cc) rebuild them to reuse ONNX Runtime's outputs of the pinned group."""
    return np.sin(0.37 * np.arange(int(np.prod(shape))) + phase).reshape(shape).astype(np.float32)


def case(group, name, op, inputs, outputs, attrs=None, domain="", opset=None, rtol=1e-5,
         atol=1e-5, initializers=()):
    """inputs: [(name, elem_type, array or None for an absent optional input)];
    outputs: [(name, elem_type)] ('' for an unwanted output); inputs named in `initializers`
    are stored in the model (as quantized weights are, which ONNX Runtime prepacks) instead of
    fed (float16 ones as float16)."""
    if opset is None:
        opset = [("", 23), ("com.microsoft", 1)]
    node = helper.make_node(op, [n if a is not None else "" for n, _, a in inputs],
                            [n for n, _ in outputs], domain=domain, **(attrs or {}))
    fed = [(n, t, a) for n, t, a in inputs if a is not None and n not in initializers]
    graph_inputs = [helper.make_tensor_value_info(n, t, list(a.shape)) for n, t, a in fed]
    graph_outputs = [helper.make_tensor_value_info(n, t, None) for n, t in outputs if n]
    stored = [numpy_helper.from_array(a.astype(np.float16) if t == F16 else a, n)
              for n, t, a in inputs if a is not None and n in initializers]
    graph = helper.make_graph([node], name, graph_inputs, graph_outputs, initializer=stored)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opset],
                              ir_version=10, producer_name="halfcast-eval-ops")
    feeds = {n: a for n, _, a in fed}
    CASES.append((group, name, model, feeds, rtol, atol))


def build_cases():
    ms = "com.microsoft"
    # FusedMatMul: alpha, transA/B, broadcasting, transBatchA/B.
    a, b = rand(1, 2, 3, 4), rand(2, 4, 5)
    case("fused_matmul", "FusedMatMul.plain", "FusedMatMul",
         [("A", F, a), ("B", F, b)], [("Y", F)], {"alpha": 0.5}, ms)
    case("fused_matmul", "FusedMatMul.trans", "FusedMatMul",
         [("A", F, rand(3, 2, 4, 3)), ("B", F, rand(4, 1, 5, 4))], [("Y", F)],
         {"alpha": 2.0, "transA": 1, "transB": 1}, ms)
    case("fused_matmul", "FusedMatMul.broadcast", "FusedMatMul",
         [("A", F, rand(5, 2, 1, 3, 4)), ("B", F, rand(6, 3, 4, 2))], [("Y", F)], {}, ms)
    case("fused_matmul", "FusedMatMul.trans_batch_a", "FusedMatMul",
         [("A", F, rand(7, 3, 2, 4)), ("B", F, rand(8, 2, 4, 5))], [("Y", F)],
         {"transBatchA": 1}, ms)
    case("fused_matmul", "FusedMatMul.trans_batch_b", "FusedMatMul",
         [("A", F, rand(9, 2, 3, 4)), ("B", F, rand(10, 5, 2, 4))], [("Y", F)],
         {"transBatchB": 1, "transB": 1, "alpha": 0.25}, ms)
    case("fused_matmul", "FusedMatMul.trans_batch_both", "FusedMatMul",
         [("A", F, rand(11, 4, 2, 3, 3)), ("B", F, rand(12, 4, 2, 3, 5))], [("Y", F)],
         {"transBatchA": 1, "transBatchB": 1, "transA": 1}, ms)

    # The Gelu family and other activations.
    x = rand(20, 2, 3, 8) * 3
    bias = rand(21, 8)
    case("activations", "Gelu.ms", "Gelu", [("X", F, x)], [("Y", F)], {}, ms)
    case("activations", "BiasGelu", "BiasGelu", [("X", F, x), ("B", F, bias)], [("Y", F)], {}, ms)
    case("activations", "FastGelu.bias", "FastGelu", [("X", F, x), ("B", F, bias)], [("Y", F)],
         {}, ms)
    case("activations", "FastGelu.no_bias", "FastGelu", [("X", F, x)], [("Y", F)], {}, ms)
    case("activations", "QuickGelu.default", "QuickGelu", [("X", F, x)], [("Y", F)], {}, ms)
    case("activations", "QuickGelu.alpha", "QuickGelu", [("X", F, x)], [("Y", F)],
         {"alpha": 1.3}, ms)
    # BiasAdd has no CPU kernel in ONNX Runtime (CUDA only): tests/eval checks it by hand.
    case("activations", "Gelu20.none", "Gelu", [("X", F, x)], [("Y", F)], {})
    case("activations", "Gelu20.tanh", "Gelu", [("X", F, x)], [("Y", F)],
         {"approximate": "tanh"})
    case("activations", "Mish18", "Mish", [("X", F, x * 4)], [("Y", F)], {},
         opset=[("", 18)])
    case("activations", "Swish24", "Swish", [("X", F, x)], [("Y", F)], {"alpha": 0.8},
         opset=[("", 24)])

    # Conv and Gemm with a fused activation.
    xc, wc, bc = rand(140, 1, 2, 5, 5), rand(141, 3, 2, 3, 3), rand(142, 3)
    for activation, attrs in [("Relu", {}), ("LeakyRelu", {"activation_params": [0.2]}),
                              ("Clip", {"activation_params": [-0.5, 0.6]}),
                              ("HardSigmoid", {"activation_params": [0.3, 0.4]}),
                              ("Sigmoid", {}), ("Tanh", {})]:
        case("fused_matmul", f"FusedConv.{activation}", "FusedConv",
             [("X", F, xc), ("W", F, wc), ("B", F, bc)], [("Y", F)],
             {"activation": activation, "pads": [1, 1, 1, 1], **attrs}, ms)
    case("fused_matmul", "FusedConv.sum", "FusedConv",
         [("X", F, xc), ("W", F, wc), ("B", F, bc), ("Z", F, rand(143, 1, 3, 2, 2))], [("Y", F)],
         {"activation": "Relu", "strides": [2, 2]}, ms)
    for activation, attrs in [("Relu", {}), ("LeakyRelu", {"activation_alpha": 0.3}),
                              ("Tanh", {})]:
        case("fused_matmul", f"FusedGemm.{activation}", "FusedGemm",
             [("A", F, rand(144, 4, 3)), ("B", F, rand(145, 5, 3)), ("C", F, rand(146, 5))],
             [("Y", F)], {"activation": activation, "transB": 1, "alpha": 1.5, "beta": 0.5,
                          **attrs}, ms)

    # EmbedLayerNormalization.
    ids = np.array([[1, 4, 2], [0, 3, 3]], np.int32)
    emb = [("ids", I32, ids), ("segment_ids", I32, np.array([[0, 1, 1], [1, 0, 0]], np.int32)),
           ("word", F, rand(150, 5, 8)), ("position", F, rand(151, 6, 8)),
           ("segment", F, rand(152, 2, 8)), ("gamma", F, rand(153, 8)), ("beta", F, rand(154, 8))]
    case("layer_norms", "EmbedLayerNormalization.full", "EmbedLayerNormalization",
         emb + [("mask", I32, np.array([[1, 1, 0], [1, 1, 1]], np.int32))],
         [("Y", F), ("mask_index", I32), ("sum", F)], {"epsilon": 1e-5}, ms)
    case("layer_norms", "EmbedLayerNormalization.no_segment_position_ids",
         "EmbedLayerNormalization",
         [emb[0], ("segment_ids", I32, None), emb[2], emb[3], ("segment", F, None), emb[5],
          emb[6], ("mask", I32, None), ("position_ids", I32, np.array([[2, 0, 5]], np.int32))],
         [("Y", F), ("mask_index", I32)], {"epsilon": 1e-5}, ms)

    # Skip and simplified layer normalizations.
    x, skip = rand(30, 2, 3, 8), rand(31, 2, 3, 8)
    gamma, beta, sbias = rand(32, 8) + 1, rand(33, 8), rand(34, 8)
    outs4 = [("Y", F), ("mean", F), ("inv_std", F), ("sum", F)]
    case("layer_norms", "SkipLayerNormalization.full", "SkipLayerNormalization",
         [("X", F, x), ("skip", F, skip), ("gamma", F, gamma), ("beta", F, beta),
          ("bias", F, sbias)], outs4, {"epsilon": 1e-5}, ms)
    case("layer_norms", "SkipLayerNormalization.no_beta_bias", "SkipLayerNormalization",
         [("X", F, x), ("skip", F, skip), ("gamma", F, gamma)], [("Y", F)], {"epsilon": 1e-3}, ms)
    case("layer_norms", "SkipLayerNormalization.broadcast_skip", "SkipLayerNormalization",
         [("X", F, x), ("skip", F, rand(35, 3, 8)), ("gamma", F, gamma), ("beta", F, beta)],
         [("Y", F), ("", F), ("", F), ("sum", F)], {"epsilon": 1e-5}, ms)
    case("layer_norms", "SkipLayerNormalization.2d", "SkipLayerNormalization",
         [("X", F, rand(36, 5, 8)), ("skip", F, rand(37, 5, 8)), ("gamma", F, gamma),
          ("beta", F, beta)], outs4, {"epsilon": 1e-5}, ms)
    case("layer_norms", "SkipLayerNormalization.float16", "SkipLayerNormalization",
         [("X", F16, x), ("skip", F16, skip), ("gamma", F16, gamma), ("beta", F16, beta)],
         [("Y", F16), ("mean", F), ("inv_std", F), ("sum", F16)], {"epsilon": 1e-5}, ms,
         rtol=2e-3, atol=2e-3)
    case("layer_norms", "SkipSimplifiedLayerNormalization.float16",
         "SkipSimplifiedLayerNormalization",
         [("X", F16, x), ("skip", F16, skip), ("gamma", F16, gamma)],
         [("Y", F16), ("", F), ("inv_std", F), ("sum", F16)], {"epsilon": 1e-5}, ms,
         rtol=2e-3, atol=2e-3)
    case("layer_norms", "SimplifiedLayerNormalization.float16", "SimplifiedLayerNormalization",
         [("X", F16, x), ("scale", F16, gamma)], [("Y", F16), ("inv_std", F)],
         {"epsilon": 1e-5}, opset=[("", 17)], rtol=2e-3, atol=2e-3)
    case("layer_norms", "LayerNormalization.opset13.float16", "LayerNormalization",
         [("X", F16, x), ("scale", F16, gamma), ("B", F16, beta)],
         [("Y", F16), ("mean", F), ("inv_std", F)], {"epsilon": 1e-5}, opset=[("", 13)],
         rtol=2e-3, atol=2e-3)
    case("layer_norms", "SkipSimplifiedLayerNormalization.full",
         "SkipSimplifiedLayerNormalization",
         [("X", F, x), ("skip", F, skip), ("gamma", F, gamma), ("bias", F, sbias)],
         outs4, {"epsilon": 1e-5}, ms)
    case("layer_norms", "SkipSimplifiedLayerNormalization.plain",
         "SkipSimplifiedLayerNormalization",
         [("X", F, x), ("skip", F, skip), ("gamma", F, gamma)],
         [("Y", F), ("", F), ("inv_std", F), ("sum", F)], {"epsilon": 1e-6}, ms)
    case("layer_norms", "SimplifiedLayerNormalization", "SimplifiedLayerNormalization",
         [("X", F, rand(38, 2, 3, 8)), ("scale", F, gamma)], [("Y", F), ("inv_std", F)],
         {"epsilon": 1e-5, "axis": -1}, opset=[("", 17)])
    case("layer_norms", "SimplifiedLayerNormalization.axis1", "SimplifiedLayerNormalization",
         [("X", F, rand(39, 2, 3, 8)), ("scale", F, rand(40, 3, 8))], [("Y", F), ("inv_std", F)],
         {"epsilon": 1e-5, "axis": 1}, opset=[("", 17)])
    case("layer_norms", "LayerNormalization.opset13", "LayerNormalization",
         [("X", F, rand(41, 2, 3, 8)), ("scale", F, gamma), ("B", F, beta)],
         [("Y", F), ("mean", F), ("inv_std", F)], {"epsilon": 1e-5}, opset=[("", 13)])
    case("layer_norms", "RMSNormalization23", "RMSNormalization",
         [("X", F, rand(42, 2, 3, 8)), ("scale", F, gamma)], [("Y", F)], {"epsilon": 1e-5})
    case("layer_norms", "RMSNormalization23.axis1", "RMSNormalization",
         [("X", F, rand(43, 2, 3, 8)), ("scale", F, rand(44, 3, 8))], [("Y", F)],
         {"epsilon": 1e-4, "axis": 1})
    xg = rand(45, 2, 6, 3, 2) * 2
    case("layer_norms", "GroupNormalization18", "GroupNormalization",
         [("X", F, xg), ("scale", F, rand(46, 3)), ("bias", F, rand(47, 3))], [("Y", F)],
         {"num_groups": 3, "epsilon": 1e-5}, opset=[("", 18)])
    case("layer_norms", "GroupNormalization21", "GroupNormalization",
         [("X", F, xg), ("scale", F, rand(48, 6)), ("bias", F, rand(49, 6))], [("Y", F)],
         {"num_groups": 2, "epsilon": 1e-5}, opset=[("", 21)])

    # com.microsoft Attention.
    batch, seq, hidden, heads = 2, 4, 8, 2
    xin = rand(50, batch, seq, hidden)
    w, wb = rand(51, hidden, 3 * hidden), rand(52, 3 * hidden)
    att = [("input", F, xin), ("weights", F, w), ("bias", F, wb)]
    case("attention", "Attention.plain", "Attention", att, [("Y", F)], {"num_heads": heads}, ms,
         rtol=1e-4)
    case("attention", "Attention.key_lengths", "Attention",
         att + [("mask", I32, np.array([3, 2], np.int32))], [("Y", F)], {"num_heads": heads}, ms,
         rtol=1e-4)
    case("attention", "Attention.mask_2d", "Attention",
         att + [("mask", I32, np.array([[1, 1, 0, 1], [1, 0, 1, 1]], np.int32))], [("Y", F)],
         {"num_heads": heads}, ms, rtol=1e-4)
    case("attention", "Attention.mask_3d", "Attention",
         att + [("mask", I32, (rand(53, batch, seq, seq) > -0.5).astype(np.int32))], [("Y", F)],
         {"num_heads": heads}, ms, rtol=1e-4)
    case("attention", "Attention.unidirectional_scale", "Attention", att,
         [("Y", F)], {"num_heads": heads, "unidirectional": 1, "scale": 0.3}, ms, rtol=1e-4)
    case("attention", "Attention.qkv_hidden_sizes", "Attention",
         [("input", F, xin), ("weights", F, rand(54, hidden, 8 + 8 + 4)),
          ("bias", F, rand(55, 20))], [("Y", F)],
         {"num_heads": heads, "qkv_hidden_sizes": [8, 8, 4]}, ms, rtol=1e-4)
    case("attention", "Attention.past_present", "Attention",
         att + [("mask", I32, None), ("past", F, rand(56, 2, batch, heads, 3, hidden // heads))],
         [("Y", F), ("present", F)], {"num_heads": heads, "unidirectional": 1}, ms, rtol=1e-4)
    case("attention", "Attention.attention_bias", "Attention",
         att + [("mask", I32, None), ("past", F, None),
                ("attention_bias", F, rand(57, 1, heads, seq, seq))],
         [("Y", F)], {"num_heads": heads}, ms, rtol=1e-4)

    case("attention", "Attention.end_and_start_positions", "Attention",
         att + [("mask", I32, np.array([4, 3, 1, 0], np.int32))], [("Y", F)],
         {"num_heads": heads, "mask_filter_value": -500.0}, ms, rtol=1e-4)
    case("attention", "Attention.fully_masked_row", "Attention",
         att + [("mask", I32, np.array([0, 4], np.int32))], [("Y", F)], {"num_heads": heads},
         ms, rtol=1e-4)

    # MultiHeadAttention.
    kv_len = 5
    q, k, v = rand(60, batch, seq, hidden), rand(61, batch, kv_len, hidden), rand(62, batch,
                                                                                   kv_len, hidden)
    mha = [("query", F, q), ("key", F, k), ("value", F, v)]
    case("attention", "MultiHeadAttention.plain", "MultiHeadAttention", mha, [("Y", F)],
         {"num_heads": heads}, ms, rtol=1e-4)
    case("attention", "MultiHeadAttention.bias_padding", "MultiHeadAttention",
         mha + [("bias", F, rand(63, 3 * hidden)),
                ("kpm", I32, np.array([[1, 1, 1, 0, 1], [1, 0, 1, 1, 1]], np.int32))],
         [("Y", F)], {"num_heads": heads, "scale": 0.5}, ms, rtol=1e-4)
    case("attention", "MultiHeadAttention.key_lengths_attention_bias", "MultiHeadAttention",
         mha + [("bias", F, None), ("kpm", I32, np.array([4, 2], np.int32)),
                ("attention_bias", F, rand(64, batch, 1, seq, kv_len))],
         [("Y", F)], {"num_heads": heads}, ms, rtol=1e-4)
    case("attention", "MultiHeadAttention.past_unidirectional", "MultiHeadAttention",
         [("query", F, q), ("key", F, rand(65, batch, seq, hidden)),
          ("value", F, rand(66, batch, seq, hidden)), ("bias", F, rand(67, 3 * hidden)),
          ("kpm", I32, None), ("attention_bias", F, None),
          ("past_key", F, rand(68, batch, heads, 2, hidden // heads)),
          ("past_value", F, rand(69, batch, heads, 2, hidden // heads))],
         [("Y", F), ("present_key", F), ("present_value", F)],
         {"num_heads": heads, "unidirectional": 1}, ms, rtol=1e-4)

    case("attention", "MultiHeadAttention.qk_output", "MultiHeadAttention",
         mha + [("bias", F, None), ("kpm", I32, np.array([4, 2], np.int32))],
         [("Y", F), ("", F), ("", F), ("qk", F)], {"num_heads": heads}, ms, rtol=1e-4)
    # Packed K/V ([B, L, N, 2, H]) is not implemented on ONNX Runtime's CPU: not compared here.
    case("attention", "MultiHeadAttention.bnsh_key_value", "MultiHeadAttention",
         [("query", F, q), ("key", F, rand(102, batch, heads, kv_len, hidden // heads)),
          ("value", F, rand(103, batch, heads, kv_len, hidden // heads))],
         [("Y", F)], {"num_heads": heads}, ms, rtol=1e-4)
    case("attention", "MultiHeadAttention.mask_3d", "MultiHeadAttention",
         mha + [("bias", F, None),
                ("kpm", I32, (rand(104, batch, seq, kv_len) > -0.5).astype(np.int32))],
         [("Y", F)], {"num_heads": heads}, ms, rtol=1e-4)
    case("attention", "MultiHeadAttention.value_width", "MultiHeadAttention",
         [("query", F, q), ("key", F, k), ("value", F, rand(105, batch, kv_len, 6))],
         [("Y", F)], {"num_heads": heads}, ms, rtol=1e-4)

    # GroupQueryAttention: 4 query heads sharing 2 key/value heads of 8 (ONNX Runtime needs a
    # multiple of 8).
    def gqa(name, seq, past, lengths, total, attrs, extra=(), packed=False, seed=160,
            outputs=3, hs=8):
        n, kvn = 4, 2
        batch = len(lengths)
        inputs = []
        if packed:
            inputs += [("query", F, rand(seed, batch, seq, (n + 2 * kvn) * hs)), ("key", F, None),
                       ("value", F, None)]
        else:
            inputs += [("query", F, rand(seed, batch, seq, n * hs)),
                       ("key", F, rand(seed + 1, batch, seq, kvn * hs)),
                       ("value", F, rand(seed + 2, batch, seq, kvn * hs))]
        if past:
            inputs += [("past_key", F, rand(seed + 3, batch, kvn, past, hs)),
                       ("past_value", F, rand(seed + 4, batch, kvn, past, hs))]
        else:
            inputs += [("past_key", F, None), ("past_value", F, None)]
        inputs += [("seqlens_k", I32, np.array(lengths, np.int32)),
                   ("total_sequence_length", I32, np.array([total], np.int32))]
        inputs += list(extra)
        outs = [("Y", F), ("present_key", F), ("present_value", F)][:outputs]
        case("gqa", f"GroupQueryAttention.{name}", "GroupQueryAttention", inputs, outs,
             {"num_heads": 4, "kv_num_heads": 2, **attrs}, ms, rtol=1e-4)
    # ONNX Runtime's rotary inside GroupQueryAttention needs heads of a multiple of 16.
    frequencies = 0.5 ** np.arange(8)
    gqa_cos = np.cos(np.outer(np.arange(16), frequencies)).astype(np.float32)
    gqa_sin = np.sin(np.outer(np.arange(16), frequencies)).astype(np.float32)
    rotary = [("cos_cache", F, gqa_cos), ("sin_cache", F, gqa_sin)]
    gqa("prompt", 3, 0, [2, 2], 3, {})
    gqa("prompt_padded", 3, 0, [2, 1], 3, {}, outputs=1)
    gqa("decode", 1, 3, [3, 3], 4, {})
    gqa("decode_ragged", 1, 3, [3, 2], 4, {})
    # ONNX Runtime takes several new tokens after a past only for batch 1.
    gqa("decode_two_tokens", 2, 3, [4], 5, {"scale": 0.4})
    gqa("packed", 2, 2, [3], 4, {}, packed=True)
    gqa("packed_decode", 1, 2, [2, 2], 3, {}, packed=True)
    gqa("rotary", 2, 3, [4], 5, {"do_rotary": 1}, rotary, hs=16)
    gqa("rotary_decode", 1, 3, [3, 3], 4, {"do_rotary": 1}, rotary, hs=16)
    gqa("rotary_interleaved_prompt", 3, 0, [2, 2], 3,
        {"do_rotary": 1, "rotary_interleaved": 1}, rotary, hs=16)
    gqa("local_window", 4, 0, [3, 3], 4, {"local_window_size": 1})
    gqa("softcap", 1, 3, [3, 3], 4, {"softcap": 0.5})
    gqa("smooth_softmax", 1, 3, [3, 3], 4, {"smooth_softmax": 1})
    gqa("head_sink", 1, 3, [3, 3], 4, {},
        rotary[:0] + [("cos_cache", F, None), ("sin_cache", F, None), ("position_ids", I64, None),
                      ("attention_bias", F, None), ("head_sink", F, rand(170, 4))])
    gqa("attention_bias", 1, 3, [3, 3], 4, {},
        [("cos_cache", F, None), ("sin_cache", F, None), ("position_ids", I64, None),
         ("attention_bias", F, rand(171, 2, 1, 1, 4))])

    # RotaryEmbedding, com.microsoft and ONNX 23.
    max_pos, head = 16, 4
    angles = np.outer(np.arange(max_pos), 1.0 / (10000 ** (np.arange(head // 2) / (head // 2))))
    cos, sin = np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)
    pos = np.array([[0, 1, 2, 3], [5, 6, 7, 8]], np.int64)
    xr3 = rand(70, batch, seq, heads * head)
    for interleaved in (0, 1):
        case("rotary", f"RotaryEmbedding.ms.3d.interleaved{interleaved}", "RotaryEmbedding",
             [("X", F, xr3), ("pos", I64, pos), ("cos", F, cos), ("sin", F, sin)], [("Y", F)],
             {"interleaved": interleaved, "num_heads": heads}, ms)
        case("rotary", f"RotaryEmbedding.23.3d.interleaved{interleaved}", "RotaryEmbedding",
             [("X", F, xr3), ("cos", F, cos), ("sin", F, sin), ("pos", I64, pos)], [("Y", F)],
             {"interleaved": interleaved, "num_heads": heads})
    case("rotary", "RotaryEmbedding.ms.4d", "RotaryEmbedding",
         [("X", F, rand(71, batch, heads, seq, head)), ("pos", I64, pos), ("cos", F, cos),
          ("sin", F, sin)], [("Y", F)], {}, ms)
    case("rotary", "RotaryEmbedding.ms.scale", "RotaryEmbedding",
         [("X", F, xr3), ("pos", I64, pos), ("cos", F, cos), ("sin", F, sin)], [("Y", F)],
         {"num_heads": heads, "scale": 2.0}, ms)
    case("rotary", "RotaryEmbedding.ms.offset", "RotaryEmbedding",
         [("X", F, xr3), ("pos", I64, np.array([3], np.int64)), ("cos", F, cos), ("sin", F, sin)],
         [("Y", F)], {"num_heads": heads}, ms)
    half_cos, half_sin = cos[:, :1].copy(), sin[:, :1].copy()
    case("rotary", "RotaryEmbedding.ms.partial", "RotaryEmbedding",
         [("X", F, xr3), ("pos", I64, pos), ("cos", F, half_cos), ("sin", F, half_sin)],
         [("Y", F)], {"num_heads": heads, "rotary_embedding_dim": 2}, ms)
    case("rotary", "RotaryEmbedding.ms.4d_interleaved_partial", "RotaryEmbedding",
         [("X", F, rand(74, batch, heads, seq, head)), ("pos", I64, pos), ("cos", F, half_cos),
          ("sin", F, half_sin)], [("Y", F)], {"interleaved": 1, "rotary_embedding_dim": 2, "num_heads": heads}, ms)
    case("rotary", "RotaryEmbedding.23.3d_no_position_ids", "RotaryEmbedding",
         [("X", F, xr3), ("cos", F, cos[pos]), ("sin", F, sin[pos])], [("Y", F)],
         {"num_heads": heads})
    case("rotary", "RotaryEmbedding.23.4d", "RotaryEmbedding",
         [("X", F, rand(72, batch, heads, seq, head)), ("cos", F, cos), ("sin", F, sin),
          ("pos", I64, pos)], [("Y", F)], {})
    case("rotary", "RotaryEmbedding.23.no_position_ids", "RotaryEmbedding",
         [("X", F, rand(73, batch, heads, seq, head)), ("cos", F, cos[pos]), ("sin", F, sin[pos])],
         [("Y", F)], {"interleaved": 1})
    case("rotary", "RotaryEmbedding.23.partial", "RotaryEmbedding",
         [("X", F, xr3), ("cos", F, half_cos), ("sin", F, half_sin), ("pos", I64, pos)],
         [("Y", F)], {"num_heads": heads, "rotary_embedding_dim": 2})

    # ONNX Attention-23.
    q4, k4, v4 = rand(80, 2, 4, 3, 4), rand(81, 2, 2, 5, 4), rand(82, 2, 2, 5, 6)
    case("onnx_attention", "Attention23.gqa_4d", "Attention",
         [("Q", F, q4), ("K", F, k4), ("V", F, v4)], [("Y", F)], {}, rtol=1e-4)
    case("onnx_attention", "Attention23.3d", "Attention",
         [("Q", F, rand(83, 2, 3, 8)), ("K", F, rand(84, 2, 5, 8)), ("V", F, rand(85, 2, 5, 8))],
         [("Y", F)], {"q_num_heads": 2, "kv_num_heads": 2, "scale": 0.7}, rtol=1e-4)
    case("onnx_attention", "Attention23.bool_mask", "Attention",
         [("Q", F, q4), ("K", F, k4), ("V", F, v4),
          ("mask", BOOL, rand(86, 3, 5) > -0.6)], [("Y", F)], {}, rtol=1e-4)
    case("onnx_attention", "Attention23.float_mask", "Attention",
         [("Q", F, q4), ("K", F, k4), ("V", F, v4), ("mask", F, rand(87, 2, 1, 3, 5))],
         [("Y", F)], {}, rtol=1e-4)
    case("onnx_attention", "Attention23.causal", "Attention",
         [("Q", F, rand(88, 1, 2, 4, 4)), ("K", F, rand(89, 1, 2, 4, 4)),
          ("V", F, rand(90, 1, 2, 4, 4))], [("Y", F)], {"is_causal": 1}, rtol=1e-4)
    case("onnx_attention", "Attention23.softcap", "Attention",
         [("Q", F, q4 * 4), ("K", F, k4 * 4), ("V", F, v4), ("mask", F, rand(91, 3, 5))],
         [("Y", F)], {"softcap": 2.0}, rtol=1e-4)
    case("onnx_attention", "Attention23.past_causal", "Attention",
         [("Q", F, rand(92, 1, 2, 2, 4)), ("K", F, rand(93, 1, 2, 2, 4)),
          ("V", F, rand(94, 1, 2, 2, 4)), ("mask", F, None),
          ("past_key", F, rand(95, 1, 2, 3, 4)), ("past_value", F, rand(96, 1, 2, 3, 4))],
         [("Y", F), ("present_key", F), ("present_value", F)], {"is_causal": 1}, rtol=1e-4)
    case("onnx_attention", "Attention23.bool_mask_4d_causal_gqa_3d", "Attention",
         [("Q", F, rand(110, 2, 3, 8)), ("K", F, rand(111, 2, 3, 4)), ("V", F, rand(112, 2, 3, 4)),
          ("mask", BOOL, rand(113, 2, 4, 3, 3) > -0.6)], [("Y", F)],
         {"q_num_heads": 4, "kv_num_heads": 2, "is_causal": 1}, rtol=1e-4)
    case("onnx_attention", "Attention23.causal_more_queries", "Attention",
         [("Q", F, rand(114, 1, 1, 4, 4)), ("K", F, rand(115, 1, 1, 3, 4)),
          ("V", F, rand(116, 1, 1, 3, 4))], [("Y", F)], {"is_causal": 1}, rtol=1e-4)
    case("onnx_attention", "Attention23.fully_masked_row", "Attention",
         [("Q", F, q4), ("K", F, k4), ("V", F, v4),
          ("mask", BOOL, np.array([[1, 1, 0, 0, 1], [0, 0, 0, 0, 0], [1, 0, 1, 0, 1]], bool))],
         [("Y", F)], {}, rtol=1e-4)
    # A mask shorter than the keys (ONNX pads it as masked) is refused by ONNX Runtime.
    case("onnx_attention", "Attention23.past_float_mask_3d", "Attention",
         [("Q", F, rand(118, 2, 2, 8)), ("K", F, rand(119, 2, 2, 4)),
          ("V", F, rand(120, 2, 2, 4)), ("mask", F, rand(121, 2, 2, 5)),
          ("past_key", F, rand(122, 2, 1, 3, 4)), ("past_value", F, rand(123, 2, 1, 3, 4))],
         [("Y", F), ("present_key", F), ("present_value", F)],
         {"q_num_heads": 2, "kv_num_heads": 1}, rtol=1e-4)
    for mode in (1, 2, 3):
        case("onnx_attention", f"Attention23.qk_output_mode{mode}", "Attention",
             [("Q", F, q4 * 3), ("K", F, k4 * 3), ("V", F, v4), ("mask", F, rand(97, 3, 5))],
             [("Y", F), ("", F), ("", F), ("qk", F)],
             {"qk_matmul_output_mode": mode, "softcap": 1.5}, rtol=1e-4)
    case("onnx_attention", "Attention23.qk_output", "Attention",
         [("Q", F, q4), ("K", F, k4), ("V", F, v4), ("mask", F, rand(97, 3, 5))],
         [("Y", F), ("", F), ("", F), ("qk", F)], {"qk_matmul_output_mode": 0}, rtol=1e-4)


def build_float16_cases():
    """16-bit inputs where ONNX Runtime's CPU has a float16 kernel: halfcast computes in float32
    and rounds (kernel.h), ONNX Runtime mostly does the same, so they agree to float16 rounding."""
    ms = "com.microsoft"
    x = rand(130, 2, 3, 8) * 3
    tol = {"rtol": 4e-3, "atol": 4e-3}
    for op, attrs, domain, opset in [("Gelu", {}, ms, None), ("FastGelu", {}, ms, None),
                                     ("QuickGelu", {}, ms, None),
                                     ("Gelu", {"approximate": "tanh"}, "", [("", 20)]),
                                     ("Mish", {}, "", [("", 18)])]:
        case("float16", f"{op}.{domain or 'onnx'}.float16", op, [("X", F16, x)], [("Y", F16)],
             attrs, domain, opset, **tol)
    case("float16", "RMSNormalization23.float16", "RMSNormalization",
         [("X", F16, x), ("scale", F16, rand(131, 8))], [("Y", F16)], {}, **tol)
    case("float16", "MultiHeadAttention.float16", "MultiHeadAttention",
         [("query", F16, rand(132, 2, 4, 8)), ("key", F16, rand(133, 2, 5, 8)),
          ("value", F16, rand(134, 2, 5, 8))], [("Y", F16)], {"num_heads": 2}, ms, **tol)
    case("float16", "RotaryEmbedding.ms.float16", "RotaryEmbedding",
         [("X", F16, rand(135, 1, 2, 8)), ("pos", I64, np.array([[0, 1]], np.int64)),
          ("cos", F16, np.cos(rand(136, 4, 2))), ("sin", F16, np.sin(rand(136, 4, 2)))],
         [("Y", F16)], {"num_heads": 2}, ms, **tol)
    case("float16", "Attention23.float16", "Attention",
         [("Q", F16, rand(137, 1, 2, 3, 4)), ("K", F16, rand(138, 1, 2, 3, 4)),
          ("V", F16, rand(139, 1, 2, 3, 4))], [("Y", F16)], {"is_causal": 1}, **tol)


def build_pinned_cases():
    """Small cases whose ONNX Runtime outputs are pasted into the unit tests (--print)."""
    ms = "com.microsoft"
    case("pinned", "pinned.FusedMatMul", "FusedMatMul",
         [("A", F, wave(0, 3, 2, 2)), ("B", F, wave(1, 2, 3, 2))], [("Y", F)],
         {"alpha": 0.5, "transBatchA": 1, "transB": 1}, ms)
    case("pinned", "pinned.FastGelu", "FastGelu", [("X", F, 3 * wave(0, 2, 3)),
                                                  ("B", F, wave(1, 3))], [("Y", F)], {}, ms)
    case("pinned", "pinned.SkipLayerNormalization", "SkipLayerNormalization",
         [("X", F, wave(0, 1, 2, 4)), ("skip", F, wave(1, 1, 2, 4)), ("gamma", F, wave(2, 4)),
          ("beta", F, wave(3, 4)), ("bias", F, wave(4, 4))],
         [("Y", F), ("mean", F), ("inv_std", F), ("sum", F)], {"epsilon": 1e-5}, ms)
    case("pinned", "pinned.SkipSimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization",
         [("X", F, wave(0, 1, 2, 4)), ("skip", F, wave(1, 1, 2, 4)), ("gamma", F, wave(2, 4))],
         [("Y", F), ("", F), ("inv_std", F)], {"epsilon": 1e-5}, ms)
    case("pinned", "pinned.Attention", "Attention",
         [("input", F, wave(0, 2, 3, 4)), ("weights", F, wave(1, 4, 12)), ("bias", F, wave(2, 12)),
          ("mask", I32, np.array([[1, 1, 0], [1, 0, 1]], np.int32))], [("Y", F)],
         {"num_heads": 2}, ms)
    case("pinned", "pinned.Attention.unidirectional_past", "Attention",
         [("input", F, wave(0, 1, 2, 4)), ("weights", F, wave(1, 4, 12)), ("bias", F, wave(2, 12)),
          ("mask", I32, np.array([3], np.int32)), ("past", F, wave(3, 2, 1, 2, 1, 2))],
         [("Y", F), ("present", F)], {"num_heads": 2, "unidirectional": 1}, ms)
    case("pinned", "pinned.MultiHeadAttention", "MultiHeadAttention",
         [("query", F, wave(0, 1, 2, 4)), ("key", F, wave(1, 1, 3, 4)),
          ("value", F, wave(2, 1, 3, 4)), ("bias", F, wave(3, 12)),
          ("kpm", I32, np.array([2], np.int32))], [("Y", F)], {"num_heads": 2}, ms)
    case("pinned", "pinned.RotaryEmbedding.ms", "RotaryEmbedding",
         [("X", F, wave(0, 1, 2, 8)), ("pos", I64, np.array([[1, 3]], np.int64)),
          ("cos", F, np.cos(wave(1, 4, 2))), ("sin", F, np.sin(wave(1, 4, 2)))], [("Y", F)],
         {"interleaved": 1, "num_heads": 2}, ms)
    case("pinned", "pinned.RotaryEmbedding.23", "RotaryEmbedding",
         [("X", F, wave(0, 1, 2, 2, 4)), ("cos", F, np.cos(wave(1, 4, 2))),
          ("sin", F, np.sin(wave(1, 4, 2))), ("pos", I64, np.array([[2, 0]], np.int64))],
         [("Y", F)], {})
    case("pinned", "pinned.Attention23", "Attention",
         [("Q", F, wave(0, 1, 2, 2, 2)), ("K", F, wave(1, 1, 1, 2, 2)),
          ("V", F, wave(2, 1, 1, 2, 2)), ("mask", F, None),
          ("past_key", F, wave(3, 1, 1, 1, 2)), ("past_value", F, wave(4, 1, 1, 1, 2))],
         [("Y", F), ("present_key", F), ("present_value", F)], {"is_causal": 1, "softcap": 1.5})
    case("pinned", "pinned.GroupNormalization18", "GroupNormalization",
         [("X", F, wave(0, 1, 4, 2)), ("scale", F, wave(1, 2)), ("bias", F, wave(2, 2))],
         [("Y", F)], {"num_groups": 2, "epsilon": 1e-5}, opset=[("", 18)])
    case("pinned", "pinned.EmbedLayerNormalization", "EmbedLayerNormalization",
         [("ids", I32, np.array([[2, 0]], np.int32)),
          ("segment_ids", I32, np.array([[1, 0]], np.int32)), ("word", F, wave(0, 3, 4)),
          ("position", F, wave(1, 2, 4)), ("segment", F, wave(2, 2, 4)),
          ("gamma", F, wave(3, 4)), ("beta", F, wave(4, 4)),
          ("mask", I32, np.array([[1, 0]], np.int32))],
         [("Y", F), ("mask_index", I32)], {"epsilon": 1e-5}, ms)
    case("pinned", "pinned.FusedConv", "FusedConv",
         [("X", F, wave(0, 1, 1, 3, 3)), ("W", F, wave(1, 1, 1, 2, 2)), ("B", F, wave(2, 1)),
          ("Z", F, wave(3, 1, 1, 2, 2))], [("Y", F)],
         {"activation": "LeakyRelu", "activation_params": [0.1]}, ms)
    case("pinned", "pinned.GroupQueryAttention", "GroupQueryAttention",
         [("query", F, wave(0, 1, 1, 16)), ("key", F, wave(1, 1, 1, 8)),
          ("value", F, wave(2, 1, 1, 8)), ("past_key", F, wave(3, 1, 1, 2, 8)),
          ("past_value", F, wave(4, 1, 1, 2, 8)), ("seqlens_k", I32, np.array([2], np.int32)),
          ("total_sequence_length", I32, np.array([3], np.int32))],
         # ONNX Runtime reads the past through its present outputs: without them it is wrong.
         [("Y", F), ("present_key", F), ("present_value", F)],
         {"num_heads": 2, "kv_num_heads": 1, "softcap": 2.0}, ms)
    case("pinned", "pinned.RMSNormalization", "RMSNormalization",
         [("X", F, wave(0, 2, 3)), ("scale", F, wave(1, 3))], [("Y", F)], {"epsilon": 1e-5})


def pack_bits(values, bits):
    """Unsigned `bits`-bit values packed along the last axis, the first in the low bits of each
    byte (ONNX Runtime's order); the last axis is padded with zeros to whole bytes."""
    per = 8 // bits
    values = np.asarray(values, np.uint8)
    pad = -values.shape[-1] % per
    if pad:
        values = np.concatenate([values, np.zeros(values.shape[:-1] + (pad,), np.uint8)], -1)
    values = values.reshape(values.shape[:-1] + (-1, per)).astype(np.uint32)
    return sum(values[..., i] << (i * bits) for i in range(per)).astype(np.uint8)


def nbits_weight(seed, k, n, bits, block, zero_points="packed"):
    """MatMulNBits's B [N, k_blocks, blob], scales [N, k_blocks] and zero points (packed uint8
    [N, ceil(k_blocks * bits / 8)], float [N, k_blocks] or None) from random values; the padding
    of the last block is random too, so a kernel reading it shows."""
    rng = np.random.default_rng(seed)
    blocks = -(-k // block)
    q = rng.integers(0, 1 << bits, size=(n, blocks, block), dtype=np.uint8)
    scales = rng.uniform(0.01, 0.1, size=(n, blocks)).astype(np.float32)
    zp = None
    if zero_points == "packed":
        zp = pack_bits(rng.integers(0, 1 << bits, size=(n, blocks), dtype=np.uint8), bits)
    elif zero_points == "float":
        zp = rng.uniform(0, (1 << bits) - 1, size=(n, blocks)).astype(np.float32)
    return pack_bits(q, bits), scales, zp


def build_quantized_cases():
    """MatMulNBits and GatherBlockQuantized, the quantized weights of LLM exports."""
    ms = "com.microsoft"
    weights = ("B", "scales", "zero_points", "g_idx", "bias")
    tol = {"rtol": 1e-4, "atol": 1e-5}

    def nbits(name, a, k, n, bits, block, zero_points="packed", flat=False, bias=None,
              g_idx=None, a_type=F, fed=False, tol=tol, **extra):
        b, scales, zp = nbits_weight(zlib.crc32(name.encode()), k, n, bits, block, zero_points)
        if flat:  # the 1-D scales and zero points of older quantizers
            scales = scales.reshape(-1)
            zp = None if zp is None else zp.reshape(-1)
        scale_type = F16 if a_type == F16 else F
        zp_type = U8 if zero_points == "packed" else scale_type
        inputs = [("A", a_type, a), ("B", U8, b), ("scales", scale_type, scales),
                  ("zero_points", zp_type, zp), ("g_idx", I32, g_idx),
                  ("bias", scale_type, bias)]
        while inputs[-1][2] is None:
            inputs.pop()
        case("quantized", f"MatMulNBits.{name}", "MatMulNBits", inputs, [("Y", a_type)],
             {"K": k, "N": n, "bits": bits, "block_size": block, **extra}, ms,
             initializers=() if fed else weights, **tol)

    nbits("4bit.zero_points", rand(200, 2, 3, 64), 64, 12, 4, 32, accuracy_level=0)
    nbits("4bit.bias", rand(201, 5, 64), 64, 12, 4, 16, bias=rand(202, 12))
    nbits("4bit.default_zero_point", rand(203, 1, 2, 64), 64, 7, 4, 32, zero_points=None)
    nbits("4bit.flat_odd_blocks", rand(204, 3, 40), 40, 5, 4, 16, flat=True)
    nbits("4bit.k_not_block_multiple", rand(205, 2, 50), 50, 9, 4, 32)
    nbits("4bit.block128", rand(206, 2, 256), 256, 20, 4, 128)
    nbits("4bit.float_zero_points", rand(207, 3, 64), 64, 6, 4, 32, zero_points="float")
    nbits("4bit.fed_weights", rand(208, 2, 64), 64, 6, 4, 32, fed=True)
    nbits("4bit.vector", rand(209, 64), 64, 4, 4, 32)
    nbits("4bit.g_idx_in_order", rand(210, 2, 64), 64, 6, 4, 32, zero_points="float",
          g_idx=(np.arange(64) // 32).astype(np.int32))
    act_order = np.random.default_rng(218).permutation(np.arange(64) // 32).astype(np.int32)
    nbits("4bit.g_idx_float_zero_points", rand(219, 2, 64), 64, 6, 4, 32, zero_points="float",
          g_idx=act_order)
    # ONNX Runtime ignores packed zero points next to g_idx (quantized.cc says more).
    nbits("4bit.g_idx_packed_zero_points", rand(220, 2, 64), 64, 6, 4, 32, g_idx=act_order)
    nbits("8bit.zero_points", rand(211, 4, 64), 64, 7, 8, 32)
    nbits("8bit.default_zero_point", rand(212, 4, 48), 48, 7, 8, 16, zero_points=None,
          bias=rand(213, 7))
    nbits("2bit.zero_points", rand(214, 3, 64), 64, 6, 2, 32)
    nbits("2bit.default_zero_point", rand(215, 3, 80), 80, 5, 2, 16, zero_points=None)
    nbits("4bit.float16", rand(216, 2, 64), 64, 8, 4, 32, a_type=F16, bias=rand(217, 8),
          tol={"rtol": 4e-3, "atol": 4e-3})

    # Small cases whose ONNX Runtime outputs tests/eval/quantized_kernels_test.cc pastes
    # (--print); it rebuilds the inputs from pattern() and wave().
    def pattern(count, mul, add):
        return ((np.arange(count) * mul + add) % 256).astype(np.uint8)

    def steps(count):
        return (0.05 + 0.01 * np.arange(count)).astype(np.float32)

    case("quantized", "MatMulNBits.pinned.4bit", "MatMulNBits",
         [("A", F, wave(0, 2, 32)), ("B", U8, pattern(48, 29, 7).reshape(3, 2, 8)),
          ("scales", F, steps(6).reshape(3, 2)), ("zero_points", U8, pattern(3, 53, 18)),
          ("g_idx", I32, None), ("bias", F, wave(2, 3))], [("Y", F)],
         {"K": 32, "N": 3, "bits": 4, "block_size": 16}, ms, initializers=weights, **tol)
    case("quantized", "MatMulNBits.pinned.8bit", "MatMulNBits",
         [("A", F, wave(1, 1, 16)), ("B", U8, pattern(32, 37, 3).reshape(2, 1, 16)),
          ("scales", F, steps(2))], [("Y", F)],
         {"K": 16, "N": 2, "bits": 8, "block_size": 16}, ms, initializers=weights, **tol)
    case("quantized", "GatherBlockQuantized.pinned", "GatherBlockQuantized",
         [("data", U8, pattern(24, 41, 5).reshape(3, 8)), ("indices", I64, np.array([2, 0])),
          ("scales", F, steps(3).reshape(3, 1)),
          ("zero_points", U8, pattern(3, 53, 18).reshape(3, 1))], [("Y", F)],
         {"bits": 4, "block_size": 16}, ms, initializers=("data", "scales", "zero_points"))

    def gather(name, rows, cols, bits, block, indices, zero_points=True, scale_type=F, lead=(),
               **attrs):
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        q = rng.integers(0, 1 << bits, size=(rows, *lead, cols), dtype=np.uint8)
        blocks = -(-cols // block)
        scales = rng.uniform(0.01, 0.1, size=(rows, *lead, blocks)).astype(np.float32)
        index_type = I32 if indices.dtype == np.int32 else I64
        inputs = [("data", U8, pack_bits(q, bits)), ("indices", index_type, indices),
                  ("scales", scale_type, scales)]
        if zero_points:
            zp = rng.integers(0, 1 << bits, size=(rows, *lead, blocks), dtype=np.uint8)
            inputs.append(("zero_points", U8, pack_bits(zp, bits)))
        case("quantized", f"GatherBlockQuantized.{name}", "GatherBlockQuantized", inputs,
             [("Y", scale_type)], {"bits": bits, "block_size": block,
                                   "quantize_axis": len(lead) + 1, **attrs}, ms,
             initializers=("data", "scales", "zero_points"),
             **({"rtol": 2e-3, "atol": 2e-3} if scale_type == F16 else {}))

    gather("4bit", 6, 32, 4, 16, np.array([[5, 0], [-1, 2]], np.int64))
    gather("4bit.default_zero_point", 4, 64, 4, 32, np.array([3, 1, 3], np.int32),
           zero_points=False)
    gather("4bit.odd_blocks", 5, 48, 4, 16, np.array([4, 1], np.int64))
    gather("8bit", 5, 32, 8, 16, np.array([[0, 4, 2]], np.int32), gather_axis=0)
    gather("8bit.default_zero_point", 3, 16, 8, 16, np.array([2], np.int64), zero_points=False)
    gather("4bit.3d", 4, 32, 4, 16, np.array([1, 3], np.int64), lead=(2,))
    gather("4bit.float16", 6, 32, 4, 16, np.array([2, 5], np.int64), scale_type=F16)


def run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def check(node, cli, work, group, name, model, feeds, rtol, atol):
    folder = os.path.join(work, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    model_path = os.path.join(folder, "model.onnx")
    with open(model_path, "wb") as f:
        f.write(model.SerializeToString())
    args = []
    for input_name, value in feeds.items():
        path = os.path.join(folder, f"{input_name}.npy")
        np.save(path, value)
        args += ["--input", f"{input_name}={path}"]
    ort_dir, hc_dir = os.path.join(folder, "ort"), os.path.join(folder, "halfcast")
    code, text = run([node, RUN_ORT, model_path, *args, "--output-dir", ort_dir])
    if code != 0:
        return f"ONNX Runtime failed:\n{text}"
    if cli is None:
        return None
    code, text = run([cli, "run", model_path, *args, "--output-dir", hc_dir])
    if code != 0:
        return f"halfcast run failed:\n{text}"
    problems = []
    for out in model.graph.output:
        expected = np.load(os.path.join(ort_dir, f"{out.name}.npy"))
        actual = np.load(os.path.join(hc_dir, f"{out.name}.npy"))
        if expected.shape != actual.shape or expected.dtype != actual.dtype:
            problems.append(f"{out.name}: ONNX Runtime {expected.dtype}{list(expected.shape)}, "
                            f"halfcast {actual.dtype}{list(actual.shape)}")
            continue
        e, a = expected.astype(np.float64), actual.astype(np.float64)
        bad = ~(np.abs(a - e) <= atol + rtol * np.abs(e))
        bad &= ~(np.isnan(a) & np.isnan(e))
        if bad.any():
            i = np.argwhere(bad)[0]
            problems.append(f"{out.name}: {int(bad.sum())} of {e.size} values differ, first at "
                            f"{tuple(int(j) for j in i)}: halfcast {a[tuple(i)]!r}, "
                            f"ONNX Runtime {e[tuple(i)]!r}")
    return "\n".join(problems) or None


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", help="the halfcast executable")
    parser.add_argument("--work", required=True)
    parser.add_argument("--node", default="node", help="the node.js executable")
    parser.add_argument("--group")
    parser.add_argument("--case")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--print", action="store_true",
                        help="print ONNX Runtime's outputs of --case as C++ initializers")
    args = parser.parse_args()
    build_cases()
    build_float16_cases()
    build_pinned_cases()
    build_quantized_cases()
    selected = [c for c in CASES if (args.group is None or c[0] == args.group) and
                (args.case is None or c[1] == args.case)]
    if args.list:
        for c in selected:
            print(c[0], c[1])
        return 0
    if not selected:
        sys.exit("FAIL: no case selected")
    failures = 0
    for group, name, model, feeds, rtol, atol in selected:
        problem = check(args.node, None if args.print else args.cli, args.work, group, name, model, feeds,
                        rtol, atol)
        if args.print and not problem:
            for out in model.graph.output:
                value = np.load(os.path.join(args.work, name, "ort", f"{out.name}.npy"))
                values = ", ".join(f"{v:.8g}f" for v in value.astype(np.float64).ravel())
                print(f"// {name} {out.name} {list(value.shape)}\n{{{values}}}")
        print(f"{'FAIL' if problem else 'ok  '} {name}" + (f"\n  {problem}" if problem else ""))
        failures += bool(problem)
    print(f"{len(selected) - failures} of {len(selected)} cases agree")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
