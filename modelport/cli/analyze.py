"""``modelport analyze MODEL [--to ...] [--format table|json]``: verdicts per target and layer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelport.cli._app import (
    ArchitectureOpt,
    CustomObjectsOpt,
    PmmlMaxSizeOpt,
    SequenceLengthOpt,
    TrustCodeOpt,
    app,
    load_options,
)
from modelport.errors import BadInputError


@app.command()
def analyze(
    model: Annotated[Path, typer.Argument(help="A Keras model file (.h5, .keras, or to_json() .json).", show_default=False)],
    to: Annotated[str | None, typer.Option("--to", help="Targets, comma-separated (default: all).", show_default=False)] = None,
    fmt: Annotated[str, typer.Option("--format", help="table (for people) or json (schema modelport.analysis/1).")] = "table",
    architecture: ArchitectureOpt = None,
    trust_code: TrustCodeOpt = False,
    custom_objects: CustomObjectsOpt = None,
    pmml_max_size: PmmlMaxSizeOpt = None,
    sequence_length: SequenceLengthOpt = None,
) -> None:
    """Say, for every target and layer, native / rewrite (named rule) / unsupported (reason, hint).

    Reads the model's config only (no TensorFlow). Exit 0 when every requested target can express
    the model, 3 when one cannot.
    """
    from modelport import api

    if fmt not in ("table", "json"):
        raise BadInputError(f"unknown format '{fmt}'", "use --format table or --format json")
    analysis = api.analyze(model, to, load_options(architecture, trust_code, custom_objects),
                           pmml_max_size=pmml_max_size, sequence_length=sequence_length)
    if fmt == "json":
        from modelport.cli.render import print_json

        print_json(analysis.to_dict())
    else:
        from modelport.analyze.render import print_analysis
        from modelport.cli.render import console

        print_analysis(analysis, console())
    raise typer.Exit(analysis.exit_code)
