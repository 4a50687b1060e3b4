"""The reference: the Keras model itself (Keras 3 or tf_keras), run in inference mode."""

from __future__ import annotations

from typing import Any

import numpy as np

from modelport.runtimes.keras_call import call

CHUNK = 4096  # rows per call: bounded memory on large validation sets
# A Keras functional call keeps every layer's output until it returns: ResNet50 holds ~100 MB of
# activations per 224x224 image. Rows per call are also bounded so a call sees at most this many
# input values (three such images), which bounds those activations too.
MAX_VALUES_PER_CALL = 1 << 19


class KerasSession:
    def __init__(self, model: Any, input_names: list[str], output_names: list[str]):
        self.model = model
        self.input_names = input_names
        self.output_names = output_names

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(next(iter(inputs.values())))
        per_row = sum(int(np.prod(np.shape(inputs[name])[1:])) for name in self.input_names)
        chunk = max(1, min(CHUNK, MAX_VALUES_PER_CALL // max(per_row, 1)))
        parts: list[list[np.ndarray]] = []
        for start in range(0, max(n, 1), chunk):
            xs = [inputs[name][start:start + chunk] for name in self.input_names]
            parts.append([np.asarray(r) for r in call(self.model, xs)])
        return {name: np.concatenate([p[i] for p in parts]) for i, name in enumerate(self.output_names)}


def session_for(model: Any, spec: Any) -> KerasSession:
    return KerasSession(model, [t.name for t in spec.inputs], [t.name for t in spec.outputs])


def load(artifact: Any) -> KerasSession:
    """A Keras model file as a session (the artifact's path is the model file)."""
    from modelport.loading import load as load_model

    loaded = load_model(artifact.path)
    return session_for(loaded.model, loaded.spec)
