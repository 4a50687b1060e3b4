"""A large frozen graph run with its weight constants fed as inputs.

A session over a frozen ``.pb`` holds its constants several times over while TensorFlow prepares
the graph (the session's copy of the GraphDef, grappler's, the partitioned graphs, the executor's
tensors): about 10x the weight bytes at its peak and 5x once running, for ``tf.compat.v1.Session``
and the C API alike (VGG16's 528 MB: 7.5 GB). Validating such a graph would cost more than
everything else modelport does with the model. So, from ``FEED_FROM_BYTES`` on, each weight
constant of the file (floating point, 128 bytes or more: the ONNX conversion's rule) becomes a
``Placeholder`` of the same name, dtype and shape, and its bytes, read from the file, are fed on every run. Every operation of the file's
graph still runs in the runtime, on the file's own weight bytes; what does not run is grappler's
folding of those constants (its rounding can differ in the last bit, within any tolerance).
``MODELPORT_FROZEN_CONSTANTS=feed`` / ``keep`` forces either way.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelport.protowire import fields, length_delimited, read_varint, varint

FEED_FROM_BYTES = 32 * 2**20


@dataclass
class FedGraph:
    graph_def: bytes  # the file's GraphDef with its large constants turned into placeholders
    constants: dict[str, np.ndarray] = field(default_factory=dict)  # "name:0" -> the file's bytes

    @property
    def constant_bytes(self) -> int:
        return sum(a.nbytes for a in self.constants.values())

    def method(self) -> str:
        from modelport.units import human_size

        return (f"{len(self.constants)} weight constants ({human_size(self.constant_bytes)}) fed as inputs: "
                f"held as constants they need ~10x their size in a session")


def feeds_constants(path: str | Path) -> bool:
    """Whether the frozen graph at ``path`` is run with its constants fed (size, or the override)."""
    forced = os.environ.get("MODELPORT_FROZEN_CONSTANTS", "")
    if forced in ("feed", "keep"):
        return forced == "feed"
    return Path(path).stat().st_size >= FEED_FROM_BYTES


def split(path: str | Path) -> FedGraph:
    """Read the frozen graph at ``path``; its weight constants (``onnx_weights.is_weight``: the rule
    the ONNX conversion holds weights back by) come out as arrays of the file's bytes.

    The file is walked at the protobuf wire level: only node headers are parsed, and each weight's
    bytes are read from the file straight into its array (64-byte aligned, so TensorFlow feeds it
    without a copy). Parsing the whole GraphDef would hold the file once more, and each constant's
    bytes a third time while it is copied out (VGG16's 411 MB kernel). No TensorFlow import either:
    the C API runner splits the graph in a process that may not otherwise need TensorFlow."""
    from modelport.convert.onnx_weights import FLOAT_TYPES, LARGE_CONST_BYTES

    stripped, constants = bytearray(), {}
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        for number, _, tag, start, end in fields(buf, 0, len(buf)):
            const = _const(buf, start, end) if number == 1 else None  # GraphDef.node
            if const is None or const.dtype not in FLOAT_TYPES or const.nbytes < max(1, LARGE_CONST_BYTES):
                stripped += buf[tag:end]  # every other node and field as the file has it
                continue
            shape = bytes(buf[const.shape[0]:const.shape[1]])
            stripped += length_delimited(1, _placeholder(const.name, const.device, const.dtype, shape))
            constants[f"{const.name}:0"] = _read_aligned(f, const.offset, const.nbytes).view(
                _numpy_dtype(const.dtype).newbyteorder("<")).reshape(_dims(shape))
    return FedGraph(bytes(stripped), constants)


def _placeholder(name: str, device: str, dtype: int, shape: bytes) -> bytes:
    """A serialised NodeDef ``Placeholder`` with the constant's name, device, dtype and shape (the
    TensorShapeProto's own bytes): NodeDef name 1, op 2, device 4, attr 5 (map entry key 1, value 2);
    AttrValue type 6, shape 7."""
    def attr(key: str, value: bytes) -> bytes:
        return length_delimited(5, length_delimited(1, key.encode()) + length_delimited(2, value))

    return (length_delimited(1, name.encode()) + length_delimited(2, b"Placeholder")
            + (length_delimited(4, device.encode()) if device else b"")
            + attr("dtype", varint(6 << 3) + varint(dtype)) + attr("shape", length_delimited(7, shape)))


def _dims(shape: bytes) -> list[int]:
    """The sizes of a serialised TensorShapeProto (dim 2, each Dim's size 1)."""
    sizes = []
    for number, _, _, start, end in fields(shape):
        if number == 2:
            size = next((read_varint(shape, s)[0] for n, _, _, s, _ in fields(shape, start, end) if n == 1), 0)
            sizes.append(size)
    return sizes


@dataclass
class _Const:
    name: str
    device: str
    dtype: int
    shape: tuple[int, int]  # where its TensorShapeProto lies in the file
    offset: int  # where its tensor_content lies
    nbytes: int


def _const(buf: Any, start: int, end: int) -> _Const | None:
    """The NodeDef at buf[start:end] if it is a Const holding raw bytes (tensor_content)."""
    node: dict[int, tuple[int, int]] = {}  # NodeDef field -> where its value lies
    attrs: dict[str, tuple[int, int]] = {}
    for number, _, _, s, e in fields(buf, start, end):
        if number == 5:  # attr: map entries of key (1) and AttrValue (2)
            entry = {n: (a, b) for n, _, _, a, b in fields(buf, s, e)}
            if 1 in entry and 2 in entry:
                attrs[bytes(buf[slice(*entry[1])]).decode()] = entry[2]
        else:
            node[number] = (s, e)
    if 2 not in node or bytes(buf[slice(*node[2])]) != b"Const" or "value" not in attrs:
        return None
    tensor = {n: (s, e) for n, _, _, s, e in fields(buf, *attrs["value"])}.get(8)  # AttrValue.tensor
    if tensor is None:
        return None
    parts = {n: (s, e) for n, _, _, s, e in fields(buf, *tensor)}  # TensorProto
    if 1 not in parts or 2 not in parts or 4 not in parts:  # dtype, tensor_shape, tensor_content
        return None
    name = bytes(buf[slice(*node[1])]).decode() if 1 in node else ""
    device = bytes(buf[slice(*node[4])]).decode() if 4 in node else ""
    offset, stop = parts[4]
    return _Const(name, device, read_varint(buf, parts[1][0])[0], parts[2], offset, stop - offset)


def _read_aligned(f: Any, offset: int, nbytes: int) -> np.ndarray:
    raw = np.empty(nbytes + 64, dtype=np.uint8)
    start = -raw.ctypes.data % 64
    out = raw[start:start + nbytes]
    f.seek(offset)
    view, done = memoryview(out), 0
    while done < nbytes:
        got = f.readinto(view[done:])
        if not got:
            raise ValueError("the graph file ends inside a constant")
        done += got
    return out


def _numpy_dtype(tf_enum: int) -> np.dtype:
    """The numpy dtype of a floating-point TensorFlow DataType (onnx_weights.FLOAT_TYPES)."""
    if tf_enum == 14:  # DT_BFLOAT16: numpy's through ml_dtypes, which TensorFlow itself depends on
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype({1: np.float32, 2: np.float64, 19: np.float16}[tf_enum])
