"""Give freed memory back to the operating system between the big steps of a run.

Converting and validating allocate and free a model's worth of memory several times (freezing,
tf2onnx, each runtime). Python's cyclic garbage (tf2onnx's graphs are full of cycles) waits for a
collection, and glibc keeps freed heap pages mapped, so without this the process's resident size
only ever grows: the peak of a run becomes the sum of its steps instead of their maximum.

A full collection walks every Python object (0.3 s in a fresh process with TensorFlow imported,
2 s in a long one such as the test suite), so it runs only once the resident size has grown by
RELEASE_GROWTH since the last one: small models skip it, and the peak stays within that margin of
the largest step's. Returning free heap pages (``malloc_trim``) is cheap and always runs: memory
freed without garbage (the frozen graphs once the targets are built) shrinks the process without
growing it first (VGG16's parent kept 0.3 GB more through validation when the trim waited too).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from functools import lru_cache

RELEASE_GROWTH = 128 << 20  # bytes of resident growth that make a collection worth its time
_after_last: int | None = None  # resident bytes right after the last collection


@lru_cache(maxsize=1)
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def resident_bytes() -> int | None:
    """This process's resident size (Linux /proc), or None where it cannot be read cheaply."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def release() -> None:
    """Collect Python garbage when the process has grown by RELEASE_GROWTH since the last time
    (always, where its size is unknown), then return free heap pages to the OS (glibc; a no-op elsewhere)."""
    global _after_last
    now = resident_bytes()
    collect = now is None or _after_last is None or now - _after_last >= RELEASE_GROWTH
    if collect:
        gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    # growth counts from the lowest size since the last collection
    _after_last = resident_bytes() if collect else min(_after_last, now)
