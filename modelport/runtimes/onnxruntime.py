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
        # float64 data for a float32 graph (a scikit-learn source's ONNX is float32): cast, as a caller must
        self._casts = {i.name: _NUMPY.get(i.type) for i in self._session.get_inputs()}

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        fed = {k: _cast(v, self._casts.get(k)) for k, v in inputs.items()}
        return dict(zip(self._outputs, self._session.run(self._outputs, fed)))


_NUMPY = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(string)": object}


def _cast(value: np.ndarray, dtype: type | None) -> np.ndarray:
    value = np.asarray(value)
    if dtype is None or value.dtype == dtype:
        return value
    if dtype is object:  # strings; a missing string (None) is fed as the empty string
        return np.array(["" if v is None else str(v) for v in value.ravel()], dtype=object).reshape(value.shape)
    return value.astype(dtype) if value.dtype.kind in "fiub" else value


def load(artifact: Any) -> OnnxSession:
    return OnnxSession(artifact)
