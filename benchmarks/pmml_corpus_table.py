"""Every loadable corpus file through the PMML target: converted (with size, JPMML rows/s and the
max error against Keras) or refused (with the analyser's estimate). Not run in CI.

    python benchmarks/pmml_corpus_table.py [CORPUS_DIR]   (default: $MODELPORT_CORPUS)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LOADABLE = ["covid_chatbot_mlp.h5", "ddpg_torcs_actor.h5", "fashion_mnist_cnn_2026.keras", "gender_mini_xception.hdf5",
            "iris_mlp_theano_2018.h5", "multi_output_assign_2024.h5", "nids_conv1d.h5",
            "pollution_lstm_tf_2018.h5", "quora_pairs_bilstm.h5", "stock_trend_lstm.h5"]
ROWS = 32


def row(corpus: Path, name: str, out: Path) -> str:
    import modelport
    from modelport import api
    from modelport.api import LoadOptions
    from modelport.convert.base import ExportOptions
    from modelport.convert.pmml import PmmlConverter
    from modelport.runtimes import open_session
    from modelport.units import human_size

    path = corpus / name
    options = LoadOptions(architecture=corpus / "ddpg_torcs_actor.json") if name.startswith("ddpg") else LoadOptions()
    try:
        analysis = api.analyze(path, "pmml", options)
    except Exception as e:  # noqa: BLE001
        return f"| {name} | no | - | - | - | analyse failed: {e} |"
    est = analysis.estimates.get("pmml", {})
    est_text = f"est. {human_size(est['document_bytes'])}" if est else ""
    if not analysis.ok_for("pmml"):
        f = analysis.unsupported("pmml")[0]
        return f"| {name} | no | {est_text} | - | - | {f.layer}: {f.reason} |"
    loaded = modelport.load(path, **options.as_kwargs())
    t0 = time.perf_counter()
    artifact = PmmlConverter().export(loaded.model, loaded.spec, out / f"{path.stem}.pmml", ExportOptions())
    write_s = time.perf_counter() - t0
    files = [artifact.path] if artifact.path.is_file() else [p for p in artifact.path.iterdir()]
    size = sum(p.stat().st_size for p in files)
    rng = np.random.default_rng(0)
    inputs = {}
    for t in loaded.spec.inputs:
        shape = (ROWS, *t.shape[1:])
        inputs[t.name] = (rng.integers(0, 10, size=shape).astype(t.dtype) if t.dtype.startswith("int")
                          else rng.normal(size=shape).astype(np.float32))
    arrays = [inputs[t.name] for t in loaded.spec.inputs]
    raw = loaded.model(arrays if len(arrays) > 1 else arrays[0], training=False)
    raw = raw if isinstance(raw, (list, tuple)) else [raw]
    session = open_session("jpmml", artifact)
    got = session.run(inputs)  # also the JIT's warm-up
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 5.0:  # rows/s over at least 5 s of scoring
        session.run(inputs)
        done += ROWS
    rate = done / (time.perf_counter() - t0)
    err = max(float(np.max(np.abs(np.asarray(got[t.name], np.float64).reshape(np.shape(r)) - np.asarray(r, np.float64))))
              for t, r in zip(loaded.spec.outputs, raw, strict=False))
    return (f"| {name} | yes | {human_size(size)} ({est_text}, written in {write_s:.1f} s) | {rate:,.0f} | {err:.2g} | "
            f"{len(loaded.spec.layers)} layers |")


def main() -> None:
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ["MODELPORT_CORPUS"])
    print("| file | PMML | size | JPMML rows/s | max error vs Keras | note |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in LOADABLE:
            try:
                print(row(corpus, name, Path(tmp)), flush=True)
            except Exception as e:  # noqa: BLE001
                print(f"| {name} | no | - | - | - | {type(e).__name__}: {str(e).splitlines()[0][:160]} |", flush=True)


if __name__ == "__main__":
    main()
