"""Coverage of scikit-learn estimators: every pipeline below is fitted on a dataset that ships with
scikit-learn (or synthetic categorical columns), saved with skops, converted by ``modelport.convert``
to ONNX (skl2onnx) and PMML (sklearn2pmml, and nyoka as a second run) and validated in ONNX Runtime,
JPMML, PMML4S and the plain-Java program against predict / predict_proba / transform.

    python benchmarks/sklearn_coverage.py [--out docs/sklearn-coverage.md] [--only NAME,...]

Writes the markdown table (estimator x target x backend x runtime, with the measured max errors)
and prints one line per conversion. Nothing here is hard-coded: every number is measured now.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _synthetic(n: int = 400, seed: int = 0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.normal(40, 12, n), "income": rng.lognormal(10, 0.5, n),
                          "city": rng.choice(["paris", "lyon", "nice", "lille"], n),
                          "plan": rng.choice(["basic", "pro", "team"], n)})
    frame.loc[rng.random(n) < 0.1, "income"] = np.nan
    score = (frame["age"] - 40) / 12 + (frame["city"] == "paris") * 1.5 - (frame["plan"] == "basic")
    return frame, np.where(score > 0.5, "yes", np.where(score < -0.5, "no", "maybe"))


def cases():
    """name -> (what, dataset, build() -> (estimator, X, y))."""
    from sklearn import datasets
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, RobustScaler, StandardScaler
    from sklearn.svm import SVC, LinearSVC
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    def data(name):
        return getattr(datasets, f"load_{name}")(return_X_y=True, as_frame=name != "digits")

    def mixed(model):
        pre = ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city", "plan"])])
        return make_pipeline(pre, model)

    def ordinal(model):
        pre = ColumnTransformer([("num", SimpleImputer(strategy="median"), ["age", "income"]),
                                 ("cat", OrdinalEncoder(), ["city", "plan"])])
        return make_pipeline(pre, model)

    seed = {"random_state": 0}
    table = {
        "LogisticRegression": ("StandardScaler → LogisticRegression", "iris",
                               lambda: (make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)), *data("iris"))),
        "LinearRegression": ("MinMaxScaler → LinearRegression", "diabetes",
                             lambda: (make_pipeline(MinMaxScaler(), LinearRegression()), *data("diabetes"))),
        "Ridge": ("RobustScaler → Ridge", "diabetes", lambda: (make_pipeline(RobustScaler(), Ridge()), *data("diabetes"))),
        "PCA+LogisticRegression": ("StandardScaler → PCA(8) → LogisticRegression", "breast_cancer",
                                   lambda: (make_pipeline(StandardScaler(), PCA(n_components=8), LogisticRegression(max_iter=2000)),
                                            *data("breast_cancer"))),
        "PCA (transform)": ("StandardScaler → PCA(4)", "wine", lambda: (make_pipeline(StandardScaler(), PCA(n_components=4)),
                                                                       *data("wine"))),
        "DecisionTreeClassifier": ("DecisionTreeClassifier(max_depth=6)", "wine",
                                   lambda: (DecisionTreeClassifier(max_depth=6, **seed), *data("wine"))),
        "DecisionTreeRegressor": ("DecisionTreeRegressor(max_depth=6)", "diabetes",
                                  lambda: (DecisionTreeRegressor(max_depth=6, **seed), *data("diabetes"))),
        "RandomForestClassifier": ("RandomForestClassifier(30)", "breast_cancer",
                                   lambda: (RandomForestClassifier(n_estimators=30, max_depth=8, **seed), *data("breast_cancer"))),
        "RandomForestRegressor": ("RandomForestRegressor(30)", "diabetes",
                                  lambda: (RandomForestRegressor(n_estimators=30, max_depth=8, **seed), *data("diabetes"))),
        "ExtraTreesClassifier": ("ExtraTreesClassifier(30)", "wine",
                                 lambda: (ExtraTreesClassifier(n_estimators=30, max_depth=8, **seed), *data("wine"))),
        "ExtraTreesRegressor": ("ExtraTreesRegressor(30)", "diabetes",
                                lambda: (ExtraTreesRegressor(n_estimators=30, max_depth=8, **seed), *data("diabetes"))),
        "GradientBoostingClassifier": ("StandardScaler → GradientBoostingClassifier(50)", "iris",
                                       lambda: (make_pipeline(StandardScaler(), GradientBoostingClassifier(n_estimators=50, **seed)),
                                                *data("iris"))),
        "GradientBoostingRegressor": ("GradientBoostingRegressor(50)", "diabetes",
                                      lambda: (GradientBoostingRegressor(n_estimators=50, **seed), *data("diabetes"))),
        "HistGradientBoostingClassifier": ("HistGradientBoostingClassifier(50)", "breast_cancer",
                                           lambda: (HistGradientBoostingClassifier(max_iter=50, **seed),
                                                    *data("breast_cancer"))),
        "HistGradientBoostingRegressor": ("HistGradientBoostingRegressor(50)", "diabetes",
                                          lambda: (HistGradientBoostingRegressor(max_iter=50, **seed), *data("diabetes"))),
        "MLPClassifier": ("StandardScaler → MLPClassifier(32)", "digits",
                          lambda: (make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, **seed)),
                                   *data("digits"))),
        "MLPRegressor": ("StandardScaler → MLPRegressor(32)", "diabetes",
                         lambda: (make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(32,), max_iter=500, **seed)),
                                  *data("diabetes"))),
        "LinearSVC": ("StandardScaler → LinearSVC", "breast_cancer",
                      lambda: (make_pipeline(StandardScaler(), LinearSVC(**seed)), *data("breast_cancer"))),
        "SVC": ("StandardScaler → SVC(rbf)", "iris", lambda: (make_pipeline(StandardScaler(), SVC()), *data("iris"))),
        "KNeighborsClassifier": ("StandardScaler → KNeighborsClassifier(5)", "iris",
                                 lambda: (make_pipeline(StandardScaler(), KNeighborsClassifier()), *data("iris"))),
        "KNeighborsRegressor": ("KNeighborsRegressor(5)", "diabetes", lambda: (KNeighborsRegressor(), *data("diabetes"))),
        "OneHotEncoder+ColumnTransformer": ("ColumnTransformer(SimpleImputer → StandardScaler | OneHotEncoder) "
                                            "→ LogisticRegression", "synthetic categorical",
                                            lambda: (mixed(LogisticRegression(max_iter=2000)), *_synthetic())),
        "OrdinalEncoder+ColumnTransformer": ("ColumnTransformer(SimpleImputer | OrdinalEncoder) → RandomForest(30)",
                                             "synthetic categorical",
                                             lambda: (ordinal(RandomForestClassifier(n_estimators=30, max_depth=8, **seed)), *_synthetic())),
    }
    return table


def run_case(name, what, dataset, build, work: Path) -> list[dict]:
    import skops.io as sio

    from modelport import api
    from modelport.errors import ModelportError

    estimator, x, y = build()
    estimator.fit(x, y)
    path = work / f"{name.replace(' ', '_').replace('(', '').replace(')', '').replace('+', '_')}.skops"
    sio.dump(estimator, path)
    rows = []
    for backend, to in (("sklearn2pmml", "all"), ("nyoka", "pmml")):
        started = time.perf_counter()
        try:
            result = api.convert(path, to, work / f"{path.stem}-{backend}", pmml_backend=backend, force=True)
        except ModelportError as e:
            rows.append({"case": name, "what": what, "dataset": dataset, "target": "pmml", "backend": backend,
                         "runtime": "-", "status": "unsupported", "note": e.message})
            continue
        for target, reasons in result.skipped.items():
            if target in ("onnx", "pmml"):
                rows.append({"case": name, "what": what, "dataset": dataset, "target": target,
                             "backend": backend if target == "pmml" else "skl2onnx", "runtime": "-",
                             "status": "unsupported", "note": reasons[0]})
        for run in result.parity.results:
            fmt = run.format
            outs = {o.output: o for o in run.outputs}
            numbers = [o for k, o in outs.items() if k != "label"]
            rows.append({"case": name, "what": what, "dataset": dataset, "target": fmt,
                         "backend": backend if fmt == "pmml" else "skl2onnx", "runtime": run.runtime,
                         "status": run.status,
                         "labels": f"{outs['label'].mismatches}/{outs['label'].elements}" if "label" in outs else "-",
                         "output": numbers[0].output if numbers else "-",
                         "max_abs": max((o.max_abs for o in numbers), default=None),
                         "note": run.error or run.skipped or ""})
        print(f"{name:36s} {backend:12s} {time.perf_counter() - started:6.1f}s", flush=True)
    return rows


def markdown(rows: list[dict], seconds: float) -> str:
    import platform
    from importlib.metadata import version

    libs = ", ".join(f"{lib} {version(lib)}" for lib in ("scikit-learn", "sklearn2pmml", "nyoka", "skl2onnx",
                                                          "onnxruntime", "jpmml_evaluator", "pypmml"))
    lines = [
        "# scikit-learn coverage: estimator × target × backend × runtime",
        "",
        "Measured by `python benchmarks/sklearn_coverage.py` (do not edit by hand). Each pipeline is fitted,",
        "saved with skops, converted by `modelport convert` and validated against the estimator's own",
        "`predict` / `predict_proba` / `transform` on seeded inputs that respect each column's range, categories",
        "and NaN (33 rows: a batch of 1 and of 32). *labels* counts predicted labels that differ (they must",
        "be equal); *max abs* is the largest absolute error of the numeric output (probabilities, prediction",
        "or transform). ONNX runs in float32 (skl2onnx), scikit-learn and PMML in float64.",
        "",
        f"Libraries: {libs}; Python {platform.python_version()}; {seconds:.0f} s in all.",
        "",
        "| estimator | pipeline | dataset | target | backend | runtime | result | labels | output | max abs | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        max_abs = r.get("max_abs")
        cells = [r["case"], r["what"], r["dataset"], r["target"], r["backend"], r["runtime"], r["status"],
                 r.get("labels", "-"), r.get("output", "-"), "-" if max_abs is None else f"{max_abs:.2g}",
                 str(r.get("note", ""))[:160]]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "docs" / "sklearn-coverage.md"))
    parser.add_argument("--only", default=None)
    args = parser.parse_args()
    table = cases()
    names = args.only.split(",") if args.only else list(table)
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="modelport-sklearn-") as tmp:
        for name in names:
            what, dataset, build = table[name]
            try:
                rows += run_case(name, what, dataset, build, Path(tmp))
            except Exception as e:  # one broken case must not hide the others: it is a row of the table
                print(f"{name}: {type(e).__name__}: {e}", flush=True)
                rows.append({"case": name, "what": what, "dataset": dataset, "target": "-", "backend": "-",
                             "runtime": "-", "status": "error", "note": f"{type(e).__name__}: {e}"})
    Path(args.out).write_text(markdown(rows, time.perf_counter() - started), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
