"""Check what a loader produced: input shapes as the config says, a forward pass that works.

A loader that "succeeds" with a wrong input rank (Keras 3 on some Keras 2 Sequential files) is
caught here, so the next loader in the plan gets its turn.
"""

from __future__ import annotations

from typing import Any

from modelport.errors import BadInputError
from modelport.spec import ModelSpec, TensorSpec

DUMMY_BATCH = 2
DUMMY_TIME = 4  # for an unknown (None) time dimension


class VerificationError(BadInputError):
    """The loaded model does not match what the file says it is."""


def _shape(t: Any) -> tuple[int | None, ...]:
    return tuple(None if d is None else int(d) for d in t.shape)


def check_input_shapes(model: Any, expected: ModelSpec) -> None:
    got = [_shape(t) for t in model.inputs]
    want = [t.shape for t in expected.inputs]
    if len(got) != len(want):
        raise VerificationError(f"the model has {len(got)} inputs, its config {len(want)}")
    for g, w in zip(got, want, strict=True):
        if w == (None,):  # the config does not say (a shape inferred at first call)
            continue
        if g != tuple(w):
            raise VerificationError(f"input shape {g} differs from the saved config's {tuple(w)}")


def dummy_inputs(model: Any, spec: ModelSpec | None = None, seed: int = 0) -> list[Any]:
    """A small batch drawn as validation draws it (``validators.inputs.synthetic_inputs``): ids
    inside every vocabulary, strings from lookup vocabularies, numbers in [0, 1) elsewhere
    (a dummy batch must not make a log or a square root NaN); in the loaded model's own
    input shapes and dtypes."""
    import numpy as np

    from modelport.validators.inputs import synthetic_inputs

    tensors = [TensorSpec(f"input_{i}", _shape(t), _dtype_name(t.dtype)) for i, t in enumerate(model.inputs)]
    if spec is None or len(spec.inputs) != len(tensors):
        spec = ModelSpec("", "", "", [], tensors, [])
    batch = synthetic_inputs(spec, DUMMY_BATCH, DUMMY_TIME, model, np.random.default_rng(seed), tensors, unit=True)
    return [batch[t.name] for t in tensors]


def _dtype_name(dtype: Any) -> str:
    name = getattr(dtype, "name", None) or str(dtype)
    return "string" if name in ("string", "str", "object") else name


def forward(model: Any, inputs: list[Any]) -> list[Any]:
    import numpy as np

    from modelport.runtimes.keras_call import call

    return [np.asarray(o) for o in call(model, list(inputs))]


def nonfinite_weights(model: Any) -> bool:
    """True if the loaded weights themselves hold NaN/inf (a model that diverged in training)."""
    import numpy as np

    for weight in model.weights:  # one at a time: get_weights() copies every weight at once
        value = np.asarray(weight)
        if value.dtype.kind in "fc" and not np.all(np.isfinite(value)):
            return True
    return False


def check_forward(model: Any, spec: ModelSpec | None = None, *, allow_nonfinite: bool = False) -> list[Any]:
    """Run a dummy batch; outputs must have the declared shapes and be finite (unless the file's
    own weights are not: then NaN outputs are what the model computes, reported as a warning)."""
    import numpy as np

    try:
        outs = forward(model, dummy_inputs(model, spec))
    except Exception as e:  # the loaded model cannot run: this loader's result is unusable
        raise VerificationError(
            f"a forward pass on a dummy batch failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from None
    declared = [_shape(t) for t in model.outputs]
    for out, want in zip(outs, declared, strict=True):
        if len(out.shape) != len(want) or any(w is not None and w != o for o, w in zip(out.shape, want, strict=True)):
            raise VerificationError(f"an output has shape {out.shape}, the model declares {want}")
        if not allow_nonfinite and not np.all(np.isfinite(out)):
            raise VerificationError("the forward pass on a dummy batch gives NaN or infinity")
    return outs
