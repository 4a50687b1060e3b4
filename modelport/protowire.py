"""Protocol buffers at the wire level: walking a serialised message's fields without parsing it.

Used where parsing would copy what is large: the frozen graph's weights (``runtimes.frozen_feeds``)
and the ONNX file written field by field (``convert.onnx_io``). Works on bytes, bytearray or mmap.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def read_varint(buf: Any, pos: int) -> tuple[int, int]:
    """``(value, position after it)``."""
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def length_delimited(number: int, payload: bytes) -> bytes:
    """Field ``number`` holding ``payload`` (a message, bytes or a string), tag and length first."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def fields(buf: Any, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, int, int, int]]:
    """``(field number, wire type, tag position, value start, value end)`` of the message in buf[start:end]."""
    end = len(buf) if end is None else end
    pos = start
    while pos < end:
        tag = pos
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value = pos
            pos = read_varint(buf, pos)[1]
        elif wire == 1:
            value, pos = pos, pos + 8
        elif wire == 2:
            length, value = read_varint(buf, pos)
            pos = value + length
        elif wire == 5:
            value, pos = pos, pos + 4
        else:
            raise ValueError(f"unexpected protobuf wire type {wire} at byte {tag}")
        if pos > end:
            raise ValueError(f"a protobuf field runs past the message's end at byte {tag}")
        yield number, wire, tag, value, pos
