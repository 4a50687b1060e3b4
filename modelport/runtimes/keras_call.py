"""Calling a Keras model the way it was built: used by the load check, the converters and the
Keras runtime. Its own module so that ``loading`` can use it without importing ``runtimes.keras``
(which loads model files through ``loading``)."""

from __future__ import annotations

import weakref
from typing import Any

# Recurrent layers run their time loop in Python when called eagerly (one op dispatch per step and
# gate: 12.6 s for a corpus LSTM's reference check); inside a tf.function it is one while loop
# (4.1 s, outputs within 3e-8). Other models keep the eager call: tracing would cost more than it saves.
_RECURRENT = ("RNN", "Bidirectional")
_GRAPH_CALLS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def call(model: Any, inputs: list[Any]) -> list[Any]:
    """Run ``model`` in inference mode on one array per input; one result per output.

    Inputs are passed in the structure the model was built with: a functional model saved with a
    one-element input list wants a list back (Keras 3 warns otherwise), any other single-input
    model a bare tensor.
    """
    graph_call = _graph_call(model)
    if graph_call is not None:
        try:
            return list(graph_call(*inputs))
        except Exception:  # something in the model cannot be traced: call it as it was built
            _GRAPH_CALLS[model] = None
    return _eager_call(model, inputs)


def _eager_call(model: Any, inputs: list[Any]) -> list[Any]:
    as_list = len(inputs) > 1 or isinstance(getattr(model, "_inputs_struct", None), (list, tuple))
    result = model(list(inputs) if as_list else inputs[0], training=False)
    if isinstance(result, dict):  # Keras 3 functional models with dict outputs
        result = [result[name] for name in getattr(model, "output_names", result)]
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _graph_call(model: Any) -> Any:
    """A tf.function calling a recurrent model (one per model, kept as long as the model), or None."""
    import tensorflow as tf

    if tf.inside_function():  # already being traced (the converters' trace): call the layers directly
        return None
    try:
        if model in _GRAPH_CALLS:
            return _GRAPH_CALLS[model]
    except TypeError:  # not weak-referenceable: no cache, no graph
        return None
    graph_call = None
    if _recurrent(model):
        model_ref = weakref.ref(model)  # the function must not keep the model (the cache's key) alive
        graph_call = tf.function(lambda *xs: _eager_call(model_ref(), list(xs)), reduce_retracing=True,
                                 autograph=False)
    _GRAPH_CALLS[model] = graph_call
    return graph_call


def _recurrent(model: Any) -> bool:
    flatten = getattr(model, "_flatten_layers", None)
    layers = list(flatten(include_self=False, recursive=True)) if flatten else list(getattr(model, "layers", []))
    return any(cls.__name__ in _RECURRENT for layer in layers for cls in type(layer).__mro__)
