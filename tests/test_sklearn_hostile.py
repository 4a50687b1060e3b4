"""Hostile scikit-learn files: a pickle (and a joblib dump) whose ``__reduce__`` writes a marker file
when loaded, and a skops file naming a type that is not scikit-learn's. Every command refuses them
with exit 2 and one line; the marker never appears; ``--trust-type`` accepts the foreign type."""

from __future__ import annotations

import pathlib
import pickle

import pytest
from hostile.run import run_all

from modelport import api
from modelport.errors import NotAModelError, UnsafeModelError

MARKER = "SKLEARN_PWNED"


class Evil:
    """Unpickling calls Path.touch on the marker: code run by merely loading the file."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import joblib
    import numpy as np
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn_foreign import Doubler

    root = tmp_path_factory.mktemp("sklearn-hostile")
    marker = root / MARKER
    (root / "evil.pkl").write_bytes(pickle.dumps(Evil(marker), protocol=4))
    joblib.dump(Evil(marker), root / "evil.joblib", compress=3)
    x = np.random.default_rng(0).normal(size=(60, 3))
    pipeline = Pipeline([("double", Doubler()), ("clf", LogisticRegression())]).fit(x, (x[:, 0] > 0).astype(int))
    sio.dump(pipeline, root / "foreign.skops")
    return root


@pytest.mark.parametrize("name", ["evil.pkl", "evil.joblib"])
def test_pickles_never_run(files, tmp_path, name):
    model, out = files / name, tmp_path / "out"
    runs = run_all([["convert", model, "--to", "all", "-o", out], ["analyze", model], ["inspect", model],
                    ["validate", model, out]], cwd=tmp_path)
    for run in runs:
        lines = run.error_lines()
        assert run.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), (run.args, run.stderr)
        assert "Traceback" not in run.stderr
    assert "pickle/joblib" in runs[0].stderr and "skops.io.dump" in runs[0].stderr and "--trust-code" in runs[0].stderr
    assert not out.exists()
    assert not (files / MARKER).exists(), "code in the pickle ran"


def test_pickle_refusal_is_not_vacuous(files):
    """With --trust-code the pickle is loaded, so its code runs: the marker test can fail."""
    marker = files / MARKER
    try:
        with pytest.raises(NotAModelError, match="not a scikit-learn estimator"):  # it unpickles to None
            api.load(files / "evil.pkl", trust_code=True)
        assert marker.exists()
    finally:
        marker.unlink(missing_ok=True)


def test_foreign_type_is_refused_and_listed(files, tmp_path):
    (run,) = run_all([["convert", files / "foreign.skops", "-o", tmp_path / "out"]], cwd=tmp_path)
    assert run.returncode == 2 and "sklearn_foreign.Doubler" in run.stderr and "--trust-type" in run.stderr
    assert len(run.error_lines()) == 1 and not (tmp_path / "out").exists()
    with pytest.raises(UnsafeModelError, match="sklearn_foreign.Doubler"):
        api.analyze(files / "foreign.skops")
    loaded = api.load(files / "foreign.skops", api.LoadOptions(trust_types=("sklearn_foreign.Doubler",)))
    assert type(loaded.model.estimator.steps[0][1]).__name__ == "Doubler"
    assert loaded.spec.trust["trust_types"] == ["sklearn_foreign.Doubler"]
