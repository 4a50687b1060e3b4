"""Hand-built PMML 4.4 NeuralNetwork documents plus the float64 NumPy forward pass of the same network.

Used by the PMML runtime tests (independent of the Keras->PMML converter, so a converter bug cannot
hide a runtime bug or the other way round). Weights are written with ``repr`` so the engines see the
exact doubles NumPy uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NS = "http://www.dmg.org/PMML-4_4"
ACT = {"relu": "rectifier", "tanh": "tanh", "linear": "identity", "sigmoid": "logistic"}


@dataclass
class Net:
    """A small dense network: x (n_in doubles) [+ an integer ``cat`` via an embedding table]."""

    kind: str  # "softmax" | "sigmoid" | "regression"
    n_in: int = 4
    hidden: tuple[int, ...] = (5, 3)
    hidden_act: tuple[str, ...] = ("relu", "tanh")
    n_out: int = 3
    embedding: np.ndarray | None = None  # (vocab, dim) table for the integer input "cat"
    seed: int = 0
    weights: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def __post_init__(self):
        rng = np.random.default_rng(self.seed)
        sizes = [self.n_in + (0 if self.embedding is None else self.embedding.shape[1]), *self.hidden, self.n_out]
        self.weights = [
            (rng.normal(size=(a, b)), rng.normal(size=b) * 0.5) for a, b in zip(sizes, sizes[1:], strict=False)
        ]

    # -- reference -------------------------------------------------------------------------------
    def forward(self, x: np.ndarray, cat: np.ndarray | None = None) -> np.ndarray:
        h = np.asarray(x, dtype=np.float64)
        if self.embedding is not None:
            h = np.concatenate([h, self.embedding[np.asarray(cat).reshape(-1)]], axis=1)
        for (w, b), act in zip(self.weights[:-1], self.hidden_act, strict=False):
            z = h @ w + b
            h = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh, "linear": lambda v: v}[act](z)
        w, b = self.weights[-1]
        z = h @ w + b
        if self.kind == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        if self.kind == "sigmoid":
            return 1.0 / (1.0 + np.exp(-z))
        return z

    # -- layout the converter would record -------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        return ["0", "1"] if self.kind == "sigmoid" else [f"c{j}" for j in range(self.n_out)]

    def output_fields(self) -> list[str]:
        if self.kind == "sigmoid":
            return ["p_1"]
        if self.kind == "softmax":
            return [f"p_{label}" for label in self.labels]
        return [f"out_{j}" for j in range(self.n_out)]

    def details(self, file: str = "") -> dict:
        inputs = {"x": {"fields": [f"x{i}" for i in range(self.n_in)], "dtype": "double"}}
        if self.embedding is not None:
            inputs["cat"] = {"fields": ["cat"], "dtype": "integer"}
        kind = "regression" if self.kind == "regression" else "classification"
        out = {"kind": kind, "document": 0, "shape": [None, len(self.output_fields())], "fields": self.output_fields()}
        if kind == "classification":
            out["labels"] = self.labels
        return {"documents": [{"file": file, "outputs": ["y"]}], "inputs": inputs, "outputs": {"y": out}}

    # -- PMML ------------------------------------------------------------------------------------
    def pmml(self, verification: tuple[np.ndarray, np.ndarray | None, np.ndarray] | None = None) -> str:
        fn = "regression" if self.kind == "regression" else "classification"
        targets = [f"y{j}" for j in range(self.n_out)] if fn == "regression" else ["y"]
        dd = [f'<DataField name="x{i}" optype="continuous" dataType="double"/>' for i in range(self.n_in)]
        if self.embedding is not None:
            values = "".join(f'<Value value="{v}"/>' for v in range(self.embedding.shape[0]))
            dd.append(f'<DataField name="cat" optype="categorical" dataType="integer">{values}</DataField>')
        if fn == "classification":
            values = "".join(f'<Value value="{c}"/>' for c in self.labels)
            dd.append(f'<DataField name="y" optype="categorical" dataType="string">{values}</DataField>')
        else:
            dd += [f'<DataField name="{t}" optype="continuous" dataType="double"/>' for t in targets]
        mining = [f'<MiningField name="{t}" usageType="target"/>' for t in targets]
        mining += [f'<MiningField name="x{i}"/>' for i in range(self.n_in)]
        if self.embedding is not None:
            mining.append('<MiningField name="cat"/>')
        if fn == "classification":
            outs = [
                f'<OutputField name="p_{c}" optype="continuous" dataType="double" feature="probability" value="{c}"/>'
                for c in self.labels
            ]
        else:
            outs = [
                f'<OutputField name="out_{j}" optype="continuous" dataType="double" feature="predictedValue" '
                f'targetField="{t}"/>'
                for j, t in enumerate(targets)
            ]
        inputs = [
            f'<NeuralInput id="in{i}"><DerivedField optype="continuous" dataType="double">'
            f'<FieldRef field="x{i}"/></DerivedField></NeuralInput>'
            for i in range(self.n_in)
        ]
        ids = [f"in{i}" for i in range(self.n_in)]
        if self.embedding is not None:
            for k in range(self.embedding.shape[1]):
                rows = "".join(
                    f"<row><k>{v}</k><e>{float(self.embedding[v, k])!r}</e></row>"
                    for v in range(self.embedding.shape[0])
                )
                inputs.append(
                    f'<NeuralInput id="emb{k}"><DerivedField optype="continuous" dataType="double">'
                    f'<MapValues outputColumn="e" dataType="double"><FieldColumnPair field="cat" column="k"/>'
                    f"<InlineTable>{rows}</InlineTable></MapValues></DerivedField></NeuralInput>"
                )
                ids.append(f"emb{k}")
        layers = []
        for li, ((w, b), act) in enumerate(zip(self.weights[:-1], self.hidden_act, strict=False)):
            layers.append(self._layer(w, b, ids, f"h{li}_", f'activationFunction="{ACT[act]}"'))
            ids = [f"h{li}_{j}" for j in range(w.shape[1])]
        w, b = self.weights[-1]
        if self.kind == "softmax":
            layers.append(self._layer(w, b, ids, "o", 'activationFunction="identity" normalizationMethod="softmax"'))
            out_ids = [f"o{j}" for j in range(self.n_out)]
        elif self.kind == "sigmoid":  # one logistic layer, neurons (-W,-b) and (W,b): P(0), P(1)
            both_w, both_b = np.concatenate([-w, w], axis=1), np.concatenate([-b, b])
            layers.append(self._layer(both_w, both_b, ids, "o", 'activationFunction="logistic"'))
            out_ids = ["o0", "o1"]
        else:
            layers.append(self._layer(w, b, ids, "o", 'activationFunction="identity"'))
            out_ids = [f"o{j}" for j in range(self.n_out)]
        if fn == "classification":
            neural_outputs = [
                f'<NeuralOutput outputNeuron="{o}"><DerivedField optype="categorical" dataType="string">'
                f'<NormDiscrete field="y" value="{c}"/></DerivedField></NeuralOutput>'
                for o, c in zip(out_ids, self.labels, strict=False)
            ]
        else:
            neural_outputs = [
                f'<NeuralOutput outputNeuron="{o}"><DerivedField optype="continuous" dataType="double">'
                f'<FieldRef field="{t}"/></DerivedField></NeuralOutput>'
                for o, t in zip(out_ids, targets, strict=False)
            ]
        verify = "" if verification is None else self._verification(*verification)
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<PMML xmlns="{NS}" version="4.4">\n<Header/>\n'
            f"<DataDictionary>{''.join(dd)}</DataDictionary>\n"
            f'<NeuralNetwork functionName="{fn}" activationFunction="identity">\n'
            f"<MiningSchema>{''.join(mining)}</MiningSchema>\n<Output>{''.join(outs)}</Output>\n"
            f"<NeuralInputs>{''.join(inputs)}</NeuralInputs>\n"
            + "\n".join(layers)
            + f"\n<NeuralOutputs>{''.join(neural_outputs)}</NeuralOutputs>\n{verify}</NeuralNetwork>\n</PMML>\n"
        )

    @staticmethod
    def _layer(w, b, from_ids, prefix, attrs) -> str:
        neurons = []
        for j in range(w.shape[1]):
            cons = "".join(f'<Con from="{f}" weight="{float(w[i, j])!r}"/>' for i, f in enumerate(from_ids))
            neurons.append(f'<Neuron id="{prefix}{j}" bias="{float(b[j])!r}">{cons}</Neuron>')
        return f"<NeuralLayer {attrs}>{''.join(neurons)}</NeuralLayer>"

    def _verification(self, x, cat, expected) -> str:
        fields = [f"x{i}" for i in range(self.n_in)] + (["cat"] if self.embedding is not None else [])
        outs = self.output_fields()
        vf = "".join(f'<VerificationField field="{f}" column="{f}"/>' for f in fields)
        vf += "".join(f'<VerificationField field="{f}" column="{f}" precision="1E-9"/>' for f in outs)
        rows = []
        for r in range(x.shape[0]):
            cells = [f"<x{i}>{float(x[r, i])!r}</x{i}>" for i in range(self.n_in)]
            if self.embedding is not None:
                cells.append(f"<cat>{int(cat[r])}</cat>")
            cells += [f"<{f}>{float(expected[r, j])!r}</{f}>" for j, f in enumerate(outs)]
            rows.append(f"<row>{''.join(cells)}</row>")
        return (
            f'<ModelVerification recordCount="{x.shape[0]}" fieldCount="{len(fields) + len(outs)}">'
            f"<VerificationFields>{vf}</VerificationFields><InlineTable>{''.join(rows)}</InlineTable>"
            "</ModelVerification>\n"
        )


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
