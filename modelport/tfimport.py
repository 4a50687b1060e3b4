"""Import TensorFlow quietly.

TensorFlow 2.21 prints oneDNN and CUDA notices from C++ at import time, before any log level
applies, which buries modelport's one-line messages. The import runs with file descriptor 2
pointed at /dev/null (unless MODELPORT_DEBUG is set); TensorFlow's Python logger is set to ERROR.

TensorFlow imports Keras 3, and Keras imports two libraries it only uses for features modelport
does not call: scikit-learn, to base its ``keras.wrappers`` classes on sklearn's
``BaseEstimator``, and pandas, to slice DataFrames passed to ``fit``/``predict``. They cost 2 s and
125 MB of every TensorFlow import. A process modelport owns (the CLI, its TensorFlow child) calls
``own_process()`` first; TensorFlow is then imported with both hidden: Keras takes them as not
installed (its wrappers say scikit-learn is missing if used; modelport hands Keras arrays, never
DataFrames), and both import as usual afterwards, for modelport's own use. A library caller's
process is left as it is.
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


_OWN_PROCESS = False


def own_process() -> None:
    """This process is modelport's alone: TensorFlow may be imported without Keras's optional imports."""
    global _OWN_PROCESS
    _OWN_PROCESS = True


_KERAS_OPTIONAL = ("sklearn", "pandas")  # imported by Keras in try/except ImportError


@contextlib.contextmanager
def _keras_optional_hidden() -> Iterator[None]:
    hidden = [name for name in _KERAS_OPTIONAL if _OWN_PROCESS and name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # an import of it raises ImportError, which Keras handles
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def import_tensorflow() -> Any:
    """``import tensorflow`` (and Keras, which imports it), without the start-up chatter."""
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with _stderr_silenced(), _keras_optional_hidden():
            import tensorflow  # noqa: F401
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return sys.modules["tensorflow"]
