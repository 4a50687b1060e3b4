"""ONNX Runtime on the CPU."""

from __future__ import annotations

from typing import Any

import numpy as np


class OnnxSession:
    def __init__(self, artifact: Any):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(artifact.path), options, providers=["CPUExecutionProvider"])
        self._outputs = [t.name for t in artifact.outputs]

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(self._outputs, self._session.run(self._outputs, inputs)))


def load(artifact: Any) -> OnnxSession:
    return OnnxSession(artifact)
