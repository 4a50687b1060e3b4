"""Every dict in a nested Keras config (layers, wrappers, nested models, tensor records), in order.

The config readers, repairs and the audit each look for something anywhere in a config; they walk
it with this one generator. A consumer may change the dict it is given: its values are read after."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def iter_dicts(obj: Any) -> Iterator[dict[str, Any]]:
    if isinstance(obj, dict):
        yield obj
        for value in list(obj.values()):
            yield from iter_dicts(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from iter_dicts(value)
