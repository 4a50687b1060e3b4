"""Shared by ``validate`` and ``gate``: a progress bar while runtimes load and run, report files."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Any]:
    """Yields a ``progress(description, done, total)`` callback drawing a rich bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    # "3/7" only when the step knows its total: a bare spinner reads better than "0/0"
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.fields[count]}"), TimeElapsedColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=None, count="")

        def update(description: str, done: int, total: int) -> None:
            bar.update(task, description=f"{label}: {description}", completed=done, total=total or None,
                       count=f"{done}/{total}" if total else "")

        yield update


def skipped_by_class(findings: list[Any]) -> str:
    """One entry per layer class, not one per layer: "53 Conv2D layers — no convolution in PMML"."""
    groups: dict[tuple[str, str], int] = {}
    model_wide = [f"{f.reason} (hint: {f.hint})" for f in findings if f.layer.startswith("(")]  # "(all weights)"
    for f in findings:
        if not f.layer.startswith("("):
            key = (f.class_name, f.reason or "not supported")
            groups[key] = groups.get(key, 0) + 1
    return "; ".join([*model_wide, *(f"{n} {cls} layer{'s' if n > 1 else ''} — {reason}"
                                     for (cls, reason), n in groups.items())])


def write_reports(report: Any, json_path: Path | None, junit: Path | None, html: Path | None) -> None:
    from modelport.validators.reports import write_html, write_json, write_junit

    if json_path:
        write_json(report, json_path)
    if junit:
        write_junit(report, junit)
    if html:
        write_html(report, html)


def split(values: list[str] | None) -> list[str] | None:
    items = [v.strip() for value in values or [] for v in value.split(",") if v.strip()]
    return items or None


def finish(report: Any, json_path: Path | None, junit: Path | None, html: Path | None, as_json: bool) -> None:
    """Write the requested report files, print the table (or the JSON), exit 0 on pass, 1 on fail."""
    import typer

    write_reports(report, json_path, junit, html)
    if as_json:
        from modelport.validators.reports.json_report import to_json

        typer.echo(to_json(report), nl=False)
    else:
        report.render()
    raise typer.Exit(0 if report.passed else 1)
