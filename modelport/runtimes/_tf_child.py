"""The TensorFlow runtime in a child process: ``python -m modelport.runtimes._tf_child``.

A ``tf.compat.v1.Session`` over a frozen graph (and ``tf.saved_model.load``) keeps most of what it
allocated while preparing the graph until the process ends, several times the weight bytes. Run in
this child, that memory goes back to the OS when validation of the artifact is over, and the parent
(which holds the Keras model) does not grow. The child runs the same code as in-process validation
(``modelport.runtimes.tensorflow``), so the numbers are the same.

Protocol, one line each way on stdin/stdout:
    parent: ``load <artifact.json>``          child: ``ok [how it runs, when not as loaded by default]`` or ``error <message>``
    parent: ``run <inputs.npz> <outputs.npz>`` child: ``ok`` or ``error <message>``
    parent closes stdin: the child exits.
Arrays are ``b<batch>_<index>`` in the artifact's input (output) order; no pickles.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:500]


def _reply(out: Any, text: str) -> None:
    out.write(text.replace("\n", " ") + "\n")
    out.flush()


def serve(stdin: Any, stdout: Any) -> None:
    from modelport.convert.base import Artifact
    from modelport.runtimes import tensorflow

    session: Any = None
    artifact: Any = None
    for line in stdin:
        command, *args = line.rstrip("\n").split(" ")
        answer = "ok"
        try:
            if command == "load":
                artifact = Artifact.from_dict(json.loads(Path(args[0]).read_text()))
                session = tensorflow.load_in_process(artifact)
                if getattr(session, "method", None):
                    answer = f"ok {session.method}"
            elif command == "run":
                inputs, names = np.load(args[0], allow_pickle=False), [t.name for t in artifact.inputs]
                outputs = {}
                for b in range(int(inputs["batches"])):
                    result = session.run({n: inputs[f"b{b}_{j}"] for j, n in enumerate(names) if f"b{b}_{j}" in inputs})
                    outputs.update({f"b{b}_{k}": np.asarray(result[t.name]) for k, t in enumerate(artifact.outputs)})
                np.savez(args[1], **outputs)
            else:
                raise ValueError(f"unknown command {command!r}")
        except Exception as e:  # reported to the parent, which fails the artifact with this line
            _reply(stdout, f"error {_one_line(e)}")
            continue
        _reply(stdout, answer)


def main() -> None:
    from modelport.tfimport import import_tensorflow, own_process

    own_process()
    import_tensorflow()
    # the protocol owns stdout: anything a library prints goes to stderr instead
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin, protocol)


if __name__ == "__main__":
    main()
