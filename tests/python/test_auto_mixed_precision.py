"""halfcast.auto_mixed_precision on the real models: byte for byte what `halfcast auto` writes."""
from __future__ import annotations

import re
from pathlib import Path
from typing import List

import numpy as np
import onnx
import onnx.parser
import pytest

import halfcast
import halfcast.auto_mixed_precision as auto_mixed_precision
from conftest import MODELS, feeds_for, load, model_path, run_cli, write_feeds

TOLERANCE = {"rtol": 0.01, "atol": 0.001}


def auto_with_cli(cli: str, name: str, work: Path, flags: List[str]) -> bytes:
    inputs = write_feeds(feeds_for(name), work / "feeds")
    args = ["auto", model_path(name), work / "cli.onnx", "--quiet"]
    for spec in inputs:
        args += ["--input", spec]
    run_cli(cli, args + flags)
    return (work / "cli.onnx").read_bytes()


@pytest.mark.parametrize("keep_io_types", [False, True], ids=["all", "keep_io"])
@pytest.mark.parametrize("name", MODELS)
def test_auto_convert_matches_cli(cli, work, name, keep_io_types):
    flags = ["--rtol", "0.01", "--atol", "0.001"] + (["--keep-io-types"] if keep_io_types else [])
    want = auto_with_cli(cli, name, work, flags)
    model = load(name)
    before = model.SerializeToString()
    got = auto_mixed_precision.auto_convert_mixed_precision(
        model, feeds_for(name), rtol=0.01, atol=0.001, keep_io_types=keep_io_types)
    assert isinstance(got, onnx.ModelProto)
    assert got.SerializeToString() == want
    assert model.SerializeToString() == before, "the input model was modified"


@pytest.mark.parametrize("name", ["ch_PP-OCRv4_det_infer.onnx", "silero_vad_16k_op15.onnx"])
def test_bisect_strategy_and_bfloat16_match_cli(cli, work, name):
    want = auto_with_cli(cli, name, work, ["--rtol", "0.01", "--atol", "0.001", "--strategy",
                                           "bisect"])
    got, report = auto_mixed_precision.auto_convert_mixed_precision(
        load(name), feeds_for(name), rtol=0.01, atol=0.001, strategy="bisect",
        return_report=True)
    assert got.SerializeToString() == want
    assert report.evaluations > 2
    if name.startswith("silero"):  # opset 15: bfloat16 possible
        want = auto_with_cli(cli, name, work, ["--atol", "0.05", "--target", "bfloat16"])
        got = auto_mixed_precision.auto_convert_mixed_precision(
            load(name), feeds_for(name), atol=0.05, target="bfloat16")
        assert got.SerializeToString() == want


def test_tolerance_defaults_follow_the_python_tool():
    name = "ch_ppocr_mobile_v2.0_cls_infer.onnx"
    model, feeds = load(name), feeds_for(name)
    convert = auto_mixed_precision.auto_convert_mixed_precision
    # rtol alone: atol = 1e-8; atol alone: rtol = 1e-5.
    assert convert(model, feeds, rtol=0.05).SerializeToString() == \
        convert(model, feeds, rtol=0.05, atol=1e-8).SerializeToString()
    assert convert(model, feeds, atol=0.01).SerializeToString() == \
        convert(model, feeds, rtol=1e-5, atol=0.01).SerializeToString()
    with pytest.raises(ValueError, match="rtol, atol or a validate_fn"):
        convert(model, feeds)


def test_validate_fn_gets_outputs_in_graph_order():
    name = "silero_vad.onnx"
    model = load(name)
    order = [o.name for o in model.graph.output]
    seen = []

    def validate(reference, candidate):
        assert isinstance(reference, list) and isinstance(candidate, list)
        assert len(reference) == len(candidate) == len(order)
        seen.append(([r.dtype for r in reference], [c.dtype for c in candidate],
                     [r.shape for r in reference]))
        return all(np.allclose(c.astype(np.float32), r, rtol=0.01, atol=0.001)
                   for r, c in zip(reference, candidate))

    got, report = auto_mixed_precision.auto_convert_mixed_precision(
        model, feeds_for(name), validate, return_report=True)
    assert seen and report.evaluations >= 1
    reference_types, candidate_types, shapes = seen[-1]
    assert reference_types == [np.float32, np.float32]
    # Without keep_io_types the candidate's outputs are float16 values; the built-in evaluator
    # hands them over widened to float32 (docs/c-api.md says float16: see the package README).
    assert all(t in (np.float16, np.float32) for t in candidate_types)
    assert shapes == [(1, 1), (2, 1, 128)]  # output, stateN in graph order
    # validate_fn together with rtol/atol: both must accept.
    both = auto_mixed_precision.auto_convert_mixed_precision(
        model, feeds_for(name), lambda a, b: True, rtol=0.01, atol=0.001)
    plain = auto_mixed_precision.auto_convert_mixed_precision(model, feeds_for(name), rtol=0.01,
                                                              atol=0.001)
    assert both.SerializeToString() == plain.SerializeToString()


def test_several_feeds_and_progress():
    name = "silero_vad_16k_op15.onnx"
    first = feeds_for(name)
    second = {k: (v[::-1].copy() if v.ndim else v) for k, v in first.items()}
    second["input"] = np.ascontiguousarray(first["input"] * 0.5)
    seen = []
    got, report = auto_mixed_precision.auto_convert_mixed_precision(
        load(name), [first, second], rtol=0.01, atol=0.001, progress=seen.append,
        return_report=True)
    assert isinstance(got, onnx.ModelProto)
    assert seen, "the progress callback was not called"
    for progress in seen:
        assert isinstance(progress, auto_mixed_precision.Progress)
        assert re.fullmatch(r"\[[^\]]*\]", progress.text), progress.text
        assert sum(s.size for s in progress.segments) > 0
        assert all(s.state in ("untried", "good", "bad") for s in progress.segments)
    assert seen[-1].evaluations <= report.evaluations


def test_runtime_hook_runs_every_candidate(node, work):
    """runtime= takes a Python callable; here ONNX Runtime (onnxruntime-node) runs each
    candidate, and the search's answer validates in it."""
    from conftest import run_ort, sanitize
    name = "silero_vad.onnx"
    calls = []

    def ort_runtime(model_bytes: bytes, feeds):
        calls.append(len(model_bytes))
        folder = work / f"run{len(calls)}"
        folder.mkdir()
        (folder / "model.onnx").write_bytes(model_bytes)
        outputs = run_ort(node, folder / "model.onnx", feeds, folder)
        graph = onnx.load_model_from_string(model_bytes).graph
        return {o.name: outputs[sanitize(o.name)] for o in graph.output}

    got, report = auto_mixed_precision.auto_convert_mixed_precision(
        load(name), feeds_for(name), rtol=0.01, atol=0.001, keep_io_types=True,
        runtime=ort_runtime, return_report=True)
    assert len(calls) == report.evaluations > 0
    assert isinstance(got, onnx.ModelProto)


def test_model_path_variant_matches_cli(cli, work):
    name = "ch_ppocr_mobile_v2.0_cls_infer.onnx"
    auto_with_cli(cli, name, work, ["--rtol", "0.01", "--atol", "0.001", "--keep-io-types",
                                    "--external-data"])
    (work / "py").mkdir()
    report = auto_mixed_precision.auto_convert_mixed_precision_model_path(
        model_path(name), feeds_for(name), work / "py" / "cli.onnx", ["CPUExecutionProvider"],
        rtol=0.01, atol=0.001)
    assert isinstance(report, halfcast.Report) and report.evaluations > 0
    for file in ("cli.onnx", "cli.onnx.data"):  # same names, other folder
        assert (work / "py" / file).read_bytes() == (work / file).read_bytes(), file


def overflow_model() -> onnx.ModelProto:
    """y = Relu(x * 300 * 300 / 90000): float16 rounds x by ~2e-4, relative."""
    model = onnx.parser.parse_model("""
      <ir_version: 8, opset_import: ["" : 17]>
      g (float[4] x) => (float[4] y) <float a = {300.0}, float b = {300.0}, float d = {90000.0}> {
        p = Mul(x, a)
        q = Mul(p, b)
        r = Div(q, d)
        y = Relu(r)
      }""")
    for i, node in enumerate(model.graph.node):
        node.name = f"n{i}"
    return model


def test_search_bounds_reach_the_library():
    model = overflow_model()
    feeds = {"x": np.array([0.1, -0.2, 0.3, 0.5], np.float32)}
    convert = auto_mixed_precision.auto_convert_mixed_precision
    # At the bound float16's rounding passes rtol 1e-3; a margin of 0.9 leaves no candidate.
    _, report = convert(model, feeds, rtol=1e-3, atol=0.0, safety_margin=0.0,
                        check_onnx_runtime_cpu=False, max_retained_bytes=1, return_report=True)
    assert report.as_dict()["peak_retained_bytes"] == 0  # nothing kept under a 1-byte bound
    _, unbounded = convert(model, feeds, rtol=1e-3, atol=0.0, safety_margin=0.0,
                           return_report=True)
    assert unbounded.as_dict()["peak_retained_bytes"] > 0
    with pytest.raises(halfcast.FailedPreconditionError, match=r"safety margin \(0\.9\)"):
        convert(model, feeds, rtol=1e-3, atol=0.0, safety_margin=0.9)
    with pytest.raises(halfcast.InvalidArgumentError, match="safety_margin"):
        convert(model, feeds, rtol=1e-3, safety_margin=1.5)
    with pytest.raises(halfcast.DeadlineExceededError):
        convert(model, feeds, rtol=1e-3, time_limit_seconds=1e-9)
