"""The drop-in promise: onnxconverter-common's public names, parameters and defaults.

onnxconverter-common is not installed here (no PyPI), so its signatures are written below, read
from microsoft/onnxconverter-common (onnxconverter_common/float16.py, auto_mixed_precision.py and
auto_mixed_precision_model_path.py on the main branch). Every parameter of the Python tool must
exist in halfcast with the same name, position and default; halfcast's additions must come after
them, keyword-only, with defaults, so no existing call changes meaning.
"""
from __future__ import annotations

import inspect

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import halfcast.auto_mixed_precision as auto_mixed_precision
import halfcast.float16 as float16

_NO_DEFAULT = inspect.Parameter.empty

# module, function, [(parameter, default)] of onnxconverter-common
REFERENCE = [
    (float16, "convert_float_to_float16", [
        ("model", _NO_DEFAULT), ("min_positive_val", 1e-7), ("max_finite_val", 1e4),
        ("keep_io_types", False), ("disable_shape_infer", False), ("op_block_list", None),
        ("node_block_list", None), ("check_fp16_ready", True)]),
    (float16, "convert_float_to_float16_model_path", [
        ("model_path", _NO_DEFAULT), ("min_positive_val", 1e-7), ("max_finite_val", 1e4),
        ("keep_io_types", False)]),
    (float16, "convert_tensor_float_to_float16", [
        ("tensor", _NO_DEFAULT), ("min_positive_val", 1e-7), ("max_finite_val", 1e4)]),
    (float16, "convert_np_to_float16", [
        ("np_array", _NO_DEFAULT), ("min_positive_val", 1e-7), ("max_finite_val", 1e4)]),
    (auto_mixed_precision, "auto_convert_mixed_precision", [
        ("model", _NO_DEFAULT), ("feed_dict", _NO_DEFAULT), ("validate_fn", None),
        ("rtol", None), ("atol", None), ("keep_io_types", False)]),
    (auto_mixed_precision, "auto_convert_mixed_precision_model_path", [
        ("source_model_path", _NO_DEFAULT), ("input_feed", _NO_DEFAULT),
        ("target_model_path", _NO_DEFAULT), ("provider", _NO_DEFAULT), ("location", None),
        ("customized_validate_func", None), ("rtol", None), ("atol", None),
        ("keep_io_types", True), ("verbose", False)]),
]

REFERENCE_DEFAULT_OP_BLOCK_LIST = [
    "ArrayFeatureExtractor", "Binarizer", "CastMap", "CategoryMapper", "DictVectorizer",
    "FeatureVectorizer", "Imputer", "LabelEncoder", "LinearClassifier", "LinearRegressor",
    "Normalizer", "OneHotEncoder", "RandomUniformLike", "SVMClassifier", "SVMRegressor", "Scaler",
    "TreeEnsembleClassifier", "TreeEnsembleRegressor", "ZipMap", "NonMaxSuppression", "TopK",
    "RoiAlign", "Resize", "Range", "CumSum", "Min", "Max", "Upsample",
]

POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@pytest.mark.parametrize("module,function,reference", REFERENCE,
                         ids=[f"{m.__name__}.{f}" for m, f, _ in REFERENCE])
def test_parameters_match_the_python_tool(module, function, reference):
    parameters = list(inspect.signature(getattr(module, function)).parameters.values())
    ours = [(p.name, p.default) for p in parameters[:len(reference)]]
    if function == "auto_convert_mixed_precision_model_path":
        # `provider` is required in the Python tool and ignored here: a default None keeps
        # every call valid.
        reference = [(n, None if n == "provider" else d) for n, d in reference]
    assert ours == reference
    assert all(p.kind in POSITIONAL for p in parameters[:len(reference)])
    for extra in parameters[len(reference):]:
        assert extra.kind == inspect.Parameter.KEYWORD_ONLY, extra.name
        assert extra.default is not _NO_DEFAULT, extra.name


def test_default_op_block_list():
    assert float16.DEFAULT_OP_BLOCK_LIST == REFERENCE_DEFAULT_OP_BLOCK_LIST


def test_public_names():
    for name in ("convert_float_to_float16", "convert_float_to_float16_model_path",
                 "convert_tensor_float_to_float16", "convert_np_to_float16",
                 "DEFAULT_OP_BLOCK_LIST"):
        assert hasattr(float16, name), name
    assert callable(auto_mixed_precision.auto_convert_mixed_precision)


def test_return_types():
    from conftest import feeds_for, load
    model = load("silero_vad.onnx")
    assert type(float16.convert_float_to_float16(model)) is onnx.ModelProto
    tensor = numpy_helper.from_array(np.ones(3, np.float32), "t")
    assert type(float16.convert_tensor_float_to_float16(tensor)) is onnx.TensorProto
    array = float16.convert_np_to_float16(np.ones(3, np.float32))
    assert type(array) is np.ndarray and array.dtype == np.float16
    mixed = auto_mixed_precision.auto_convert_mixed_precision(model, feeds_for("silero_vad.onnx"),
                                                              rtol=0.01, atol=0.001)
    assert type(mixed) is onnx.ModelProto


def test_every_public_function_is_documented_and_typed():
    for module in (float16, auto_mixed_precision):
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj) and not isinstance(obj, type):
                assert obj.__doc__ and len(obj.__doc__) > 80, name
                hints = inspect.signature(obj)
                assert hints.return_annotation is not inspect.Signature.empty, name
