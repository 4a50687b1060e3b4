"""Runtimes that execute an artifact: one module per runtime, all with the same small interface.

``open_session(runtime, artifact)`` returns an object with ``run(inputs) -> outputs``, where both
are ``dict[str, numpy.ndarray]`` keyed by the artifact signature's names, so callers never guess.
Each runtime module imports its engine only inside ``load``.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from modelport.errors import BadInputError


class Session(Protocol):
    def run(self, inputs: dict[str, Any]) -> dict[str, Any]: ...


# runtime name -> module with ``load(artifact) -> Session``
# The order is the one every help text, doc and report lists them in: by format, as below.
RUNTIME_MODULES = {
    "keras": "modelport.runtimes.keras",
    "tensorflow": "modelport.runtimes.tensorflow",
    "tf_c_api": "modelport.runtimes.tf_c_api",  # a C program on the TensorFlow C API (what TF Java wraps)
    "onnxruntime": "modelport.runtimes.onnxruntime",
    "jpmml": "modelport.runtimes.jpmml",
    "pmml4s": "modelport.runtimes.pmml4s",
    "java": "modelport.runtimes.java",  # the plain Java program (ScorePmml), in the one JVM jpmml uses
    "spark": "modelport.runtimes.spark",  # the artifact's Spark route (modelport score), local or a cluster
}

# artifact format -> the runtimes that serve it in production, in the order validation runs them.
# tf_c_api and java run outside Python; validation skips them (and says why) without gcc or a JVM.
RUNTIMES_FOR_FORMAT = {
    "savedmodel": ["tensorflow", "tf_c_api"],
    "pb": ["tensorflow", "tf_c_api"],
    "ckpt": ["tensorflow"],
    "onnx": ["onnxruntime"],
    "pmml": ["jpmml", "pmml4s", "java"],
}


# runtimes that join only when named in --runtimes (starting them costs seconds): name -> formats
RUNTIMES_ON_REQUEST = {"spark": ("onnx", "pmml", "savedmodel")}


def open_session(runtime: str, artifact: Any) -> Session:
    if runtime not in RUNTIME_MODULES:
        raise BadInputError(f"unknown runtime '{runtime}'", f"choose from {', '.join(RUNTIME_MODULES)}")
    module = importlib.import_module(RUNTIME_MODULES[runtime])
    return module.load(artifact)
