"""The plain Java program as a runtime: what a JVM service running JPMML-Evaluator computes.

``run(inputs)`` writes the batch to a CSV, runs the ``ScorePmml`` program (model.pmml in.csv
out.csv) once per PMML document, and reads the output CSV back. The program runs in the process's
one JVM (JPype, shared with the jpmml runtime: one JVM per run, not one more per artifact) through
its ``score`` method, which is its whole ``main`` (CSV text in, ``Evaluator.evaluate`` per row, CSV
text out); ``in_process=False`` (or ``java_options``) runs ``java -cp <jpmml jars>:<classes> ScorePmml``
in a process of its own instead. Inputs are
written with 17 significant digits and Java prints doubles with ``Double.toString``; both round-trip
exactly, so the text hop loses nothing. The Java source is ``modelport/_java/ScorePmml.java``; its classes are
compiled once into a cache dir (see ``_jvm.helper_classes``).
"""

from __future__ import annotations

import csv
import re
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelport.runtimes._pmml_layout import PmmlLayout

_TIMING = re.compile(r"modelport-timing (.*)")


@dataclass
class JavaSession:
    layout: PmmlLayout
    java: str
    classpath: str
    java_options: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)  # from the last run: load_s, eval_s, rows
    runtime: str = "java"
    in_process: bool = True

    def score_csv(self, pmml: Path, in_csv: Path, out_csv: Path, verify: bool = False) -> dict[str, float]:
        """Run the Java program once; return the timings it printed."""
        if self.in_process:
            return self._score_in_jvm(pmml, in_csv, out_csv, verify)
        cmd = [self.java, *self.java_options, "-cp", self.classpath, "ScorePmml", str(pmml), str(in_csv), str(out_csv)]
        proc = subprocess.run(cmd + (["--verify"] if verify else []), capture_output=True, text=True)
        if proc.returncode in (-signal.SIGINT, -signal.SIGTERM, 128 + signal.SIGINT, 128 + signal.SIGTERM):
            from modelport.errors import Interrupted  # the run was interrupted, the artifact did not fail

            raise Interrupted(abs(proc.returncode) % 128)
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()
            raise RuntimeError(f"ScorePmml failed on {pmml} (exit {proc.returncode}): " + " | ".join(tail[:3]))
        return _timings(proc.stderr)

    def _score_in_jvm(self, pmml: Path, in_csv: Path, out_csv: Path, verify: bool) -> dict[str, float]:
        import jpype

        from modelport.runtimes._jvm import helper_class

        program = helper_class("ScorePmml")
        try:
            report = str(program.score(str(pmml), str(in_csv), str(out_csv), verify))
        except jpype.JException as exc:  # what main would have died of
            raise RuntimeError(f"ScorePmml failed on {pmml}: {exc.getClass().getName()}: {exc.getMessage()}") from exc
        if "modelport-verify FAILED" in report:
            raise RuntimeError(f"ScorePmml failed on {pmml}: {report.strip()}")
        return _timings(report)

    def run_many(self, batches: list[dict[str, Any]]) -> list[dict[str, np.ndarray]]:
        """All batches in one call of the program (rows are scored independently, so joining them is
        exact): loading the document (and, out of process, starting a JVM) costs more than a batch."""
        sizes = [len(next(iter(b.values()))) for b in batches]
        joined = self.run({k: np.concatenate([np.asarray(b[k]) for b in batches]) for k in batches[0]})
        cuts = np.cumsum(sizes)[:-1]
        parts = {k: np.split(v, cuts) for k, v in joined.items()}
        return [{k: parts[k][i] for k in parts} for i in range(len(batches))]

    def run(self, inputs: dict[str, Any]) -> dict[str, np.ndarray]:
        n_rows, columns = self.layout.field_columns(inputs)
        fields = list(columns)
        integer = self.layout.integer_fields()
        strings = self.layout.string_fields()
        outputs: dict[str, np.ndarray] = {}
        with tempfile.TemporaryDirectory(prefix="modelport-java-") as tmp:
            in_csv = Path(tmp) / "in.csv"
            if strings:
                write_text_csv(in_csv, fields, columns, n_rows, integer, strings)
            else:
                write_csv(in_csv, fields, self.layout.matrix(columns, fields, n_rows), integer)
            for i, document in enumerate(self.layout.documents):
                out_csv = Path(tmp) / f"out{i}.csv"
                self.timings = self.score_csv(document.path, in_csv, out_csv)
                values = read_columns(out_csv, list(document.result_fields), n_rows, self.layout.labels())
                outputs.update(self.layout.assemble(document, values))
        return outputs


def _timings(text: str) -> dict[str, float]:
    match = _TIMING.search(text)
    return {k: float(v) for k, v in (kv.split("=") for kv in match.group(1).split())} if match else {}


def write_csv(path: Path, fields: list[str], matrix: np.ndarray, integer_fields: set[str]) -> None:
    """Header of PMML field names, then rows; %.17g round-trips every double; NaN -> empty (missing)."""
    formats = ["%d" if f in integer_fields else "%.17g" for f in fields]
    template = ",".join(formats)
    with open(path, "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerow(fields)
        for row in matrix:
            if np.isnan(row).any():
                out.write(",".join("" if np.isnan(v) else fmt % v for fmt, v in zip(formats, row, strict=False)) + "\n")
            else:
                out.write(template % tuple(row) + "\n")


def write_text_csv(path: Path, fields: list[str], columns: dict[str, np.ndarray], n_rows: int,
                   integer_fields: set[str], string_fields: set[str]) -> None:
    """As ``write_csv``, with string fields written as their text (quoted by the csv module); missing -> empty."""
    def cell(field: str, value: Any) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if field in string_fields:
            return str(value)
        return f"{int(value):d}" if field in integer_fields else f"{value:.17g}"

    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(fields)
        for r in range(n_rows):
            writer.writerow([cell(f, columns[f][r]) for f in fields])


def read_columns(path: Path, wanted: list[str], n_rows: int, labels: dict[str, list[str]] | None = None) -> np.ndarray:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        index = {name: i for i, name in enumerate(header)}
        absent = [name for name in wanted if name not in index]
        if absent:
            raise RuntimeError(f"ScorePmml wrote no column(s) {', '.join(absent)}; it wrote {header}")
        cols = [index[name] for name in wanted]
        codes = [{label: i for i, label in enumerate((labels or {}).get(name, []))} or None for name in wanted]
        values = np.array([[_number(row[c], code) for c, code in zip(cols, codes, strict=True)] for row in reader],
                          dtype=np.float64)
    if values.shape[0] != n_rows:
        raise RuntimeError(f"ScorePmml wrote {values.shape[0]} rows for {n_rows} inputs")
    return values.reshape(n_rows, len(wanted))


def _number(cell: str, labels: dict[str, int] | None) -> float:
    if not cell:
        return np.nan
    return float(labels[cell]) if labels is not None else float(cell)


def unavailable() -> str | None:
    """Why this runtime cannot run here (no Java), or None: validation and the gate then skip it."""
    from modelport.runtimes import _jvm

    return _jvm.unavailable(helpers=True)


def load(artifact: Any, java_options: tuple[str, ...] = (), in_process: bool = True) -> JavaSession:
    """``in_process``: in the JPype JVM (started if need be); JVM options need a JVM of their own."""
    from modelport.runtimes._jvm import JVM_OPTIONS, classpath, java_tool

    layout = PmmlLayout.from_artifact(artifact)
    return JavaSession(layout, java_tool("java"), classpath(), (*JVM_OPTIONS, *java_options),
                       in_process=in_process and not java_options)
