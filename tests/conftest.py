"""Session-wide fixtures: fixture models are built once, each converted once, and shared.

The shared corpus of real-world files is found through MODELPORT_CORPUS (default
../shared/corpus). CI sets MODELPORT_REQUIRE_CORPUS=1, so a missing corpus fails there instead of
skipping; a plain clone without it still runs everything else.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `fixtures` lives at the repository root
# as in an activated venv: the console scripts (`modelport`, `convert`) beside this Python come first
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

TF_TARGETS = ["savedmodel", "pb", "ckpt", "onnx"]
RUNTIME = {"savedmodel": "tensorflow", "pb": "tensorflow", "ckpt": "tensorflow", "onnx": "onnxruntime"}


def corpus_path() -> Path:
    return Path(os.environ.get("MODELPORT_CORPUS", REPO.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    path = corpus_path()
    if not (path / "README.md").exists():
        if os.environ.get("MODELPORT_REQUIRE_CORPUS"):
            pytest.fail(f"the shared corpus is required but missing at {path}")
        pytest.skip(f"shared corpus not present at {path} (set MODELPORT_CORPUS)")
    return path


@pytest.fixture(scope="session")
def fixture_file(tmp_path_factory):
    """fixture_file(name, fmt="keras") -> path of the saved fixture model, built once per session."""
    from fixtures import save

    root = tmp_path_factory.mktemp("fixture-models")
    cache: dict[tuple[str, str], Path] = {}

    def get(name: str, fmt: str = "keras") -> Path:
        if (name, fmt) not in cache:
            cache[(name, fmt)] = save(name, root, fmt)
        return cache[(name, fmt)]

    return get


@pytest.fixture(scope="session")
def loaded_fixture(fixture_file):
    """loaded_fixture(name, fmt) -> modelport LoadedModel, loaded once per session."""
    import modelport

    cache: dict = {}

    def get(name: str, fmt: str = "keras"):
        if (name, fmt) not in cache:
            cache[(name, fmt)] = modelport.load(fixture_file(name, fmt))
        return cache[(name, fmt)]

    return get


SWEEP_RUNTIMES = "tensorflow,onnxruntime,jpmml"  # the in-process runtimes: the subprocess ones add minutes, no stage
# One corpus CNN unrolls into a 110 MB PMML document, which JPMML takes ~30 s to load: the sweep
# skips documents over 32 MB with the size budget's line, as `--to all` does for a user who sets it.
# Unrolled convolutions are validated in JPMML and PMML4S by test_pmml_unrolled.py.
SWEEP_PMML_MAX_SIZE = "32MB"


@dataclass
class CliRun:
    code: int
    out: str
    err: str
    out_dir: Path


@dataclass
class Converted:
    """What the tests read of a conversion: the artifacts (as the manifest records them) and the manifest."""

    artifacts: list
    manifest_path: Path


def cli_in_process(args: list) -> tuple[int, str, str]:
    """The CLI's own entry point (``modelport.cli.run``) in this process: (exit code, stdout, stderr).
    Captured with redirects, not capsys, so that session fixtures can use it."""
    import contextlib
    import io

    from modelport.cli import run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            run([str(a) for a in args])
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="session")
def swept(tmp_path_factory):
    """swept(model_file, *extra_args) -> CliRun of ``modelport convert FILE --to all -o DIR --runtimes
    tensorflow,onnxruntime,jpmml --pmml-max-size 32MB``, run through the CLI once per session and file.
    The no-traceback sweep checks its exit code and stderr; `converted` and the corpus parity tests use
    its artifacts, so each model is converted once per run."""
    root = tmp_path_factory.mktemp("swept")
    cache: dict[tuple, CliRun] = {}

    def get(model: Path, *extra) -> CliRun:
        key = (str(model), *map(str, extra))
        if key not in cache:
            out_dir = root / f"{len(cache)}-{Path(model).stem}"
            code, out, err = cli_in_process(["convert", model, "--to", "all", "-o", out_dir,
                                             "--runtimes", SWEEP_RUNTIMES, "--pmml-max-size", SWEEP_PMML_MAX_SIZE,
                                             *extra])
            cache[key] = CliRun(code, out, err, out_dir)
        return cache[key]

    return get


def swept_artifacts(run: CliRun) -> Converted:
    """The artifacts a successful sweep wrote, read back from its manifest."""
    from modelport import manifest as mf

    assert run.code == 0, run.err
    path = mf.manifest_path(run.out_dir)
    return Converted(mf.artifacts(mf.read(path), run.out_dir), path)


@pytest.fixture(scope="session")
def converted(fixture_file, swept, tmp_path_factory):
    """converted(name, fmt="keras") -> the conversion of a fixture model (artifacts, manifest_path),
    once per session: a .keras fixture is the no-traceback sweep's `convert --to all` (the four
    TensorFlow-family targets, plus PMML where it can express the model, validated in the in-process
    runtimes); another format is converted to the four TensorFlow-family targets without validation."""
    import modelport

    root = tmp_path_factory.mktemp("converted")
    cache: dict = {}

    def get(name: str, fmt: str = "keras"):
        if (name, fmt) not in cache:
            if fmt == "keras":
                cache[(name, fmt)] = swept_artifacts(swept(fixture_file(name)))
            else:
                cache[(name, fmt)] = modelport.convert(
                    fixture_file(name, fmt), to=TF_TARGETS, out_dir=root / f"{name}-{fmt}", validate=False
                )
        return cache[(name, fmt)]

    return get


def seeded_inputs(spec, batch: int, seed: int = 0, time_steps: int = 5) -> dict[str, np.ndarray]:
    """Seeded inputs matched to each input's dtype and shape (ids below the smallest vocabulary)."""
    rng = np.random.default_rng(seed)
    vocab = min([la.config.get("input_dim", 50) for la in spec.layers if la.class_name == "Embedding"] or [50])
    out = {}
    for t in spec.inputs:
        shape = [batch] + [time_steps if d is None else d for d in t.shape[1:]]
        if "int" in t.dtype:
            out[t.name] = rng.integers(0, vocab, shape).astype(t.dtype)
        else:
            out[t.name] = rng.normal(0, 1, shape).astype(t.dtype)
    return out


@pytest.fixture(scope="session")
def spark_artifacts(fixture_file, tmp_path_factory):
    """spark_artifacts(name) -> output directory holding the onnx, pmml and savedmodel artifacts of a
    fixture model (mlp with class labels a/b/c), converted once per session."""
    import modelport

    root = tmp_path_factory.mktemp("spark-artifacts")
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            labels = ["a", "b", "c"] if name == "mlp" else None
            modelport.convert(fixture_file(name), to=["onnx", "pmml", "savedmodel"], out_dir=root / name,
                              validate=False, class_labels=labels)
            cache[name] = root / name
        return cache[name]

    return get


@pytest.fixture(scope="session")
def spark():
    """The run's one SparkSession (local[2]), stopped at the end."""
    from modelport.spark.session import get_session

    session = get_session("local[2]", {"spark.driver.memory": "1g", "spark.sql.shuffle.partitions": "4"})
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory):
    """A standalone Spark master and one worker (2 cores) on 127.0.0.1, started from the pyspark wheel's
    bin/spark-class and stopped at the end of the run. Yields the master URL."""
    from tests.spark_cluster import LoopbackCluster

    cluster = LoopbackCluster(tmp_path_factory.mktemp("spark-cluster"))
    try:
        yield cluster.start()
    finally:
        cluster.stop()


# -- parallel runs: `pytest -n 2 --dist loadfile` (pytest-xdist; the README's test command) ------------------
# Session fixtures live once per worker process, so the modules sharing an expensive one run on the same
# worker: a module is the unit (as --dist loadfile; module-level caches such as tests/validation_helpers.py),
# and the modules of a group below run together. (xdist's own xdist_group marks do not work with pytest 9.2,
# whose node ids no longer come from the `_nodeid` xdist rewrites.)
XDIST_GROUPS = {
    "test_spark": "spark", "test_sklearn": "spark",  # one SparkSession (`spark`) and one loopback cluster
    "test_corpus": "corpus-sweep", "test_no_traceback": "corpus-sweep",  # the corpus, swept once (`swept`)
}
SHARED_FIXTURES = {  # group -> whether a module's fixtures need it (tests/test_suite_layout.py checks the table)
    "spark": lambda names: bool(names & {"spark", "spark_cluster", "spark_artifacts"}),
    "corpus-sweep": lambda names: {"swept", "corpus_dir"} <= names,
}
# the longest groups start first, so that no worker is left alone with one of them at the end
LONGEST_FIRST = ["spark", "test_docs", "corpus-sweep", "test_analyzer_matrix", "test_scale", "test_hostile"]


def xdist_group(nodeid: str) -> str:
    """The unit of work of a test: its module's group, or its module's path."""
    module = nodeid.split("::", 1)[0]
    return XDIST_GROUPS.get(Path(module).stem, module)


def pytest_configure(config):
    if hasattr(config.option, "loadscopereorder"):  # xdist: schedule in our order (LONGEST_FIRST), not by size
        config.option.loadscopereorder = False


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedFixtureScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid)

    return SharedFixtureScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    if not hasattr(config, "workerinput"):  # a plain run keeps the file order
        return
    rank = {g: i for i, g in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda i: rank.get(xdist_group(i.nodeid), len(rank)))  # stable: file order otherwise


def pytest_sessionfinish(session, exitstatus):
    session.config._modelport_exitstatus = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """End the run with pytest's own exit status once it has reported everything. The interpreter's
    teardown afterwards (the in-process JVM beside TensorFlow's threads) has crashed the process
    with SIGSEGV after a fully passing run; nothing of the run is left to lose by skipping it."""
    status = getattr(config, "_modelport_exitstatus", None)
    if status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
