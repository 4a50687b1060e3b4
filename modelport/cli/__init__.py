"""Command line: ``modelport <command>`` and the ``convert`` shortcut. Thin layers over modelport.api."""

from __future__ import annotations

from modelport.cli._app import app, run
from modelport.cli import convert as _convert  # noqa: F401  (registers the command)
from modelport.cli import inspect as _inspect  # noqa: F401

for _optional in ("analyze", "validate", "gate"):  # commands owned by their own modules
    try:
        __import__(f"modelport.cli.{_optional}")
    except ModuleNotFoundError as _e:
        if _e.name != f"modelport.cli.{_optional}":
            raise


def main() -> None:
    """``modelport ...``"""
    run()


def convert_main() -> None:
    """``convert model.h5 --to pb``: the convert command as its own program."""
    run(prefix=["convert"])
