"""Render an Analysis for people: one row per layer, one column per target, then every problem."""

from __future__ import annotations

from typing import Any

from modelport.analyze import Analysis
from modelport.convert.base import NATIVE, REWRITE, UNSUPPORTED

STYLE = {NATIVE: "green", REWRITE: "yellow", UNSUPPORTED: "bold red"}


def verdict_text(verdict: str, rule: str | None) -> str:
    return f"{verdict} ({rule})" if rule else verdict


def table(analysis: Analysis) -> Any:
    """A rich Table: layer, class, and each target's verdict (with the rewrite rule's name)."""
    from rich.table import Table
    from rich.text import Text

    targets = list(analysis.findings)
    t = Table(title=f"compatibility of {analysis.spec.source}", title_justify="left")
    t.add_column("layer")
    t.add_column("class")
    for target in targets:
        t.add_column(target)
    by_target = {target: {f.layer: f for f in fs} for target, fs in analysis.findings.items()}
    # rows for what is not a layer but has a verdict (the preprocessing of `--preprocess`), first
    layers = {la.name for la in analysis.spec.layers}
    extra = {f.layer: f.class_name for fs in analysis.findings.values() for f in fs
             if f.layer not in layers and f.layer.startswith("(preprocessing)")}
    for layer in [*(_Row(name, cls) for name, cls in extra.items()), *analysis.spec.layers]:
        cells: list[Any] = [layer.name, layer.class_name]
        for target in targets:
            f = by_target[target].get(layer.name)
            cells.append(Text(verdict_text(f.verdict, f.rule), style=STYLE[f.verdict]) if f else Text("-"))
        t.add_row(*cells)
    return t


class _Row:
    def __init__(self, name: str, class_name: str):
        self.name, self.class_name = name, class_name


def problems(analysis: Analysis) -> list[str]:
    """One line per unsupported layer and target, every one of them (not only the first)."""
    lines = []
    for target in analysis.findings:
        for f in analysis.unsupported(target):
            hint = f" (hint: {f.hint})" if f.hint else ""
            lines.append(f"{target}: layer '{f.layer}' — {f.reason}{hint}")
    return lines


def summary(analysis: Analysis) -> list[str]:
    lines = []
    for target in analysis.findings:
        c = analysis.counts(target)
        state = "can express the model" if analysis.ok_for(target) else "CANNOT express the model"
        lines.append(f"{target}: {state} — {c[NATIVE]} native, {c[REWRITE]} rewrite, "
                     f"{c[UNSUPPORTED]} unsupported")
    return lines


def estimates(analysis: Analysis) -> list[str]:
    """The size estimate of targets that unroll the model (PMML), with the budget."""
    from modelport.convert.pmml.budget import per_row
    from modelport.units import human_size

    lines = []
    for target, e in analysis.estimates.items():
        state = "within" if e["within_budget"] else "OVER"
        lines.append(f"{target} estimate: {e['neurons']:,} neurons, {e['connections']:,} connections, "
                     f"{e['layers']:,} layers, {human_size(e['document_bytes'])} document, "
                     f"~{per_row(e['jpmml_ms_per_row'])} in JPMML — {state} the budget of {human_size(e['max_bytes'])}")
    return lines


def print_analysis(analysis: Analysis, console: Any) -> None:
    console.print(table(analysis))
    for line in estimates(analysis):
        console.print(line, markup=False)
    for line in problems(analysis):
        console.print(line, style="red", markup=False)
    for line in summary(analysis):
        console.print(line, markup=False)
