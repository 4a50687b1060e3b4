"""Import TensorFlow quietly.

TensorFlow 2.21 prints oneDNN and CUDA notices from C++ at import time, before any log level
applies, which buries modelport's one-line messages. The import runs with file descriptor 2
pointed at /dev/null (unless MODELPORT_DEBUG is set); TensorFlow's Python logger is set to ERROR.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    if os.environ.get("MODELPORT_DEBUG"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow() -> Any:
    """``import tensorflow`` (and Keras, which imports it), without the start-up chatter."""
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with _stderr_silenced():
            import tensorflow  # noqa: F401
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return sys.modules["tensorflow"]
