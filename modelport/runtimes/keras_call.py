"""Calling a Keras model the way it was built: used by the load check, the converters and the
Keras runtime. Its own module so that ``loading`` can use it without importing ``runtimes.keras``
(which loads model files through ``loading``)."""

from __future__ import annotations

from typing import Any


def call(model: Any, inputs: list[Any]) -> list[Any]:
    """Run ``model`` in inference mode on one array per input; one result per output.

    Inputs are passed in the structure the model was built with: a functional model saved with a
    one-element input list wants a list back (Keras 3 warns otherwise), any other single-input
    model a bare tensor.
    """
    as_list = len(inputs) > 1 or isinstance(getattr(model, "_inputs_struct", None), (list, tuple))
    result = model(list(inputs) if as_list else inputs[0], training=False)
    if isinstance(result, dict):  # Keras 3 functional models with dict outputs
        result = [result[name] for name in getattr(model, "output_names", result)]
    return list(result) if isinstance(result, (list, tuple)) else [result]
