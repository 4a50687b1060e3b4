"""What each artifact promises beyond numbers: names, signatures, loadability without model code,
the manifest, byte-identical output, opsets."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import onnx
from conftest import REPO, seeded_inputs

import modelport
from modelport.convert.onnx import default_opset, onnxruntime_max_opset, tf2onnx_max_opset


def _by_format(result):
    return {a.format: a for a in result.artifacts}


def test_onnx_names_dynamic_batch_and_full_check(converted):
    art = _by_format(converted("multi_io"))["onnx"]
    model = onnx.load(str(art.path))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["numeric", "extra"]
    assert [o.name for o in model.graph.output] == ["label", "amount"]
    batch_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert not batch_dim.HasField("dim_value")  # dynamic batch
    assert {o.version for o in model.opset_import if o.domain in ("", "ai.onnx")} == {default_opset()}


def test_default_opset_is_highest_common():
    assert default_opset() == min(tf2onnx_max_opset(), onnxruntime_max_opset())
    assert default_opset() >= 17


def test_explicit_opset(fixture_file, tmp_path):
    result = modelport.convert(fixture_file("mlp"), to="onnx", out_dir=tmp_path, opset=13, validate=False)
    model = onnx.load(str(result.artifacts[0].path))
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [13]


def test_frozen_pb_needs_only_import_graph_def(converted, loaded_fixture):
    import tensorflow as tf

    art = _by_format(converted("multi_io"))["pb"]
    assert art.details["input_tensors"] == ["numeric:0", "extra:0"]
    assert art.details["output_tensors"] == ["label:0", "amount:0"]
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(art.path.read_bytes())
    assert not [n for n in graph_def.node if n.op in ("VarHandleOp", "VariableV2", "ReadVariableOp")]
    x = seeded_inputs(loaded_fixture("multi_io").spec, 3)
    with tf.Graph().as_default() as graph:
        tf.compat.v1.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=graph) as session:
            label, amount = session.run(["label:0", "amount:0"], {"numeric:0": x["numeric"], "extra:0": x["extra"]})
    assert label.shape == (3, 3) and amount.shape == (3, 2)
    np.testing.assert_allclose(label.sum(axis=1), 1.0, atol=1e-6)


def test_checkpoint_restores_without_model_code(converted, loaded_fixture):
    import tensorflow as tf

    art = _by_format(converted("mlp"))["ckpt"]
    assert {p.name for p in art.path.iterdir()} >= {"model.meta", "model.index"}
    x = seeded_inputs(loaded_fixture("mlp").spec, 2)
    with tf.Graph().as_default() as graph, tf.compat.v1.Session(graph=graph) as session:
        saver = tf.compat.v1.train.import_meta_graph(str(art.path / "model.meta"))
        saver.restore(session, str(art.path / "model"))
        names = [v.name for v in tf.compat.v1.global_variables()]
        probs = session.run(art.details["output_tensors"][0], {art.details["input_tensors"][0]: x["features"]})
    assert "weights/hidden1/kernel:0" in names
    assert probs.shape == (2, 3)


def test_savedmodel_serving_signature_keys(converted):
    import tensorflow as tf

    art = _by_format(converted("multi_io"))["savedmodel"]
    sig = tf.saved_model.load(str(art.path)).signatures["serving_default"]
    assert set(sig.structured_input_signature[1]) == {"numeric", "extra"}
    assert set(sig.structured_outputs) == {"label", "amount"}
    assert art.details["tag"] == "serve"


def test_manifest_records_sources_artifacts_and_versions(converted, fixture_file):
    result = converted("multi_io")
    data = json.loads(result.manifest_path.read_text())
    src = fixture_file("multi_io")
    assert data["source"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert data["source"]["keras_version"].startswith("3.")
    assert {a["format"] for a in data["artifacts"]} == {"savedmodel", "pb", "ckpt", "onnx", "pmml"}  # --to all
    for entry in data["artifacts"]:
        assert len(entry["sha256"]) == 64
        assert [t["name"] for t in entry["signature"]["inputs"]] == ["numeric", "extra"]
        assert [t["name"] for t in entry["signature"]["outputs"]] == ["label", "amount"]
        assert ("modelport" if entry["format"] == "pmml" else "tensorflow") in entry["producer"]
    assert "tf2onnx" in next(a for a in data["artifacts"] if a["format"] == "onnx")["producer"]


def test_same_file_converted_twice_is_byte_identical(converted, fixture_file, tmp_path):
    """A second conversion, in a fresh process through the CLI, writes the same pb and onnx bytes."""
    first = _by_format(converted("cnn"))
    cmd = [sys.executable, "-m", "modelport", "convert", str(fixture_file("cnn")), "--to", "pb,onnx",
           "-o", str(tmp_path), "--no-validate"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    for fmt, suffix in (("pb", ".pb"), ("onnx", ".onnx")):
        again = (tmp_path / f"cnn{suffix}").read_bytes()
        assert again == first[fmt].path.read_bytes(), fmt


def test_all_targets_and_console_script(fixture_file, tmp_path):
    """`convert model --to pb` through the `convert` console script; `--to all` skips nothing for an MLP."""
    proc = subprocess.run(["convert", str(fixture_file("mlp")), "--to", "pb", "-o", str(tmp_path), "--no-validate"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "mlp.pb").is_file()
    assert "features:0" in proc.stdout and "probs:0" in proc.stdout  # tensor names a Java user needs
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".modelport-tmp")]
