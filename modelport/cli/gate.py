"""``modelport gate DIR_OR_MANIFEST [--policy modelport.toml]``: the CI check on converted artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelport.cli._app import app
from modelport.cli.validate import HtmlOpt, JsonOpt, JunitOpt, RuntimesOpt, StrictOpt


@app.command()
def gate(
    target: Annotated[Path, typer.Argument(help="Output directory of `modelport convert`, or its modelport.json.", show_default=False)],
    policy: Annotated[Path | None, typer.Option("--policy", help="Policy file: modelport.toml, or pyproject.toml with [tool.modelport] [default: the nearest one].", show_default=False)] = None,
    runtimes: RuntimesOpt = None,
    junit: JunitOpt = None,
    report_json: JsonOpt = None,
    report_html: HtmlOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report instead of the table.")] = False,
    strict: StrictOpt = False,
) -> None:
    """Re-hash every artifact, re-run each on the golden inputs against the golden Keras outputs, and
    enforce the policy (required formats, tolerances, maximum size). Needs no Keras file.

    Exit 0 pass, 1 fail (each changed or drifting artifact is named; with --strict also a vacuous
    golden reference), 2 bad input.
    """
    from modelport.cli._reporting import finish, progress_bar, split
    from modelport.gate import gate as run_gate

    with progress_bar("gate") as progress:
        report = run_gate(target, policy=policy, runtimes=split(runtimes), progress=progress)
    finish(report, report_json, junit, report_html, as_json, strict)
