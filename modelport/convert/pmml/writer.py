"""The XML writer: a fast string writer for PMML 4.4 documents (no vendor extensions).

String joining rather than a DOM: the 784-512-512-10 MLP has 668,672 ``Con`` elements, and the
document must be written in well under 2 s. Every attribute value and element text goes through
``esc``/``fmt``; element order follows the PMML 4.4 XSD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain, repeat

import numpy as np

from modelport.convert.pmml.graph import Layer, Segment
from modelport.convert.pmml.xmltext import esc, fmt

NS = "http://www.dmg.org/PMML-4_4"
VERIFY_PRECISION = "0.001"  # relative, per VerificationField: Keras computes in float32, PMML in double
VERIFY_ZERO = "0.01"  # |value| below this counts as zero for verification
_END = '"/>\n'


@dataclass
class InputField:
    name: str
    integer: bool = False


@dataclass
class Target:
    output: str  # the Keras output it reproduces
    kind: str  # "classification" | "regression"
    neurons: list[str]  # one output neuron per label (classification) or per unit (regression)
    names: list[str]  # target DataField names: [output] for a classifier, one per unit otherwise
    labels: list[str] = field(default_factory=list)
    probability_fields: list[str] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)  # predictedValue OutputField per target name


@dataclass
class Document:
    inputs: list[InputField]
    targets: list[Target]
    segments: list[Segment]
    header: str  # description text
    application: tuple[str, str]
    verification: tuple[list[str], np.ndarray] | None = None  # (field names, rows x fields)

    @property
    def function(self) -> str:
        return "classification" if any(t.kind == "classification" for t in self.targets) else "regression"


def _data_dictionary(doc: Document, out: list[str]) -> None:
    out.append("<DataDictionary>\n")
    for f in doc.inputs:
        if f.integer:
            out.append(f'<DataField name="{esc(f.name)}" optype="categorical" dataType="integer"/>\n')
        else:
            out.append(f'<DataField name="{esc(f.name)}" optype="continuous" dataType="double"/>\n')
    for seg in doc.segments[:-1]:
        for _, name in seg.exports:
            out.append(f'<DataField name="{esc(_chain_target(name))}" optype="continuous" dataType="double"/>\n')
    for t in doc.targets:
        if t.kind == "classification":
            out.append(f'<DataField name="{esc(t.names[0])}" optype="categorical" dataType="string">')
            out.extend(f'<Value value="{esc(v)}"/>' for v in t.labels)
            out.append("</DataField>\n")
        else:
            out.extend(f'<DataField name="{esc(n)}" optype="continuous" dataType="double"/>\n' for n in t.names)
    out.append("</DataDictionary>\n")


def _chain_target(output_field: str) -> str:
    return output_field + ".target"


def _mining_schema(active: list[str], targets: list[str], out: list[str]) -> None:
    out.append("<MiningSchema>\n")
    out.extend(f'<MiningField name="{esc(n)}" usageType="target"/>\n' for n in targets)
    out.extend(f'<MiningField name="{esc(n)}"/>\n' for n in active)
    out.append("</MiningSchema>\n")


def _output(targets: list[Target], out: list[str]) -> None:
    out.append("<Output>\n")
    for t in targets:
        if t.kind == "classification":
            y = esc(t.names[0])
            out.append(f'<OutputField name="{esc(t.predicted[0])}" optype="categorical" dataType="string" '
                       f'feature="predictedValue" targetField="{y}"/>\n')
            for label, name in zip(t.labels, t.probability_fields, strict=False):
                out.append(f'<OutputField name="{esc(name)}" optype="continuous" dataType="double" '
                           f'feature="probability" value="{esc(label)}" targetField="{y}"/>\n')
        else:
            for name, pred in zip(t.names, t.predicted, strict=False):
                out.append(f'<OutputField name="{esc(pred)}" optype="continuous" dataType="double" '
                           f'feature="predictedValue" targetField="{esc(name)}"/>\n')
    out.append("</Output>\n")


BLOCK_CONS = 1 << 16  # Cons formatted at a time: a layer's text is never held whole


def _layer(layer: Layer, out) -> None:
    """One NeuralLayer; ``out`` is anything with ``append`` (a list, or a streaming sink)."""
    z = layer.z
    attrs = f' activationFunction="{layer.activation}"'
    if layer.normalization != "none":
        attrs += f' normalizationMethod="{layer.normalization}"'
    out.append(f"<NeuralLayer{attrs}>\n")
    M = z.M  # CSC with sorted indices: one column per neuron
    M.eliminate_zeros()
    sources = [f'<Con from="{i}" weight="' for i in z.ids]
    bias = fmt(z.c)
    ptr = M.indptr.tolist()
    j, n = 0, len(layer.ids)
    while j < n:  # a block of neurons holding about BLOCK_CONS Cons
        end = max(int(np.searchsorted(M.indptr, ptr[j] + BLOCK_CONS, side="right")) - 1, j + 1)
        end = min(end, n)
        base = ptr[j]
        weights = fmt(M.data[base:ptr[end]]).tolist() if ptr[end] > base else []
        prefixes = [sources[k] for k in M.indices[base:ptr[end]].tolist()]
        parts = []
        for col in range(j, end):
            b = "" if z.c[col] == 0 else f' bias="{bias[col]}"'
            lo, hi = ptr[col] - base, ptr[col + 1] - base
            if lo == hi:  # XSD: at least one Con; a constant neuron reads any id with weight 0
                if not z.ids:
                    raise ValueError("a constant tensor with no upstream neuron cannot be written")
                parts.append(f'<Neuron id="{layer.ids[col]}"{b}>\n<Con from="{z.ids[0]}" weight="0"/>\n</Neuron>\n')
                continue
            # zip and join in C: no per-Con Python code
            parts.append(f'<Neuron id="{layer.ids[col]}"{b}>\n'
                         + "".join(chain.from_iterable(zip(prefixes[lo:hi], weights[lo:hi], repeat(_END))))
                         + "</Neuron>\n")
        out.append("".join(parts))
        j = end
    out.append("</NeuralLayer>\n")


def _network(seg: Segment, function: str, active: list[str], targets: list[Target] | None,
             out: list[str], verification: list[str] | None = None) -> None:
    """One NeuralNetwork. ``targets`` None: an intermediate chain segment exporting its values."""
    out.append(f'<NeuralNetwork functionName="{function}" activationFunction="identity">\n')
    if targets is None:
        names = [name for _, name in seg.exports]
        _mining_schema(active, [_chain_target(n) for n in names], out)
        out.append("<Output>\n")
        out.extend(f'<OutputField name="{esc(n)}" optype="continuous" dataType="double" '
                   f'feature="predictedValue" targetField="{esc(_chain_target(n))}"/>\n' for n in names)
        out.append("</Output>\n")
    else:
        _mining_schema(active, [n for t in targets for n in t.names], out)
        _output(targets, out)
    out.append("<NeuralInputs>\n")
    for ni in seg.inputs:
        out.append(f'<NeuralInput id="{ni.id}"><DerivedField optype="continuous" dataType="double">'
                   f"{ni.expression}</DerivedField></NeuralInput>\n")
    out.append("</NeuralInputs>\n")
    for layer in seg.layers:
        _layer(layer, out)
    out.append("<NeuralOutputs>\n")
    if targets is None:
        for nid, name in seg.exports:
            out.append(f'<NeuralOutput outputNeuron="{nid}"><DerivedField optype="continuous" dataType="double">'
                       f'<FieldRef field="{esc(_chain_target(name))}"/></DerivedField></NeuralOutput>\n')
    else:
        for t in targets:
            for k, nid in enumerate(t.neurons):
                if t.kind == "classification":
                    out.append(f'<NeuralOutput outputNeuron="{nid}"><DerivedField optype="categorical" '
                               f'dataType="string"><NormDiscrete field="{esc(t.names[0])}" '
                               f'value="{esc(t.labels[k])}"/></DerivedField></NeuralOutput>\n')
                else:
                    out.append(f'<NeuralOutput outputNeuron="{nid}"><DerivedField optype="continuous" '
                               f'dataType="double"><FieldRef field="{esc(t.names[k])}"/></DerivedField>'
                               "</NeuralOutput>\n")
    out.append("</NeuralOutputs>\n")
    if verification:
        out.extend(verification)
    out.append("</NeuralNetwork>\n")


def _verification(doc: Document) -> list[str]:
    if doc.verification is None:
        return []
    names, rows = doc.verification
    integer = {f.name for f in doc.inputs if f.integer}
    out = [f'<ModelVerification recordCount="{len(rows)}" fieldCount="{len(names)}">\n<VerificationFields>\n']
    n_inputs = len(doc.inputs)
    for k, name in enumerate(names):
        extra = "" if k < n_inputs else f' precision="{VERIFY_PRECISION}" zeroThreshold="{VERIFY_ZERO}"'
        out.append(f'<VerificationField field="{esc(name)}" column="c{k + 1}"{extra}/>\n')
    out.append("</VerificationFields>\n<InlineTable>\n")
    cells = fmt(rows)
    for r in range(len(rows)):
        parts = []
        for k, name in enumerate(names):
            value = str(int(rows[r, k])) if name in integer else cells[r, k]
            parts.append(f"<c{k + 1}>{value}</c{k + 1}>")
        out.append("<row>" + "".join(parts) + "</row>\n")
    out.append("</InlineTable>\n</ModelVerification>\n")
    return out


def _write(doc: Document, out) -> None:
    out.extend([
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<PMML xmlns="{NS}" version="4.4">\n',
        f'<Header description="{esc(doc.header)}">'
        f'<Application name="{esc(doc.application[0])}" version="{esc(doc.application[1])}"/></Header>\n',
    ])
    _data_dictionary(doc, out)
    inputs = [f.name for f in doc.inputs]
    verification = _verification(doc)
    if len(doc.segments) == 1:
        _network(doc.segments[0], doc.function, inputs, doc.targets, out, verification)
    else:
        out.append(f'<MiningModel functionName="{doc.function}">\n')
        _mining_schema(inputs, [n for t in doc.targets for n in t.names], out)
        out.append('<Segmentation multipleModelMethod="modelChain">\n')
        for k, seg in enumerate(doc.segments):
            last = k == len(doc.segments) - 1
            used = list(dict.fromkeys(f for ni in seg.inputs for f in ni.fields))
            out.append(f'<Segment id="{k + 1}"><True/>\n')
            _network(seg, doc.function if last else "regression", used, doc.targets if last else None, out)
            out.append("</Segment>\n")
        out.append("</Segmentation>\n")
        out.extend(verification)
        out.append("</MiningModel>\n")
    out.append("</PMML>\n")


class Sink:
    """A list-like ``append`` target that streams to a binary file in ~1 MB writes, so writing a
    document takes memory for one layer's text, not for the whole document."""

    def __init__(self, fh, flush_at: int = 1 << 20):
        self.fh, self.flush_at = fh, flush_at
        self.parts: list[str] = []
        self.size = 0
        self.written = 0

    def append(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= self.flush_at:
            self.flush()

    def extend(self, texts) -> None:
        for text in texts:
            self.append(text)

    def flush(self) -> None:
        data = "".join(self.parts).encode("utf-8")
        self.fh.write(data)
        self.written += len(data)
        self.parts, self.size = [], 0


def write(doc: Document) -> bytes:
    """The whole document as bytes (small documents, tests)."""
    out: list[str] = []
    _write(doc, out)
    return "".join(out).encode("utf-8")


def write_file(doc: Document, path) -> int:
    """Stream the document to ``path``; returns the bytes written."""
    with open(path, "wb") as fh:
        sink = Sink(fh)
        _write(doc, sink)
        sink.flush()
    return sink.written
