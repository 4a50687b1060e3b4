"""Every fixture model × every TensorFlow-family target: the artifact, run in its real runtime,
computes what Keras computes (max abs error ≤ 1e-5) at batch sizes 1 and 7. The artifacts are the
ones the no-traceback sweep's `convert --to all` wrote (conftest `converted`)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import RUNTIME, TF_TARGETS, seeded_inputs

from fixtures import FIXTURES
from modelport.runtimes import open_session
from modelport.runtimes.keras import session_for

ATOL = 1e-5


@pytest.mark.parametrize("name", list(FIXTURES))
def test_every_target_matches_keras(name, converted, loaded_fixture):
    loaded = loaded_fixture(name)
    keras_session = session_for(loaded.model, loaded.spec)
    artifacts = [a for a in converted(name).artifacts if a.format in TF_TARGETS]
    assert sorted(a.format for a in artifacts) == sorted(TF_TARGETS)  # `all` skips no TensorFlow target
    time_steps = (4, 9) if any(None in t.shape[1:] for t in loaded.spec.inputs) else (5,)
    for artifact in artifacts:
        session = open_session(RUNTIME[artifact.format], artifact)
        for batch in (1, 7):
            for steps in time_steps:
                x = seeded_inputs(loaded.spec, batch, seed=batch, time_steps=steps)
                expected = keras_session.run(x)
                got = session.run(x)
                assert set(got) == {t.name for t in loaded.spec.outputs}
                for out_name, want in expected.items():
                    assert got[out_name].shape == want.shape, (artifact.format, out_name)
                    err = float(np.max(np.abs(got[out_name].astype("float64") - want)))
                    assert err <= ATOL, f"{name} {artifact.format} {out_name} batch={batch}: {err}"


def test_h5_and_keras_files_convert_alike(converted, loaded_fixture):
    """The same model saved as .h5 and as .keras gives artifacts computing the same numbers."""
    a = {x.format: x for x in converted("multi_io", "h5").artifacts}["onnx"]
    b = {x.format: x for x in converted("multi_io", "keras").artifacts}["onnx"]
    x = seeded_inputs(loaded_fixture("multi_io").spec, 7)
    ra, rb = open_session("onnxruntime", a).run(x), open_session("onnxruntime", b).run(x)
    for key in ra:
        np.testing.assert_array_equal(ra[key], rb[key])
