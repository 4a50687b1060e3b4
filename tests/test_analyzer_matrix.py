"""The analyser matrix (issue 9, must 3): generated from the analyser's own tables.

Every Keras activation and every layer class the tables name (with its notable options) is a cell of
one multi-output model (fixtures/analyzer_cases.py); for each target, the cells the analyser calls
native or rewrite are converted once and validated in every runtime of the target, and each cell's
output must agree. A cell the analyser refuses must come with a reason. docs/analyzer-matrix.md is
the same matrix, written by benchmarks/analyzer_matrix.py.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def matrix(tmp_path_factory):
    from fixtures.analyzer_matrix import run

    return run(tmp_path_factory.mktemp("analyzer-matrix"))


def test_every_class_in_the_tables_has_a_builder():
    from fixtures.analyzer_cases import LAYERS, UNBUILDABLE
    from modelport.convert.pmml import rules

    missing = rules.known_classes() - set(LAYERS) - set(UNBUILDABLE)
    assert not missing, f"add a builder to fixtures/analyzer_cases.py LAYERS for {sorted(missing)}"
    assert not set(LAYERS) & set(UNBUILDABLE)


def test_every_keras_activation_is_a_cell():
    import keras

    from fixtures.analyzer_cases import ACTIVATION_EXCLUDED, activation_names

    exported = {n for n in dir(keras.activations) if not n.startswith("_") and callable(getattr(keras.activations, n))}
    exported -= {"get", "serialize", "deserialize"}
    assert set(activation_names()) | set(ACTIVATION_EXCLUDED) == exported
    assert {"gelu", "celu", "softplus", "mish", "sparsemax"} <= set(activation_names())


def test_each_cell_holds_the_class_it_is_named_for(matrix):
    import keras

    model = matrix.model
    classes = {la.name: type(la).__name__ for la in model.layers}
    for cell in matrix.cells:
        if cell.kind == "activation":
            config = model.get_layer(f"{cell.name}__layer").get_config()["activation"]
            assert keras.activations.get(config) is keras.activations.get(cell.subject), cell.name
        elif cell.subject != "InputLayer":
            held = {classes[n] for n in cell.layer_names(list(classes))}
            assert cell.subject in held, (cell.name, held)


def test_what_the_analyser_accepts_converts_with_parity(matrix):
    disagreements = [f"{cell} -> {target}: the analyser says {r.verdict}, the conversion gave {r.outcome}: {r.detail}"
                     for cell, target, r in matrix.disagreements()]
    disagreements += [f"{', '.join(cells)} -> {', '.join(targets)}: each half converts, together: {error}"
                      for targets, cells, error in matrix.interactions]
    assert not disagreements, "\n".join(disagreements)
    tried = sum(r.verdict != "unsupported" for r in matrix.results.values())
    assert tried >= 0.8 * len(matrix.results)  # most cells really convert: a refusing analyser cannot pass


def test_every_refusal_has_a_reason(matrix):
    refused = {(c, t): r for (c, t), r in matrix.results.items() if r.verdict == "unsupported"}
    assert all(r.reason for r in refused.values())
    # the TensorFlow targets trace every Keras layer: they refuse nothing
    assert not [k for k in refused if k[1] in ("savedmodel", "pb", "ckpt")]
    # the cells PMML cannot write are refused, each with the specific reason
    pmml = {c: r.reason for (c, t), r in refused.items() if t == "pmml"}
    assert "fixed input shape" in pmml["layer_globalaveragepooling1d_dynamic_length"]
    assert "threshold" in pmml["layer_relu_threshold_0_5"]
    assert "last axis" in pmml["layer_batchnormalization_axis_1"] and "after loading" in pmml["layer_batchnormalization_axis_1"]
