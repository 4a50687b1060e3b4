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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

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
    bytes a third time while it is copied out (VGG16's 411 MB kernel)."""
    from tensorflow.core.framework import node_def_pb2

    from modelport.convert.onnx_weights import FLOAT_TYPES, LARGE_CONST_BYTES

    stripped, constants = bytearray(), {}
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        for number, _, tag, start, end in _fields(buf, 0, len(buf)):
            const = _const(buf, start, end) if number == 1 else None  # GraphDef.node
            if const is None or const.dtype not in FLOAT_TYPES or const.nbytes < max(1, LARGE_CONST_BYTES):
                stripped += buf[tag:end]  # every other node and field as the file has it
                continue
            node = node_def_pb2.NodeDef(name=const.name, op="Placeholder", device=const.device)
            node.attr["dtype"].type = const.dtype
            node.attr["shape"].shape.ParseFromString(bytes(buf[const.shape[0]:const.shape[1]]))
            stripped += _length_delimited(1, node.SerializeToString())
            dims = [d.size for d in node.attr["shape"].shape.dim]
            constants[f"{const.name}:0"] = _read_aligned(f, const.offset, const.nbytes).view(
                np.dtype(_numpy_dtype(const.dtype)).newbyteorder("<")).reshape(dims)
    return FedGraph(bytes(stripped), constants)


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
    fields: dict[int, tuple[int, int]] = {}
    attrs: dict[str, tuple[int, int]] = {}
    for number, _, _, s, e in _fields(buf, start, end):
        if number == 5:  # attr: map entries of key (1) and AttrValue (2)
            entry = {n: (a, b) for n, _, _, a, b in _fields(buf, s, e)}
            if 1 in entry and 2 in entry:
                attrs[bytes(buf[slice(*entry[1])]).decode()] = entry[2]
        else:
            fields[number] = (s, e)
    if 2 not in fields or bytes(buf[slice(*fields[2])]) != b"Const" or "value" not in attrs:
        return None
    tensor = {n: (s, e) for n, _, _, s, e in _fields(buf, *attrs["value"])}.get(8)  # AttrValue.tensor
    if tensor is None:
        return None
    parts = {n: (s, e) for n, _, _, s, e in _fields(buf, *tensor)}  # TensorProto
    if 1 not in parts or 2 not in parts or 4 not in parts:  # dtype, tensor_shape, tensor_content
        return None
    name = bytes(buf[slice(*fields[1])]).decode() if 1 in fields else ""
    device = bytes(buf[slice(*fields[4])]).decode() if 4 in fields else ""
    offset, stop = parts[4]
    return _Const(name, device, _varint(buf, parts[1][0])[0], parts[2], offset, stop - offset)


def _varint(buf: Any, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: Any, start: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
    """``(field number, wire type, tag position, value start, value end)`` of a message's fields."""
    pos = start
    while pos < end:
        tag = pos
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value = pos
            pos = _varint(buf, pos)[1]
        elif wire == 1:
            value, pos = pos, pos + 8
        elif wire == 2:
            length, value = _varint(buf, pos)
            pos = value + length
        elif wire == 5:
            value, pos = pos, pos + 4
        else:
            raise ValueError(f"not a GraphDef (protobuf wire type {wire} at byte {tag})")
        if pos > end:
            raise ValueError(f"not a GraphDef (a field runs past the end at byte {tag})")
        yield number, wire, tag, value, pos


def _length_delimited(number: int, payload: bytes) -> bytes:
    key, size, out = (number << 3) | 2, len(payload), bytearray()
    for value in (key, size):
        while value >= 0x80:
            out.append((value & 0x7F) | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out) + payload


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


def _numpy_dtype(tf_enum: int) -> Any:
    import tensorflow as tf

    return tf.dtypes.as_dtype(tf_enum).as_numpy_dtype
