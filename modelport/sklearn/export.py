"""Writing a fitted scikit-learn estimator as PMML (sklearn2pmml, or nyoka) or ONNX (skl2onnx).

Each function writes ``dest`` and returns the artifact ``details``: for PMML the field layout the
PMML runtimes read (``modelport/runtimes/_pmml_layout.py``), for ONNX the opset. Labels and
probabilities are separate outputs in both formats (no ZipMap in ONNX).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from pathlib import Path
from typing import Any

from modelport.errors import UnsupportedTargetError
from modelport.sklearn.model import SklearnModel

TARGET_FIELD = "y"
PREDICTED_FIELD = "predicted(y)"
VERIFICATION_ROWS = 8  # rows sklearn2pmml embeds as ModelVerification, which JPMML checks on load


def _label_text(value: Any) -> str:
    return str(value.item() if hasattr(value, "item") else value)


def pmml_layout(model: SklearnModel, probability_field: str, label_field: str) -> dict[str, Any]:
    """The details the PMML runtimes read: input fields per input, output fields per output."""
    inputs = {name: {"fields": fields, "dtype": "string" if t.dtype == "string" else "double"}
              for (name, fields), t in zip(model.fields().items(), model.input_specs(), strict=True)}
    outputs: dict[str, Any] = {}
    for name in model.outputs:
        if name == "label":
            outputs[name] = {"fields": [label_field], "shape": [None], "kind": "label"}
            if any(isinstance(c, str) for c in model.classes):  # runtimes return indices into these
                outputs[name]["label_values"] = [_label_text(c) for c in model.classes]
        elif name == "probabilities":
            outputs[name] = {"fields": [probability_field.format(_label_text(c)) for c in model.classes],
                             "shape": [None, len(model.classes)]}
        elif name == "prediction":
            outputs[name] = {"fields": [label_field], "shape": [None, 1]}
        else:
            raise UnsupportedTargetError("PMML cannot hold a pipeline without a final estimator (transform only)",
                                         "convert it to onnx, or end the pipeline with a model")
    return {"inputs": inputs, "outputs": outputs, "source": "sklearn"}


@contextlib.contextmanager
def _quiet():
    """sklearn2pmml's JVM and nyoka print banners and advice to stdout/stderr: not ours to show."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(previous)


def to_pmml_sklearn2pmml(model: SklearnModel, dest: Path, verify_rows: int = VERIFICATION_ROWS) -> dict[str, Any]:
    """PMML through sklearn2pmml (JPMML-SkLearn on the JVM); embeds a ModelVerification block."""
    import numpy as np
    from sklearn2pmml import make_pmml_pipeline, sklearn2pmml
    from sklearn2pmml.pipeline import PMMLPipeline

    names = [c.name for c in model.columns]
    pipeline = make_pmml_pipeline(model.estimator, active_fields=names, target_fields=[TARGET_FIELD])
    if not isinstance(pipeline, PMMLPipeline):
        raise TypeError("make_pmml_pipeline returned no PMMLPipeline")
    if verify_rows and model.task != "transformer":
        rows = model.frame(model.synthetic(verify_rows, np.random.default_rng(1)))
        try:
            import warnings

            with warnings.catch_warnings():  # named rows for an estimator fitted on an array: expected here
                warnings.simplefilter("ignore", UserWarning)
                pipeline.verify(rows if hasattr(rows, "columns") else _named(rows, names))
        except Exception:  # verification data is a bonus; the conversion does not depend on it
            pipeline.verification = None
    layout = pmml_layout(model, "probability({})", PREDICTED_FIELD)
    try:
        with _quiet():
            sklearn2pmml(pipeline, str(dest), java_opts=["-Xmx1g"])
    except Exception as e:
        raise UnsupportedTargetError(f"sklearn2pmml could not convert {type(model.estimator).__name__}: "
                                     f"{_first_line(e)}",
                                     "run `modelport analyze` for each step's verdict, or choose onnx") from None
    probabilities = layout["outputs"].get("probabilities")
    renamed = add_predicted_field(dest, [_label_text(c) for c in model.classes] if probabilities else [])
    if probabilities and renamed:
        probabilities["fields"] = renamed
    return layout


def add_predicted_field(path: Path, classes: list[str] | None = None) -> list[str]:
    """Declare the predicted value (and, when the top-level model has no Output, each class
    probability) as OutputFields of the top-level model. sklearn2pmml leaves them implicit (the
    target field; a model chain's last segment's outputs), which JPMML returns but PMML4S, returning
    only the top-level OutputFields, does not. A segment's ``probability(c)`` cannot be declared
    twice, so added probability fields are named ``modelport_probability(c)``; returns those names."""
    text = path.read_text(encoding="utf-8")
    match = re.search(rf'<DataField name="{TARGET_FIELD}" optype="(\w+)" dataType="(\w+)"', text)
    if match is None or f'name="{PREDICTED_FIELD}"' in text:
        return []
    field = (f'<OutputField name="{PREDICTED_FIELD}" optype="{match.group(1)}" dataType="{match.group(2)}" '
             f'feature="predictedValue" finalResult="true"/>')
    # the document's first MiningSchema is the top-level model's; its Output, if any, follows it
    end = text.index("</MiningSchema>") + len("</MiningSchema>")
    rest = text[end:]
    names: list[str] = []
    if rest.lstrip().startswith("<Output>"):
        at = end + rest.index("<Output>") + len("<Output>")
        text = f"{text[:at]}\n\t\t\t{field}{text[at:]}"
    else:
        names = [f"modelport_probability({c})" for c in classes or []]
        # a reference to the chain's own probability(c) (JPMML reads feature="probability" of an
        # integer-labelled chain as 0.0; PMML4S needs a top-level field)
        fields = [field] + [f'<OutputField name="{_xml(name)}" optype="continuous" dataType="double" '
                            f'feature="transformedValue"><FieldRef field="{_xml(f"probability({c})")}"/></OutputField>'
                            for name, c in zip(names, classes or [])]
        block = "".join(f"\n\t\t\t{f}" for f in fields)
        text = f"{text[:end]}\n\t\t<Output>{block}\n\t\t</Output>{text[end:]}"
    path.write_text(text, encoding="utf-8")
    return names


def to_pmml_nyoka(model: SklearnModel, dest: Path) -> dict[str, Any]:
    """PMML through nyoka (pure Python)."""
    from nyoka import skl_to_pmml
    from sklearn.pipeline import Pipeline

    estimator = model.estimator if hasattr(model.estimator, "steps") else Pipeline([("model", model.estimator)])
    layout = pmml_layout(model, "probability_{}", f"predicted_{TARGET_FIELD}")
    try:
        with _quiet():
            skl_to_pmml(estimator, [c.name for c in model.columns], TARGET_FIELD, str(dest))
    except Exception as e:
        raise UnsupportedTargetError(f"nyoka could not convert {type(model.estimator).__name__}: {_first_line(e)}",
                                     "use --pmml-backend sklearn2pmml (the default)") from None
    return layout


def to_onnx(model: SklearnModel, dest: Path, opset: int | None = None) -> dict[str, Any]:
    """ONNX through skl2onnx: float32 inputs, ``label`` + ``probabilities`` tensors (no ZipMap)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    from modelport.convert.onnx import onnxruntime_max_opset
    from modelport.sklearn.columns import final_step

    opset = opset or min(onnxruntime_max_opset(), _skl2onnx_max_opset())
    types = [(t.name, StringTensorType([None, *t.shape[1:]]) if t.dtype == "string"
              else FloatTensorType([None, *t.shape[1:]])) for t in model.input_specs()]
    # probabilities as a tensor (no ZipMap). A classifier without predict_proba (LinearSVC, SVC) takes
    # no zipmap option, and skl2onnx asks for one inside a pipeline unless some option is given
    final = final_step(model.estimator)
    options = ({id(final): {"zipmap": False}} if "probabilities" in model.outputs else
               {id(final): {"raw_scores": False}} if model.task == "classifier" else None)
    try:
        with _quiet():
            proto = convert_sklearn(model.estimator, initial_types=types, options=options,
                                    target_opset={"": opset, "ai.onnx.ml": 3})
    except Exception as e:
        raise UnsupportedTargetError(f"skl2onnx could not convert {type(model.estimator).__name__}: {_first_line(e)}",
                                     "run `modelport analyze` for each step's verdict, or choose pmml") from None
    produced = [o.name for o in proto.graph.output]
    renames = dict(zip(produced, model.outputs, strict=False))
    # an inner value already named like an output (SVC's "label") moves aside first: names stay unique
    taken = {n for node in proto.graph.node for n in [*node.input, *node.output]}
    aside = {n: f"{n}_inner" for n in set(renames.values()) & taken if n not in renames}
    for step in (aside, renames):
        for value in proto.graph.output:
            value.name = step.get(value.name, value.name)
        for node in proto.graph.node:
            node.output[:] = [step.get(o, o) for o in node.output]
            node.input[:] = [step.get(i, i) for i in node.input]
    keep = [o for o in proto.graph.output if o.name in model.outputs]  # LinearSVC's scores: not an output here
    del proto.graph.output[:]
    proto.graph.output.extend(keep)
    import onnx

    onnx.checker.check_model(proto)
    dest.write_bytes(proto.SerializeToString())
    return {"opset": opset, "ir_version": proto.ir_version, "input_dtype": "float32", "source": "sklearn"}


def _skl2onnx_max_opset() -> int:
    from skl2onnx import __max_supported_opset__

    return int(__max_supported_opset__)


def _xml(text: str) -> str:
    from xml.sax.saxutils import quoteattr

    return quoteattr(text)[1:-1]


def _named(rows: Any, names: list[str]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows, columns=names)


def _first_line(e: BaseException, extra: str = "") -> str:
    text = (str(e).strip() or extra.strip() or type(e).__name__).splitlines()
    return f"{type(e).__name__}: {text[0]}"[:300]
