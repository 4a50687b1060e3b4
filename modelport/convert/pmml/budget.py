"""The PMML size budget: what an unrolled network will cost, estimated from the config alone
(shapes and layer options, no weights, no TensorFlow) BEFORE anything is built.

The walk mirrors the emitters (``layers``, ``spatial``, ``recurrent``, ``recipes``): every tensor
is tracked as (shape, fan), where ``fan`` is how many upstream ids one unit reads while it stays
lazy (a linear layer folds into the next one), and every NeuralLayer the emitters would write adds
its neurons and Cons. Document bytes follow from the counts (a Con is ``<Con from="id"
weight="w"/>``); JPMML scoring time from the measured cost per Con and per neuron
(benchmarks/bench_pmml_unrolled.py). Estimates land within 20% of what is then written
(tests/test_pmml_unrolled.py checks this on every case of fixtures/pmml_cases.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from math import log10, prod
from typing import Any

from modelport.spec import LayerSpec, ModelSpec
from modelport.units import human_size

# Default budget: 128 MB. Measured (docs/pmml.md, "The size budget"): JPMML holds ~3 bytes of heap
# per document byte and loads ~5 MB/s, so a 128 MB document needs ~400 MB of heap, loads in ~30 s,
# and scores ~20-60 ms per row: the most a JVM service can reasonably carry. Above it, ONNX Runtime
# is the better artifact (the benchmark prints the price).
DEFAULT_MAX_BYTES = 128 * 1024 * 1024
# JPMML scoring cost, an order of magnitude only: ~15-25 ns per Con on an idle 2-vCPU machine (the
# research note's 784-512-512-10 MLP), and unrolled networks pay more per neuron (many small layers):
# bench_pmml_unrolled.py measured 55-110 ms/row for its CNN/LSTM/GRU on a heavily loaded machine.
NS_PER_CON = 40.0
NS_PER_NEURON = 1000.0
BYTES_WEIGHT = 11.0  # a float32 weight's shortest string, e.g. "-0.12345678"
BYTES_STRUCTURAL = 4.0  # the +-1, 0.25, 0.5 weights of the recipes' plumbing
BYTES_COMPOSED = 19.0  # a float64 product of weights (a linear layer folded into the next one)
BYTES = {"weights": BYTES_WEIGHT, "struct": BYTES_STRUCTURAL, "composed": BYTES_COMPOSED}
SIMPLE = {"relu", "sigmoid", "tanh", "softsign", "exponential", "softmax"}
TWO_PIECE = {"leaky_relu", "relu6", "hard_sigmoid", "relu_general"}


class UnknownShape(ValueError):
    """The estimate needs a shape the config does not fix (a dynamic time axis)."""


@dataclass
class Estimate:
    neurons: int = 0
    connections: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)  # Cons per weight kind (see BYTES)
    layers: int = 0
    inputs: int = 0
    per_layer: dict[str, int] = field(default_factory=dict)  # Keras layer -> estimated bytes
    max_units: int = 1

    @property
    def bytes(self) -> int:
        id_len = len(str(max(self.layers, 1))) + 1 + max(1.0, log10(max(self.max_units, 1)) + 0.6)
        con = 24 + id_len
        body = (sum(n * (con + BYTES[k]) for k, n in self.by_kind.items())
                + self.neurons * (34 + id_len) + self.layers * 60 + self.inputs * 330)
        return int(body + 2500)

    @property
    def jpmml_ms_per_row(self) -> float:
        return (self.connections * NS_PER_CON + self.neurons * NS_PER_NEURON) / 1e6

    def to_dict(self) -> dict[str, Any]:
        return {"neurons": self.neurons, "connections": self.connections, "layers": self.layers,
                "document_bytes": self.bytes, "jpmml_ms_per_row": round(self.jpmml_ms_per_row, 3)}

    def text(self) -> str:
        return (f"~{self.neurons:,} neurons, ~{self.connections:,} connections, ~{human_size(self.bytes)} of PMML, "
                f"~{per_row(self.jpmml_ms_per_row)} in JPMML")


def per_row(ms: float) -> str:
    return f"{ms / 1000:.1f} s/row" if ms >= 1000 else f"{ms:.2g} ms/row"


@dataclass
class T:
    """A tensor in the estimate: its per-example shape and how many ids a unit reads (lazy)."""

    shape: tuple[int, ...]
    fan: float = 1.0
    kind: str = "struct"  # the weights a lazy unit carries: struct (+-1, 0.25), weights, composed
    src: int = 0  # distinct upstream ids (caps the fan of a folded linear layer); 0 = no cap
    origin: str = ""  # the Keras layer whose weights a lazy unit carries (it pays for its Cons)

    def __post_init__(self) -> None:
        if self.src:
            self.fan = min(self.fan, self.src)

    @property
    def units(self) -> int:
        return prod(self.shape)


class Walker:
    def __init__(self, est: Estimate, tf_keras: bool):
        self.est = est
        self.tf_keras = tf_keras
        self.current = ""
        self.masking: set[str] = set()  # Masking layers: their recurrent readers gate every step

    # --- primitives: each mirrors one Network call ----------------------------------------------
    def layer(self, units: int, fan: float, kind: str = "struct", origin: str = "") -> None:
        cons = int(round(units * max(fan, 1.0)))
        self.est.neurons += units
        self.est.connections += cons
        self.est.by_kind[kind] = self.est.by_kind.get(kind, 0) + cons
        self.est.layers += 1
        self.est.max_units = max(self.est.max_units, units)
        owner = origin or self.current
        self.est.per_layer[owner] = self.est.per_layer.get(owner, 0) + cons

    def ids_of(self, t: T) -> T:
        if t.fan > 1.0 or t.kind != "struct":
            self.layer(t.units, t.fan, t.kind, t.origin)
        return T(t.shape, 1.0, src=t.units)

    def product(self, a: T, b: T) -> T:
        self.layer(2 * a.units, a.fan + b.fan)
        return T(a.shape, 2.0)

    def activation(self, t: T, name: str | None) -> T:
        if name in (None, "linear"):
            return t
        if name in SIMPLE:
            self.layer(t.units, t.fan, t.kind, t.origin)
            return T(t.shape, 1.0, src=t.units)
        if name in TWO_PIECE:
            t = self.ids_of(t)
            self.layer(2 * t.units, 1.0)
            return T(t.shape, 2.0)
        if name in ("elu", "selu"):
            t = self.ids_of(t)
            self.layer(2 * t.units, 1.0)
            self.layer(t.units, 1.0)
            return T(t.shape, 2.0)
        if name in ("silu", "swish", "hard_silu", "hard_swish"):
            t = self.ids_of(t)
            s = self.activation(t, "sigmoid" if name in ("silu", "swish") else "hard_sigmoid")
            return self.product(t, s)
        # gelu / mish / softplus: a few layers of the same width
        t = self.ids_of(t)
        for _ in range(4):
            self.layer(t.units, 2.0)
        return T(t.shape, 2.0)

    def linear(self, x: T, fan_out: float, shape: tuple[int, ...], exact: bool = True, fold: bool = False) -> T:
        """A linear layer reading ``fan_out`` units of x per output unit; ``fold``: always composed
        (a Dense), else Network.linear's choice. ``exact``: its own weights are float32 values."""
        units = prod(shape)
        lazy = x.fan > 1.0 or x.kind != "struct"
        if lazy and not fold and x.units * x.fan + units * fan_out < units * fan_out * x.fan:
            x = self.ids_of(x)
            lazy = False
        kind = "composed" if (lazy and x.kind != "struct") or not exact else "weights"
        return T(shape, fan_out * x.fan, kind, x.src or x.units, self.current)

    # --- layers ----------------------------------------------------------------------------------
    def emit(self, la: LayerSpec, xs: list[T]) -> T:
        from modelport.convert.pmml import unrolled_rules as U
        from modelport.convert.pmml.rules import activation_name

        cls, cfg = la.class_name, la.config
        x = xs[0] if xs else None
        act = activation_name(cfg.get("activation"))
        if cls == "Dense":
            return self.activation(self.dense(x, int(cfg["units"])), act)
        if cls in ("Activation",):
            return self.activation(x, act)
        if cls == "Softmax":
            return self.activation(x, "softmax")
        if cls in ("ReLU", "LeakyReLU", "PReLU", "ELU"):
            return self.activation(x, {"ReLU": "relu", "ELU": "elu"}.get(cls, "leaky_relu")
                                   if not (cls == "ReLU" and cfg.get("max_value") is not None) else "relu6")
        if cls == "Flatten":
            return replace(x, shape=(x.units,))
        if cls == "Reshape":
            target = list(cfg["target_shape"])
            if -1 in target:
                known = prod(d for d in target if d != -1)
                target = [x.units // known if d == -1 else d for d in target]
            return replace(x, shape=tuple(target))
        if cls in ("Add", "Subtract", "Average"):
            return T(x.shape, sum(t.fan for t in xs), _kind(xs), sum(t.src for t in xs))
        if cls == "Concatenate":
            return T((*x.shape[:-1], sum(t.shape[-1] for t in xs)), max(t.fan for t in xs), _kind(xs),
                     sum(t.src for t in xs))
        if cls in ("Maximum", "Minimum", "Multiply"):
            acc = x
            for t in xs[1:]:
                if cls == "Multiply":
                    acc = self.product(acc, t)
                else:
                    self.layer(acc.units, acc.fan + t.fan)
                    acc = T(acc.shape, acc.fan + 1)
            return acc
        if cls == "Embedding":
            dim = int(cfg.get("output_dim", 1))
            self.est.inputs += x.units * dim
            return T((*x.shape, dim), 1.0)
        if cls in U.CONV | U.DEPTHWISE | U.SEPARABLE:
            return self.conv(cls, cfg, x, act)
        if cls in U.MAX_POOL | U.AVG_POOL:
            return self.pool(cls, cfg, x)
        if cls in U.GLOBAL_POOL:
            C = x.shape[-1]
            P = x.units // C
            shape = (*(1,) * (len(x.shape) - 1), C) if cfg.get("keepdims") else (C,)
            if U.GLOBAL_POOL[cls] == "avg":
                return self.linear(x, P, shape, exact=_power_of_two(P))
            return self.max_tree(self.ids_of(x), P, shape)
        if cls == "Masking":
            steps, d = x.shape
            self.layer(steps * d, 1.0)  # (x - v)^2
            self.layer(steps, d)  # threshold(sum)
            self.masking.add(la.name)
            return x
        masked = bool(la.inbound) and la.inbound[0] in self.masking
        if cls in U.RNN:
            return self.rnn(cls, cfg, x, masked)
        if cls == "Bidirectional":
            inner_cls, inner = cfg["layer"]["class_name"], cfg["layer"]["config"]
            f = self.rnn(inner_cls, inner, x, masked)
            b = self.rnn(inner_cls, inner, x, masked)
            mode = cfg.get("merge_mode", "concat")
            if mode == "concat":
                return T((*f.shape[:-1], 2 * f.shape[-1]), 1.0)
            if mode == "mul":
                return self.product(f, b)
            return T(f.shape, 2.0)
        if cls == "TimeDistributed":
            inner = cfg["layer"]["config"]
            return self.activation(self.dense(x, int(inner["units"])), activation_name(inner.get("activation")))
        if cls == "RepeatVector":
            return replace(x, shape=(int(cfg["n"]), x.units))
        if cls == "Sequential":
            value = x
            for raw in cfg.get("layers", []):
                inner = LayerSpec(str(raw.get("config", {}).get("name")), str(raw.get("class_name")), raw.get("config", {}))
                if inner.class_name != "InputLayer":
                    value = self.emit(inner, [value])
            return value
        return x  # no-op layers, BatchNormalization, Normalization, Rescaling: no Neuron of their own

    def dense(self, x: T, units: int) -> T:
        return self.linear(x, x.shape[-1], (*x.shape[:-1], units), fold=True)

    def conv(self, cls: str, cfg: dict[str, Any], x: T, act: str | None) -> T:
        from modelport.convert.pmml import unrolled_rules as U
        from modelport.convert.pmml import windows as spatial

        n = len(x.shape) - 1
        cin = x.shape[-1]
        kernel = spatial._tuple(cfg.get("kernel_size", 1), n)
        padding = str(cfg.get("padding", "valid")).lower()
        out_sp, taps = _taps(x.shape[:-1], kernel, spatial._tuple(cfg.get("strides", 1), n),
                             spatial._tuple(cfg.get("dilation_rate", 1), n), padding)
        if cls in U.CONV:
            out = self.linear(x, taps * cin, (*out_sp, int(cfg["filters"])))
        else:
            mult = int(cfg.get("depth_multiplier", 1))
            dw = self.linear(x, taps, (*out_sp, cin * mult))
            if cls in U.SEPARABLE:
                out = self.linear(dw, cin * mult, (*out_sp, int(cfg["filters"])))
            else:
                out = dw
        return self.activation(out, act)

    def pool(self, cls: str, cfg: dict[str, Any], x: T) -> T:
        from modelport.convert.pmml import unrolled_rules as U
        from modelport.convert.pmml import windows as spatial

        n = len(x.shape) - 1
        pool = spatial._tuple(cfg.get("pool_size", 2), n)
        strides = spatial._tuple(cfg.get("strides") or pool, n)
        padding = str(cfg.get("padding", "valid")).lower()
        out_sp, taps = _taps(x.shape[:-1], pool, strides, (1,) * n, padding)
        shape = (*out_sp, x.shape[-1])
        if cls in U.AVG_POOL:
            return self.linear(x, taps, shape, exact=_power_of_two(prod(pool)))
        return self.max_tree(self.ids_of(x), prod(pool), shape)

    def max_tree(self, x: T, slots: int, shape: tuple[int, ...]) -> T:
        units = prod(shape)
        fans = [1.0] * slots
        while len(fans) > 1:
            pairs = [(fans[k], fans[k + 1]) for k in range(0, len(fans) - 1, 2)]
            rest = fans[-1:] if len(fans) % 2 else []
            self.layer(units * len(pairs), sum(a + b for a, b in pairs) / len(pairs))
            fans = [a + 1 for a, _ in pairs] + rest
        return self.ids_of(T(shape, fans[0]))

    def _repeat_last_step(self, before: tuple, times: int) -> None:
        est = self.est
        neurons, cons, layers, by_kind, per_layer = before
        est.neurons += times * (est.neurons - neurons)
        est.connections += times * (est.connections - cons)
        est.layers += times * (est.layers - layers)
        for k, n in list(est.by_kind.items()):
            est.by_kind[k] = n + times * (n - by_kind.get(k, 0))
        for k, n in list(est.per_layer.items()):
            est.per_layer[k] = n + times * (n - per_layer.get(k, 0))

    def gate(self, u: int, states: int, first: bool, fan: float) -> None:
        """A masked step keeps its state: prev + m * (new - prev) per state (recurrent._gate)."""
        self.layer(2 * u * states, 1 + (fan if first else fan + 1))
        self.layer(u * states, 2 if first else 3)

    def rnn(self, cls: str, cfg: dict[str, Any], x: T, masked: bool = False) -> T:
        from modelport.convert.pmml.rules import activation_name

        steps, d = x.shape
        u = int(cfg["units"])
        act = activation_name(cfg.get("activation", "tanh"))
        rec = activation_name(cfg.get("recurrent_activation", "sigmoid"))
        fx = x.fan * d
        h = None
        hs = []
        for t in range(min(steps, 2)):  # every step after the first costs the same: count it once
            if t == 1 and steps > 2:
                before = (self.est.neurons, self.est.connections, self.est.layers, dict(self.est.by_kind),
                          dict(self.est.per_layer))
            first = t == 0
            if cls == "LSTM":
                gates = self.activation(T((3 * u,), fx + (0 if first else u)), rec)
                g = self.activation(T((u,), fx + (0 if first else u)), act)
                if first:
                    c = self.product(T((u,), gates.fan), g)
                else:
                    self.layer(4 * u, ((gates.fan + 1) + (gates.fan + g.fan)) / 2)
                    c = T((u,), 4.0)
                c = self.ids_of(c)
                a = self.activation(c, act)
                if a.fan > 2:
                    a = self.ids_of(a)
                h = self.ids_of(self.product(T((u,), gates.fan), a))
                if masked:
                    self.gate(u, 2, first, 1.0)
            elif cls == "GRU":
                rec_fan = 0 if first else u
                gates = self.activation(T((2 * u,), fx + rec_fan), rec)
                if cfg.get("reset_after", False):
                    if first:
                        reset = T((u,), gates.fan)
                    else:
                        rh = self.ids_of(T((u,), u))
                        reset = self.product(T((u,), gates.fan), rh)
                    hh = self.activation(T((u,), fx + reset.fan), act)
                else:
                    if first:
                        hh = self.activation(T((u,), fx), act)
                    else:
                        rh = self.ids_of(self.product(T((u,), gates.fan), T((u,), 1.0)))
                        hh = self.activation(T((u,), fx + u * rh.fan), act)
                hh = self.ids_of(hh)
                zd = self.product(T((u,), gates.fan), T((u,), 1.0 if first else 2.0))
                h = self.ids_of(T((u,), hh.fan + zd.fan))
                if masked:
                    self.gate(u, 1, first, 1.0)
            else:
                h = self.activation(T((u,), fx + (0 if first else u)), act)
                h = self.ids_of(h)
                if masked:
                    self.gate(u, 1, first, 1.0)
            hs.append(h)
        if steps > 2:
            self._repeat_last_step(before, steps - 2)
        if cfg.get("return_sequences"):
            return T((steps, u), 1.0)
        return h


def _taps(spatial_shape: tuple[int, ...], kernel, strides, dilation, padding: str) -> tuple[tuple[int, ...], float]:
    """(output spatial shape, kernel positions inside the input per output position): exact from the
    windows when they are few, else from the geometry alone (a huge hostile config stays cheap)."""
    from modelport.convert.pmml import windows

    sizes = [windows.geometry(n, k, st, d, padding) for n, k, st, d in zip(spatial_shape, kernel, strides, dilation,
                                                                          strict=True)]
    out = tuple(o for o, _ in sizes)
    if prod(out) * prod(kernel) > 2_000_000:
        return out, float(min(prod(kernel), prod(spatial_shape)))
    out, o, _, _ = windows.windows(spatial_shape, kernel, strides, dilation, padding)
    return out, len(o) / max(prod(out), 1)


def _kind(xs: list[T]) -> str:
    kinds = {t.kind for t in xs}
    return "composed" if "composed" in kinds else ("weights" if "weights" in kinds else "struct")


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def fixed_shape(shape: tuple, sequence_length: int | None, name: str) -> tuple[int, ...]:
    """The per-example shape with a dynamic time axis fixed by ``sequence_length``."""
    dims = list(shape[1:])
    if len(dims) >= 2 and dims[0] is None and sequence_length:
        dims[0] = int(sequence_length)
    if any(d is None for d in dims):
        raise UnknownShape(f"input '{name}' has a dynamic dimension {list(shape)}")
    if not all(isinstance(d, int) and d >= 0 for d in dims):
        raise ValueError(f"input '{name}' has an unreadable shape {list(shape)}")
    return tuple(dims)


def estimate(spec: ModelSpec, sequence_length: int | None = None) -> Estimate:
    """The cost of the whole PMML document, or UnknownShape when a dimension is dynamic."""
    est = Estimate()
    w = Walker(est, spec.loader == "tf_keras")
    env: dict[str, T] = {}
    for t in spec.inputs:
        shape = fixed_shape(t.shape, sequence_length, t.name)
        env[t.name] = T(shape or (1,), 1.0)
        est.inputs += prod(shape or (1,))
    first_input = spec.inputs[0].name if spec.inputs else None
    for la in spec.layers:
        if la.class_name == "InputLayer":
            continue
        inbound = la.inbound or ((first_input,) if first_input else ())
        xs = [env[n] for n in inbound if n in env]
        w.current = la.name
        try:
            env[la.name] = w.emit(la, xs)
        except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError, AttributeError, OverflowError):
            env[la.name] = xs[0] if xs else T((1,))  # a layer the analyser rejects anyway
    w.current = "(outputs)"
    for t in spec.outputs:
        out = env.get(t.name)
        if out is not None and out.fan > 1:
            w.ids_of(out)
        if out is not None and out.units == 1:
            w.layer(2, 1.0)  # a binary head's two logistic neurons
    est.inputs += 0
    return est


def parse_size(text: str | int | None) -> int | None:
    """'128MB', '1.5GB', '500k' or a byte count -> bytes."""
    if text is None or isinstance(text, int):
        return text
    t = str(text).strip().upper().removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    number = t[:-1] if scale > 1 else t
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not value * scale >= 1:  # also NaN
        from modelport.errors import BadInputError

        raise BadInputError(f"--pmml-max-size {text!r} is not a size", "write it like 128MB, 1GB or 500000")
    return int(value * scale)


def _dynamic(findings: list, problem: Exception) -> tuple[list, None]:
    """Every unrolled layer needs a fixed length: unsupported, with the --sequence-length hint."""
    from dataclasses import replace as dc_replace

    from modelport.convert.base import UNSUPPORTED
    from modelport.convert.pmml import unrolled_rules

    if any(not f.ok and "fixed input shape" in (f.reason or "") for f in findings):
        return findings, None  # the dynamic input itself is named (rules.check_inputs): one finding, not one per layer
    unrolled = [f for f in findings if f.class_name in unrolled_rules.CLASSES and f.ok]
    out = [dc_replace(f, verdict=UNSUPPORTED, rule=None,
                      reason=f"{f.class_name}: unrolling needs a fixed length ({problem})",
                      hint="pass --sequence-length N (the number of time steps), or use onnx or savedmodel")
           if f in unrolled else f for f in findings]
    return out, None  # without unrolled layers the converter refuses dynamic shapes with its own message


def judge(spec: ModelSpec, findings: list, sequence_length: int | None, max_bytes: int | None):
    """The analyser's budget step: (findings, estimate dict or None). Runs before anything is built."""
    from dataclasses import replace as dc_replace

    from modelport.convert.base import UNSUPPORTED

    limit = max_bytes or DEFAULT_MAX_BYTES
    try:
        est = estimate(spec, sequence_length)
    except (TypeError, ValueError, KeyError, IndexError, OverflowError, AttributeError, RecursionError) as e:
        if not isinstance(e, UnknownShape):
            return findings, None  # a config the estimate cannot read: the converter refuses it later
        return _dynamic(findings, e)
    summary = {**est.to_dict(), "max_bytes": limit, "within_budget": est.bytes <= limit}
    if est.bytes <= limit or not est.per_layer:
        return findings, summary
    name = max(est.per_layer, key=est.per_layer.get)
    suggest = -(-est.bytes * 1.25 // (1 << 20))
    out = []
    for f in findings:
        if f.layer == name and f.ok:
            f = dc_replace(f, verdict=UNSUPPORTED, rule=None,
                           reason=(f"{f.class_name}: unrolled, the model needs {est.text()} — over the PMML budget "
                                   f"of {human_size(limit)} (this layer: ~{est.per_layer[name]:,} connections)"),
                           hint=f"raise the budget with --pmml-max-size {suggest:.0f}MB, or use onnx")
        out.append(f)
    return out, summary
