"""How much do the fixture and benchmark models' outputs vary with their inputs?

For every model in fixtures/ (and the benchmark's MobileNetV2 as bench_foundation builds it), the
reference spread that decides "parity is vacuous" (docs/ci.md): spread / scale per output on the
seeded synthetic inputs, and the verdict. A model is flagged when spread <= 1e-3 x scale + atol.

    python benchmarks/bench_vacuous.py [--mobilenet]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def spreads(model, spec=None):
    from modelport.loading.spec_builder import spec_from_config
    from modelport.runtimes.keras import call
    from modelport.validators.degenerate import reference_spreads
    from modelport.validators.inputs import make_cases
    from modelport.validators.tolerance import Tolerance

    spec = spec or spec_from_config(json.loads(model.to_json()))
    cases = make_cases(spec, model=model)
    expected = [dict(zip([t.name for t in spec.outputs],
                         (np.asarray(o) for o in call(model, [c.inputs[t.name] for t in spec.inputs]))))
                for c in cases]
    return reference_spreads(expected, Tolerance())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mobilenet", action="store_true", help="also the benchmark's MobileNetV2 (slower)")
    args = parser.parse_args()
    from fixtures import FIXTURES, build, pmml_models
    from fixtures.input_models import DEGENERATE_FIXTURES, INPUT_FIXTURES

    models = {n: (lambda n=n: build(n)) for n in [*FIXTURES, *INPUT_FIXTURES, *DEGENERATE_FIXTURES]}
    models.update({f"pmml_models.{n}": getattr(pmml_models, n) for n in ("activations", "constructs", "embedding",
                                                                         "mlp_784")})
    rows = []
    for name, make in models.items():
        found = spreads(make())
        rows.append((name, min(s.spread / s.scale if s.scale else 0.0 for s in found), any(s.vacuous for s in found)))
    if args.mobilenet:
        import modelport
        from benchmarks.bench_foundation import build_model

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "m.h5"
            build_model("mobilenetv2", path)
            loaded = modelport.load(path)
            found = spreads(loaded.model, loaded.spec)
            rows.append(("bench_foundation mobilenetv2", min(s.spread / s.scale for s in found),
                         any(s.vacuous for s in found)))
    print(f"{'model':<32}{'min spread/scale':>18}  verdict")
    for name, ratio, vacuous in rows:
        print(f"{name:<32}{ratio:>18.3g}  {'VACUOUS' if vacuous else 'varies'}")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
