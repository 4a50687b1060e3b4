"""Hostile and broken input: every file of the hostile corpus gets exit 2 and one line naming the
problem from convert, analyze, inspect and validate; no traceback, nothing created under the output path or anywhere else, no code run, memory
bounded. The corpus is built in code (tests/hostile/corpus.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile.corpus import CASES, HOSTILE, MARKER_NAME, build
from hostile.run import run_all, run_one

BOMB_RSS_LIMIT_MB = 120  # the bomb unpacks to 400 MB; reading the config must stay near the baseline


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("hostile"))


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def _commands(model: Path, out: Path) -> dict[str, list]:
    return {
        "convert": ["convert", model, "--to", "all", "-o", out],
        "analyze": ["analyze", model],
        "inspect": ["inspect", model],
        "validate": ["validate", model, out],
    }


# analyze and inspect only read the config: a Lambda's code cannot run there, so they report the
# file (exit 0/3) with a note that convert needs --trust-code, instead of refusing it
READ_ONLY = ("analyze", "inspect")


def _lambda_only(case) -> bool:
    return case.needle == "Lambda"


@pytest.mark.parametrize("case", HOSTILE, ids=[c.name for c in HOSTILE])
def test_hostile_file_is_refused_cleanly(corpus, tmp_path, case):
    model, out, work = corpus / case.name, tmp_path / "out", tmp_path / "work"
    work.mkdir()
    before = _snapshot(corpus)
    commands = _commands(model, out)
    runs = dict(zip(commands, run_all(list(commands.values()), cwd=work), strict=True))
    for command, run in runs.items():
        lines = run.error_lines()
        assert "Traceback" not in run.stderr, (command, run.stderr)
        if _lambda_only(case) and command in READ_ONLY:
            assert run.returncode in (0, 3) and "--trust-code" in run.stderr and "error" not in run.stderr, \
                (command, run.returncode, run.stderr)
            continue
        assert run.returncode == 2, (command, run.returncode, run.stderr, run.stdout[-300:])
        assert len(lines) == 1 and lines[0].startswith("error:"), (command, run.stderr)
        assert any(n in lines[0] for n in case.needle.split("|")), (command, lines[0])
        assert run.seconds < 60 and run.max_rss_mb < 400, (command, run.seconds, run.max_rss_mb)
    assert not out.exists(), sorted(p.name for p in out.rglob("*"))
    assert list(work.iterdir()) == [], "something was written to the working directory"
    assert _snapshot(corpus) == before, "the corpus directory changed"
    assert not (corpus / MARKER_NAME).exists(), "code stored in the model file ran"
    for base in (work, corpus):  # zip slip: ../../x relative to wherever it might be unpacked
        assert not (base.parent.parent / "x").exists() and not (base.parent / "x").exists()


@pytest.mark.parametrize("name", ["zip_bomb.keras", "zip_bomb_lying_header.keras"])
def test_zip_bomb_is_never_inflated(corpus, tmp_path, name):
    """400 MB of compressed spaces in config.json: refused from the header, or (header lying about
    the size) after one small read fails its CRC. Peak RSS stays near an ordinary run's."""
    baseline = run_one(["analyze", corpus / "empty.h5"], cwd=tmp_path)
    bomb = run_one(["analyze", corpus / name], cwd=tmp_path)
    assert bomb.returncode == 2 and "config.json" in bomb.stderr
    assert bomb.max_rss_mb < max(BOMB_RSS_LIMIT_MB, baseline.max_rss_mb + 50), (bomb.max_rss_mb, baseline.max_rss_mb)
    assert bomb.seconds < 20


def test_lambda_refusal_is_not_vacuous(corpus, tmp_path):
    """The marker test can fail: with --trust-code the Lambda does run and writes the marker."""
    marker = corpus / MARKER_NAME
    run = run_one(["convert", corpus / "lambda_keras3.keras", "--to", "onnx", "--no-validate", "--trust-code",
                   "-o", tmp_path / "out"], cwd=tmp_path)
    try:
        assert marker.exists(), run.stderr[-2000:]
    finally:
        marker.unlink(missing_ok=True)


LEGIT = [c for c in CASES if c.legit]


@pytest.mark.parametrize("case", LEGIT, ids=[c.name for c in LEGIT])
def test_hdf5_named_keras_loads(corpus, tmp_path, case):
    """Legitimate: tf.keras 2.11 wrote HDF5 files named .keras. Sniffed by content, converted, validated."""
    import numpy as np
    import onnxruntime as ort

    out = tmp_path / "out"
    runs = run_all([["analyze", corpus / case.name, "--to", "onnx"], ["inspect", corpus / case.name],
                    ["convert", corpus / case.name, "--to", "onnx", "-o", out]], cwd=tmp_path)
    assert [r.returncode for r in runs] == [0, 0, 0], [r.stderr[-1500:] for r in runs]
    session = ort.InferenceSession(str(out / "hdf5_named.onnx"))
    (result,) = session.run(None, {session.get_inputs()[0].name: np.ones((3, 4), np.float32)})
    assert result.shape == (3, 2) and np.isfinite(result).all()
