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

import os
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
    the ONNX conversion holds weights back by) come out as arrays of the file's bytes."""
    from tensorflow.core.framework import graph_pb2

    from modelport.convert.onnx_weights import split_weights

    graph_def = graph_pb2.GraphDef.FromString(Path(path).read_bytes())
    stripped, weights = split_weights(graph_def)
    constants = {}
    for name, node in weights.items():
        tensor = node.attr["value"].tensor
        dtype = np.dtype(_numpy_dtype(tensor.dtype)).newbyteorder("<")  # tensor_content is little-endian
        shape = [d.size for d in tensor.tensor_shape.dim]
        constants[f"{name}:0"] = np.frombuffer(tensor.tensor_content, dtype=dtype).reshape(shape)
    return FedGraph(stripped.SerializeToString(), constants)


def _numpy_dtype(tf_enum: int) -> Any:
    import tensorflow as tf

    return tf.dtypes.as_dtype(tf_enum).as_numpy_dtype
