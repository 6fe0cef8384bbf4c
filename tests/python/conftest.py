"""Shared fixtures of the halfcast package tests (ctest -L python).

The tests run in the virtual environment the `python.venv` fixture test made, against the
package installed there (with libhalfcast_c bundled). They compare the package with the C++
command line tool and run the converted models in ONNX Runtime. The paths come from the
environment ctest sets (tests/python/CMakeLists.txt):

  HALFCAST_TEST_CLI      the halfcast command ($<TARGET_FILE:halfcast_cli>)
  HALFCAST_TEST_NODE     node, for ONNX Runtime (tests/integration/ort/run_ort.js)
  HALFCAST_TEST_WORK     a scratch folder

Nothing is skipped: a missing tool is an error, so a broken setup cannot pass silently.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import onnx
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = ROOT / "tests" / "data" / "models"
RUN_ORT = ROOT / "tests" / "integration" / "ort" / "run_ort.js"
MODELS = sorted(p.name for p in MODELS_DIR.glob("*.onnx"))

_NUMPY_TYPES = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.INT64: np.int64,
                onnx.TensorProto.INT32: np.int32, onnx.TensorProto.FLOAT16: np.float16,
                onnx.TensorProto.BOOL: np.bool_}


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run these tests through ctest -L python")
    return value


@pytest.fixture(scope="session")
def cli() -> str:
    path = _required_env("HALFCAST_TEST_CLI")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"HALFCAST_TEST_CLI={path} is not an executable")
    return path


@pytest.fixture(scope="session")
def node() -> str:
    return _required_env("HALFCAST_TEST_NODE")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path


def model_path(name: str) -> Path:
    return MODELS_DIR / name


def load(name: str) -> onnx.ModelProto:
    return onnx.load(str(model_path(name)))


def feeds_for(name: str) -> Dict[str, np.ndarray]:
    """The deterministic feeds of inputs.json (as tests/integration/make_feeds.py makes them)."""
    with open(MODELS_DIR / "inputs.json") as f:
        table = json.load(f)
    names = sorted(k for k in table if not k.startswith("_"))
    rng = np.random.default_rng(names.index(name))
    graph = onnx.load(str(model_path(name)), load_external_data=False).graph
    types = {i.name: i.type.tensor_type.elem_type for i in graph.input}
    feeds = {}
    for input_name, spec in table[name].items():
        dtype = _NUMPY_TYPES[types[input_name]]
        shape = tuple(spec["shape"])
        if np.issubdtype(dtype, np.floating):
            feeds[input_name] = rng.uniform(spec.get("lo", -1.0), spec.get("hi", 1.0),
                                            size=shape).astype(dtype)
        else:
            feeds[input_name] = np.full(shape, spec.get("value", 0), dtype=dtype)
    return feeds


def write_feeds(feeds: Dict[str, np.ndarray], folder: Path) -> List[str]:
    """Writes each feed as folder/NAME.npy; returns NAME=FILE arguments."""
    folder.mkdir(parents=True, exist_ok=True)
    args = []
    for name, value in feeds.items():
        path = folder / f"{name}.npy"
        np.save(path, value)
        args.append(f"{name}={path}")
    return args


def run_cli(cli: str, args: Sequence[str], expect_ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([cli, *map(str, args)], capture_output=True, text=True)
    if expect_ok and result.returncode != 0:
        raise AssertionError(f"halfcast {' '.join(map(str, args))} failed "
                             f"({result.returncode}):\n{result.stderr}")
    return result


def run_ort(node: str, model: Path, feeds: Dict[str, np.ndarray], folder: Path
            ) -> Dict[str, np.ndarray]:
    """Runs `model` in ONNX Runtime 1.30 (onnxruntime-node, CPU); outputs by sanitized name."""
    inputs = write_feeds(feeds, folder / "in")
    out = folder / "out"
    command = [node, str(RUN_ORT), str(model)]
    for spec in inputs:
        command += ["--input", spec]
    command += ["--output-dir", str(out)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"ONNX Runtime refused {model}:\n{result.stderr}")
    return {p.stem: np.load(p) for p in sorted(out.glob("*.npy"))}


# How `halfcast` words the library's messages for its user (src/cli/messages.cc): option names
# become flags, outside single quotes. A CLI message must be the library's either verbatim or
# with these replacements.
_CLI_WORDING = [
    ("set check_fp16_ready to false", "give --no-check-fp16-ready"),
    ("declare it in fp16_ops", "declare it with --fp16-ops=DOMAIN:OP"),
    ("needs rtol, atol or a validate_fn", "needs --rtol and/or --atol"),
    ("is in node_index_block_list", "is kept in float32 by the search"),
    ("check_fp16_ready", "--no-check-fp16-ready"), ("keep_io_names", "--keep-io-types=NAMES"),
    ("keep_io_types", "--keep-io-types"), ("node_index_block_list", "the search's node positions"),
    ("node_block_list", "--node-block-list"), ("op_block_list", "--op-block-list"),
    ("min_positive_val", "--min-positive-val"), ("max_finite_val", "--max-finite-val"),
    ("fp16_ops", "--fp16-ops"), ("disable_shape_infer", "--disable-shape-infer"),
    ("max_evaluations", "--max-evaluations"), ("external_data_threshold", "--external-data=BYTES"),
    ("intra_op_threads", "--threads"), ("rtol", "--rtol"), ("atol", "--atol"),
]


def _in_cli_words(message: str) -> str:
    parts = re.split(r"('[^']*')", message)
    for i in range(0, len(parts), 2):  # the even parts are outside quotes
        for text, flag in _CLI_WORDING:
            parts[i] = re.sub(r"(?<![\w\-/.])" + re.escape(text) + r"(?![\w/.])", flag, parts[i])
    return "".join(parts)


def assert_cli_error(stderr: str, message: str) -> None:
    """The CLI's error line carries `message`, verbatim or in the CLI's words."""
    lines = [line.split("error: ", 1)[1] for line in stderr.splitlines() if "error: " in line]
    assert lines, f"the CLI printed no error: {stderr!r}"
    assert lines[-1] in (message, _in_cli_words(message)), (lines[-1], message)


def sanitize(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_.-" else "_" for c in name)


def pytest_report_header(config) -> List[str]:
    import halfcast
    return [f"halfcast {halfcast.__file__}, library {halfcast.library_path()} "
            f"({halfcast.library_version()}), python {sys.executable}"]
