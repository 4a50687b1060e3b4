"""Layer emitters: walk the Keras layer graph and turn every layer into operations on the Network.

Weights come from the loaded model (``layer.get_weights()`` and attributes, Keras 3 and tf_keras);
the graph and configs come from the ModelSpec.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np

from modelport.convert.pmml import recipes, unrolled
from modelport.convert.pmml.graph import Affine, Network, Segment, combine, concat_last
from modelport.convert.pmml.rules import NOOP_LAYERS, activation_name
from modelport.convert.pmml.xmltext import esc, fmt
from modelport.errors import UnsupportedTargetError
from modelport.spec import LayerSpec, ModelSpec


@dataclass
class InputTensor:
    """A model input not yet read into NeuralInputs (an Embedding or Normalization may read it)."""

    fields: list[str]
    shape: tuple[int, ...]
    integer: bool


@dataclass
class Head:
    """How an output was produced, so classification heads can use their logits."""

    activation: str
    logits: Affine


class GraphWalker:
    def __init__(self, model: Any, spec: ModelSpec, net: Network, input_fields: dict[str, InputTensor],
                 outputs: list[str]):
        self.model, self.spec, self.net = model, spec, net
        self.by_name = {la.name: la for la in spec.layers}
        self.env: dict[str, Any] = {}
        self.heads: dict[str, Head] = {}
        self.masks: dict[str, list[Affine]] = {}  # Masking layer -> its per-step 0/1 mask neurons
        self.outputs = outputs
        self.keras_layers = {la.name: la for la in model.layers}
        self.input_fields = input_fields
        self.tf_keras = type(model).__module__.startswith("tf_keras")
        self._needed = self._ancestors(outputs)
        self._remaining: dict[str, int] = {}
        self._chain = 0

    # --- graph bookkeeping ------------------------------------------------------------------
    def _inbound(self, layer: LayerSpec) -> tuple[str, ...]:
        if layer.inbound or layer.class_name == "InputLayer":
            return layer.inbound
        return (next(iter(self.input_fields)),)  # first layer of a Sequential without InputLayer

    def _ancestors(self, names: list[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(names)
        while stack:
            name = stack.pop()
            if name in seen or name not in self.by_name:
                continue
            seen.add(name)
            stack.extend(self._inbound(self.by_name[name]))
        return seen

    def run(self) -> dict[str, Affine]:
        layers = [la for la in self.spec.layers if la.name in self._needed]
        for la in layers:
            for n in self._inbound(la):
                self._remaining[n] = self._remaining.get(n, 0) + 1
        for name, tensor in self.input_fields.items():
            if name not in self.by_name:  # implicit Sequential input
                self.env[name] = tensor
        for la in layers:
            args = [self.env[n] for n in self._inbound(la)]
            for n in self._inbound(la):
                self._remaining[n] -= 1
            self.env[la.name] = self.emit(la, args)
        return {name: self.value(self.env[name]) for name in self.outputs}

    def value(self, t: Any) -> Affine:
        """A tensor as an Affine, reading a raw model input into NeuralInputs on first use."""
        if isinstance(t, InputTensor):
            ids = [self.net.add_input(f'<FieldRef field="{esc(f)}"/>', (f,)) for f in t.fields]
            return Affine.select(ids, t.shape)
        return t

    def hatch(self, z: Affine, function: str) -> Affine:
        """Split the document (modelChain): export z and every live tensor, apply ``function``."""
        self._chain += 1
        # raw model inputs stay raw: every segment reads their DataFields (an Embedding needs the ids)
        live = [n for n, k in self._remaining.items()
                if (k > 0 or n in self.outputs) and n in self.env and not isinstance(self.env[n], InputTensor)]
        live_ids: dict[str, None] = {}
        for n in live:
            self.env[n] = self.value(self.env[n])
            live_ids.update(dict.fromkeys(self.env[n].ids))
        passthrough = Affine.select(list(live_ids))
        stacked = recipes._stack([z, passthrough]) if live_ids else z
        out = self.net.layer(stacked.reshape((stacked.units,)), "identity")
        names = [f"chain{self._chain}.{k + 1}" for k in range(out.units)]
        self.net.segment.exports = list(zip(out.ids, names, strict=False))
        self.net.segments.append(Segment())
        make = recipes.HATCH_FUNCTIONS[function]
        new_z = [self.net.add_input(make(esc(f)), (f,)) for f in names[: z.units]]
        mapping = {old: self.net.add_input(f'<FieldRef field="{esc(f)}"/>', (f,))
                   for old, f in zip(live_ids, names[z.units:], strict=False)}
        for n in live:
            self.env[n] = self.env[n].rename(mapping)
        return Affine.select(new_z, z.shape)

    # --- emitters ---------------------------------------------------------------------------
    def _activation(self, la: LayerSpec, z: Affine, name: str, params: dict | None = None) -> Affine:
        if name == "hard_sigmoid" or name in ("hard_silu", "hard_swish"):
            params = {"slope": 0.2 if self.tf_keras else 1.0 / 6.0}
        if name in ("softmax", "sigmoid") and la.name in self.outputs:
            self.heads[la.name] = Head(name, z)
        try:
            return recipes.apply(self.net, z, name, params, hatch=self.hatch)
        except KeyError:
            raise self._unsupported(la, f"activation '{name}' has no exact PMML form") from None

    def activate(self, z: Affine, name: str) -> Affine:
        """``name(z)`` inside a layer (a recurrent gate, a TimeDistributed Dense)."""
        params = {"slope": 0.2 if self.tf_keras else 1.0 / 6.0} if name in ("hard_sigmoid", "hard_silu", "hard_swish") else None
        return recipes.apply(self.net, z, name, params, hatch=self.hatch)

    def activate_layer(self, la: LayerSpec, z: Affine) -> Affine:
        return self._activation(la, z, activation_name(la.config.get("activation")))

    def _unsupported(self, la: LayerSpec, reason: str) -> UnsupportedTargetError:
        return UnsupportedTargetError(f"pmml cannot express layer '{la.name}' ({la.class_name}): {reason}",
                                      "run `modelport analyze` for every layer's verdict; use onnx or savedmodel")

    def emit(self, la: LayerSpec, args: list[Any]) -> Any:
        cls, cfg = la.class_name, la.config
        if cls == "InputLayer":
            return self.input_fields[la.name]
        if cls in NOOP_LAYERS:
            return args[0]
        if cls == "Embedding":
            return self._embedding(la, args[0])
        if cls in ("Normalization", "Rescaling") and isinstance(args[0], InputTensor):
            return self._input_transform(la, args[0])
        xs = [self.value(a) for a in args]
        x = xs[0] if xs else None
        klayer = self.keras_layers.get(la.name)
        if cls == "Dense":
            weights = klayer.get_weights()
            z = x.matmul_last(weights[0], weights[1] if len(weights) > 1 else None)
            return self._activation(la, z, activation_name(cfg.get("activation")))
        if cls == "Activation":
            return self._activation(la, x, activation_name(cfg.get("activation")))
        if cls == "Softmax":
            return self._activation(la, x, "softmax")
        if cls == "ReLU":
            params = {"max_value": cfg.get("max_value"), "negative_slope": float(cfg.get("negative_slope") or 0)}
            return self._activation(la, x, "relu_general", params)
        if cls == "LeakyReLU":
            alpha = cfg.get("negative_slope", cfg.get("alpha", 0.3))
            return self._activation(la, x, "leaky_relu", {"alpha": 0.3 if alpha is None else alpha})
        if cls == "PReLU":
            return self._activation(la, x, "leaky_relu", {"alpha": klayer.get_weights()[0]})
        if cls == "ELU":
            return self._activation(la, x, "elu", {"alpha": float(cfg.get("alpha", 1.0))})
        if cls == "BatchNormalization":
            return self._batchnorm(la, klayer, x)
        if cls == "Normalization":
            mean, sd = self._norm_stats(klayer, x.shape)
            return x.scale_shift(sd, mean) if cfg.get("invert") else x.scale_shift(1 / sd, -mean / sd)
        if cls == "Rescaling":
            return x.scale_shift(np.asarray(cfg.get("scale", 1.0)), np.asarray(cfg.get("offset", 0.0)))
        if cls == "Flatten":
            return x.reshape((x.units,))
        if cls == "Reshape":
            target = tuple(cfg["target_shape"])
            if -1 in target:
                known = prod(d for d in target if d != -1)
                target = tuple(x.units // known if d == -1 else d for d in target)
            return x.reshape(target)
        if cls in ("Add", "Subtract", "Average", "Maximum", "Minimum", "Multiply", "Concatenate"):
            return self._merge(la, xs)
        out = unrolled.emit(self, la, x)
        if out is not None:
            return out
        raise self._unsupported(la, "no PMML mapping for this layer class")

    def _merge(self, la: LayerSpec, xs: list[Affine]) -> Affine:
        cls = la.class_name
        if cls == "Concatenate":
            return concat_last(xs)
        if len({x.shape for x in xs}) != 1:
            raise self._unsupported(la, "broadcasting merges are not supported")
        if cls == "Add":
            return combine([(1.0, x) for x in xs])
        if cls == "Subtract":
            return combine([(1.0, xs[0]), (-1.0, xs[1])])
        if cls == "Average":
            return combine([(1.0 / len(xs), x) for x in xs])
        acc = xs[0]
        for x in xs[1:]:
            if cls == "Multiply":
                acc = recipes.product(self.net, acc, x)
            elif cls == "Maximum":  # max(a, b) = a + relu(b - a)
                acc = combine([(1, acc), (1, self.net.layer(combine([(1, x), (-1, acc)]), "rectifier"))])
            else:  # min(a, b) = a - relu(a - b)
                acc = combine([(1, acc), (-1, self.net.layer(combine([(1, acc), (-1, x)]), "rectifier"))])
        return acc

    def _batchnorm(self, la: LayerSpec, klayer: Any, x: Affine) -> Affine:
        cfg = la.config
        axis = cfg.get("axis", -1)
        axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
        if axis not in (-1, len(x.shape)):
            raise self._unsupported(la, "only normalisation over the last axis can be folded")
        weights = list(klayer.get_weights())
        gamma = weights.pop(0) if cfg.get("scale", True) else 1.0
        beta = weights.pop(0) if cfg.get("center", True) else 0.0
        mean, var = weights[0], weights[1]
        s = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + float(cfg.get("epsilon", 1e-3)))
        return x.scale_shift(s, np.asarray(beta, np.float64) - s * np.asarray(mean, np.float64))

    def _norm_stats(self, klayer: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        mean = np.asarray(klayer.mean, np.float64).reshape(-1)
        var = np.asarray(klayer.variance, np.float64).reshape(-1)
        if mean.size not in (1, shape[-1]):
            raise ValueError("Normalization over a non-last axis")
        sd = np.maximum(np.sqrt(var), 1e-7)
        return mean, sd

    def _input_transform(self, la: LayerSpec, t: InputTensor) -> Affine:
        """Normalization / Rescaling of a raw input as an ``Apply`` inside each NeuralInput."""
        klayer = self.keras_layers.get(la.name)
        n = len(t.fields)
        if la.class_name == "Normalization":
            mean, sd = self._norm_stats(klayer, t.shape)
            if la.config.get("invert"):
                mul, add = np.broadcast_to(sd, t.shape).ravel(), np.broadcast_to(mean, t.shape).ravel()
                exprs = [_apply("+", _apply("*", f, mul[i]), add[i]) for i, f in enumerate(t.fields)]
            else:
                mean = np.broadcast_to(mean, t.shape).ravel()
                sd = np.broadcast_to(sd, t.shape).ravel()
                exprs = [_apply("/", _apply("-", f, mean[i]), sd[i]) for i, f in enumerate(t.fields)]
        else:
            scale = np.broadcast_to(np.asarray(la.config.get("scale", 1.0), np.float64), t.shape).ravel()
            offset = np.broadcast_to(np.asarray(la.config.get("offset", 0.0), np.float64), t.shape).ravel()
            exprs = [_apply("+", _apply("*", f, scale[i]), offset[i]) for i, f in enumerate(t.fields)]
        ids = [self.net.add_input(e, (f,)) for e, f in zip(exprs, t.fields, strict=False)]
        assert len(ids) == n
        return Affine.select(ids, t.shape)

    def _embedding(self, la: LayerSpec, t: Any) -> Affine:
        if not isinstance(t, InputTensor):
            raise self._unsupported(la, "an Embedding must read an integer model input directly")
        table = np.asarray(self.keras_layers[la.name].get_weights()[0], np.float64)
        vocab, dim = table.shape
        cells = fmt(table)
        ids = []
        for f in t.fields:
            for k in range(dim):
                rows = "".join(f"<row><in>{v}</in><out>{cells[v, k]}</out></row>" for v in range(vocab))
                expr = (f'<MapValues outputColumn="out" dataType="double"><FieldColumnPair field="{esc(f)}" '
                        f'column="in"/><InlineTable>{rows}</InlineTable></MapValues>')
                ids.append(self.net.add_input(expr, (f,)))
        return Affine.select(ids, (*t.shape, dim))


def _apply(function: str, inner: str, constant: float) -> str:
    """``Apply(function, inner, constant)``; ``inner`` is a field name or an XML expression."""
    operand = inner if inner.startswith("<") else f'<FieldRef field="{esc(inner)}"/>'
    return f'<Apply function="{function}">{operand}<Constant dataType="double">{fmt(constant)}</Constant></Apply>'
