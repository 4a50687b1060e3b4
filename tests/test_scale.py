"""Issue 10: ONNX conversion keeps the weights out of tf2onnx's TensorFlow half and folds what it
wraps around them; the ONNX file is written without a second copy (external data past 2 GB); a
frozen .pb past protobuf's limit is refused up front; progress has real steps and totals."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import seeded_inputs

from fixtures import FIXTURES
from modelport.convert import get
from modelport.convert.base import ExportOptions
from modelport.convert.onnx_weights import LARGE_CONST_BYTES, is_weight, split_weights
from modelport.runtimes import open_session
from modelport.runtimes.keras import session_for


@pytest.mark.parametrize("name", ["cnn", "batchnorm"])
def test_weights_bypass_tf2onnx_and_are_folded(name, loaded_fixture, tmp_path, monkeypatch):
    import onnx
    import tf2onnx

    from modelport.convert.tf_graph import frozen_graph, trace

    loaded = loaded_fixture(name)
    frozen = frozen_graph(trace(loaded.model, loaded.spec), loaded.model, lower_control_flow=False)
    weights = {n.name for n in frozen.node if is_weight(n)}
    assert weights, "the fixture has weights above the threshold"
    seen = []
    original = tf2onnx.convert.from_graph_def
    monkeypatch.setattr(tf2onnx.convert, "from_graph_def", lambda graph_def, **kw: seen.append(graph_def) or
                        original(graph_def, **kw))
    artifact = get("onnx").export(loaded.model, loaded.spec, tmp_path / f"{name}.onnx", ExportOptions())

    handed = {n.name: n for n in seen[0].node}
    assert not [n.name for n in handed.values() if n.op == "Const" and is_weight(n)]  # no weight went in
    assert all(handed[w].op == "Placeholder" for w in weights)
    model = onnx.load(str(artifact.path))
    assert [i.name for i in model.graph.input] == [t.name for t in loaded.spec.inputs]  # weights came back
    assert sum(len(t.raw_data) for t in model.graph.initializer) >= LARGE_CONST_BYTES
    initializers = {t.name for t in model.graph.initializer}
    # everything computable from weights alone was folded: no Transpose of a kernel, no batch-norm
    # arithmetic left for the runtime
    on_weights_only = [f"{n.op_type}({', '.join(n.input)})" for n in model.graph.node
                       if n.input and all(i in initializers for i in n.input)]
    assert on_weights_only == []
    keras_session, onnx_session = session_for(loaded.model, loaded.spec), open_session("onnxruntime", artifact)
    x = seeded_inputs(loaded.spec, 7, seed=3)
    want, got = keras_session.run(x), onnx_session.run(x)
    for key in want:
        assert np.max(np.abs(got[key] - want[key])) <= 1e-5
        assert np.std(want[key]) > 1e-3  # the comparison means something: outputs vary with inputs


def _tiny_model(n: int = 64):
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((n, n)).astype("float32"), "w")
    b = numpy_helper.from_array(rng.standard_normal(n).astype("float32"), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", n])], [w, b], doc_string="d")
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="t")
    model.metadata_props.add(key="k", value="v")  # a field after the graph's
    return model


def test_streamed_write_is_the_deterministic_serialisation(tmp_path, monkeypatch):
    import onnxruntime as ort

    from modelport.convert import onnx_io

    model = _tiny_model()
    assert onnx_io.write_model(model, tmp_path / "a.onnx") is None
    assert (tmp_path / "a.onnx").read_bytes() == model.SerializeToString(deterministic=True)
    # past the protobuf limit (lowered here): external data beside the model, same numbers
    monkeypatch.setattr(onnx_io, "PROTOBUF_LIMIT", 1000)
    monkeypatch.setattr(onnx_io, "_HEADROOM", 0)
    assert onnx_io.write_model(model, tmp_path / "b.onnx") == "b.onnx.data"
    assert (tmp_path / "b.onnx.data").stat().st_size >= 64 * 64 * 4
    assert (tmp_path / "b.onnx").stat().st_size < 4096
    x = np.random.default_rng(1).standard_normal((3, 64)).astype("float32")
    ya, yb = (ort.InferenceSession(str(tmp_path / f), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
              for f in ("a.onnx", "b.onnx"))
    np.testing.assert_array_equal(ya, yb)


@pytest.mark.parametrize("name", list(FIXTURES))
def test_weight_bytes_from_config_match_keras(name, loaded_fixture):
    from modelport.analyze.weight_bytes import weight_bytes

    loaded = loaded_fixture(name)
    assert weight_bytes(loaded.spec) == sum(int(np.prod(w.shape)) * 4 for w in loaded.model.weights)


def test_pb_refused_up_front_past_two_gigabytes():
    from modelport.analyze import analyze
    from modelport.cli._reporting import skipped_by_class
    from modelport.spec import LayerSpec, ModelSpec, TensorSpec

    def spec(width: int) -> ModelSpec:
        layers = [LayerSpec("x", "InputLayer", {"batch_shape": [None, width]}),
                  LayerSpec("wide1", "Dense", {"units": width}, ("x",)),
                  LayerSpec("wide2", "Dense", {"units": width}, ("wide1",))]
        return ModelSpec("big.keras", "zip", "Functional", layers, [TensorSpec("x", (None, width))],
                         [TensorSpec("wide2", (None, width))])

    big = analyze(spec(16384), ["pb", "onnx", "savedmodel", "ckpt"])  # 2 x 16384^2 float32 = 2.15 GB
    assert not big.ok_for("pb") and big.ok_for("onnx") and big.ok_for("savedmodel") and big.ok_for("ckpt")
    line = skipped_by_class(big.unsupported("pb"))
    assert "2.15 GB" in line and "savedmodel" in line and "onnx" in line
    assert analyze(spec(16000), ["pb"]).ok_for("pb")  # 2.05e9 bytes: still under 2 GiB


def test_progress_names_steps_with_totals(fixture_file, tmp_path):
    import modelport

    calls = []
    modelport.convert(fixture_file("mlp"), to="pb,onnx", out_dir=tmp_path / "out", validate=False,
                      progress=lambda step, done, total: calls.append((step, done, total)))
    assert calls == [("loading mlp.keras", 0, 3), ("converting to pb", 1, 3), ("converting to onnx", 2, 3)]


def test_skipped_targets_summarised_per_layer_class():
    from modelport.cli._reporting import skipped_by_class
    from modelport.convert.base import UNSUPPORTED, Finding

    findings = [Finding("pmml", f"conv{i}", "Conv2D", UNSUPPORTED, reason="no convolution in PMML") for i in range(53)]
    findings.append(Finding("pmml", "gap", "GlobalAveragePooling2D", UNSUPPORTED, reason="no pooling in PMML"))
    assert skipped_by_class(findings) == ("53 Conv2D layers — no convolution in PMML; "
                                          "1 GlobalAveragePooling2D layer — no pooling in PMML")


def test_runtimes_outside_python_run_every_batch_in_one_launch(fixture_file, loaded_fixture, tmp_path):
    """The TF C API program and the plain JVM start once per artifact, not once per batch, and give
    what one launch per batch gives."""
    import modelport
    from modelport.runtimes import java, tf_c_api

    result = modelport.convert(fixture_file("mlp"), to="pb,pmml", out_dir=tmp_path / "out", validate=False)
    spec = loaded_fixture("mlp").spec
    batches = [seeded_inputs(spec, n, seed=n) for n in (1, 7)]
    for artifact in result.artifacts:
        session = (tf_c_api if artifact.format == "pb" else java).load(artifact)
        together = session.run_many(batches)
        for batch, joint in zip(batches, together):
            alone = session.run(batch)
            assert set(joint) == set(alone) == {"probs"}
            np.testing.assert_array_equal(joint["probs"], alone["probs"])


def _java_children() -> list[int]:
    """Process ids of the `java` processes this test process started (the run's SparkSession, if an
    earlier test made one, is among them: compare before and after)."""
    import os

    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid == os.getpid():
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().split(b"\0")[0].decode()
                if cmd.endswith("java"):
                    found.append(int(pid))
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_plain_java_program_runs_in_the_one_jvm(fixture_file, loaded_fixture, tmp_path, monkeypatch):
    """The plain Java program and PMML4S share the JPype JVM (no `java` process): the plain program
    gives what its own JVM gives, PMML4S what JPMML gives."""
    import modelport
    from modelport.runtimes import java, jpmml, pmml4s

    result = modelport.convert(fixture_file("mlp"), to="pmml", out_dir=tmp_path / "out", validate=False)
    batch = seeded_inputs(loaded_fixture("mlp").spec, 9, seed=4)
    before = set(_java_children())
    alone = java.load(result.artifacts[0], in_process=False).run(batch)

    def no_process(*args, **kwargs):
        raise AssertionError(f"started a process: {args[0]}")

    monkeypatch.setattr(java.subprocess, "run", no_process)
    session = java.load(result.artifacts[0])
    shared = session.run(batch)
    np.testing.assert_array_equal(shared["probs"], alone["probs"])
    assert np.std(shared["probs"]) > 1e-3 and session.timings["rows"] == 9
    by_jpmml = jpmml.load(result.artifacts[0]).run(batch)["probs"]
    by_pmml4s = pmml4s.load(result.artifacts[0]).run(batch)["probs"]
    np.testing.assert_allclose(by_pmml4s, by_jpmml, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(by_jpmml, shared["probs"])
    assert set(_java_children()) <= before  # neither PMML4S (pypmml's gateway) nor the program started a JVM


def test_tensorflow_child_process_gives_the_in_process_numbers(fixture_file, loaded_fixture, tmp_path, monkeypatch):
    """Large artifacts validate in a child process whose memory goes back at close; same numbers, and
    a broken artifact fails its load with TensorFlow's reason."""
    import modelport
    from modelport.runtimes import tensorflow
    from modelport.validators import runtimes as rt
    from modelport.validators.inputs import Case
    from modelport.validators.running import run_artifact
    from modelport.validators.tolerance import Tolerance

    result = modelport.convert(fixture_file("cnn"), to="pb,savedmodel", out_dir=tmp_path / "out", validate=False)
    spec = loaded_fixture("cnn").spec
    batches = [seeded_inputs(spec, n, seed=n) for n in (1, 5)]
    for artifact in result.artifacts:
        monkeypatch.setenv("MODELPORT_TF_CHILD", "0")
        here = tensorflow.load(artifact)
        monkeypatch.setenv("MODELPORT_TF_CHILD", "1")
        child = tensorflow.load(artifact)
        assert isinstance(child, tensorflow.ChildSession) and not isinstance(here, tensorflow.ChildSession)
        for batch, got in zip(batches, child.run_many(batches)):
            want = here.run(batch)
            assert set(got) == set(want)
            for key in want:
                np.testing.assert_array_equal(got[key], want[key])
                assert np.std(want[key]) > 1e-3
        child.close()
        assert child._proc.returncode == 0  # it exited: its memory is the OS's again
    broken = next(a for a in result.artifacts if a.format == "pb")
    broken.path.write_bytes(broken.path.read_bytes()[:100])
    failed = run_artifact(rt.Planned(broken, "tensorflow"), [Case("x", batches[0])], [{}], Tolerance(), set())
    assert failed.error.startswith("tensorflow could not load the artifact: RuntimeError: DecodeError"), failed.error


def test_large_frozen_graph_runs_with_its_constants_fed(converted, loaded_fixture, monkeypatch):
    """A frozen graph of 32 MiB or more runs with its weight constants fed (a session holding them as
    constants costs ~10x their bytes): the arrays are the file's bytes, the graph keeps no large
    constant, and TensorFlow in-process, in its child and the C API give what the graph as saved gives."""
    from tensorflow.core.framework import graph_pb2

    from modelport.runtimes import frozen_feeds, tensorflow, tf_c_api
    from modelport.validators import runtimes as rt
    from modelport.validators.inputs import Case
    from modelport.validators.running import run_artifact
    from modelport.validators.tolerance import Tolerance

    pb = next(a for a in converted("cnn").artifacts if a.format == "pb")
    assert pb.path.stat().st_size < frozen_feeds.FEED_FROM_BYTES  # a small graph keeps its constants
    saved = graph_pb2.GraphDef.FromString(pb.path.read_bytes())  # an independent reading of the file
    fed = frozen_feeds.split(pb.path)
    stripped = graph_pb2.GraphDef.FromString(fed.graph_def)
    assert [n.name for n in stripped.node] == [n.name for n in saved.node]
    kernels = {f"{n.name}:0": n.attr["value"].tensor for n in saved.node if is_weight(n)}
    assert len(kernels) >= 2 and set(fed.constants) == set(kernels)
    for name, tensor in kernels.items():
        assert fed.constants[name].tobytes() == tensor.tensor_content
        assert list(fed.constants[name].shape) == [d.size for d in tensor.tensor_shape.dim]
    assert not any(is_weight(n) for n in stripped.node)
    assert stripped == split_weights(saved)[0]  # read at the wire level, the graph protobuf makes of it

    spec = loaded_fixture("cnn").spec
    batches = [seeded_inputs(spec, n, seed=n) for n in (1, 6)]
    monkeypatch.setenv("MODELPORT_TF_CHILD", "0")
    monkeypatch.setenv("MODELPORT_FROZEN_CONSTANTS", "keep")
    as_saved = [tensorflow.load(pb).run(b) for b in batches]
    assert tensorflow.load(pb).method is None and np.std(as_saved[1]["probs"]) > 1e-3
    monkeypatch.setenv("MODELPORT_FROZEN_CONSTANTS", "feed")
    here = tensorflow.load(pb)
    monkeypatch.setenv("MODELPORT_TF_CHILD", "1")
    child = tensorflow.load(pb)
    c_api = tf_c_api.load(pb)
    for session in (here, child, c_api):
        assert session.method.startswith(f"{len(kernels)} weight constants (")
        for got, want in zip(session.run_many(batches) if hasattr(session, "run_many") else map(session.run, batches),
                             as_saved):
            np.testing.assert_allclose(got["probs"], want["probs"], rtol=1e-6, atol=1e-7)
    child.close()
    c_api.close()
    result = run_artifact(rt.Planned(pb, "tf_c_api"), [Case("x", batches[1])], [as_saved[1]], Tolerance(), set())
    assert result.passed and result.to_dict()["method"] == c_api.method


def test_memory_is_released_once_the_process_has_grown(monkeypatch):
    """A full collection walks every object (seconds in a big process): it runs when the resident size
    grew by RELEASE_GROWTH since the last one, and always where the size cannot be read."""
    from modelport import _memory

    collected, sizes = [], iter([100, 100, 150, 100 + _memory.RELEASE_GROWTH, 90, 95, None, None])
    monkeypatch.setattr(_memory.gc, "collect", lambda: collected.append(1) or 0)
    monkeypatch.setattr(_memory, "resident_bytes", lambda: next(sizes))
    monkeypatch.setattr(_memory, "_after_last", None)
    _memory.release()  # the first one collects (100 before, 100 after)
    _memory.release()  # 150: grew by 50, skipped
    _memory.release()  # grew by RELEASE_GROWTH: collects (90 after)
    assert len(collected) == 2
    _memory.release()  # 95: skipped
    _memory.release()  # size unknown: collects
    assert len(collected) == 3
