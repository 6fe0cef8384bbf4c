#!/usr/bin/env python3
"""halfcast from Python: the `halfcast` package (python/, pure Python over libhalfcast_c).

Converts a model to float16, then finds a mixed-precision version whose output a validate
function written in Python accepts. The package is a drop-in for onnxconverter-common:
`import halfcast.float16 as float16` where `from onnxconverter_common import float16` was.

    python3 -m pip install ./python --config-settings bundle-library=build/capi/libhalfcast_c.so
    python3 example.py MODEL.onnx OUT_DIR

Not installed, it takes the package from this checkout (../../python) and the library from
HALFCAST_LIBRARY, as examples/run_example.sh runs it against an installed libhalfcast_c:

    HALFCAST_LIBRARY=<prefix>/lib/libhalfcast_c.so python3 example.py MODEL.onnx OUT_DIR

The model is the PaddleOCR text-direction classifier (input x: [1, 3, 48, 192]).
"""
import logging
import os
import sys

import numpy as np
import onnx

try:
    import halfcast
except ImportError:  # not installed: the package in this source tree
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "python"))
    import halfcast
import halfcast.auto_mixed_precision as auto_mixed_precision
import halfcast.float16 as float16


def main(model_path: str, out_dir: str) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    model = onnx.load(model_path)
    try:
        fp16, report = float16.convert_float_to_float16(model, keep_io_types=True,
                                                        return_report=True)
    except halfcast.HalfcastError as error:  # the library's message, and its status code
        print(f"conversion failed ({error.code_name}): {error}", file=sys.stderr)
        return 1
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "model.fp16.onnx")
    onnx.save(fp16, path)
    print(f"float16 (libhalfcast_c {halfcast.library_version()}): {report.nodes_converted} nodes "
          f"converted, {report.bytes_before} -> {report.bytes_after} tensor bytes, saved to {path}")

    x = np.sin(0.001 * np.arange(3 * 48 * 192)).astype(np.float32).reshape(1, 3, 48, 192)
    calls = []

    def validate(reference, candidate):
        # Lists of outputs in graph order, as onnxconverter-common's validate_fn gets them.
        calls.append(1)
        return all(np.allclose(got.astype(np.float32), want, rtol=0, atol=0.01)
                   for want, got in zip(reference, candidate))

    mixed, report = auto_mixed_precision.auto_convert_mixed_precision(
        model, {"x": x}, validate, keep_io_types=True, return_report=True)
    onnx.save(mixed, os.path.join(out_dir, "model.mixed.onnx"))
    print(f"mixed precision: {report.nodes_kept} nodes kept in float32, {report.evaluations} "
          f"evaluations, {len(calls)} validate calls")
    return 0 if calls else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} MODEL.onnx OUT_DIR")
    sys.exit(main(sys.argv[1], sys.argv[2]))
