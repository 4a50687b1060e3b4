"""Write an ONNX model without a second in-memory copy of its weights.

``SerializeToString`` builds the whole file in memory next to the model. Here the graph is written
field by field and each initializer serialised on its own, in the order deterministic serialisation
uses (fields by number, repeated fields in order), so the bytes are exactly those of
``proto.SerializeToString(deterministic=True)``. A model whose weights do not fit in one protobuf
(2 GiB) is written with ONNX external data beside it instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.protowire import fields, varint

PROTOBUF_LIMIT = 2**31 - 1  # bytes in one serialised protobuf message
_HEADROOM = 64 << 20  # graph structure and shapes on top of the weights
_GRAPH_FIELD = 7  # ModelProto.graph
_INITIALIZER_FIELD = 5  # GraphProto.initializer


def needs_external_data(proto: Any) -> bool:
    return sum(t.ByteSize() for t in proto.graph.initializer) + _HEADROOM >= PROTOBUF_LIMIT


def external_data_name(dest: Path) -> str:
    return f"{dest.name}.data"


def write_model(proto: Any, dest: Path) -> str | None:
    """Write ``proto`` to ``dest``; returns the external data file's name when one was needed."""
    if needs_external_data(proto):
        import onnx

        location = external_data_name(dest)
        onnx.save_model(proto, str(dest), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=location, size_threshold=1024)
        return location
    _write_streaming(proto, dest)
    return None


def _write_streaming(proto: Any, dest: Path) -> None:
    model_head, model_tail = _split(_without(proto, "graph").SerializeToString(deterministic=True), _GRAPH_FIELD)
    graph = proto.graph
    graph_head, graph_tail = _split(_without(graph, "initializer").SerializeToString(deterministic=True),
                                    _INITIALIZER_FIELD)
    tensor_tag = varint(_INITIALIZER_FIELD << 3 | 2)
    graph_size = len(graph_head) + len(graph_tail) + sum(
        len(tensor_tag) + len(varint(size)) + size for size in (t.ByteSize() for t in graph.initializer))
    with open(dest, "wb") as out:
        out.write(model_head + varint(_GRAPH_FIELD << 3 | 2) + varint(graph_size) + graph_head)
        for tensor in graph.initializer:
            out.write(tensor_tag + varint(tensor.ByteSize()))
            out.write(tensor.SerializeToString(deterministic=True))
        out.write(graph_tail + model_tail)


def _without(message: Any, skipped: str) -> Any:
    """A copy of ``message`` without field ``skipped`` (the rest is small: nodes, shapes, names)."""
    copy = type(message)()
    for field, value in message.ListFields():
        if field.name == skipped:
            continue
        if field.is_repeated:
            getattr(copy, field.name).extend(value)
        elif field.message_type is not None:
            getattr(copy, field.name).CopyFrom(value)
        else:
            setattr(copy, field.name, value)
    return copy


def _split(data: bytes, field_number: int) -> tuple[bytes, bytes]:
    """``data`` cut where its first field numbered above ``field_number`` starts (fields are in
    number order in a deterministic serialisation)."""
    for number, _, tag, _, _ in fields(data):
        if number > field_number:
            return data[:tag], data[tag:]
    return data, b""
