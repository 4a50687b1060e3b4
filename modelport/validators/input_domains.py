"""What values each model input means: token ids below a vocabulary, strings from a lookup table,
categories from a fixed set, or any number.

Found by walking the layer graph forward from each input through layers that pass values on
unchanged (casts, reshapes, masks, dropout, concatenation) to the first layer that reads them as
more than numbers: an ``Embedding`` or ``CategoryEncoding`` (ids below its size), a ``StringLookup``
or ``IntegerLookup`` (its vocabulary), ``TextVectorization`` (sentences of its words), ``Hashing``
(any value: a small bounded set), or a ``Normalization`` (numbers around the mean and spread it
was adapted to, so an adapted model is not fed values it has never seen). Every such layer an input reaches constrains it; ids stay inside
the smallest vocabulary. Vocabularies come from the loaded model when there is one (adapted layers
keep them in their state, not in the config), else from the config. Used alike by the synthetic
validation inputs and by the load check's dummy forward pass, so both feed the model what it means.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelport.spec import LayerSpec, ModelSpec

# Layers that hand their input values on unchanged (only shape, dtype or mask change).
PASS_THROUGH = {
    "InputLayer", "Reshape", "Flatten", "Masking", "Dropout", "SpatialDropout1D", "GaussianDropout",
    "GaussianNoise", "AlphaDropout", "Permute", "RepeatVector", "Cropping1D", "ZeroPadding1D", "Identity",
    "Concatenate", "ActivityRegularization",
    "Cast", "ExpandDims", "Squeeze", "Transpose",  # Keras 3 ops in a functional graph
}
# Keras 2 ``TFOpLambda`` layers (tf.* calls in a functional model) that pass values on.
PASS_THROUGH_OPS = {"cast", "reshape", "squeeze", "expand_dims", "identity", "transpose", "concat"}
ID_LAYERS = {"Embedding": "input_dim", "CategoryEncoding": "num_tokens"}
LOOKUPS = {"StringLookup", "IntegerLookup", "TextVectorization", "Hashing"}
SCALED = {"Normalization"}  # numbers around the statistics it was adapted to
HASHED_STRINGS = tuple(f"value{i}" for i in range(24))  # a bounded set: hashing accepts any value
DEFAULT_WORDS = ("a", "b", "c")  # a lookup whose vocabulary is unknown: any token (OOV) is valid
WORDS_PER_TEXT = (1, 7)


@dataclass(frozen=True)
class Domain:
    """The values one input should get. Empty = any number of its dtype."""

    ids_below: int | None = None  # integer ids in [0, ids_below)
    values: tuple[Any, ...] | None = None  # draw from these (strings or ints)
    words: tuple[str, ...] | None = None  # draw sentences of these words (TextVectorization)
    mean: tuple[float, ...] | None = None  # numbers around these (per last-axis feature), as a
    std: tuple[float, ...] | None = None  # Normalization reading the input was adapted to

    def merge(self, other: Domain) -> Domain:
        ids = min((n for n in (self.ids_below, other.ids_below) if n is not None), default=None)
        values = self.values if other.values is None else other.values if self.values is None else \
            tuple(v for v in self.values if v in set(other.values)) or self.values
        return Domain(ids, values, self.words or other.words, self.mean or other.mean, self.std or other.std)

    def describe(self) -> str:
        if self.mean is not None:
            return "numbers around the adapted mean"
        if self.words:
            return f"text of {len(self.words)} words"
        if self.values is not None:
            return f"one of {len(self.values)} values"
        return f"ids below {self.ids_below}" if self.ids_below is not None else "numbers"


def _consumers(spec: ModelSpec) -> dict[str, list[LayerSpec]]:
    out: dict[str, list[LayerSpec]] = {}
    for layer in spec.layers:
        sources = layer.inbound
        if not sources and layer.class_name != "InputLayer" and len(spec.inputs) == 1:
            sources = (spec.inputs[0].name,)  # a Sequential without an InputLayer: the first layer reads it
        for src in sources:
            out.setdefault(src, []).append(layer)
    return out


def _passes_values(layer: LayerSpec) -> bool:
    if layer.class_name in PASS_THROUGH:
        return True
    if layer.class_name in ("TFOpLambda", "SlicingOpLambda"):
        function = str(layer.config.get("function", "")).split(".")[-1]
        return function in PASS_THROUGH_OPS
    return False


def _reached(spec: ModelSpec, name: str, consumers: dict[str, list[LayerSpec]]) -> list[LayerSpec]:
    """The value-reading layers an input reaches through pass-through layers."""
    found, seen, todo = [], {name}, [name]
    while todo:
        for layer in consumers.get(todo.pop(), []):
            if layer.name in seen:
                continue
            seen.add(layer.name)
            if _passes_values(layer):
                todo.append(layer.name)
            elif layer.class_name in ID_LAYERS or layer.class_name in LOOKUPS or layer.class_name in SCALED:
                found.append(layer)
    return found


def _find_layer(model: Any, name: str) -> Any:
    if model is None:
        return None
    try:
        return model.get_layer(name)
    except (ValueError, KeyError, AttributeError):
        return None


def _vocabulary(layer: LayerSpec, model: Any) -> list[Any] | None:
    """The lookup's vocabulary without its OOV and mask tokens, or None when unknown."""
    live = _find_layer(model, layer.name)
    vocab = None
    if live is not None and callable(getattr(live, "get_vocabulary", None)):
        try:
            vocab = list(live.get_vocabulary(include_special_tokens=False))
        except Exception:  # an unadapted layer, or an older signature: fall back to the config
            vocab = None
    if vocab is None and isinstance(layer.config.get("vocabulary"), list):
        specials = {layer.config.get("oov_token"), layer.config.get("mask_token")}
        vocab = [v for v in layer.config["vocabulary"] if v not in specials]
    if vocab is None:
        return None
    vocab = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in vocab]
    vocab = [v for v in vocab if v != ""]
    if layer.class_name == "IntegerLookup":
        vocab = [int(v) for v in vocab]
    return vocab or None


def _statistics(layer: LayerSpec, model: Any) -> Domain:
    """Mean and standard deviation a Normalization was adapted to (live layer first, then config)."""
    live = _find_layer(model, layer.name)
    mean = getattr(live, "mean", None) if live is not None else None
    variance = getattr(live, "variance", None) if live is not None else None
    if mean is None or variance is None:
        mean, variance = layer.config.get("mean"), layer.config.get("variance")
    if mean is None or variance is None or layer.config.get("invert"):
        return Domain()
    try:
        mean = np.asarray(mean, dtype="float64").ravel()
        std = np.sqrt(np.maximum(np.asarray(variance, dtype="float64").ravel(), 0.0))
    except (TypeError, ValueError):
        return Domain()
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
        return Domain()
    return Domain(mean=tuple(float(m) for m in mean), std=tuple(float(s) if s > 0 else 1.0 for s in std))


def _domain_of(layer: LayerSpec, model: Any) -> Domain:
    if layer.class_name in SCALED:
        return _statistics(layer, model)
    if layer.class_name in ID_LAYERS:
        size = layer.config.get(ID_LAYERS[layer.class_name])
        return Domain(ids_below=int(size)) if size else Domain()
    if layer.class_name == "Hashing":
        return Domain(values=HASHED_STRINGS)
    if layer.config.get("invert"):  # an inverse lookup reads ids
        size = layer.config.get("vocabulary_size")
        return Domain(ids_below=int(size)) if size else Domain()
    vocab = _vocabulary(layer, model)
    if layer.class_name == "TextVectorization":
        return Domain(words=tuple(str(v) for v in vocab or DEFAULT_WORDS))
    if layer.class_name == "IntegerLookup":
        return Domain(values=tuple(vocab or (0, 1, 2)))
    return Domain(values=tuple(str(v) for v in vocab or DEFAULT_WORDS))


def input_domains(spec: ModelSpec, model: Any = None) -> dict[str, Domain]:
    """input name -> Domain, for every input whose values mean more than numbers."""
    consumers = _consumers(spec)
    out = {}
    for t in spec.inputs:
        reached = _reached(spec, t.name, consumers)
        if reached:
            domain = Domain()
            for layer in reached:
                domain = domain.merge(_domain_of(layer, model))
            out[t.name] = domain
    return out


def is_string(dtype: str) -> bool:
    return dtype in ("string", "str", "object") or dtype.startswith(("<U", "|S"))


def draw(domain: Domain | None, dtype: str, dims: Iterable[int], rng: np.random.Generator,
         unit: bool = False) -> np.ndarray:
    """Seeded values of ``domain`` in ``dtype`` (ids stay ids in a float-declared input).

    ``unit``: plain numbers uniform in [0, 1) instead of standard normal (the load check: a model
    taking a log or a square root of its input must not be refused for the dummy batch's NaN)."""
    dims = tuple(dims)
    if domain is not None and domain.words:
        lengths = rng.integers(*WORDS_PER_TEXT, size=dims)
        texts = [" ".join(rng.choice(domain.words, int(n))) for n in lengths.ravel()]
        return np.array(texts, dtype=str).reshape(dims)
    if domain is not None and domain.values is not None and \
            (is_string(dtype) or not any(isinstance(v, str) for v in domain.values)):  # Hashing takes numbers too
        picked = np.array(domain.values)[rng.integers(0, len(domain.values), size=dims)]
        return picked.astype(str) if is_string(dtype) else picked.astype(dtype)
    if is_string(dtype):
        return np.array(HASHED_STRINGS)[rng.integers(0, len(HASHED_STRINGS), size=dims)]
    try:
        kind = np.dtype(dtype).kind
    except TypeError:  # bfloat16 and other types numpy does not name
        dtype, kind = "float32", "f"
    if domain is not None and domain.ids_below is not None:
        return rng.integers(0, domain.ids_below, size=dims).astype(dtype)
    if kind in "iu":
        return rng.integers(0, 10, size=dims).astype(dtype)
    if kind == "b":
        return rng.random(dims) < 0.5
    values = rng.random(dims) if unit else rng.standard_normal(dims)
    if domain is not None and domain.mean is not None and len(domain.mean) in (1, dims[-1]):
        values = values * np.asarray(domain.std) + np.asarray(domain.mean)
    return values.astype(dtype)
