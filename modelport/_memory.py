"""Give freed memory back to the operating system between the big steps of a run.

Converting and validating allocate and free a model's worth of memory several times (freezing,
tf2onnx, each runtime). Python's cyclic garbage (tf2onnx's graphs are full of cycles) waits for a
collection, and glibc keeps freed heap pages mapped, so without this the process's resident size
only ever grows: the peak of a run becomes the sum of its steps instead of their maximum.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import lru_cache


@lru_cache(maxsize=1)
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def release() -> None:
    """Collect Python garbage, then return free heap pages to the OS (glibc; a no-op elsewhere)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
