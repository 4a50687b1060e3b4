"""Runs one document's examples in order, in the current folder (the convention is in tests/test_docs.py).

A shell block whose every line is a plain ``modelport ...`` or ``convert ...`` command runs each
command through the console scripts' own entry point, ``modelport.cli.run``, in this process: the
same argv, the same code, the same exit code, without paying a Python start, a TensorFlow import and
a JVM start per command. Any other shell block (pipes, redirects, variables, other programs) runs
in ``bash -e -o pipefail`` as written. A Python block runs with ``exec`` in a fresh namespace.

Used in-process by tests/test_docs.py, and as ``python -m tests.doc_runner DOC`` for a document
that needs a process of its own (see there).
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
import time
import traceback
from pathlib import Path

FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.S | re.M)
PROGRAMS = {"modelport": None, "convert": ["convert"]}  # console script -> modelport.cli.run's prefix
SHELL_ONLY = re.compile(r"[$`~*?\[\]{}\\]")  # expansions, globs, escapes: only bash reads these right


class DocFailure(AssertionError):
    pass


def runnable_blocks(text: str) -> list[tuple[str, str]]:
    """(kind, code) for every block the convention runs, in document order."""
    out = []
    for lang, body in FENCE.findall(text):
        if lang in ("bash", "sh"):
            out.append(("shell", body))
        elif lang == "console":
            commands = [line[2:] for line in body.splitlines() if line.startswith("$ ")]
            if commands:
                out.append(("shell", "\n".join(commands) + "\n"))
        elif lang == "python":
            out.append(("python", body))
    return out


def plain_commands(code: str) -> list[list[str]] | None:
    """The block as argv lists when every line is one plain ``modelport``/``convert`` command (comments
    allowed); None when any line needs a shell."""
    commands = []
    for line in code.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            argv = list(lexer)
        except ValueError:  # an open quote: bash's business
            return None
        if not argv:
            continue
        operators = [a for a in argv if a and all(ch in "();<>|&" for ch in a)]
        if argv[0] not in PROGRAMS or operators or "=" in argv[0] or any(SHELL_ONLY.search(a) for a in argv):
            return None
        commands.append(argv)
    return commands


def run_command(argv: list[str]) -> tuple[int, str, str]:
    """One console-script command in this process: (exit code, stdout, stderr)."""
    from modelport.cli import run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            run(argv[1:], prefix=PROGRAMS[argv[0]])
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return code, out.getvalue(), err.getvalue()


def run_blocks(name: str, blocks: list[tuple[str, str]], folder: Path) -> list[str]:
    """Run every block in ``folder`` (the current directory); returns how each ran. Raises DocFailure
    naming the block, its code and the error."""
    ran = []
    for i, (kind, code) in enumerate(blocks, start=1):
        where = f"{name} block {i} ({kind})"
        started = time.perf_counter()
        commands = plain_commands(code) if kind == "shell" else None
        if commands is not None:
            for argv in commands:
                status, _, err = run_command(argv)
                if status != 0:
                    raise DocFailure(f"{where} failed with exit {status} at `{shlex.join(argv)}`:\n{code}\n"
                                     f"--- stderr:\n{err[-3000:]}")
            ran.append("in-process")
        elif kind == "shell":
            proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], cwd=folder, capture_output=True,
                                  text=True, timeout=900)
            if proc.returncode != 0:
                raise DocFailure(f"{where} failed with exit {proc.returncode}:\n{code}\n--- stderr:\n"
                                 f"{proc.stderr[-3000:]}")
            ran.append("bash")
        else:
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(code, where, "exec"), {"__name__": "__main__"})  # noqa: S102 - the doc's own code
            except Exception:
                raise DocFailure(f"{where} failed:\n{code}\n--- traceback:\n{traceback.format_exc()[-3000:]}") from None
            ran.append("exec")
        ran[-1] += f" {time.perf_counter() - started:.1f} s"
    return ran


def main() -> None:
    from modelport.tfimport import own_process

    own_process()  # this process stands in for the console scripts, whose main() says so too
    doc = Path(sys.argv[1])
    try:
        ran = run_blocks(doc.name, runnable_blocks(doc.read_text()), Path.cwd())
    except DocFailure as failure:
        sys.stderr.write(f"{failure}\n")
        sys.exit(1)
    import atexit
    import os

    print("\n".join(f"block {i}: {how}" for i, how in enumerate(ran, start=1)))
    sys.stdout.flush()
    atexit._run_exitfuncs()  # Spark stops its context here; TensorFlow's slow C++ teardown is skipped
    os._exit(0)


if __name__ == "__main__":
    main()
