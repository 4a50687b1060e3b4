"""A loaded scikit-learn estimator as modelport sees it: its spec, validation inputs that respect
each column's kind, categories and NaN, and the reference outputs (``predict``, ``predict_proba``,
``transform``) keyed by the spec's output names."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelport.sklearn.columns import Column, final_step, flat_steps, input_columns, output_names, task
from modelport.spec import LayerSpec, ModelSpec, TensorSpec

NUMERIC_INPUT = "X"  # the one input of a pipeline whose columns are all numbers
NAN_SHARE = 0.15  # of the values in a column an imputer fills


@dataclass
class SklearnModel:
    """What validators and converters are given as ``model`` for a scikit-learn source."""

    estimator: Any
    columns: list[Column]
    task: str  # "classifier" | "regressor" | "transformer"
    outputs: list[str]
    classes: list[Any] = field(default_factory=list)

    @classmethod
    def wrap(cls, estimator: Any) -> SklearnModel:
        kind = task(estimator)
        classes = list(getattr(final_step(estimator), "classes_", [])) if kind == "classifier" else []
        return cls(estimator, input_columns(estimator), kind, output_names(estimator), classes)

    # ---- inputs ------------------------------------------------------------------------------------
    @property
    def numeric(self) -> bool:
        """One float input ``X`` (all columns numbers, none picked by name), else one input per column."""
        picks_by_name = hasattr(self.estimator, "transformers_") or hasattr(
            (getattr(self.estimator, "steps", None) or [(None, None)])[0][1], "transformers_")
        return all(c.kind == "number" for c in self.columns) and not picks_by_name

    @property
    def has_names(self) -> bool:
        return getattr(self.estimator, "feature_names_in_", None) is not None

    def input_specs(self) -> list[TensorSpec]:
        if self.numeric:
            return [TensorSpec(NUMERIC_INPUT, (None, len(self.columns)), "float64")]
        return [TensorSpec(c.name, (None, 1), "string" if c.kind == "string" else "float64") for c in self.columns]

    def fields(self) -> dict[str, list[str]]:
        """Each input's PMML fields (the column names the pipeline was fitted on)."""
        if self.numeric:
            return {NUMERIC_INPUT: [c.name for c in self.columns]}
        return {c.name: [c.name] for c in self.columns}

    def frame(self, inputs: dict[str, np.ndarray]) -> Any:
        """What ``predict`` takes: a DataFrame with the fitted column names, else a float array."""
        if self.numeric:
            x = np.asarray(inputs[NUMERIC_INPUT], dtype=np.float64)
            if not self.has_names:
                return x
            import pandas as pd

            return pd.DataFrame(x, columns=[c.name for c in self.columns])
        import pandas as pd

        data = {}
        for c in self.columns:
            values = np.asarray(inputs[c.name]).reshape(-1)
            data[c.name] = values.astype(object) if c.kind == "string" else values.astype(np.float64)
        return pd.DataFrame(data)

    def synthetic(self, rows: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A seeded batch: numbers over each column's plausible range, known categories (plus one
        the encoder never saw when it ignores unknowns would be tempting, but parity needs defined
        behaviour, so only known ones), NaN where an imputer fills it."""
        cols = {}
        for c in self.columns:
            if c.categories:
                values = np.asarray(c.categories, dtype=object)[rng.integers(0, len(c.categories), rows)]
                if c.kind == "number":
                    values = values.astype(np.float64)
            else:
                values = rng.uniform(c.low, c.high, rows)
            if c.accepts_nan and rows > 1:
                mask = rng.random(rows) < NAN_SHARE
                mask[0] = True  # at least one missing value per batch
                values = values.astype(object) if c.kind == "string" else values.astype(np.float64)
                values[mask] = None if c.kind == "string" else np.nan
            cols[c.name] = values
        if self.numeric:
            return {NUMERIC_INPUT: np.stack([np.asarray(cols[c.name], dtype=np.float64) for c in self.columns], 1)}
        return {c.name: (np.asarray(cols[c.name], dtype=object) if c.kind == "string" else
                         np.asarray(cols[c.name], dtype=np.float64)).reshape(-1, 1) for c in self.columns}

    # ---- outputs -----------------------------------------------------------------------------------
    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        x = self.frame(inputs)
        out: dict[str, np.ndarray] = {}
        if "label" in self.outputs:
            out["label"] = np.asarray(self.estimator.predict(x))
        if "probabilities" in self.outputs:
            out["probabilities"] = np.asarray(self.estimator.predict_proba(x), dtype=np.float64)
        if "prediction" in self.outputs:
            y = np.asarray(self.estimator.predict(x), dtype=np.float64)
            out["prediction"] = y.reshape(len(y), -1)
        if "transform" in self.outputs:
            t = self.estimator.transform(x)
            t = t.toarray() if hasattr(t, "toarray") else np.asarray(t)
            out["transform"] = np.asarray(t, dtype=np.float64)
        return out

    def output_specs(self) -> list[TensorSpec]:
        probe = self.predict(self.synthetic(2, np.random.default_rng(0)))
        specs = []
        for name in self.outputs:
            value = probe[name]
            dtype = "string" if value.dtype.kind in "OUS" else ("int64" if value.dtype.kind in "iu" else "float64")
            specs.append(TensorSpec(name, (None, *value.shape[1:]), dtype))
        return specs

    # ---- the hooks validators call (duck-typed: a Keras model has none) ------------------------------
    exact_outputs = ("label",)  # predicted labels must be equal; numbers are within the tolerance

    @property
    def classifier_outputs(self) -> tuple[str, ...]:
        return ("probabilities",) if "probabilities" in self.outputs else ()

    def validation_cases(self, spec: ModelSpec, data: Any, batch_sizes: tuple[int, ...], seed: int) -> list[Any]:
        from modelport.validators.inputs import Case, make_cases

        if data is not None:
            return make_cases(spec, data, batch_sizes, seed)
        rng = np.random.default_rng(seed)
        return [Case(f"batch={n}", self.synthetic(n, rng)) for n in batch_sizes]

    def reference_outputs(self, spec: ModelSpec, cases: list[Any]) -> tuple[list[dict[str, np.ndarray]], float]:
        start = time.perf_counter()
        outs = [self.predict(c.inputs) for c in cases]
        return outs, time.perf_counter() - start


def build_spec(model: SklearnModel, path: str | Path, container: str, loader: str,
               trust: dict[str, Any] | None = None) -> ModelSpec:
    import sklearn

    layers = [LayerSpec(name, type(step).__name__, {"module": type(step).__module__})
              for name, step in flat_steps(model.estimator)]
    return ModelSpec(
        source=str(path), container=container, model_class=type(model.estimator).__name__, layers=layers,
        inputs=model.input_specs(), outputs=model.output_specs(), keras_version=None,
        backend=f"scikit-learn {sklearn.__version__}", loader=loader, trust=dict(trust or {}), kind="sklearn")
