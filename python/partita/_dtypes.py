"""Element types: partita's names, numpy's and ONNX's."""

from __future__ import annotations

import numpy as np

# partita name -> numpy dtype (bf16 travels as float32 through numpy).
_NUMPY = {
    "f16": np.float16, "bf16": np.float32, "f32": np.float32, "f64": np.float64,
    "bool": np.bool_, "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
    "u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64,
}
# ONNX TensorProto.DataType, for Cast's `to`.
_ONNX = {
    "f32": 1, "u8": 2, "i8": 3, "u16": 4, "i16": 5, "i32": 6, "i64": 7, "bool": 9,
    "f16": 10, "f64": 11, "u32": 12, "u64": 13, "bf16": 16,
}
_ALIASES = {
    "i1": "bool", "ui8": "u8", "ui16": "u16", "ui32": "u32", "ui64": "u64",
    "float16": "f16", "half": "f16", "bfloat16": "bf16", "float32": "f32", "float": "f32",
    "float64": "f64", "double": "f64", "int8": "i8", "int16": "i16", "int32": "i32",
    "int64": "i64", "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64",
    "bool_": "bool",
}

FLOATS = ("f16", "bf16", "f32", "f64")


def canonical(dtype) -> str:
    """partita's name for a dtype given as a name, numpy dtype or type."""
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype, dtype)
        if name in _NUMPY:
            return name
        raise ValueError(f"unknown dtype {dtype!r} (expected one of "
                         f"{', '.join(_NUMPY)})")
    try:
        np_dtype = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"unknown dtype {dtype!r}") from None
    name = _ALIASES.get(np_dtype.name)
    if name is None:
        raise ValueError(f"dtype {np_dtype} is not supported (expected one of "
                         f"{', '.join(_NUMPY)})")
    return name


def to_numpy(dtype: str):
    return _NUMPY[canonical(dtype)]


def onnx_code(dtype: str) -> int:
    return _ONNX[canonical(dtype)]


def is_float(dtype: str) -> bool:
    return canonical(dtype) in FLOATS
