"""Shared by ``validate`` and ``gate``: a progress bar while runtimes load and run, report files."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from modelport.errors import check_interrupted


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
            check_interrupted()  # each step is a safe point to stop at after Ctrl-C / SIGTERM
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

    check_interrupted()
    if json_path:
        write_json(report, json_path)
    if junit:
        write_junit(report, junit)
    if html:
        write_html(report, html)


def check_report_paths(**paths: Path | None) -> None:
    """Report files are written at the end: a path that cannot be written is refused at the start."""
    import os

    from modelport.errors import BadInputError

    for option, path in paths.items():
        if path is None:
            continue
        flag = "--" + option.replace("_", "-")
        parent = Path(path).absolute().parent
        if Path(path).is_dir():
            raise BadInputError(f"{flag} {path} is a directory", f"give {flag} a file name")
        if not parent.is_dir():
            raise BadInputError(f"{flag} {path}: folder {parent} does not exist", "create it first, or choose another path")
        if not os.access(parent, os.W_OK):
            raise BadInputError(f"{flag} {path}: folder {parent} is not writable", "choose another path")


RUNTIMES_ENV = "MODELPORT_RUNTIMES"


def runtimes_option(values: list[str] | None) -> list[str] | None:
    """--runtimes, else $MODELPORT_RUNTIMES (e.g. the quick in-process runtimes on a laptop or in a
    docs check); from the environment, runtimes that serve none of the artifacts are ignored."""
    import os

    given = split(values)
    if given is None and os.environ.get(RUNTIMES_ENV):
        return EnvRuntimes(split([os.environ[RUNTIMES_ENV]]) or [])
    return given


class EnvRuntimes(list):
    """Runtimes from the environment: a preference, not a demand."""


def split(values: list[str] | None) -> list[str] | None:
    items = [v.strip() for value in values or [] for v in value.split(",") if v.strip()]
    return items or None


def require_runtimes(report: Any) -> None:
    """--require-runtimes: every skipped runtime becomes a problem (the report then fails)."""
    report.problems += [f"{r.artifact} ({r.runtime}): runtime required but skipped: {r.skipped}"
                        for r in report.results if r.skipped]


def strict_exit(report: Any, strict: bool) -> int:
    """0 on pass, 1 on fail; with ``--strict`` a vacuous reference (outputs that do not vary with
    the inputs) fails too, and says so on stderr."""
    if report.passed and strict and report.vacuous:
        from modelport.cli.render import console

        console(stderr=True).print(f"error: {report.reference.get('message')} (--strict)", highlight=False, markup=False)
        return 1
    return 0 if report.passed else 1


def finish(report: Any, json_path: Path | None, junit: Path | None, html: Path | None, as_json: bool,
           strict: bool = False) -> None:
    """Write the requested report files, print the table (or the JSON), exit 0 on pass, 1 on fail
    (or, with ``strict``, on a vacuous reference)."""
    import typer

    write_reports(report, json_path, junit, html)
    if as_json:
        from modelport.validators.reports.json_report import to_json

        typer.echo(to_json(report), nl=False)
    else:
        report.render()
    raise typer.Exit(strict_exit(report, strict))
