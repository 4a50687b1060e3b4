"""A DataFrame in, a scored DataFrame out, through the plan's route (lazy: nothing runs yet)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelport.spark.columns import ERROR_COL, resolve_inputs, resolve_keep
from modelport.spark.routes import Plan


@dataclass
class Scored:
    df: Any  # the scored DataFrame: keep columns, outputs, labels, the error column
    plan: Plan
    stats: Any = None  # Python routes: accumulator {"host:pid": {"loads", "threads"}} once an action ran

    @property
    def loads(self) -> dict[str, dict[str, int]]:
        return dict(self.stats.value) if self.stats is not None else {}


def score_dataframe(df: Any, plan: Plan, *, keep: list[str] | None = None, columns: dict[str, str] | None = None,
                    feature_names: list[str] | None = None, error_col: str = ERROR_COL) -> Scored:
    """Score ``df`` with ``plan``; ``keep=None`` passes every input column through.

    Raises BadInputError (exit 2) when a needed column is missing, before any job starts."""
    sources = resolve_inputs(plan, df.schema, columns, feature_names)
    kept = resolve_keep(df.schema, keep, plan, error_col)
    if plan.in_jvm:
        from modelport.spark import jvm_route as route
    else:
        from modelport.spark import python_route as route  # type: ignore[no-redef]
    scored, stats = route.score(df, plan, sources, kept, error_col)
    return Scored(scored, plan, stats)
