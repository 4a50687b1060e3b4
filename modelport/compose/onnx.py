"""The preprocessing as an ONNX graph (skl2onnx), composed in front of the Keras ONNX graph.

The composed graph's inputs are the raw columns, one ``[N, 1]`` tensor each (float for numbers,
string for categories), named as the transformer names them; its outputs are the Keras outputs,
unchanged. Every name of the preprocessing graph gets the prefix ``preprocess/`` (except the raw
inputs), so no name can clash with the Keras graph's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.compose.columns import STRING, Preprocessing

PREFIX = "preprocess/"
ML_OPSET = 3  # ai.onnx.ml opset skl2onnx writes the encoders and scalers with


def preprocessing_graph(prep: Preprocessing, opset: int) -> Any:
    """The transformer as an ONNX model with one input per raw column and one float output."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    initial = [(c.name, StringTensorType([None, 1]) if c.kind == STRING else FloatTensorType([None, 1]))
               for c in prep.columns]
    model = convert_sklearn(prep.transformer, initial_types=initial,
                            target_opset={"": opset, "ai.onnx.ml": ML_OPSET})
    _raw_names(model, [c.name for c in prep.columns])
    return model


def _raw_names(model: Any, names: list[str]) -> None:
    """skl2onnx makes names identifiers (``od280/od315`` becomes ``od280_od315``); the graph inputs
    get the column names back, so a caller feeds the columns it has, by their names."""
    given = [i.name for i in model.graph.input]
    if len(given) != len(names):
        raise ValueError(f"skl2onnx wrote {len(given)} inputs for {len(names)} columns")
    renamed = dict(zip(given, names))
    for value in model.graph.input:
        value.name = renamed[value.name]
    for node in model.graph.node:
        node.input[:] = [renamed.get(i, i) for i in node.input]


def compose(prep: Preprocessing, keras_onnx: Path, dest: Path) -> dict[str, Any]:
    """Write the composed model at ``dest``; checked with onnx.checker. Returns artifact details."""
    import onnx
    from onnx import compose as onnx_compose

    keras_model = onnx.load(str(keras_onnx))
    opset = next(o.version for o in keras_model.opset_import if o.domain in ("", "ai.onnx"))
    front = preprocessing_graph(prep, opset)
    raw = {i.name for i in front.graph.input}
    front = onnx_compose.add_prefix(front, PREFIX, rename_inputs=False)
    if len(front.graph.output) != 1 or len(keras_model.graph.input) != 1:
        raise ValueError("the preprocessing must have one output and the Keras model one input")
    front.ir_version = keras_model.ir_version = max(front.ir_version, keras_model.ir_version)
    _same_opsets(front, keras_model)
    merged = onnx_compose.merge_models(
        front, keras_model, io_map=[(front.graph.output[0].name, keras_model.graph.input[0].name)],
        producer_name="modelport", doc_string="scikit-learn preprocessing (skl2onnx) composed with a Keras model")
    assert {i.name for i in merged.graph.input} == raw  # the raw columns stay the inputs
    onnx.save(merged, str(dest))
    onnx.checker.check_model(str(dest), full_check=True)
    return {"opset": opset, "ir_version": merged.ir_version, "preprocessing_prefix": PREFIX,
            "preprocessing_nodes": len(front.graph.node)}


def _same_opsets(a: Any, b: Any) -> None:
    """merge_models needs one version per domain: both graphs get the higher one (tf2onnx declares
    ai.onnx.ml 2, skl2onnx may write 1; the scaler, imputer and encoder ops are the same in both)."""
    versions: dict[str, int] = {}
    for model in (a, b):
        for o in model.opset_import:
            versions[o.domain] = max(versions.get(o.domain, 0), o.version)
    for model in (a, b):
        for o in model.opset_import:
            o.version = versions[o.domain]
