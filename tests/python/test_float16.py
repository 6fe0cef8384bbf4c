"""halfcast.float16 on the real models: byte for byte what `halfcast convert` writes."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import halfcast
import halfcast.float16 as float16
from conftest import MODELS, assert_cli_error, load, model_path, run_cli

# (case id, keyword arguments, the CLI's flags for the same options)
CASES: List[Tuple[str, Dict[str, Any], List[str]]] = [
    ("default", {}, []),
    ("keep_io", {"keep_io_types": True}, ["--keep-io-types"]),
    ("bfloat16", {"target": "bfloat16"}, ["--target", "bfloat16"]),
    ("bfloat16_keep_io", {"target": "bfloat16", "keep_io_types": True},
     ["--target", "bfloat16", "--keep-io-types"]),
    ("clip", {"min_positive_val": 1e-4, "max_finite_val": 100.0},
     ["--min-positive-val", "1e-4", "--max-finite-val", "100"]),
    ("no_op_block_list", {"op_block_list": []}, ["--op-block-list", ""]),
    ("op_block_list", {"op_block_list": ["Conv", "Add", "Sigmoid"]},
     ["--op-block-list", "Conv,Add,Sigmoid"]),
    ("disable_shape_infer", {"disable_shape_infer": True}, ["--disable-shape-infer"]),
]


def convert_with_cli(cli: str, name: str, flags: List[str], out: Path):
    """Runs `halfcast convert`; returns (bytes or None, stderr)."""
    result = run_cli(cli, ["convert", model_path(name), out, "--quiet", *flags], expect_ok=False)
    if result.returncode != 0:
        assert not out.exists(), "the CLI left a file behind on error"
        return None, result.stderr
    return out.read_bytes(), result.stderr


def assert_same_as_cli(cli: str, name: str, kwargs: Dict[str, Any], flags: List[str],
                       work: Path) -> None:
    outputs = sorted(work.glob("cli*.onnx"))
    want, stderr = convert_with_cli(cli, name, flags, work / f"cli{len(outputs)}.onnx")
    model = load(name)
    before = model.SerializeToString()
    if want is None:
        with pytest.raises(halfcast.HalfcastError) as raised:
            float16.convert_float_to_float16(model, **kwargs)
        assert_cli_error(stderr, str(raised.value))
    else:
        got = float16.convert_float_to_float16(model, **kwargs)
        assert isinstance(got, onnx.ModelProto)
        assert got.SerializeToString() == want
    assert model.SerializeToString() == before, "the input model was modified"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("name", MODELS)
def test_convert_float_to_float16_matches_cli(cli, work, name, case):
    _, kwargs, flags = case
    assert_same_as_cli(cli, name, kwargs, flags, work)


@pytest.mark.parametrize("name", MODELS)
def test_node_block_list_and_keep_io_names_match_cli(cli, work, name):
    model = load(name)
    nodes = [n.name for n in model.graph.node if n.op_type not in ("Constant",) and n.name][:3]
    assert nodes
    assert_same_as_cli(cli, name, {"node_block_list": nodes},
                       ["--node-block-list", ",".join(nodes)], work)
    names = [model.graph.input[0].name, model.graph.output[0].name]
    assert_same_as_cli(cli, name, {"keep_io_types": names}, [f"--keep-io-types={','.join(names)}"],
                       work)


@pytest.mark.parametrize("name", MODELS)
def test_model_path_and_file_match_cli(cli, work, name):
    want, _ = convert_with_cli(cli, name, ["--keep-io-types"], work / "cli.onnx")
    got = float16.convert_float_to_float16_model_path(model_path(name), keep_io_types=True)
    assert got.SerializeToString() == want
    report = float16.convert_float_to_float16_file(model_path(name), work / "py.onnx",
                                                   keep_io_types=True)
    assert isinstance(report, halfcast.Report)
    assert (work / "py.onnx").read_bytes() == want


@pytest.mark.parametrize("name", MODELS)
def test_report_matches_cli_report_json(cli, work, name):
    run_cli(cli, ["convert", model_path(name), work / "cli.onnx", "--quiet", "--report-json",
                  work / "report.json"])
    model, report = float16.convert_float_to_float16(load(name), return_report=True)
    assert isinstance(model, onnx.ModelProto)
    cli_json = json.loads((work / "report.json").read_text())
    # The CLI's object is the run (docs/cli.md "JSON output") followed by the library's report.
    run = {"command", "halfcast_version", "input", "output", "target", "options", "tolerances",
           "validated", "timings"}
    assert cli_json["command"] == "convert" and run <= cli_json.keys()
    want = {key: value for key, value in cli_json.items() if key not in run}
    assert report.as_dict() == want
    assert report.nodes_kept == len(report.kept_nodes)
    assert report.nodes_converted > 0
    assert 0 < report.bytes_after < report.bytes_before
    assert report.evaluations == 0
    for node in report.kept_nodes:
        assert node.reason in ("op_block_list", "node_block_list", "schema", "model_function",
                               "unknown_op", "search")


def constants_as_initializers(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with its top-level Constant nodes turned into initializers (as most exporters
    store weights; onnx.save moves initializers, not attributes, to external data)."""
    nodes = []
    for node in model.graph.node:
        values = [a.t for a in node.attribute if a.name == "value"]
        if node.op_type == "Constant" and values:
            tensor = model.graph.initializer.add()
            tensor.CopyFrom(values[0])
            tensor.name = node.output[0]
        else:
            nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def test_external_data_file_to_file_matches_cli(cli, work):
    """A model with external data: model_path and file variants read it; the output can keep
    its weights external, and both files equal the CLI's."""
    source = work / "ext" / "model.onnx"
    source.parent.mkdir()
    model = constants_as_initializers(load("ch_PP-OCRv4_det_infer.onnx"))
    want_memory = float16.convert_float_to_float16(model).SerializeToString()
    onnx.save(model, str(source), save_as_external_data=True, location="model.onnx.data",
              size_threshold=1024)
    assert (work / "ext" / "model.onnx.data").stat().st_size > 1_000_000
    assert float16.convert_float_to_float16_model_path(source).SerializeToString() == want_memory

    # Same file names in two folders: the model names its data file.
    (work / "cli").mkdir()
    (work / "py").mkdir()
    run_cli(cli, ["convert", source, work / "cli" / "out.onnx", "--quiet", "--external-data"])
    report = float16.convert_float_to_float16_file(source, work / "py" / "out.onnx",
                                                   save_as_external_data=True)
    assert report.nodes_converted > 0
    for name in ("out.onnx", "out.onnx.data"):
        assert (work / "py" / name).read_bytes() == (work / "cli" / name).read_bytes(), name
    # A ModelProto that still refers to external data is refused with the library's message.
    header = onnx.load(str(source), load_external_data=False)
    with pytest.raises(halfcast.InvalidArgumentError, match="external data"):
        float16.convert_float_to_float16(header)


def test_large_result_comes_back_through_external_data(monkeypatch, work):
    """Over 2 GB a result cannot be one serialized protobuf: it is rebuilt from a temporary
    file with external data. Forced here on a small model: the same model either way."""
    model = load("ch_PP-OCRv4_det_infer.onnx")
    want = float16.convert_float_to_float16(model)
    monkeypatch.setattr(float16, "_SERIALIZE_LIMIT", 0)
    monkeypatch.setattr(float16, "_MEMORY_FILE_MIN", 1 << 62)  # the model-handle path
    got = float16.convert_float_to_float16(model)
    assert got.SerializeToString() == want.SerializeToString()
    assert float16.convert_float_to_float16_model_path(
        model_path("ch_PP-OCRv4_det_infer.onnx")).SerializeToString() == want.SerializeToString()


@pytest.mark.parametrize("name", MODELS)
def test_memory_file_and_model_handle_paths_agree(monkeypatch, name):
    """convert_float_to_float16 goes through halfcast_convert_file over in-memory files for
    models of 1 MiB and more, else through a model handle: the same model and report."""
    model = load(name)
    results = []
    for minimum in (0, 1 << 62):
        monkeypatch.setattr(float16, "_MEMORY_FILE_MIN", minimum)
        got, report = float16.convert_float_to_float16(model, keep_io_types=True,
                                                       return_report=True)
        results.append((got.SerializeToString(), report.as_dict()))
    assert results[0] == results[1]


def fp16_ready_model(work: Path) -> Path:
    path = work / "fp16.onnx"
    float16.convert_float_to_float16_file(model_path("silero_vad.onnx"), path)
    return path


def test_check_fp16_ready_false_matches_cli(cli, work):
    path = fp16_ready_model(work)
    run_cli(cli, ["convert", path, work / "cli.onnx", "--quiet", "--no-check-fp16-ready"])
    got = float16.convert_float_to_float16(onnx.load(str(path)), check_fp16_ready=False)
    assert got.SerializeToString() == (work / "cli.onnx").read_bytes()


def custom_op_model() -> onnx.ModelProto:
    """x -> Relu -> com.example:MyGelu -> Relu -> y, float32."""
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu1"),
             helper.make_node("MyGelu", ["a"], ["b"], name="gelu", domain="com.example"),
             helper.make_node("Relu", ["b"], ["y"], name="relu2")]
    graph = helper.make_graph(nodes, "custom",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
                              value_info=[helper.make_tensor_value_info(v, TensorProto.FLOAT,
                                                                        [2, 3])
                                          for v in ("a", "b")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                   helper.make_opsetid("com.example", 1)])


def test_fp16_ops_declares_custom_ops(cli, work):
    model = custom_op_model()
    onnx.save(model, str(work / "custom.onnx"))
    _, report = float16.convert_float_to_float16(model, return_report=True)
    assert [(n.name, n.reason) for n in report.kept_nodes] == [("gelu", "unknown_op")]
    got, report = float16.convert_float_to_float16(model, fp16_ops=["com.example:MyGelu"],
                                                   return_report=True)
    assert report.nodes_kept == 0
    run_cli(cli, ["convert", work / "custom.onnx", work / "cli.onnx", "--quiet", "--fp16-ops",
                  "com.example:MyGelu"])
    assert got.SerializeToString() == (work / "cli.onnx").read_bytes()


# ----- tensors and arrays -----

SPECIAL = np.array([0.0, -0.0, 1e-9, -1e-9, 1e-7, 5e-5, 0.1, 1.0, 65504.0, 65520.0, 1e5,
                    -1e5, np.inf, -np.inf, np.nan, 3.14159, -2.5e-6, 9999.0], dtype=np.float32)


def reference_fp16(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The conversion rule (SPEC section 1), in numpy: clip magnitudes (0, NaN, inf kept), then
    round to nearest even."""
    v = values.astype(np.float32)
    lo32, hi32 = np.float32(lo), np.float32(hi)
    out = np.where((v > 0) & (v < lo32), lo32, v)
    out = np.where((v < 0) & (v > -lo32), -lo32, out)
    out = np.where(np.isfinite(v) & (v > hi32), hi32, out)
    out = np.where(np.isfinite(v) & (v < -hi32), -hi32, out)
    return out.astype(np.float16)


def test_convert_np_to_float16_follows_the_rule():
    got = float16.convert_np_to_float16(SPECIAL)
    assert got.dtype == np.float16 and got.shape == SPECIAL.shape
    want = reference_fp16(SPECIAL, 1e-7, 1e4)
    assert got.view(np.uint16).tolist() == want.view(np.uint16).tolist()
    got = float16.convert_np_to_float16(SPECIAL.reshape(3, 6), 1e-3, 60000.0)
    assert got.shape == (3, 6)
    assert got.view(np.uint16).ravel().tolist() == \
        reference_fp16(SPECIAL, 1e-3, 60000.0).view(np.uint16).tolist()
    scalar = float16.convert_np_to_float16(np.float32(2.0))
    assert scalar.shape == () and scalar == 2.0


def test_convert_np_to_bfloat16_bits():
    values = np.array([1.0, -2.0, 1.00390625, 1.01171875, 3.0e38, np.inf, 0.0], np.float32)
    bits = float16.convert_np_to_float16(values, max_finite_val=1e38, target="bfloat16")
    assert bits.dtype == np.uint16
    # 1.00390625 is halfway between bfloat16 1.0 and 1.0078125: even wins (1.0); 1.01171875 is
    # halfway between 1.0078125 and 1.015625: even wins (1.015625); 3e38 clips to 1e38.
    one_e38 = int(np.float32(1e38).view(np.uint32))
    rounded = (one_e38 + 0x7FFF + ((one_e38 >> 16) & 1)) >> 16
    assert bits.tolist() == [0x3F80, 0xC000, 0x3F80, 0x3F82, rounded, 0x7F80, 0]


def test_convert_tensor_float_to_float16_in_place_like_the_python_tool():
    tensor = numpy_helper.from_array(SPECIAL.reshape(2, 9), "weights")
    tensor.doc_string = "kept"
    result = float16.convert_tensor_float_to_float16(tensor)
    assert result is tensor
    assert tensor.data_type == TensorProto.FLOAT16
    assert tensor.name == "weights" and tensor.doc_string == "kept"
    assert list(tensor.dims) == [2, 9]
    assert numpy_helper.to_array(tensor).view(np.uint16).ravel().tolist() == \
        reference_fp16(SPECIAL, 1e-7, 1e4).view(np.uint16).tolist()
    # float_data instead of raw_data, as some exporters write.
    listed = helper.make_tensor("listed", TensorProto.FLOAT, [3], [1e-9, 0.5, 1e6])
    float16.convert_tensor_float_to_float16(listed)
    assert numpy_helper.to_array(listed).tolist() == \
        reference_fp16(np.array([1e-9, 0.5, 1e6], np.float32), 1e-7, 1e4).tolist()
    # A tensor that is not float32 is returned unchanged.
    ints = numpy_helper.from_array(np.arange(4, dtype=np.int64), "ints")
    copy = ints.SerializeToString()
    assert float16.convert_tensor_float_to_float16(ints).SerializeToString() == copy
    with pytest.raises(ValueError, match="TensorProto"):
        float16.convert_tensor_float_to_float16(np.zeros(3))  # type: ignore[arg-type]


def constant_tensors(graph: onnx.GraphProto, tensors=None) -> Dict[str, TensorProto]:
    """Initializers and Constant node values of a graph and its subgraphs, by value name."""
    tensors = {} if tensors is None else tensors
    tensors.update({t.name: t for t in graph.initializer})
    for node in graph.node:
        for attribute in node.attribute:
            if node.op_type == "Constant" and attribute.name == "value":
                tensors[node.output[0]] = attribute.t
            if attribute.HasField("g"):
                constant_tensors(attribute.g, tensors)
            for subgraph in attribute.graphs:
                constant_tensors(subgraph, tensors)
    return tensors


@pytest.mark.parametrize("name", MODELS)
def test_tensor_conversion_equals_the_models_constants(cli, work, name):
    """convert_tensor_float_to_float16 gives the values the CLI stores for the real model's
    converted constants."""
    run_cli(cli, ["convert", model_path(name), work / "cli.onnx", "--quiet", "--op-block-list",
                  ""])
    converted = constant_tensors(onnx.load(str(work / "cli.onnx")).graph)
    checked = 0
    for key, tensor in constant_tensors(load(name).graph).items():
        want = converted.get(key)
        if tensor.data_type != TensorProto.FLOAT or want is None or \
                want.data_type != TensorProto.FLOAT16:
            continue
        got = float16.convert_tensor_float_to_float16(tensor)
        assert numpy_helper.to_array(got).tobytes() == numpy_helper.to_array(want).tobytes()
        checked += 1
        if checked == 20:
            break
    assert checked > 0


def test_clipping_is_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="halfcast"):
        float16.convert_np_to_float16(np.array([1e-9, 1e6, 1.0], np.float32))
    messages = [r.getMessage() for r in caplog.records if r.name == "halfcast"]
    assert any("clipped" in m for m in messages), messages


def test_threads_convert_at_once():
    """The library calls release the GIL and share no state: threads converting at once get
    what one thread gets."""
    from concurrent.futures import ThreadPoolExecutor
    names = MODELS * 2
    want = {name: float16.convert_float_to_float16(load(name)).SerializeToString()
            for name in MODELS}
    models = {name: load(name) for name in MODELS}
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(
            lambda name: float16.convert_float_to_float16(models[name]).SerializeToString(),
            names))
    assert got == [want[name] for name in names]
