"""Independent references: read the file a second way and check it computes what the loaded model does.

The weight audit (``audit.py``) proves the variables hold the file's arrays; it cannot prove the
layers use them as the file's Keras did (a layer computing with state it derived before the
weights arrived, a config read differently). So the validation inputs also run through:

- ``<library> load_model``: the loading library's own reader of the whole file, when modelport
  assigned the HDF5 weights itself (independent of modelport's config repairs and assignment);
- the other library (Keras 3 / tf_keras) through modelport's loading plan.

A reader that refuses the file, reads a different signature, or that the plan rules out (a known
semantic drift) is "not applicable", with the reason. A reader that disagrees beyond the
validation tolerance fails the load (``ReferenceMismatchError``, exit 2), naming the first
layer whose outputs diverge. Each second model is released after use.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any

from modelport.errors import BadInputError
from modelport.loading import backends, plan, repairs

AGREES, DISAGREES, NOT_APPLICABLE = "agrees", "disagrees", "not applicable"


class ReferenceMismatchError(BadInputError):
    """A second reader of the file computes other numbers than the model modelport loaded."""


@dataclass
class ReferenceResult:
    reader: str
    status: str
    reason: str = ""
    max_abs: float | None = None
    first_diverging_layer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"reader": self.reader, "status": self.status}
        if self.reason:
            out["reason"] = self.reason
        if self.max_abs is not None:
            out["max_abs"] = float(f"{self.max_abs:.1g}")  # one digit: the manifest stays reproducible
        if self.first_diverging_layer:
            out["first_diverging_layer"] = self.first_diverging_layer
        return out

    def summary(self) -> str:
        if self.status == AGREES:
            return f"{self.reader} agrees (max abs {self.max_abs:.1g})"
        if self.status == DISAGREES:
            return f"{self.reader} DISAGREES from layer '{self.first_diverging_layer}' (max abs {self.max_abs:.3g})"
        return f"{self.reader}: not applicable ({self.reason})"


def summary(loaded: Any) -> str:
    """``references: weights audit ok (12 arrays, 1,234 values); tf_keras agrees (max abs 2e-07)``"""
    parts = [loaded.audit.summary() if loaded.audit is not None else "no stored weights"]
    parts += [r.summary() for r in loaded.references]
    return "references: " + "; ".join(parts)


def _first_line(e: BaseException) -> str:
    text = str(getattr(e, "message", None) or e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]


def _native(loaded: Any) -> tuple[str, Any]:
    """The loading library's own ``load_model`` on the file: (reader name, model or reason)."""
    loader, saved = loaded.spec.loader, loaded.saved
    name = f"{loader} load_model"
    if saved.container != "hdf5" or loaded.audit is None or "re-saved" in loaded.audit.method:
        return name, None  # the library's own reader loaded it already: no second reading here
    if loaded.architecture is not None:
        return name, "the architecture is a separate file"
    if "theano-kernel-flip" in loaded.spec.repairs:
        return name, "modelport flips the Theano-trained convolution kernels as Keras 2 did; this reader does not"
    if loader == backends.KERAS3:
        drift = repairs.keras3_semantic_drift(saved.model_config or {}, plan.era(saved))
        if drift:
            return name, f"Keras 3 would compute different numbers: {drift}"
    try:
        if loader == backends.KERAS3:
            import keras

            with _keras3_safe_mode(loaded.trust_code):
                return name, keras.models.load_model(str(saved.path), compile=False,
                                                     custom_objects=loaded.objects or None)
        import tf_keras

        return name, tf_keras.models.load_model(str(saved.path), compile=False, custom_objects=loaded.objects or None)
    except Exception as e:  # a reader refusing the file is not applicable, whatever it raises
        return name, f"it cannot read the file ({type(e).__name__}: {_first_line(e)})"


def _keras3_safe_mode(trust_code: bool) -> Any:
    from keras.src.saving import serialization_lib

    return serialization_lib.SafeModeScope(safe_mode=not trust_code)


def _other_library(loaded: Any) -> tuple[str, Any]:
    from modelport.loading.attempt import attempt

    other = backends.TF_KERAS if loaded.spec.loader == backends.KERAS3 else backends.KERAS3
    if other not in plan.loader_order(loaded.saved):
        return other, "tf_keras reads no Keras 3 config" if other == backends.TF_KERAS else "not in the loading plan"
    if other == backends.KERAS3:
        drift = repairs.keras3_semantic_drift(loaded.saved.model_config or {}, plan.era(loaded.saved))
        if drift:
            return other, f"ruled out by the loading plan: Keras 3 would compute different numbers: {drift}"
    expected = loaded.expected
    try:
        model, *_ = attempt(other, loaded.saved, expected, objects=loaded.objects, trust_code=loaded.trust_code)
    except BadInputError as e:
        return other, f"it cannot load the file ({e.message[:200]})"
    except Exception as e:  # any failure of the second library on this file: it is no reference
        return other, f"it cannot load the file ({type(e).__name__}: {_first_line(e)})"
    return other, model


def check(loaded: Any, *, data: Any = None, seed: int = 0, tolerance: Any = None,
          batch_sizes: tuple[int, ...] | None = None) -> list[ReferenceResult]:
    """Run every applicable second reader on the validation inputs; record the results on
    ``loaded.references`` and raise ``ReferenceMismatchError`` on the first disagreement."""
    from modelport.validators.inputs import DEFAULT_BATCH, make_cases
    from modelport.validators.tolerance import Tolerance

    tolerance = tolerance or Tolerance()
    cases = make_cases(loaded.spec, data, tuple(batch_sizes or (1, DEFAULT_BATCH)), seed)
    results: list[ReferenceResult] = []
    loaded.references = results
    for read in (_native, _other_library):
        name, second = read(loaded)
        if second is None:
            continue
        if isinstance(second, str):
            results.append(ReferenceResult(name, NOT_APPLICABLE, second))
            continue
        try:
            results.append(_compare(loaded, name, second, cases, tolerance))
        finally:
            del second
            gc.collect()
        if results[-1].status == DISAGREES:
            r = results[-1]
            raise ReferenceMismatchError(
                f"{loaded.spec.source}: the model as loaded ({loaded.spec.loader}) and {name} compute different "
                f"numbers on the validation inputs: first diverging layer '{r.first_diverging_layer}' "
                f"(max abs {r.max_abs:.3g})",
                "the file is read differently by two Keras readers; report it to modelport",
            )
    return results


def _signature_differs(loaded: Any, second: Any) -> str | None:
    want = [tuple(t.shape) for t in loaded.model.inputs], [tuple(t.shape) for t in loaded.model.outputs]
    got = [tuple(t.shape) for t in second.inputs], [tuple(t.shape) for t in second.outputs]
    if [len(w) for w in want] != [len(g) for g in got]:
        return "it reads a different number of inputs or outputs"

    def norm(shapes: list[tuple]) -> list[tuple]:
        return [tuple(None if d is None else int(d) for d in s[1:]) for s in shapes]

    if norm(want[0]) != norm(got[0]):
        return f"it reads input shapes {norm(got[0])}, not {norm(want[0])}"
    return None


def _compare(loaded: Any, name: str, second: Any, cases: list[Any], tolerance: Any) -> ReferenceResult:
    from modelport.runtimes.keras import session_for

    differs = _signature_differs(loaded, second)
    if differs:
        return ReferenceResult(name, NOT_APPLICABLE, differs)
    first, other = session_for(loaded.model, loaded.spec), session_for(second, loaded.spec)
    worst, failing = 0.0, None
    for case in cases:
        try:
            expected = first.run(case.inputs)
        except Exception as e:  # validation reports inputs the model cannot run; no comparison here
            return ReferenceResult(name, NOT_APPLICABLE, f"the loaded model cannot run the validation inputs "
                                                         f"({type(e).__name__})")
        try:
            got = other.run(case.inputs)
        except Exception as e:  # the second reading cannot run what the first runs: no reference
            return ReferenceResult(name, NOT_APPLICABLE, f"it cannot run the validation inputs ({_first_line(e)})")
        for output, want in expected.items():
            diff, ok = _diff(got[output], want, tolerance.bound(output, "keras"))
            worst = max(worst, diff)
            if not ok and failing is None:
                failing = case
    if failing is None:
        return ReferenceResult(name, AGREES, max_abs=worst)
    layer = first_diverging_layer(loaded.model, second, failing.inputs, [t.name for t in loaded.spec.inputs],
                                  tolerance.bound("", "keras"))
    return ReferenceResult(name, DISAGREES, max_abs=worst, first_diverging_layer=layer or "an output")


def _diff(got: Any, want: Any, bound: Any) -> tuple[float, bool]:
    import numpy as np

    g, w = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if g.shape != w.shape:
        if g.size != w.size:
            return float("inf"), False
        g = g.reshape(w.shape)
    close = np.isclose(g, w, atol=bound.atol, rtol=bound.rtol, equal_nan=True)
    finite = np.isfinite(g) & np.isfinite(w)
    diff = float(np.abs(g[finite] - w[finite]).max()) if finite.any() else 0.0
    return diff, bool(close.all())


def _probe(model: Any, layers: list[Any]) -> Any:
    if type(model).__module__.startswith("tf_keras"):
        import tf_keras as lib
    else:
        import keras as lib
    return lib.Model(model.inputs, [layer.output for layer in layers])


def first_diverging_layer(first: Any, second: Any, inputs: dict[str, Any], input_names: list[str],
                          bound: Any) -> str | None:
    """The first layer (in the loaded model's order) whose outputs differ between the two models."""
    from modelport.runtimes.keras import call

    pairs = []
    for layer in first.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        try:
            twin = second.get_layer(layer.name)
            if isinstance(layer.output, (list, tuple)) or isinstance(twin.output, (list, tuple)):
                continue
        except (ValueError, AttributeError, RuntimeError):
            continue
        pairs.append((layer, twin))
    if not pairs:
        return None
    try:
        xs = [inputs[n] for n in input_names]
        a = call(_probe(first, [p[0] for p in pairs]), xs)
        b = call(_probe(second, [p[1] for p in pairs]), xs)
    except Exception:  # a model whose layers cannot be tapped: the outputs were compared already
        return None
    for (layer, _), va, vb in zip(pairs, a, b, strict=True):
        if not _diff(vb, va, bound)[1]:
            return layer.name
    return None
