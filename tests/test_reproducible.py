"""Reproducible: converting the same model in two separate processes gives byte-identical pb, onnx
and pmml files and manifests that differ only in the fields documented as run-specific."""

from __future__ import annotations

import json

from hostile.run import run_all

from modelport.manifest import RUN_SPECIFIC_FIELDS


def test_two_processes_same_bytes(fixture_file, tmp_path):
    model = fixture_file("mlp")
    a, b = tmp_path / "a", tmp_path / "b"
    runs = run_all([["convert", model, "--to", "pb,onnx,pmml", "-o", out, "--no-validate"] for out in (a, b)],
                   cwd=tmp_path)
    assert [r.returncode for r in runs] == [0, 0], [r.stderr[-1500:] for r in runs]
    for name in ("mlp.pb", "mlp.onnx", "mlp.pmml"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ma, mb = (json.loads((d / "modelport.json").read_text()) for d in (a, b))
    for field in RUN_SPECIFIC_FIELDS:
        ma.pop(field), mb.pop(field)
    assert ma == mb
    text = json.dumps(ma)
    assert str(tmp_path) not in text and "/tmp" not in text  # no absolute temp paths outside `run`
