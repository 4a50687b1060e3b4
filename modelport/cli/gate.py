"""``modelport gate DIR_OR_MANIFEST [--policy modelport.toml]``: the CI check on converted artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelport.cli._app import JsonFlag, app
from modelport.cli.validate import HtmlOpt, JsonOpt, JunitOpt, RequireRuntimesOpt, RuntimesOpt


@app.command()
def gate(
    target: Annotated[Path, typer.Argument(help="Output directory of `modelport convert`, or its modelport.json.", show_default=False)],
    policy: Annotated[Path | None, typer.Option("--policy", help="Policy file: modelport.toml, or pyproject.toml with [tool.modelport] [default: the nearest one].", show_default=False)] = None,
    runtimes: RuntimesOpt = None,
    junit: JunitOpt = None,
    report_json: JsonOpt = None,
    report_html: HtmlOpt = None,
    as_json: JsonFlag = False,
    strict: Annotated[bool, typer.Option("--strict", help="Also fail on artifact-like files in the folder that the manifest does not list, and on a vacuous golden reference (outputs that do not vary with the inputs).")] = False,
    require_runtimes: RequireRuntimesOpt = False,
    model: Annotated[Path | None, typer.Option("--model", help="The Keras model file: fail if its stored weights changed since conversion (digest in modelport.json).", show_default=False)] = None,
) -> None:
    """Re-hash every artifact, re-run each on the golden inputs against the golden Keras outputs, and
    enforce the policy (required formats, tolerances, maximum size). Needs no Keras file; with
    --model, the file's stored weights must be the ones converted (read without TensorFlow).

    Exit 0 pass, 1 fail (each changed or drifting artifact is named; with --strict also a vacuous
    golden reference), 2 bad input.
    """
    from modelport.cli._reporting import check_report_paths, finish, progress_bar, runtimes_option
    from modelport.gate import gate as run_gate

    check_report_paths(report_json=report_json, junit=junit, report_html=report_html)
    with progress_bar("gate") as progress:
        report = run_gate(target, policy=policy, runtimes=runtimes_option(runtimes), progress=progress, strict=strict,
                          require_runtimes=require_runtimes, model=model)
    if not as_json:
        from modelport.cli.render import console

        source = report.inputs.get("policy", {}).get("source")
        console().print(f"policy: {source or 'none found (defaults)'}", highlight=False)
    finish(report, report_json, junit, report_html, as_json, strict)
