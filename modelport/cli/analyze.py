"""``modelport analyze MODEL [--to ...] [--json]``: verdicts per target and layer."""

from __future__ import annotations

from typing import Annotated

import typer

from modelport.cli._app import (
    ArchitectureOpt,
    CustomObjectsOpt,
    JsonFlag,
    ModelArg,
    PmmlBackendOpt,
    PmmlMaxSizeOpt,
    PreprocessOpt,
    SequenceLengthOpt,
    TrustCodeOpt,
    TrustTypeOpt,
    app,
    load_options,
    pmml_backend_option,
)
from modelport.errors import EXIT_OK, EXIT_UNSUPPORTED, BadInputError


@app.command()
def analyze(
    model: ModelArg,
    to: Annotated[str, typer.Option("--to", "-t", help="Targets, comma separated: savedmodel, pb, ckpt, onnx, pmml, or 'all' (every target that can express the model, as in convert).")] = "all",
    as_json: JsonFlag = False,
    fmt: Annotated[str | None, typer.Option("--format", hidden=True, help="Deprecated: use --json.")] = None,
    architecture: ArchitectureOpt = None,
    trust_code: TrustCodeOpt = False,
    custom_objects: CustomObjectsOpt = None,
    pmml_max_size: PmmlMaxSizeOpt = None,
    sequence_length: SequenceLengthOpt = None,
    trust_type: TrustTypeOpt = None,
    pmml_backend: PmmlBackendOpt = None,
    preprocess: PreprocessOpt = None,
) -> None:
    """Say, for every target and layer, native / rewrite (named rule) / unsupported (reason, hint).

    Reads the model's config only: no TensorFlow, and no code in the file runs, so a file with
    Lambda layers or custom classes is analysed too (with a note that convert needs the opt-in).
    Exit 0 when the model can be converted (with 'all': to at least one target; otherwise to every
    requested target), 3 when it cannot.
    """
    from modelport import api
    from modelport.convert import parse_targets

    if fmt is not None:  # the old spelling, kept so existing scripts keep working
        if fmt.lower() not in ("table", "json"):
            raise BadInputError(f"unknown format '{fmt}'", "use --json for JSON, nothing for the table")
        as_json = as_json or fmt.lower() == "json"
    _, is_all = parse_targets(to)
    options = load_options(architecture, trust_code, custom_objects, trust_type)
    analysis = api.analyze(model, to, options, pmml_max_size=pmml_max_size, sequence_length=sequence_length,
                           pmml_backend=pmml_backend_option(pmml_backend), preprocess=preprocess)
    note = api.safety_note(model, options)
    if as_json:
        from modelport.cli.render import print_json

        print_json(analysis.to_dict())
    else:
        from modelport.analyze.render import print_analysis
        from modelport.cli.render import console

        print_analysis(analysis, console())
    if note:
        from modelport.cli.render import console

        console(stderr=True).print(f"note: {note}")
    if is_all:  # as `convert --to all`: fine when some target can express the model
        raise typer.Exit(EXIT_OK if any(analysis.ok_for(t) for t in analysis.findings) else EXIT_UNSUPPORTED)
    raise typer.Exit(analysis.exit_code)
