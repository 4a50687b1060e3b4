"""Command line: ``modelport <command>`` and the ``convert`` shortcut. Thin layers over modelport.api.

Each command lives in its own module and registers itself on the shared Typer ``app``.
"""

from __future__ import annotations

from modelport.cli import analyze, convert, gate, inspect, score, validate  # noqa: F401  (register commands)
from modelport.cli._app import app, run
from modelport.tfimport import own_process

__all__ = ["app", "main", "convert_main", "run"]


def main() -> None:
    """``modelport ...``"""
    own_process()
    run()


def convert_main() -> None:
    """``convert model.h5 --to pb``: the convert command as its own program."""
    from modelport.cli._app import STANDALONE

    own_process()
    run(prefix=[STANDALONE])
