"""The terminal view: one row per artifact × runtime × output, then problems and skips."""

from __future__ import annotations

from typing import Any

_STYLE = {"pass": "green", "fail": "bold red", "error": "bold red", "skipped": "yellow"}


def _g(x: float) -> str:
    return f"{x:.2e}" if x else "0"


def build_table(report: Any) -> Any:
    from rich.table import Table

    title = f"modelport {report.kind}: {'PASS' if report.passed else 'FAIL'}"
    table = Table(title=title, title_style="bold green" if report.passed else "bold red")
    for col in ("artifact", "runtime", "output", "max abs", "mean abs", "p99 abs", "max rel",
                "mismatch", "nan/inf", "argmax", "time s", "result"):
        table.add_column(col, justify="right" if col not in ("artifact", "runtime", "output", "result") else "left")
    for r in report.results:
        status = f"[{_STYLE[r.status]}]{r.status}[/]"
        seconds = f"{r.load_seconds + r.run_seconds:.2f}"
        if r.skipped or r.error:
            table.add_row(r.artifact, r.runtime, "-", *["-"] * 6, "-", seconds, status)
            continue
        for o in r.outputs:
            table.add_row(
                r.artifact, r.runtime, o.output, _g(o.max_abs), _g(o.mean_abs), _g(o.p99_abs), _g(o.max_rel),
                f"{o.mismatches}/{o.elements}", str(o.nan_inf_disagreements),
                "-" if o.argmax_agreement is None else f"{o.argmax_agreement:.2%}", seconds,
                f"[{_STYLE['pass' if o.passed else 'fail']}]{'pass' if o.passed else 'fail'}[/]"
                + (f" {o.shape_error}" if o.shape_error else ""),
            )
    return table


def render_table(report: Any, console: Any = None) -> None:
    from rich.console import Console

    if console is None:
        console = Console()
        if not console.is_terminal:  # CI logs: do not squeeze the table into 80 columns
            console = Console(width=160)
    console.print(build_table(report))
    if report.inputs.get("references"):  # how the loaded Keras model was proven to be the file's
        console.print(report.inputs["references"], highlight=False, markup=False)
    for problem in report.problems:
        console.print(f"[bold red]✗[/] {problem}")
    for warning in getattr(report, "warnings", []):
        console.print(f"[yellow]![/] {warning}", highlight=False)
    if report.vacuous:
        console.print(f"[yellow]![/] {report.reference.get('message')} "
                      f"(outputs: {', '.join(report.reference.get('vacuous_outputs', []))})", highlight=False)
    for r in report.results:
        if r.error:
            console.print(f"[bold red]✗[/] {r.artifact} ({r.runtime}): {r.error}", markup=True, highlight=False)
        elif r.skipped:
            console.print(f"[yellow]-[/] {r.artifact} ({r.runtime}) skipped: {r.skipped}", highlight=False)
        elif r.method:
            console.print(f"  {r.artifact} ({r.runtime}): {r.method}", highlight=False, markup=False)
    for r in report.results:
        if r.divergence:
            where = r.divergence.get("layer")
            note = r.divergence.get("note")
            if where:
                console.print(f"[bold red]✗[/] {r.artifact} ({r.runtime}): first diverging Keras layer "
                              f"[bold]{where}[/] ({r.divergence.get('class_name', '')}, "
                              f"max abs {r.divergence.get('max_abs', 0):.2e})")
            elif note:
                console.print(f"[yellow]![/] {r.artifact} ({r.runtime}): {note}")
    times = report.runtime_seconds()
    if times:
        console.print("time per runtime: " + ", ".join(f"{k} {v['total']:.2f}s" for k, v in times.items()))
