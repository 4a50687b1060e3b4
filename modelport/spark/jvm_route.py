"""The PMML route: JPMML-Evaluator-Spark's ``FlatPMMLTransformer`` inside the Spark JVM.

No Python worker runs: the array columns are split into the PMML input fields with Spark SQL, each
PMML document (one, or one per head group) is evaluated by its transformer, and the output fields
are gathered back into one column per Keras output. This is the job a Java team can copy
(``modelport/_java/spark/ScoreSpark.java`` does the same without Python on the driver either).

String inputs pass as text. A null or NaN in a column the document's own imputer fills (the
manifest's ``accepts_nan``) goes in as a missing value. Other row checks (null, wrong length, NaN)
are SQL expressions evaluated beside the model; an exception the evaluator raises for a row lands in the transformer's exception column. Either way the row's
outputs are null and ``modelport_error`` says why.
"""

from __future__ import annotations

from typing import Any

from modelport.errors import BadInputError
from modelport.spark.columns import InputSource
from modelport.spark.routes import Plan


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _checks(i: int, source: InputSource) -> tuple[list[Any], Any]:
    """(PMML field expressions, the row's error message or null) for one input."""
    from pyspark.sql import functions as F

    tensor, name = source.tensor, source.tensor.name
    fields = tensor.fields
    if source.kind == "strings":  # the raw text: the PMML DataField is a string (an encoder's column)
        col = F.col(_q(source.columns[0])).cast("string")
        check = F.lit(None).cast("string") if tensor.nan_ok else F.when(col.isNull(), F.lit(f"input '{name}' is null"))
        return [col.alias(fields[0])], check
    if source.kind == "scalars":
        cols = [F.col(_q(c)).try_cast("double") for c in source.columns]  # CSV text: a bad number is null
        bad = F.lit(False)
        for k, c in enumerate(cols):
            if k in tensor.nan_ok:  # the document's missingValueTreatment fills it: NaN goes in as missing
                cols[k] = F.when(~F.isnan(c), c)
                continue
            bad = bad | c.isNull() | F.isnan(c)
        check = F.when(bad, F.lit(f"input '{name}' has a null or NaN value"))
        return [c.alias(f) for c, f in zip(cols, fields)], check
    column = F.col(_q(source.columns[0]))
    if source.kind == "vector":
        from pyspark.ml.functions import vector_to_array

        column = vector_to_array(column)
    array = column.cast("array<double>")
    check = (F.when(array.isNull(), F.lit(f"input '{name}' is null"))
             .when(F.size(array) != tensor.width,
                   F.concat(F.lit(f"input '{name}' has "), F.size(array).cast("string"),
                            F.lit(f" values, expected {tensor.width}")))
             .when(F.exists(array, lambda v: v.isNull() | F.isnan(v)), F.lit(f"input '{name}' has a null or NaN value")))
    return [F.get(array, k).alias(f) for k, f in enumerate(fields)], check  # get: null, not an error, when short


def _transformer(jvm: Any, path: str, error_col: str) -> Any:
    evaluator = jvm.org.jpmml.evaluator.LoadingModelEvaluatorBuilder().load(jvm.java.io.File(path)).build()
    evaluator.verify()  # the document's own ModelVerification block, on the driver, before the job
    transformer = jvm.org.jpmml.evaluator.spark.FlatPMMLTransformer(evaluator)
    transformer.setInputs(True).setTargets(False).setOutputs(True).setExceptionCol(error_col)
    return transformer


def score(df: Any, plan: Plan, sources: list[InputSource], keep: list[str], error_col: str) -> tuple[Any, None]:
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    from modelport.runtimes._pmml_layout import PmmlLayout
    from modelport.spark.session import has_jpmml

    spark = df.sparkSession
    if not has_jpmml(spark):
        raise BadInputError("this Spark session cannot load JPMML-Evaluator-Spark (the PMML route runs in the JVM)",
                            "start Spark with modelport.spark.session(), or add "
                            "spark.jars=jpmml_evaluator_pyspark.spark_jars() to its configuration")
    missing = [s.tensor.name for s in sources if len(s.tensor.fields) != s.tensor.width]
    if missing:
        raise BadInputError(f"the PMML layout has no fields for input(s) {', '.join(missing)}", "re-run the conversion")
    exprs, checks = [], []
    for i, source in enumerate(sources):
        fields, check = _checks(i, source)
        exprs += fields
        checks.append(check)
    feed = df.select(*[F.col(_q(k)).alias(f"__keep{i}") for i, k in enumerate(keep)], *exprs,
                     F.coalesce(*checks).alias("__check"))
    layout = PmmlLayout.from_artifact(plan.artifact)
    errors = ["__check"]
    jvm = spark.sparkContext._jvm
    for d, document in enumerate(layout.documents):
        errors.append(f"__pmml_error{d}")
        feed = DataFrame(_transformer(jvm, str(document.path), errors[-1]).transform(feed._jdf), spark)
    error = F.coalesce(*[F.col(e) for e in errors])
    ok = error.isNull()
    final = [F.col(f"__keep{i}").alias(k) for i, k in enumerate(keep)]
    for t in plan.outputs:
        if t.strings:  # a string class label
            final.append(F.when(ok, F.col(_q(t.fields[0])).cast("string")).alias(t.name))
            continue
        cols = [F.col(_q(f)).cast("double") for f in t.fields]
        value = cols[0] if t.scalar else F.array(*cols)
        final.append(F.when(ok, value).alias(t.name))
        if t.labels:
            label = F.col(_q(t.predicted)) if t.predicted else F.lit(None).cast("string")
            final.append(F.when(ok, label.cast("string")).alias(t.name + "_label"))
    final.append(error.alias(error_col))
    return feed.select(*final), None
