"""Shared, built-once material for the validation, report and gate tests (cached per process)."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(tempfile.mkdtemp(prefix="modelport-validation-tests-"))
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)


@functools.cache
def fixture_model(name: str) -> Path:
    from fixtures import save

    return save(name, ROOT / "models", "keras")


@functools.cache
def converted_mlp():
    """mlp converted to onnx, pb and pmml with validation on (golden file + parity in the manifest)."""
    import modelport

    return modelport.convert(fixture_model("mlp"), to=["onnx", "pb", "pmml"], out_dir=ROOT / "mlp-out")


@functools.cache
def loaded(name: str):
    import modelport

    return modelport.load(fixture_model(name))


def artifact(result, fmt: str):
    return next(a for a in result.artifacts if a.format == fmt)


def perturb_onnx(src: Path, dest: Path, layer: str, delta: float = 0.5) -> str:
    """Copy an ONNX file with one weight of ``layer`` changed; returns the initializer's name."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    for init in model.graph.initializer:
        if f"/{layer}" in init.name and len(init.dims) == 2:
            w = numpy_helper.to_array(init).copy()
            w.flat[0] += delta
            init.CopyFrom(numpy_helper.from_array(w, init.name))
            onnx.save(model, str(dest))
            return init.name
    raise AssertionError(f"no 2-D initializer of {layer} in {src}")


def perturb_pmml(src: Path, dest: Path) -> None:
    """Copy a PMML file with the first connection weight changed."""
    import re

    text = src.read_text()
    match = re.search(r'weight="([^"]+)"', text)
    assert match, "no weight in the PMML file"
    new = repr(float(match.group(1)) + 0.5)
    dest.write_text(text[:match.start(1)] + new + text[match.end(1):])


def nan_onnx(src: Path, dest: Path) -> None:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    init = model.graph.initializer[0]
    w = numpy_helper.to_array(init).copy()
    w[...] = np.nan
    init.CopyFrom(numpy_helper.from_array(w, init.name))
    onnx.save(model, str(dest))


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """Run the CLI in-process; (exit code, stdout, stderr)."""
    from modelport.cli import run

    try:
        run(args)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    out = capsys.readouterr()
    return code, out.out, out.err
