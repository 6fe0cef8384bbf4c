#!/usr/bin/python3
"""Writes the fuzz seed corpora; the outputs are committed.
- corpus/models/*.onnx (load_convert, evaluate): small models covering what the converter rewrites -
  If/Loop bodies with outer-scope captures, Casts, shared initializers, an empty Resize scales,
  Constant/ConstantOfShape/random ops, a model-local function, external-looking data;
  corpus/models/real_*.onnx: one node of each kind from the real models (tests/data/models; the
  models themselves are megabytes, too slow to mutate), with its weights when small.
- corpus/feeds/ (feeds): .npy files of each dtype the reader takes, format 1.0 and 2.0, and
  serialized TensorProtos (.pb) in each data field, raw, strings and external data (data.bin is
  the fuzzer's 64-byte file beside the input; link.bin a symlink out of the folder).
- corpus/args/ (args): command lines, one argument a line, the first the subcommand.
Run: /usr/bin/python3 tests/fuzz/make_corpus.py (Debian's python3-onnx)."""
import os
import struct

import onnx
from onnx import TensorProto, helper, parser

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



REAL_MODELS = os.path.join(HERE, "..", "data", "models")
SMALL = 4096  # elements: larger initializers become graph inputs


def subgraph_captures(node):
    """Names a node's subgraphs read from outside themselves."""
    captured = []
    for attr in node.attribute:
        for graph in list(attr.g.node and [attr.g]) + list(attr.graphs):
            defined = {v.name for v in graph.input} | {t.name for t in graph.initializer}
            for inner in graph.node:
                for name in list(inner.input) + subgraph_captures(inner):
                    if name and name not in defined and name not in captured:
                        captured.append(name)
                defined.update(inner.output)
    return captured


def real_node_models():
    """name -> a one-node model for each distinct (op, attributes, arity) in the real models."""
    models = {}
    for file in sorted(os.listdir(REAL_MODELS)):
        if not file.endswith(".onnx"):
            continue
        model = onnx.shape_inference.infer_shapes(onnx.load(os.path.join(REAL_MODELS, file)))
        graph = model.graph
        types = {v.name: v.type for v in list(graph.input) + list(graph.value_info)
                 + list(graph.output)}
        inits = {t.name: t for t in graph.initializer}
        seen = set()
        for node in graph.node:
            key = (node.op_type, tuple(sorted(a.name for a in node.attribute)), len(node.input))
            if key in seen or node.ByteSize() > 65536:
                continue
            seen.add(key)
            g = onnx.GraphProto(name="g")
            g.node.append(node)
            for name in list(node.input) + subgraph_captures(node):
                if not name or any(v.name == name for v in g.input):
                    continue
                init = inits.get(name)
                count = 1
                for d in init.dims if init is not None else []:
                    count *= d
                if init is not None and count <= SMALL:
                    g.initializer.append(init)
                elif init is not None:
                    g.input.append(helper.make_tensor_value_info(name, init.data_type, init.dims))
                elif name in types:
                    g.input.append(onnx.ValueInfoProto(name=name, type=types[name]))
            for name in node.output:
                out = g.output.add(name=name)
                if name in types:
                    out.type.CopyFrom(types[name])
            one = helper.make_model(g, opset_imports=model.opset_import,
                                    ir_version=model.ir_version)
            stem = file[:-5].replace("-", "_").replace(".", "_")
            models[f"real_{stem}_{len(seen):02d}_{node.op_type}"] = one
    return models


def npy(descr, shape, payload, version=1):
    """A .npy file as numpy writes it: magic, version, header length, a padded dict, data."""
    dims = "".join(f"{d}, " for d in shape)
    dims = dims[:-2] if len(shape) > 1 else dims[:-1] if shape else ""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}"
    prefix = 10 if version == 1 else 12
    total = (prefix + len(header) + 1 + 63) // 64 * 64
    header = header + " " * (total - prefix - len(header) - 1) + "\n"
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header.encode() + payload


# name -> (descr, shape, payload, version)
NPY = {
    "float32_2x3": ("<f4", (2, 3), struct.pack("<6f", 0, 1, -2.5, 3e38, 1e-40, -0.0), 1),
    "float64_scalar": ("<f8", (), struct.pack("<d", 3.25), 1),
    "float16_4": ("<f2", (4,), struct.pack("<4H", 0x3C00, 0x7BFF, 0x0001, 0xFC00), 1),
    "bool_3": ("|b1", (3,), bytes([1, 0, 2]), 1),
    "uint8_empty": ("|u1", (0, 5), b"", 1),
    "int8_2": ("|i1", (2,), bytes([0x80, 0x7F]), 1),
    "int16_2": ("<i2", (2,), struct.pack("<2h", -1, 300), 1),
    "uint16_2": ("<u2", (2,), struct.pack("<2H", 65535, 1), 1),
    "int32_1x1x2": ("<i4", (1, 1, 2), struct.pack("<2i", -7, 7), 1),
    "uint32_1": ("<u4", (1,), struct.pack("<I", 4000000000), 1),
    "int64_2_v2": ("<i8", (2,), struct.pack("<2q", -2**63, 2**63 - 1), 2),
    "uint64_1_v3": ("<u8", (1,), struct.pack("<Q", 2**64 - 1), 3),
}


def external(location, offset=None, length=None):
    entries = [("location", location)]
    if offset is not None:
        entries.append(("offset", str(offset)))
    if length is not None:
        entries.append(("length", str(length)))
    return entries


def pb_tensors():
    t = {}
    t["float_raw"] = helper.make_tensor("f", TensorProto.FLOAT, [2, 2],
                                        struct.pack("<4f", 1, -1, 0.5, 65504), raw=True)
    t["float_data"] = helper.make_tensor("f", TensorProto.FLOAT, [3], [1.0, 2.0, -3.0])
    t["double_data"] = helper.make_tensor("d", TensorProto.DOUBLE, [1, 2], [1e300, -1e-300])
    t["int64_data"] = helper.make_tensor("i", TensorProto.INT64, [2], [-5, 2**40])
    t["int32_data"] = helper.make_tensor("i", TensorProto.INT32, [2], [-5, 2**30])
    t["uint64_data"] = helper.make_tensor("u", TensorProto.UINT64, [2], [1, 2**63])
    t["uint32_data"] = helper.make_tensor("u", TensorProto.UINT32, [1], [2**32 - 1])
    t["bool_data"] = helper.make_tensor("b", TensorProto.BOOL, [3], [True, False, True])
    float16 = TensorProto(name="h", data_type=TensorProto.FLOAT16, dims=[2])
    float16.int32_data.extend([0x3C00, 0xC000])
    t["float16_int32_data"] = float16
    bfloat16 = TensorProto(name="bf", data_type=TensorProto.BFLOAT16, dims=[2])
    bfloat16.int32_data.extend([0x3F80, 0x4000])
    t["bfloat16_int32_data"] = bfloat16
    t["string_data"] = helper.make_tensor("s", TensorProto.STRING, [2], [b"ab", b""])
    t["empty_float"] = helper.make_tensor("e", TensorProto.FLOAT, [0, 4], [])
    t["scalar_int8"] = helper.make_tensor("c", TensorProto.INT8, [], [-3])
    for name, entries, dtype, dims in [
        ("external_whole", external("data.bin"), TensorProto.FLOAT, [16]),
        ("external_offset", external("data.bin", 8, 16), TensorProto.INT64, [2]),
        ("external_symlink", external("link.bin"), TensorProto.FLOAT, [16]),
        ("external_parent", external("../outside.bin"), TensorProto.UINT8, [64]),
    ]:
        tensor = TensorProto(name="x", data_type=dtype, dims=dims,
                             data_location=TensorProto.EXTERNAL)
        for key, value in entries:
            tensor.external_data.add(key=key, value=value)
        t[name] = tensor
    return t


# One argument a line; the first names the subcommand.
ARGS = {
    "convert_basic": ["convert", "model.onnx", "out.onnx"],
    "convert_flags": ["convert", "m.onnx", "-o", "m16.onnx", "--target=bf16",
                      "--keep-io-types=x,y", "--op-block-list", "Resize,TopK",
                      "--min-positive-val", "1e-7", "--max-finite-val=1e4", "-qf",
                      "--external-data=1024", "--report-json", "r.json"],
    "convert_stdout": ["convert", "m.onnx", "-", "--keep-io-types", "--log-level=debug", "-vv"],
    "convert_optional_value": ["convert", "--keep-io-types", "in.onnx", "out.onnx",
                               "--fp16-ops", "com.example:MyGelu", "--", "-odd.onnx"],
    "auto_random": ["auto", "m.onnx", "--random-inputs", "--shape", "x=2,3", "--seed", "7",
                    "--rtol", "1e-2", "--atol=1e-3", "--time-limit", "30", "--threads", "2",
                    "--progress=lines"],
    "run_inputs": ["run", "m.onnx", "--input", "x=a.npy", "--input=h=b.pb", "--input",
                   "n=a.npy", "--json", "--output-dir", "outs"],
    "run_random": ["run", "m.onnx", "--random-inputs", "--shape=x=4,3", "--shape", "s=1",
                   "--seed=18446744073709551615"],
    "compare": ["compare", "a.onnx", "b.onnx", "--random-inputs", "--rtol", "0.01",
                "--atol", "nan"],
    "inspect_json": ["inspect", "m.onnx", "--json"],
    "help": ["convert", "--help"],
    "top_version": ["--version"],
    "top_unknown": ["frobnicate", "-x"],
}


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    corpus = os.path.join(HERE, "corpus")
    for sub in ("models", "feeds", "args"):
        os.makedirs(os.path.join(corpus, sub), exist_ok=True)
    for name, text in MODELS.items():
        model = parser.parse_model(text)
        onnx.checker.check_model(model)
        onnx.save(model, os.path.join(corpus, "models", name + ".onnx"))
    for name, model in real_node_models().items():
        onnx.save(model, os.path.join(corpus, "models", name + ".onnx"))
    for name, (descr, shape, payload, version) in NPY.items():
        write(os.path.join(corpus, "feeds", name + ".npy"), npy(descr, shape, payload, version))
    for name, tensor in pb_tensors().items():
        write(os.path.join(corpus, "feeds", name + ".pb"), tensor.SerializeToString())
    for name, args in ARGS.items():
        write(os.path.join(corpus, "args", name + ".txt"), "\n".join(args).encode())


if __name__ == "__main__":
    main()
