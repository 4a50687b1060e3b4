"""``ModelportTransformer``: modelport scoring as a pyspark.ml Pipeline stage.

    Pipeline(stages=[..., ModelportTransformer(artifacts="out/")])

It appends the output columns (and ``modelport_error``) to its input, keeping every column, like
any Transformer. Params: ``artifacts`` (output directory), ``via`` (route), ``featureNames``.
"""

from __future__ import annotations

from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable


class ModelportTransformer(Transformer, DefaultParamsReadable, DefaultParamsWritable):
    artifacts = Param(Params._dummy(), "artifacts", "modelport output directory (holds modelport.json)",
                      typeConverter=TypeConverters.toString)
    via = Param(Params._dummy(), "via", "route: onnx, pmml or savedmodel (default: from the manifest)",
                typeConverter=TypeConverters.toString)
    featureNames = Param(Params._dummy(), "featureNames", "scalar input columns for a single flat input",
                         typeConverter=TypeConverters.toListString)

    @keyword_only
    def __init__(self, *, artifacts: str | None = None, via: str | None = None,
                 featureNames: list[str] | None = None) -> None:  # noqa: N803  (pyspark.ml's camelCase)
        super().__init__()
        self._set(**self._input_kwargs)

    def _transform(self, dataset: Any) -> Any:
        from modelport.errors import BadInputError
        from modelport.spark.routes import choose
        from modelport.spark.scoring import score_dataframe

        if not self.isDefined(self.artifacts):
            raise BadInputError("ModelportTransformer needs artifacts=", "pass the output directory of `modelport convert`")
        via = self.getOrDefault(self.via) if self.isDefined(self.via) else None
        names = self.getOrDefault(self.featureNames) if self.isDefined(self.featureNames) else None
        return score_dataframe(dataset, choose(self.getOrDefault(self.artifacts), via), feature_names=names).df
