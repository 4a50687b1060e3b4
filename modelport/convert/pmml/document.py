"""Assemble PMML documents for a loaded Keras model: heads, targets, verification block, details."""

from __future__ import annotations

from typing import Any

import numpy as np

from modelport.convert.base import ExportOptions
from modelport.convert.pmml import writer
from modelport.convert.pmml.fields import VERIFY_ROWS, VERIFY_SEED, input_field_names
from modelport.convert.pmml.graph import Affine, Network
from modelport.convert.pmml.layers import GraphWalker, InputTensor
from modelport.convert.pmml.recipes import _stack
from modelport.convert.pmml.rules import activation_name
from modelport.errors import BadInputError
from modelport.spec import ModelSpec

CLASSIFICATION, REGRESSION = "classification", "regression"


def head_kind(spec: ModelSpec, output: str, units: int) -> str:
    """Softmax heads (k >= 2) and a single-unit sigmoid head are classifiers; the rest regress."""
    try:
        layer = spec.layer(output)
    except KeyError:
        return REGRESSION
    act = "softmax" if layer.class_name == "Softmax" else activation_name(layer.config.get("activation"))
    if layer.class_name not in ("Dense", "Activation", "Softmax"):
        return REGRESSION
    if (act == "softmax" and units >= 2) or (act == "sigmoid" and units == 1):
        return CLASSIFICATION
    return REGRESSION


def _units(shape: tuple) -> int:
    return int(np.prod([d for d in shape[1:]])) if len(shape) > 1 else 1


def _labels(options: ExportOptions, count: int, output: str) -> list[str]:
    if not options.class_labels:
        return [str(k) for k in range(count)]
    labels = [str(v) for v in options.class_labels]
    if len(labels) != count:
        raise BadInputError(f"{len(labels)} class labels given; output '{output}' has {count} classes",
                            f"pass exactly {count} labels with --class-labels")
    if len(set(labels)) != count:
        raise BadInputError("class labels repeat", "pass distinct labels with --class-labels")
    return labels


def embedding_vocabularies(spec: ModelSpec) -> dict[str, int]:
    """input name -> the smallest vocabulary of the Embeddings reading it. Such an input holds ids
    whatever its declared dtype (Keras casts a float input to int), so PMML declares it integer."""
    vocab: dict[str, int] = {}
    for la in spec.layers:
        if la.class_name == "Embedding":
            for n in la.inbound:
                vocab[n] = min(int(la.config.get("input_dim", 2)), vocab.get(n, 1 << 62))
    return vocab


def is_integer_input(t: Any, vocab: dict[str, int]) -> bool:
    return t.dtype.startswith(("int", "uint")) or t.name in vocab


def _seeded_inputs(model: Any, spec: ModelSpec) -> list[np.ndarray]:
    """A few reproducible rows per input, drawn as validation draws them (ids inside the
    vocabulary of the Embedding they reach, also when the input is declared float)."""
    from modelport.validators.inputs import synthetic_inputs

    rows = synthetic_inputs(spec, VERIFY_ROWS, model=model, rng=np.random.default_rng(VERIFY_SEED))
    return [rows[t.name] for t in spec.inputs]


def _keras_outputs(model: Any, arrays: list[np.ndarray]) -> list[np.ndarray]:
    from modelport.runtimes.keras_call import call

    return [np.asarray(r, np.float64).reshape(len(arrays[0]), -1) for r in call(model, arrays)]


def build_documents(model: Any, spec: ModelSpec, options: ExportOptions,
                    application: tuple[str, str]) -> tuple[dict[str, writer.Document], dict[str, Any]]:
    fields = input_field_names(spec, options.feature_names)
    vocab = embedding_vocabularies(spec)
    integer = {t.name: is_integer_input(t, vocab) for t in spec.inputs}
    out_names = [t.name for t in spec.outputs]
    units = {t.name: _units(t.shape) for t in spec.outputs}
    kinds = {o: head_kind(spec, o, units[o]) for o in out_names}
    taken = {f for names in fields.values() for f in names}
    clash = taken & set(out_names)
    if clash:
        raise BadInputError(f"feature name {sorted(clash)[0]!r} is also an output name",
                            "choose other --feature-names")

    groups = [[o for o in out_names if kinds[o] == CLASSIFICATION], [o for o in out_names if kinds[o] == REGRESSION]]
    groups = [g for g in groups if g]
    file_names = [""] if len(groups) == 1 else [f"{kinds[g[0]]}.pmml" for g in groups]

    arrays = _seeded_inputs(model, spec)
    expected = dict(zip(out_names, _keras_outputs(model, arrays), strict=False))
    input_rows = np.concatenate([a.reshape(VERIFY_ROWS, -1).astype(np.float64) for a in arrays], axis=1)

    docs: dict[str, bytes] = {}
    details: dict[str, Any] = {
        "documents": [],
        "inputs": {t.name: {"fields": fields[t.name], "dtype": "integer" if integer[t.name] else "double"}
                   for t in spec.inputs},
        "outputs": {},
        "rows_verified": VERIFY_ROWS,
    }
    for index, (group, file_name) in enumerate(zip(groups, file_names, strict=False)):
        net = Network()
        tensors = {t.name: InputTensor(fields[t.name], tuple(int(d) for d in t.shape[1:]) or (1,), integer[t.name])
                   for t in spec.inputs}
        walker = GraphWalker(model, spec, net, tensors, group)
        values = walker.run()
        several = sum(kinds[o] == CLASSIFICATION for o in group) > 1
        targets, columns = [], []
        for o in group:
            target, cols, entry = _target(net, walker, o, values[o], kinds[o], units[o], options, several,
                                          expected[o])
            entry.update(document=index, shape=[None, *[d for d in next(t.shape for t in spec.outputs if t.name == o)[1:]]])
            details["outputs"][o] = entry
            targets.append(target)
            columns.append(cols)
        verify_names = [f.name for f in _input_fields(spec, fields, integer)]
        for t in targets:
            verify_names += t.probability_fields if t.kind == CLASSIFICATION else t.predicted
        rows = np.concatenate([input_rows, *columns], axis=1)
        doc = writer.Document(
            inputs=_input_fields(spec, fields, integer), targets=targets, segments=net.segments,
            header=f"Keras model {spec.source.rsplit('/', 1)[-1]} converted by modelport",
            application=application, verification=(verify_names, rows),
        )
        docs[file_name or "model.pmml"] = doc  # streamed to disk by the converter
        details["documents"].append({"file": file_name, "outputs": list(group)})
    return docs, details


def _input_fields(spec: ModelSpec, fields: dict[str, list[str]], integer: dict[str, bool]) -> list[writer.InputField]:
    return [writer.InputField(f, integer[t.name]) for t in spec.inputs for f in fields[t.name]]


def _neurons(net: Network, value: Affine) -> list[str]:
    """Ids of neurons of the last segment computing ``value``; an identity layer when needed."""
    own = {nid for layer in net.segment.layers for nid in layer.ids}
    sel = value.selection()
    if sel is None or not all(i in own for i in sel):
        sel = net.layer(value.reshape((value.units,)), "identity").ids
    return list(sel)


def _target(net: Network, walker: GraphWalker, output: str, value: Affine, kind: str, units: int,
            options: ExportOptions, several: bool, expected: np.ndarray):
    """The Target for one Keras output, its verification columns and its ``details`` entry."""
    if kind == CLASSIFICATION:
        binary = units == 1
        labels = _labels(options, 2 if binary else units, output)
        prefix = f"{output}=" if several else ""
        probs = [f"probability({prefix}{lab})" for lab in labels]
        if binary:  # one logistic layer of two neurons: P(neg) from (-z), P(pos) from z
            z = walker.heads[output].logits
            neurons = net.layer(_stack([z.scale_shift(-1.0), z]), "logistic").ids
            cols = np.concatenate([1.0 - expected, expected], axis=1)
            fields_out = probs[1:]
        else:
            neurons = _neurons(net, value)
            cols = expected
            fields_out = probs
        predicted = f"predicted({output})"
        target = writer.Target(output, kind, neurons, [output], labels, probs, [predicted])
        entry = {"kind": kind, "fields": fields_out, "labels": labels, "predicted": predicted}
        return target, cols, entry
    names = [output] if units == 1 else [f"{output}_{k + 1}" for k in range(units)]
    predicted = [f"predicted({n})" for n in names]
    target = writer.Target(output, kind, _neurons(net, value), names, predicted=predicted)
    return target, expected, {"kind": kind, "fields": predicted}
