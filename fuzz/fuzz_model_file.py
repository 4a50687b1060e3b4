"""atheris fuzz target: arbitrary bytes as a model file, through everything that reads one
without TensorFlow (sniff, HDF5/zip/JSON config readers, safety walk, repairs, spec, analysis).

Only the documented error family (ModelportError) may escape; anything else is a finding.

    pip install atheris
    python fuzz/fuzz_model_file.py -max_total_time=300 [corpus_dir]
"""

from __future__ import annotations

import os
import sys
import tempfile

import atheris

from modelport import api
from modelport.errors import ModelportError

# what analyze imports lazily, so that instrument_all() sees it
import modelport.analyze  # noqa: E402,F401
import modelport.convert.pmml.rules  # noqa: E402,F401
import modelport.loading  # noqa: E402,F401


def test_one_input(data: bytes) -> None:
    fd, path = tempfile.mkstemp(suffix=".h5")  # the container is sniffed from the bytes, not the name
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            api.analyze(path)
        except ModelportError:
            pass
    finally:
        os.unlink(path)


if __name__ == "__main__":
    atheris.instrument_all()
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
