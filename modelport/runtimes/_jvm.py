"""The Java side shared by the PMML runtimes: tools, jars, compiled helper classes, the one JVM.

- ``java_tool(name)`` finds ``java``/``javac`` or raises ``JavaUnavailableError`` saying how to install.
- ``jpmml_jars()`` lists the JPMML-Evaluator jars shipped inside the ``jpmml_evaluator`` wheel.
- ``helper_classes()`` compiles ``modelport/_java/*.java`` (PmmlBatch, ScorePmml) once with javac into a cache
  dir keyed by the sources' hash, outside the source tree, and returns that dir.
- ``start_jvm()`` starts the one in-process JVM (JPype can start only one per process) with the jars
  and the helper classes on its class path, and returns the ``PmmlBatch`` Java class;
  ``helper_class(name)`` returns any helper class from it (jpmml and the plain Java program share it),
  ``pmml4s_gateway()`` hands it to pypmml (PMML4S's jars are on its class path too).

Nothing here imports jpype or jpmml_evaluator at module import time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from modelport.errors import BadInputError

HELPER_SOURCES = ("PmmlBatch.java", "ScorePmml.java")
# every JVM modelport starts (JPype, the ScorePmml program, PMML4S's gateway): no crash files left behind
JVM_OPTIONS = ("-XX:-CreateCoredumpOnCrash", "-XX:ErrorFile=/dev/null")
_lock = threading.Lock()


class JavaUnavailableError(BadInputError):
    """Java (or javac, needed once to compile the helper classes) is not installed."""


def java_tool(name: str) -> str:
    """Path of ``java`` or ``javac``: $JAVA_HOME/bin first, then PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    package = "openjdk-17-jdk-headless" if name == "javac" else "openjdk-17-jre-headless"
    raise JavaUnavailableError(
        f"'{name}' was not found on PATH or in $JAVA_HOME/bin",
        f"install Java 17, e.g. `apt-get install -y {package}`, or set JAVA_HOME",
    )


@lru_cache(maxsize=1)
def jpmml_package_dir() -> Path:
    spec = importlib.util.find_spec("jpmml_evaluator")  # locate without importing (it imports pandas)
    if spec is None or not spec.submodule_search_locations:
        raise BadInputError("the jpmml_evaluator package is not installed", "pip install jpmml_evaluator")
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=1)
def jpmml_jars() -> tuple[str, ...]:
    """The evaluator's jars, resources first (as jpmml_evaluator orders them), each group sorted."""
    base = jpmml_package_dir()
    jars = [str(p) for sub in ("resources", "dependencies") for p in sorted((base / sub).glob("*.jar"))]
    if not jars:
        raise BadInputError(f"no JPMML jars found under {base}", "reinstall jpmml_evaluator")
    return tuple(jars)


@lru_cache(maxsize=1)
def pmml4s_jars() -> tuple[str, ...]:
    """PMML4S's jars as pypmml ships them ($PYPMML_JARS_DIR, as pypmml reads it); () without pypmml."""
    spec = importlib.util.find_spec("pypmml")
    if spec is None or not spec.submodule_search_locations:
        return ()
    base = Path(os.environ.get("PYPMML_JARS_DIR") or Path(next(iter(spec.submodule_search_locations))) / "jars")
    return tuple(str(p) for p in sorted(base.glob("*.jar")))


def java_source_dir() -> Path:
    """Where the helper's Java sources live: $MODELPORT_JAVA_SRC, else ``modelport/_java``.

    Not a top-level ``java/`` directory: with the repo root on sys.path that would shadow JPype's
    ``java.*`` import hook (``import java.io`` finds the directory), breaking jpmml_evaluator."""
    here = Path(__file__).resolve().parent
    candidates = [os.environ.get("MODELPORT_JAVA_SRC"), here.parent / "_java"]
    for candidate in candidates:
        if candidate and all((Path(candidate) / name).is_file() for name in HELPER_SOURCES):
            return Path(candidate)
    raise BadInputError(
        "modelport's Java sources (ScorePmml.java, PmmlBatch.java) were not found",
        "reinstall modelport (its package data includes _java/*.java) or set MODELPORT_JAVA_SRC",
    )


def cache_root() -> Path:
    """$MODELPORT_CACHE_DIR, else $XDG_CACHE_HOME/modelport, else ~/.cache/modelport."""
    if os.environ.get("MODELPORT_CACHE_DIR"):
        return Path(os.environ["MODELPORT_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modelport"


def _sources_key(src: Path) -> str:
    digest = hashlib.sha256()
    for name in HELPER_SOURCES:
        digest.update(name.encode() + b"\0" + (src / name).read_bytes())
    for jar in jpmml_jars():  # a different JPMML version must recompile against its own API
        digest.update(Path(jar).name.encode())
    return digest.hexdigest()[:16]


def unavailable(helpers: bool = True) -> str | None:
    """Why a JVM runtime cannot run here (no java; no javac while the helper classes are not
    compiled yet), or None. Cheap: starts nothing."""
    try:
        java_tool("java")
        if helpers:
            dest = cache_root() / "java-classes" / _sources_key(java_source_dir())
            if not all((dest / f"{Path(n).stem}.class").is_file() for n in HELPER_SOURCES):
                java_tool("javac")
    except BadInputError as e:
        return e.message
    return None


def helper_classes() -> Path:
    """Directory holding the compiled helper classes; compiles them on first use (needs javac)."""
    with _lock:
        src = java_source_dir()
        dest = cache_root() / "java-classes" / _sources_key(src)
        if (dest / "PmmlBatch.class").is_file() and (dest / "ScorePmml.class").is_file():
            return dest
        javac = java_tool("javac")
        dest.parent.mkdir(parents=True, exist_ok=True)
        # compile beside the destination, then rename: concurrent processes never see half a build
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=dest.parent))
        try:
            proc = subprocess.run(
                [
                    javac,
                    "-nowarn",
                    "-encoding",
                    "UTF-8",
                    "-d",
                    str(tmp),
                    "-cp",
                    os.pathsep.join(jpmml_jars()),
                    *[str(src / name) for name in HELPER_SOURCES],
                ],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"javac failed compiling {src}:\n{proc.stderr}")
            try:
                os.rename(tmp, dest)
            except OSError:
                if not (dest / "PmmlBatch.class").is_file():  # lost a race to a complete build: fine
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dest


def classpath() -> str:
    """Class path for the plain `java` program: the JPMML jars plus the helper classes."""
    return os.pathsep.join([*jpmml_jars(), str(helper_classes())])


_batch_class = None
_loader = None  # the class loader of our helper classes when someone else started the JVM
_hosts_pmml4s = False  # modelport started the JVM with PMML4S's jars on its class path


def pmml4s_gateway():
    """pypmml's own JPype gateway on the process's one JVM (PMML4S then runs beside JPMML instead of
    in a JVM of its own, which pypmml's default py4j gateway starts), or None when that JVM cannot
    host PMML4S: someone else started it without PMML4S's jars."""
    start_jvm()
    if not _hosts_pmml4s:
        return None
    import jpype
    from pypmml.jvm import JPypeGateway, PMMLError

    class ClassLookupGateway(JPypeGateway):
        # pypmml finds classes with `import org.pmml4s...` through JPype's import hook; importing
        # jpmml_evaluator_pyspark puts a plain module "org" into sys.modules, which shadows that
        # hook, so the class is looked up by name instead
        def call_java_static_func(self, class_name, func_name, *args):
            try:
                return getattr(jpype.JClass(class_name), func_name)(*args)
            except jpype.JException as e:
                raise PMMLError(e.message()) from None

    return ClassLookupGateway()


def helper_class(name: str):
    """A helper class (``PmmlBatch``, ``ScorePmml``) in the process's one JVM, started if need be."""
    import jpype

    start_jvm()
    return jpype.JClass(name, loader=_loader) if _loader is not None else jpype.JClass(name)


def start_jvm():
    """Start (once per process) or join the in-process JVM; return the ``PmmlBatch`` Java class."""
    global _batch_class, _loader, _hosts_pmml4s
    if _batch_class is not None:
        return _batch_class
    classes = helper_classes()
    java_tool("java")  # a clear error before JPype's own when no JVM is installed
    import jpype
    import jpype.imports  # noqa: F401  (Java import hooks; jpmml_evaluator's backend relies on them)

    with _lock:
        if _batch_class is not None:
            return _batch_class
        if not jpype.isJVMStarted():
            # -Xrs and interrupt=False: Ctrl-C and SIGTERM stay Python's (the JVM installs no handler
            # of its own); a JVM crash writes no core dump and no hs_err_pid*.log into the user's folder
            # PMML4S's jars too (they share only commons-math3 3.6.1 with JPMML's): one JVM per run
            jpype.startJVM("-Xrs", *JVM_OPTIONS, classpath=[*jpmml_jars(), str(classes), *pmml4s_jars()],
                           convertStrings=False, interrupt=False)
            _batch_class = jpype.JClass("PmmlBatch")
            _hosts_pmml4s = bool(pmml4s_jars())
        else:
            # someone else (e.g. jpmml_evaluator) started it: reach our classes through a child loader
            try:
                _batch_class = jpype.JClass("PmmlBatch")
            except Exception:
                urls = [jpype.java.io.File(p).toURI().toURL() for p in (*jpmml_jars(), str(classes))]
                _loader = jpype.java.net.URLClassLoader(urls, jpype.java.lang.ClassLoader.getSystemClassLoader())
                _batch_class = jpype.JClass("PmmlBatch", loader=_loader)
        return _batch_class
