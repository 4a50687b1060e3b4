"""The preprocessing as PMML DerivedFields in front of the Keras NeuralNetwork.

Written directly with lxml rather than taken from sklearn2pmml's document: sklearn2pmml runs the
JPMML-SkLearn converter in a JVM subprocess over a pickle of the transformer (slow, and the pickle
is what this path avoids), and its field names and transformations would still have to be grafted
onto the Keras document. The supported steps are few and each is a line of arithmetic, so they are
written here exactly as scikit-learn computes them:

* StandardScaler / RobustScaler: ``(x - center) / scale`` as ``Apply`` (the same double operations
  in the same order, so the values are equal, not merely close; NormContinuous would interpolate);
* MinMaxScaler: ``x * scale + min`` (``clip`` as ``min``/``max``); MaxAbsScaler: ``x / scale``;
* SimpleImputer (first in its chain, NaN as the missing value): the raw column's MiningField
  ``missingValueReplacement``;
* OneHotEncoder on a raw column: one ``NormDiscrete`` indicator per category (an unknown category
  gives zeros, as ``handle_unknown="ignore"``), ``drop`` honoured;
* a ColumnTransformer's branches (and ``passthrough``) concatenated in order.

The Keras document's input fields (``x1..xn``) become the DerivedFields of a TransformationDictionary,
so its NeuralNetwork is untouched; the DataDictionary and MiningSchema name the raw columns instead
(doubles for numbers, strings for categories), and the ModelVerification block is rewritten with raw
rows and the outputs of ``model.predict(prep.transform(rows))``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from modelport.compose.columns import STRING, Preprocessing, Step
from modelport.errors import UnsupportedTargetError

NS = "http://www.dmg.org/PMML-4_4"
SCALERS = ("StandardScaler", "RobustScaler", "MinMaxScaler", "MaxAbsScaler")
SUPPORTED = (*SCALERS, "SimpleImputer", "OneHotEncoder")


class _Unsupported(Exception):
    pass


def unsupported_steps(prep: Preprocessing) -> list[tuple[Step, str]]:
    """(step, reason) for every branch the PMML writer cannot express."""
    out = []
    for step in prep.steps:
        try:
            _step_plan(prep, step)
        except _Unsupported as e:
            out.append((step, str(e)))
    readers: dict[str, int] = {}
    for step in prep.steps:
        for c in step.columns:
            readers[c] = readers.get(c, 0) + 1
    for step in prep.steps:
        if any(type(t).__name__ == "SimpleImputer" for t in step.chain) and any(readers[c] > 1 for c in step.columns):
            out.append((step, "an imputed column is also read by another branch (PMML replaces a missing "
                              "value for every reader)"))
    return out


def _step_plan(prep: Preprocessing, step: Step) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    """The step's outputs as (kind, payload) in order, and its missing-value replacements."""
    replacements: dict[str, Any] = {}
    exprs: list[Any] = [("field", c) for c in step.columns]
    encoded: list[tuple[str, Any]] | None = None
    for position, t in enumerate(step.chain):
        kind = type(t).__name__
        if encoded is not None:
            raise _Unsupported(f"{kind} after OneHotEncoder")
        if kind == "SimpleImputer":
            if position != 0:
                raise _Unsupported("SimpleImputer must read the raw columns (first in its pipeline)")
            if getattr(t, "add_indicator", False):
                raise _Unsupported("SimpleImputer(add_indicator=True)")
            missing = t.missing_values
            if not (missing is None or (isinstance(missing, float) and math.isnan(missing))):
                raise _Unsupported(f"SimpleImputer(missing_values={missing!r}): PMML's missing value is NaN/None")
            stats = list(t.statistics_)
            if any(isinstance(s, float) and math.isnan(s) for s in stats):
                raise _Unsupported("SimpleImputer drops a column that was empty when fitted")
            for c, s in zip(step.columns, stats):
                replacements[c] = s
        elif kind in SCALERS:
            exprs = [_scaled(t, k, e) for k, e in enumerate(exprs)]
        elif kind == "OneHotEncoder":
            if any(e[0] != "field" for e in exprs):
                raise _Unsupported("OneHotEncoder must read the raw columns")
            if getattr(t, "infrequent_categories_", None) is not None and any(
                    v is not None for v in t.infrequent_categories_):
                raise _Unsupported("OneHotEncoder with infrequent categories")
            drops = getattr(t, "drop_idx_", None)
            encoded = []
            for k, (_, column) in enumerate(exprs):
                for j, category in enumerate(t.categories_[k]):
                    if drops is not None and drops[k] is not None and int(drops[k]) == j:
                        continue
                    encoded.append(("indicator", (column, category)))
        else:
            raise _Unsupported(f"no PMML transformation is written for {kind} (supported: {', '.join(SUPPORTED)})")
    return (encoded if encoded is not None else exprs), replacements


def _scaled(t: Any, k: int, e: Any) -> Any:
    kind = type(t).__name__
    if kind == "StandardScaler":
        if getattr(t, "mean_", None) is not None and t.with_mean:
            e = ("apply", "-", e, float(t.mean_[k]))
        if getattr(t, "scale_", None) is not None:
            e = ("apply", "/", e, float(t.scale_[k]))
        return e
    if kind == "RobustScaler":
        if getattr(t, "center_", None) is not None and t.with_centering:
            e = ("apply", "-", e, float(t.center_[k]))
        if getattr(t, "scale_", None) is not None and t.with_scaling:
            e = ("apply", "/", e, float(t.scale_[k]))
        return e
    if kind == "MinMaxScaler":
        e = ("apply", "+", ("apply", "*", e, float(t.scale_[k])), float(t.min_[k]))
        if getattr(t, "clip", False):
            low, high = (float(v) for v in t.feature_range)
            e = ("apply", "max", ("apply", "min", e, high), low)
        return e
    return ("apply", "/", e, float(t.scale_[k]))  # MaxAbsScaler


def compose(prep: Preprocessing, keras_pmml: Path, details: dict[str, Any], dest: Path,
            verify: tuple[dict[str, np.ndarray], dict[str, np.ndarray]]) -> dict[str, Any]:
    """Write the composed document at ``dest``; returns the artifact details (raw column layout).
    ``verify``: raw rows and the reference outputs for them, for the ModelVerification block."""
    from lxml import etree

    bad = unsupported_steps(prep)
    if bad:
        raise UnsupportedTargetError(f"pmml cannot hold the preprocessing: {_reasons(bad)}",
                                     "convert to onnx, which holds it via skl2onnx")
    if len(details.get("documents", [])) > 1 or len(details["inputs"]) != 1:
        raise UnsupportedTargetError("pmml holds the preprocessing only in front of one document with one input",
                                     "convert to onnx")
    keras_fields = next(iter(details["inputs"].values()))["fields"]
    plans = [_step_plan(prep, s) for s in prep.steps]
    exprs = [e for outputs, _ in plans for e in outputs]
    replacements = {c: v for _, r in plans for c, v in r.items()}
    if len(exprs) != len(keras_fields):
        raise UnsupportedTargetError(f"the preprocessing writes {len(exprs)} values, the model reads {len(keras_fields)}",
                                     "pass the preprocessing the model was trained after")

    tree = etree.parse(str(keras_pmml), etree.XMLParser(huge_tree=True, remove_blank_text=False))
    root = tree.getroot()
    q = _q
    replaced = set(keras_fields)
    derived_names = _derived_names(root, keras_fields, {c.name for c in prep.columns})
    dictionary = root.find(q("DataDictionary"))
    for field in list(dictionary):
        if field.get("name") in replaced:
            dictionary.remove(field)
    for i, col in enumerate(prep.columns):
        attrs = ({"optype": "categorical", "dataType": "string"} if col.kind == STRING
                 else {"optype": "continuous", "dataType": "double"})
        field = etree.Element(q("DataField"), {"name": col.name, **attrs})
        field.tail = "\n"
        dictionary.insert(i, field)
    dictionary.set("numberOfFields", str(len(dictionary)))

    transforms = etree.Element(q("TransformationDictionary"))
    transforms.text = transforms.tail = "\n"
    for name, e in zip(derived_names, exprs):
        derived = etree.SubElement(transforms, q("DerivedField"), name=name, optype="continuous", dataType="double")
        derived.append(_element(e))
        derived.tail = "\n"
    dictionary.addnext(transforms)

    for schema in root.iter(q("MiningSchema")):
        fields = [f for f in schema if f.get("name") in replaced]
        if not fields:
            continue
        at = list(schema).index(fields[0])
        for f in fields:
            schema.remove(f)
        for i, col in enumerate(prep.columns):
            attrs = {"name": col.name}
            if col.name in replacements:
                attrs["missingValueReplacement"] = _text(replacements[col.name])
            mining = etree.Element(q("MiningField"), attrs)
            mining.tail = "\n"
            schema.insert(at + i, mining)

    _rewrite_verification(root, prep, keras_fields, details, verify)
    tree.write(str(dest), xml_declaration=True, encoding="UTF-8")
    layout = {c.name: {"fields": [c.name], "dtype": "string" if c.kind == STRING else "double"} for c in prep.columns}
    return {**details, "inputs": layout, "preprocessing_fields": derived_names}


def _derived_names(root: Any, keras_fields: list[str], raw: set[str]) -> list[str]:
    """The network's input fields become the derived fields; when a raw column has one of their names
    (a transformer fitted on an array: ``x1..xn`` both), they are renamed and the network's FieldRefs
    follow."""
    if not raw & set(keras_fields):
        return list(keras_fields)
    taken = raw | set(keras_fields)
    renamed = {}
    for f in keras_fields:
        name = f"network_{f}"
        while name in taken:
            name = "_" + name
        renamed[f] = name
        taken.add(name)
    for ref in root.iter(_q("FieldRef")):
        if ref.get("field") in renamed:
            ref.set("field", renamed[ref.get("field")])
    return [renamed[f] for f in keras_fields]


def _reasons(bad: list[tuple[Step, str]]) -> str:
    return "; ".join(f"{s.name} ({' → '.join(s.class_names())}): {r}" for s, r in bad)


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _text(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


def _element(e: Any) -> Any:
    from lxml import etree

    if e[0] == "field":
        return etree.Element(_q("FieldRef"), field=e[1])
    if e[0] == "indicator":
        column, category = e[1]
        return etree.Element(_q("NormDiscrete"), field=column, value=_text(category))
    _, function, left, constant = e
    apply = etree.Element(_q("Apply"), function=function)
    apply.append(_element(left))
    const = etree.SubElement(apply, _q("Constant"), dataType="double")
    const.text = repr(float(constant))
    return apply


def _rewrite_verification(root: Any, prep: Preprocessing, keras_fields: list[str], details: dict[str, Any],
                          verify: tuple[dict[str, np.ndarray], dict[str, np.ndarray]]) -> None:
    """Raw rows in, the reference's outputs out; the output VerificationFields keep their names,
    precision and zero threshold."""
    from lxml import etree

    for block in list(root.iter(_q("ModelVerification"))):
        fields = block.find(_q("VerificationFields"))
        outputs = [f for f in fields if f.get("field") not in set(keras_fields)]
        raw, expected = verify
        rows = len(next(iter(raw.values())))
        columns = [(c.name, raw[c.name][:, 0]) for c in prep.columns] + \
                  [(f.get("field"), _output_column(f.get("field"), details, expected)) for f in outputs]
        for f in list(fields):
            fields.remove(f)
        for k, (name, _) in enumerate(columns):
            old = next((f for f in outputs if f.get("field") == name), None)
            attrs = {"field": name, "column": f"c{k + 1}"}
            if old is not None:
                attrs.update({a: old.get(a) for a in ("precision", "zeroThreshold") if old.get(a)})
            node = etree.SubElement(fields, _q("VerificationField"), attrs)
            node.tail = "\n"
        table = block.find(_q("InlineTable"))
        for r in list(table):
            table.remove(r)
        for i in range(rows):
            row = etree.SubElement(table, _q("row"))
            row.tail = "\n"
            for k, (_, values) in enumerate(columns):
                cell = etree.SubElement(row, _q(f"c{k + 1}"))
                cell.text = _text(values[i]) if isinstance(values[i], str) else repr(float(values[i]))
        block.set("recordCount", str(rows))
        block.set("fieldCount", str(len(columns)))


def _output_column(field: str, details: dict[str, Any], expected: dict[str, np.ndarray]) -> np.ndarray:
    """The reference column a verification output field holds (as the Keras document lays them out)."""
    for name, spec in details["outputs"].items():
        values = np.asarray(expected[name], np.float64).reshape(len(expected[name]), -1)
        if spec.get("kind") == "classification":
            labels = spec["labels"]
            several = not all(f.startswith("probability(") and f[12:-1] in labels for f in spec["fields"])
            for j, label in enumerate(labels):
                if field == f"probability({name}={label})" if several else field == f"probability({label})":
                    if values.shape[1] == 1:  # one sigmoid unit: P(negative), P(positive)
                        return 1.0 - values[:, 0] if j == 0 else values[:, 0]
                    return values[:, j]
        elif field in spec["fields"]:
            return values[:, spec["fields"].index(field)]
    raise ValueError(f"verification field {field} is no output of the document")
