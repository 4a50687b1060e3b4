"""Scoring on Spark: every route (ONNX and SavedModel in Python workers, PMML in the JVM) on local[2]
and on a loopback standalone cluster, the Java job, the CLI's bad-input behaviour.

One SparkSession (local[2]) serves the in-process tests; the cluster tests run `modelport` and
`spark-submit` as subprocesses against a master and worker started on 127.0.0.1. Numbers are
checked against the Keras model (the reference) and, for PMML, the in-process JPMML runtime."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelport.errors import BadInputError
from modelport.runtimes.keras import session_for

ATOL = 1e-5
ROUTES = ("onnx", "pmml", "savedmodel")


def keras_outputs(loaded_fixture, name, inputs):
    loaded = loaded_fixture(name)
    return session_for(loaded.model, loaded.spec).run({k: v.astype(np.float32) for k, v in inputs.items()})


def array_column(x: np.ndarray) -> pa.Array:
    width = x.shape[1]
    return pa.ListArray.from_arrays(pa.array(np.arange(0, (len(x) + 1) * width, width, dtype=np.int32)),
                                    pa.array(x.ravel()))


def write_features(path, x, extra=None):
    pq.write_table(pa.table({"id": np.arange(len(x)), "features": array_column(x), **(extra or {})}), path)


def modelport_score(df, out_dir, **kwargs):
    import modelport

    return modelport.spark.score(df, out_dir, **kwargs)


def run_cli(*args, env=None, timeout=600):
    cmd = [sys.executable, "-c", "from modelport.cli import main; main()", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env or os.environ.copy(), timeout=timeout)


def test_validate_every_route_on_local(spark, spark_artifacts, fixture_file):
    from modelport.validators.discover import validate_paths

    report = validate_paths(fixture_file("mlp"), spark_artifacts("mlp"), runtimes=["spark"], localize=False)
    got = {(r.format, r.runtime): r for r in report.results}
    assert set(got) == {(f, "spark") for f in ROUTES}, got  # only the runtime asked for
    for result in got.values():
        assert result.status == "pass", (result.format, result.error)
        assert result.rows == 33 and all(o.max_abs <= ATOL for o in result.outputs)


def test_session_is_callable_after_its_module_is_imported(spark):
    """`modelport.spark.session()` twice in one process (a notebook): importing the submodule of the
    same name (session() itself does) must not turn the public function into a module."""
    import modelport
    import modelport.spark.session  # noqa: F401  (binds the submodule on modelport.spark)

    for _ in range(2):
        assert modelport.spark.session().sparkContext.applicationId == spark.sparkContext.applicationId


def unseen_copy(out_dir, tmp_path):
    """A copy of the artifacts whose ONNX file has other bytes (a new doc string), same numbers:
    the Python workers of this session have not loaded it yet."""
    import shutil

    import onnx

    copy = tmp_path / "unseen"
    shutil.copytree(out_dir, copy)
    model = onnx.load(str(copy / "mlp.onnx"))
    model.doc_string = os.urandom(8).hex()
    onnx.save(model, str(copy / "mlp.onnx"))
    return copy


def test_model_loaded_once_per_python_worker(spark, spark_artifacts, loaded_fixture, tmp_path):
    from modelport.spark.routes import choose
    from modelport.spark.scoring import score_dataframe

    artifacts = unseen_copy(spark_artifacts("mlp"), tmp_path)
    x = np.random.default_rng(3).normal(0, 2, (20_000, 8))
    df = spark.createDataFrame(pa.table({"id": np.arange(len(x)), "features": array_column(x)})).repartition(16)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "500")  # 40+ batches over 16 tasks
    try:
        scored = score_dataframe(df, choose(artifacts, "onnx"), keep=["id"])
        table = scored.df.toArrow().sort_by("id")
        again = score_dataframe(df, choose(artifacts, "onnx"), keep=["id"])
        assert again.df.count() == len(x)
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    loads = scored.loads
    assert 1 <= len(loads) <= 2, loads  # local[2]: at most two Python workers, each loaded the model once
    assert all(v["loads"] == 1 and v["threads"] == 1 for v in loads.values()), loads  # 1 core per task
    assert sum(v["loads"] for v in again.loads.values()) <= 2 - len(loads), again.loads  # workers kept their model
    probs = np.asarray(table.column("probs").combine_chunks().flatten()).reshape(-1, 3)
    expected = keras_outputs(loaded_fixture, "mlp", {"features": x})["probs"]
    np.testing.assert_allclose(probs, expected, atol=ATOL)
    assert np.ptp(probs[:, 0]) > 0.1  # outputs vary with the inputs


@pytest.mark.parametrize("via", ROUTES)
def test_bad_rows_get_an_error_column_and_the_rest_are_scored(spark, spark_artifacts, loaded_fixture, via):
    from modelport.spark.routes import choose
    from modelport.spark.scoring import score_dataframe

    x = np.random.default_rng(4).normal(0, 2, (50, 8))
    rows = [(i, x[i].tolist()) for i in range(len(x))]
    rows[3] = (3, None)
    rows[7] = (7, x[7, :5].tolist())
    rows[9] = (9, [float("nan"), *x[9, 1:].tolist()])
    df = spark.createDataFrame(rows, "id long, features array<double>")
    out = sorted(score_dataframe(df, choose(spark_artifacts("mlp"), via), keep=["id"]).df.collect(), key=lambda r: r.id)
    assert [r.modelport_error for r in out if r.modelport_error] == [
        "input 'features' is null", "input 'features' has 5 values, expected 8", "input 'features' has a null or NaN value"]
    assert all(out[i].probs is None and out[i].probs_label is None for i in (3, 7, 9))
    good = [i for i in range(len(x)) if i not in (3, 7, 9)]
    probs = np.array([out[i].probs for i in good])
    expected = keras_outputs(loaded_fixture, "mlp", {"features": x[good]})["probs"]
    np.testing.assert_allclose(probs, expected, atol=ATOL)
    assert [out[i].probs_label for i in good] == [["a", "b", "c"][k] for k in np.argmax(expected, axis=1)]


def test_scalar_columns_multi_io_and_transformer(spark, spark_artifacts, loaded_fixture):
    import modelport
    from modelport.spark import ModelportTransformer

    rng = np.random.default_rng(5)
    x = rng.normal(0, 2, (40, 8))
    scalars = spark.createDataFrame(pa.table({"id": np.arange(40), **{f"x{i + 1}": x[:, i] for i in range(8)}}))
    expected = keras_outputs(loaded_fixture, "mlp", {"features": x})["probs"]
    for via in ("onnx", "pmml"):  # the PMML field names x1..x8 as scalar columns
        out = modelport.spark.score(scalars, spark_artifacts("mlp"), via=via, keep=["id"]).toArrow().sort_by("id")
        np.testing.assert_allclose(np.array(out.column("probs").to_pylist()), expected, atol=ATOL)
    renamed = scalars.toDF("id", *[f"f{i}" for i in range(8)])
    with pytest.raises(BadInputError, match=r"input 'features' needs an array column 'features' \(8 values\) or the 8 "
                                            r"columns x1, x2, \.\.\., x8; found: id, f0, f1"):
        modelport.spark.score(renamed, spark_artifacts("mlp"))
    out = modelport.spark.score(renamed, spark_artifacts("mlp"), feature_names=[f"f{i}" for i in range(8)])
    np.testing.assert_allclose(np.array(out.sort("id").toArrow().column("probs").to_pylist()), expected, atol=ATOL)

    numeric, extra = rng.normal(0, 2, (30, 5)), rng.normal(0, 2, (30, 3))
    df = spark.createDataFrame(pa.table({"id": np.arange(30), "a": array_column(numeric), "extra": array_column(extra)}))
    want = keras_outputs(loaded_fixture, "multi_io", {"numeric": numeric, "extra": extra})
    for via in ROUTES:
        stage = ModelportTransformer(artifacts=str(spark_artifacts("multi_io")), via=via)
        if via != "savedmodel":
            from pyspark.ml import Pipeline

            stage = Pipeline(stages=[stage]).fit(df)
        with pytest.raises(BadInputError, match="input 'numeric' needs"):
            stage.transform(df)  # 'numeric' lives in column 'a': map it
        out = modelport.spark.score(df, spark_artifacts("multi_io"), via=via, columns={"numeric": "a"}).toArrow()
        out = out.sort_by("id")
        assert out.column_names == ["id", "a", "extra", "label", "label_label", "amount", "modelport_error"]
        np.testing.assert_allclose(np.array(out.column("label").to_pylist()), want["label"], atol=ATOL)
        np.testing.assert_allclose(np.array(out.column("amount").to_pylist()), want["amount"], atol=ATOL)
        assert out.column("label_label").to_pylist() == [str(k) for k in np.argmax(want["label"], axis=1)]


def test_cli_score_formats_row_errors_and_existing_output(spark, spark_artifacts, loaded_fixture, tmp_path, capsys):
    from modelport.cli import run

    out_dir = spark_artifacts("mlp")
    x = np.random.default_rng(6).normal(0, 2, (60, 8))
    expected = keras_outputs(loaded_fixture, "mlp", {"features": x})["probs"]
    source = spark.createDataFrame(pa.table({"id": np.arange(60), "features": array_column(x)}))
    source.write.orc(str(tmp_path / "in.orc"))
    source.write.json(str(tmp_path / "in.json"))
    for fmt in ("orc",):
        with pytest.raises(SystemExit) as done:
            run(["score", str(out_dir), "-i", str(tmp_path / f"in.{fmt}"), "-o", str(tmp_path / f"{fmt}.parquet"),
                 "--keep", "id"])
        assert done.value.code in (0, None)
        table = pq.read_table(tmp_path / f"{fmt}.parquet").sort_by("id")
        assert table.column_names == ["id", "probs", "probs_label", "modelport_error"]
        np.testing.assert_allclose(np.array(table.column("probs").to_pylist()), expected, atol=ATOL)
    assert "scored 60 rows via onnx" in capsys.readouterr().out
    from modelport.spark.job import read_input

    as_json = modelport_score(read_input(spark, str(tmp_path / "in.json"), "json"), out_dir).toArrow().sort_by("id")
    np.testing.assert_allclose(np.array(as_json.column("probs").to_pylist()), expected, atol=ATOL)

    lines = ["id," + ",".join(f"x{i + 1}" for i in range(8))]
    lines += [f"{i}," + ",".join(f"{v:.17g}" for v in x[i]) for i in range(60)]
    lines[5] = "4," + ",".join(["oops"] + [f"{v:.17g}" for v in x[4, 1:]])  # not a number: that row fails
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    scored = tmp_path / "scored.csv"
    with pytest.raises(SystemExit) as done:
        run(["score", str(out_dir), "-i", str(tmp_path / "in.csv"), "-o", str(scored), "--keep", "id", "--via", "pmml"])
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert "1 of 60 rows could not be scored" in err and "--allow-row-errors" in err
    table = spark.read.option("header", "true").csv(str(scored)).toArrow()
    assert table.column_names == ["id", "probs_0", "probs_1", "probs_2", "probs_label", "modelport_error"]
    assert table.column("modelport_error").drop_null().to_pylist() == ["input 'features' has a null or NaN value"]
    with pytest.raises(SystemExit) as done:  # the output exists
        run(["score", str(out_dir), "-i", str(tmp_path / "in.csv"), "-o", str(scored), "--allow-row-errors"])
    assert done.value.code == 2 and "exists" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        run(["score", str(out_dir), "-i", str(tmp_path / "in.csv"), "-o", str(scored), "--allow-row-errors", "--force"])
    assert done.value.code in (0, None)
    assert sorted(p.name for p in tmp_path.iterdir() if "modelport-tmp" in p.name) == []


def test_missing_column_and_failed_job_leave_no_output(spark, spark_artifacts, tmp_path, capsys):
    import shutil

    from modelport.cli import run

    x = np.random.default_rng(7).normal(size=(20, 8))
    pq.write_table(pa.table({"id": np.arange(20), "feats": array_column(x)}), tmp_path / "wrong.parquet")
    with pytest.raises(SystemExit) as done:
        run(["score", str(spark_artifacts("mlp")), "-i", str(tmp_path / "wrong.parquet"), "-o", str(tmp_path / "o1")])
    err = capsys.readouterr().err.strip()
    assert done.value.code == 2 and len(err.splitlines()) == 1, err
    assert "input 'features' needs an array column 'features'" in err and "found: id, feats" in err
    write_features(tmp_path / "in.parquet", x)
    broken = tmp_path / "broken"
    shutil.copytree(spark_artifacts("mlp"), broken)
    (broken / "mlp.onnx").write_bytes(b"not an onnx model")  # the workers fail to load it: the job fails
    with pytest.raises(SystemExit) as done:
        run(["score", str(broken), "-i", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "o2.parquet")])
    err = capsys.readouterr().err.strip()
    assert done.value.code == 1 and err.startswith("error: the Spark job failed"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "in.parquet", "wrong.parquet"]


def test_without_java_one_line_and_help_stays_light(spark_artifacts, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # no java on it
    proc = run_cli("score", spark_artifacts("mlp"), "-i", tmp_path / "in.parquet", "-o", tmp_path / "out", env=env)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "Spark needs Java" in lines[0] and "apt-get install" in lines[0]
    probe = ("import sys\nfrom modelport.cli import run\nfor args in (['--help'], ['score', '--help']):\n"
             "    try:\n        run(args)\n    except SystemExit:\n        pass\n"
             "sys.stderr.write(repr([m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')]))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.stderr.strip().endswith("[]"), proc.stderr


def test_every_route_on_the_loopback_cluster(spark_cluster, spark_artifacts, fixture_file):
    env = {**os.environ, "MODELPORT_SPARK_MASTER": spark_cluster,
           "MODELPORT_SPARK_CONF": "spark.executor.memory=512m,spark.driver.memory=512m"}
    proc = run_cli("validate", fixture_file("mlp"), spark_artifacts("mlp"), "--runtimes", "spark", "--json",
                   "--no-localize", env=env)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-2000:])
    results = json.loads(proc.stdout)["results"]
    assert sorted((r["format"], r["runtime"], r["status"]) for r in results) == [
        (f, "spark", "pass") for f in sorted(ROUTES)]


def test_java_job_from_print_spark_submit_on_the_cluster(spark_cluster, spark_artifacts, tmp_path):
    from modelport.runtimes import open_session
    from modelport.spark.routes import choose

    x = np.random.default_rng(8).normal(0, 2, (300, 8))
    write_features(tmp_path / "in.parquet", x)
    out = tmp_path / "scored.parquet"
    printed = run_cli("score", spark_artifacts("mlp"), "-i", tmp_path / "in.parquet", "-o", out, "--keep", "id",
                      "--print-spark-submit", "--master", spark_cluster, "--conf", "spark.executor.memory=512m")
    assert printed.returncode == 0, printed.stderr
    cmd = shlex.split(printed.stdout.strip())
    assert cmd[0].endswith("bin/spark-submit") and cmd[cmd.index("--class") + 1] == "ScoreSpark"
    job = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert job.returncode == 0, job.stderr[-2000:]
    assert "modelport-spark rows=300 failed=0" in job.stderr
    table = pq.read_table(out).sort_by("id")
    got = np.column_stack([table.column(f"probability({c})").to_numpy() for c in "abc"])
    jpmml = open_session("jpmml", choose(spark_artifacts("mlp"), "pmml").artifact).run({"features": x})["probs"]
    np.testing.assert_allclose(got, jpmml, rtol=0, atol=1e-12)  # same evaluator, same doubles
    assert table.column("predicted(probs)").to_pylist() == [["a", "b", "c"][k] for k in np.argmax(jpmml, axis=1)]
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 2 and "exists (hint: pass --force" in again.stderr
