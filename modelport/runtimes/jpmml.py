"""JPMML-Evaluator on the in-process JVM (JPype), scoring a whole batch per call.

``load(artifact)`` starts the process's one JVM (or joins it), loads each PMML document, runs its
embedded ModelVerification block and returns a ``JpmmlSession``. ``run(inputs)`` sends the batch
across the bridge once per document as a flat ``double[]`` and gets a flat ``double[]`` back, so no
value goes through text and nothing is evaluated row by row from Python. The per-row loop runs in
Java (``modelport/_java/PmmlBatch.java``), exactly as a Java service would call ``Evaluator.evaluate``.

jpmml_evaluator's own ``evaluateAll(DataFrame)`` pickles every value into Java objects; the helper
avoids that cost (see benchmarks/bench_jpmml_scoring.py for the numbers).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelport.errors import ParityError
from modelport.runtimes._pmml_layout import PmmlLayout

MAX_VALUES_PER_CALL = 16_000_000  # 128 MB of doubles per bridge crossing; bigger batches go in chunks


@dataclass(frozen=True)
class Verification:
    """Result of a document's embedded ModelVerification block.

    ``passed`` is True or False when the block exists, None when the document has none."""

    document: str
    passed: bool | None
    message: str = ""

    def __bool__(self) -> bool:
        return self.passed is not False


@dataclass
class JpmmlSession:
    layout: PmmlLayout
    _batches: list[Any]  # one PmmlBatch (Java) per document
    _input_fields: list[list[str]]  # each document's input fields, in the order PmmlBatch expects
    verification: list[Verification] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # jvm_start_s, load_s, verify_s
    runtime: str = "jpmml"

    def verify(self) -> Verification:
        """The combined verification verdict: failing if any document's block failed."""
        failed = [v for v in self.verification if v.passed is False]
        if failed:
            return Verification(failed[0].document, False, "; ".join(v.message for v in failed))
        ran = [v for v in self.verification if v.passed]
        return Verification("", True if ran else None, "" if ran else "no ModelVerification block")

    def run(self, inputs: dict[str, Any]) -> dict[str, np.ndarray]:
        import jpype

        n_rows, columns = self.layout.field_columns(inputs)
        outputs: dict[str, np.ndarray] = {}
        for document, batch, fields in zip(self.layout.documents, self._batches, self._input_fields, strict=False):
            matrix = self.layout.matrix(columns, fields, n_rows)
            names = jpype.JArray(jpype.JString)(list(document.result_fields))
            values = np.empty((n_rows, len(document.result_fields)), dtype=np.float64)
            step = max(1, MAX_VALUES_PER_CALL // max(1, len(fields)))  # bounds the Java heap per call
            for start in range(0, n_rows, step):
                chunk = matrix[start : start + step]
                try:
                    if chunk.dtype == object:  # string fields: boxed values (strings, doubles, null)
                        cells = [None if isinstance(v, float) and v != v else v for v in chunk.ravel().tolist()]
                        result = batch.scoreObjects(jpype.JArray(jpype.JObject)(cells), chunk.shape[0], names)
                    else:
                        flat = jpype.JArray(jpype.JDouble)(chunk.ravel())  # one primitive copy, no boxing
                        result = batch.score(flat, chunk.shape[0], names)
                except jpype.JException as exc:  # the document loads but cannot be evaluated
                    raise ParityError(
                        f"JPMML failed scoring {document.path}: {exc.getClass().getSimpleName()}: {exc.getMessage()}",
                        "the artifact is broken; re-run the conversion",
                    ) from exc
                values[start : start + step] = np.asarray(result, dtype=np.float64).reshape(chunk.shape[0], -1)
            outputs.update(self.layout.assemble(document, values))
        return outputs


def unavailable() -> str | None:
    """Why this runtime cannot run here (no Java), or None: validation and the gate then skip it."""
    from modelport.runtimes import _jvm

    return _jvm.unavailable(helpers=True)


def load(artifact: Any) -> JpmmlSession:
    from modelport.runtimes._jvm import helper_classes, start_jvm

    layout = PmmlLayout.from_artifact(artifact)
    helper_classes()  # compiled once per source hash; kept out of the JVM start time
    t0 = time.perf_counter()
    batch_class = start_jvm()
    import jpype

    t1 = time.perf_counter()
    batches, input_fields, verification = [], [], []
    load_s = verify_s = 0.0
    for document in layout.documents:
        t_load = time.perf_counter()
        try:
            evaluator = batch_class.load(str(document.path))
        except jpype.JException as exc:
            from modelport.errors import BadInputError

            raise BadInputError(
                f"JPMML cannot load {document.path}: {exc.getClass().getSimpleName()}: {exc.getMessage()}",
                "check the file with modelport.runtimes.pmml_xsd.validate_pmml",
            ) from exc
        t_verify = time.perf_counter()
        verification.append(_verify(batch_class, evaluator, str(document.path)))
        verify_s += time.perf_counter() - t_verify
        load_s += t_verify - t_load
        fields = [str(name) for name in batch_class.inputFieldNames(evaluator)]
        batches.append(batch_class(evaluator, jpype.JArray(jpype.JString)(fields)))
        input_fields.append(fields)
    timings = {"jvm_start_s": t1 - t0, "load_s": load_s, "verify_s": verify_s}
    return JpmmlSession(layout, batches, input_fields, verification, timings)


def _verify(batch_class: Any, evaluator: Any, document: str) -> Verification:
    if not batch_class.hasVerification(evaluator):
        return Verification(document, None, "no ModelVerification block")
    failure = batch_class.verify(evaluator)
    if failure is None:
        return Verification(document, True)
    return Verification(document, False, " ".join(str(failure).split()))
