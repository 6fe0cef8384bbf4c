"""Errors raise the library's message, as the CLI prints it, and write nothing."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import pytest

import halfcast
import halfcast.auto_mixed_precision as auto_mixed_precision
import halfcast.float16 as float16
from conftest import (ROOT, assert_cli_error, feeds_for, load, model_path, run_cli,
                      write_feeds)


def cli_error(cli: str, args) -> str:
    result = run_cli(cli, args, expect_ok=False)
    assert result.returncode != 0
    return result.stderr


def test_missing_file(cli, work):
    missing = work / "missing.onnx"
    stderr = cli_error(cli, ["convert", missing, work / "cli.onnx"])
    with pytest.raises(halfcast.NotFoundError) as raised:
        float16.convert_float_to_float16_model_path(missing)
    assert isinstance(raised.value, FileNotFoundError)
    assert raised.value.code == 5 and raised.value.code_name == "not_found"
    assert_cli_error(stderr, str(raised.value))
    with pytest.raises(halfcast.NotFoundError):
        float16.convert_float_to_float16_file(missing, work / "out.onnx")
    assert not (work / "out.onnx").exists()


def test_already_float16(cli, work):
    fp16 = work / "fp16.onnx"
    float16.convert_float_to_float16_file(model_path("silero_vad.onnx"), fp16)
    stderr = cli_error(cli, ["convert", fp16, work / "cli.onnx"])
    with pytest.raises(halfcast.FailedPreconditionError) as raised:
        float16.convert_float_to_float16(onnx.load(str(fp16)))
    assert isinstance(raised.value, ValueError)  # as the Python tool raises
    assert "check_fp16_ready" in str(raised.value)
    assert_cli_error(stderr, str(raised.value))
    with pytest.raises(halfcast.FailedPreconditionError):
        float16.convert_float_to_float16_file(fp16, work / "out.onnx")
    assert sorted(os.listdir(work)) == ["fp16.onnx"], "an output was written on error"


@pytest.mark.parametrize("kwargs,flags,message", [
    # The CLI checks a negative number itself (its own message); the library says:
    ({"min_positive_val": -1.0}, ["--min-positive-val", "-1"], "min_positive_val"),
    ({"max_finite_val": 1e6}, ["--max-finite-val", "1e6"], None),
    ({"target": "bfloat16"}, ["--target", "bfloat16"], None),  # opset 9: too old for bfloat16
], ids=["min_positive_val", "max_finite_val", "bfloat16_opset9"])
def test_bad_options(cli, work, kwargs, flags, message):
    name = "ch_ppocr_mobile_v2.0_cls_infer.onnx"
    stderr = cli_error(cli, ["convert", model_path(name), work / "cli.onnx", *flags])
    with pytest.raises(halfcast.HalfcastError) as raised:
        float16.convert_float_to_float16(load(name), **kwargs)
    assert isinstance(raised.value, ValueError)
    if message is None:
        assert_cli_error(stderr, str(raised.value))
    else:
        assert message in str(raised.value) and "min-positive-val" in stderr.replace("_", "-")
    with pytest.raises(type(raised.value)):
        float16.convert_float_to_float16_file(model_path(name), work / "out.onnx", **kwargs)
    assert not os.listdir(work), "an output was written on error"


def test_not_a_model(work):
    with pytest.raises(ValueError, match="ModelProto"):
        float16.convert_float_to_float16(b"not a model")  # type: ignore[arg-type]
    junk = work / "junk.onnx"
    junk.write_bytes(b"\x00\x01 this is not protobuf")
    with pytest.raises(halfcast.InvalidArgumentError):
        float16.convert_float_to_float16_model_path(junk)
    with pytest.raises(ValueError, match="target"):
        float16.convert_float_to_float16(load("silero_vad.onnx"), target="float8")


def test_output_over_input_is_refused(work):
    source = work / "model.onnx"
    shutil.copy(model_path("silero_vad.onnx"), source)
    before = source.read_bytes()
    with pytest.raises(halfcast.InvalidArgumentError):
        float16.convert_float_to_float16_file(source, source)
    assert source.read_bytes() == before


def test_auto_errors(cli, work):
    name = "ch_ppocr_mobile_v2.0_cls_infer.onnx"
    model, feeds = load(name), feeds_for(name)
    convert = auto_mixed_precision.auto_convert_mixed_precision
    with pytest.raises(halfcast.InvalidArgumentError):
        convert(model, {}, rtol=0.01)
    with pytest.raises(halfcast.InvalidArgumentError) as raised:
        convert(model, {"x": feeds["x"].astype(np.int64)}, rtol=0.01)
    inputs = write_feeds({"x": feeds["x"].astype(np.int64)}, work / "bad")
    stderr = cli_error(cli, ["auto", model_path(name), work / "cli.onnx", "--input", inputs[0],
                             "--rtol", "0.01"])
    assert_cli_error(stderr, str(raised.value))
    with pytest.raises(ValueError):
        convert(model, [], rtol=0.01)
    with pytest.raises(halfcast.ResourceExhaustedError):
        convert(model, feeds, rtol=1e-9, atol=0.0, max_evaluations=1)
    # No conversion is accurate enough: FailedPreconditionError, a ValueError as before.
    with pytest.raises(ValueError):
        convert(model, feeds, lambda a, b: all(np.array_equal(x, y) for x, y in zip(a, b)))


def test_callback_exceptions_are_chained():
    name = "silero_vad.onnx"
    model, feeds = load(name), feeds_for(name)
    convert = auto_mixed_precision.auto_convert_mixed_precision

    def broken_validate(reference, candidate):
        raise KeyError("from validate_fn")

    with pytest.raises(halfcast.AbortedError) as raised:
        convert(model, feeds, broken_validate)
    assert isinstance(raised.value.__cause__, KeyError)

    def broken_runtime(model_bytes, feeds):
        raise RuntimeError("from runtime")

    with pytest.raises(halfcast.AbortedError, match="from runtime") as raised:
        convert(model, feeds, rtol=0.01, runtime=broken_runtime)
    assert isinstance(raised.value.__cause__, RuntimeError)
    with pytest.raises(halfcast.AbortedError, match="mapping"):
        convert(model, feeds, rtol=0.01, runtime=lambda m, f: [1, 2])
    with pytest.raises(halfcast.CancelledError):
        convert(model, feeds, rtol=0.01, progress=lambda p: True)

    def interrupted(progress):
        raise KeyboardInterrupt  # Ctrl-C while the search runs Python code

    with pytest.raises(KeyboardInterrupt):
        convert(model, feeds, rtol=0.01, progress=interrupted)


def test_auto_file_variant_writes_nothing_on_error(work):
    name = "ch_ppocr_mobile_v2.0_cls_infer.onnx"
    with pytest.raises(halfcast.ResourceExhaustedError):
        auto_mixed_precision.auto_convert_mixed_precision_model_path(
            model_path(name), feeds_for(name), work / "out.onnx", rtol=1e-9, atol=0.0,
            max_evaluations=1)
    assert not os.listdir(work)


# ----- finding the library -----

def run_python(code: str, env_changes: dict, use_source_tree: bool = False):
    env = dict(os.environ)
    env.pop("HALFCAST_LIBRARY", None)
    env.update(env_changes)
    if use_source_tree:  # the package as in python/: no bundled library
        env["PYTHONPATH"] = str(ROOT / "python")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, cwd="/")


def test_library_not_found_names_what_was_tried(work):
    code = """
        import halfcast, halfcast.float16 as f
        try:
            halfcast.library_path()
        except halfcast.LibraryError as e:
            assert isinstance(e, ImportError)
            print(e)
        """
    # An explicit HALFCAST_LIBRARY that fails is an error (no silent fallback to another copy).
    result = run_python(code, {"HALFCAST_LIBRARY": str(work / "nowhere" / "libhalfcast_c.so")},
                        use_source_tree=True)
    assert result.returncode == 0, result.stderr
    assert "libhalfcast_c not found" in result.stdout and "nowhere" in result.stdout
    assert "bundle-library" in result.stdout  # says how to fix it
    # Nothing set and nothing bundled: every place is listed.
    result = run_python(code, {"LD_LIBRARY_PATH": str(work)}, use_source_tree=True)
    assert result.returncode == 0, result.stderr
    import ctypes.util
    if ctypes.util.find_library("halfcast_c") is None:  # none installed on this machine
        assert "HALFCAST_LIBRARY (not set)" in result.stdout
        assert "bundled copy" in result.stdout and "find_library" in result.stdout


def test_library_lookup_order(work):
    import halfcast._capi as capi
    bundled = Path(capi.__file__).parent / "_lib" / "libhalfcast_c.so"
    # The installed package (what ctest tests) carries its own copy and uses it by default.
    assert halfcast.library_path() == str(bundled)
    assert halfcast.library_version().count(".") == 2
    # HALFCAST_LIBRARY wins over the bundled copy.
    copy = work / "lib" / "libhalfcast_c.so"
    copy.parent.mkdir()
    shutil.copy(bundled, copy)
    (work / "lib" / "libhalfcast_c.so.1").symlink_to("libhalfcast_c.so")  # its SONAME
    result = run_python("import halfcast; print(halfcast.library_path())",
                        {"HALFCAST_LIBRARY": str(copy)})
    assert result.stdout.strip() == str(copy), result.stderr
    # Without either, ctypes.util.find_library (here through LD_LIBRARY_PATH).
    result = run_python("import halfcast; print(halfcast.library_path())",
                        {"LD_LIBRARY_PATH": str(copy.parent)}, use_source_tree=True)
    assert result.returncode == 0, result.stderr
    assert "libhalfcast_c" in result.stdout


def test_library_abi_and_identity_are_checked(work):
    result = run_python("""
        import halfcast, halfcast._capi as capi
        capi.ABI_VERSION = 99
        try:
            halfcast.library_path()
        except halfcast.LibraryError as e:
            print(e)
        """, {})
    assert "C ABI version 1, this package needs 99" in result.stdout, result.stderr
    import ctypes.util
    other = ctypes.util.find_library("z")
    assert other
    result = run_python("""
        import halfcast
        try:
            halfcast.library_path()
        except halfcast.LibraryError as e:
            print(e)
        """, {"HALFCAST_LIBRARY": other})
    assert "is not libhalfcast_c" in result.stdout, result.stdout + result.stderr
