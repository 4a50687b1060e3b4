"""Issue 9's corpus table: for every file in the shared corpus, the loader, the weight audit, and
every second reader's verdict on the validation inputs.

    MODELPORT_CORPUS=/path/to/corpus python benchmarks/corpus_references.py [--json out.json]

Each file is loaded as ``convert`` loads it (no trust flags; the weights-only file with the
architecture JSON beside it), then ``modelport.loading.reference.check`` runs the second readers
on the default validation inputs. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def row(path: Path) -> dict:
    from modelport.errors import ModelportError
    from modelport.loading import load, reference

    arch = path.with_suffix(".json") if path.with_suffix(".json").exists() and path.suffix == ".h5" else None
    out: dict = {"file": path.name}
    started = time.perf_counter()
    try:
        loaded = load(path, architecture=arch)
    except ModelportError as e:
        out.update(loader="-", audit=f"refused (exit {e.exit_code}): {e.message[:90]}", references=[])
        return out
    out["loader"] = loaded.spec.loader
    out["audit"] = (f"ok: {loaded.audit.arrays} arrays, {loaded.audit.values:,} values" if loaded.audit
                    else "no stored weights")
    try:
        reference.check(loaded)
        out["references"] = [r.to_dict() for r in loaded.references]
    except ModelportError as e:
        out["references"] = [r.to_dict() for r in loaded.references] + [{"error": e.message}]
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def _cell(refs: list[dict]) -> tuple[str, str]:
    if not refs:
        return "-", "-"
    texts, diffs = [], []
    for r in refs:
        if "error" in r:
            texts.append(f"FAIL: {r['error'][:120]}")
            continue
        reason = f" ({r['reason'][:80]})" if r.get("reason") else ""
        layer = f" at '{r['first_diverging_layer']}'" if r.get("first_diverging_layer") else ""
        texts.append(f"{r['reader']}: {r['status']}{layer}{reason}")
        if r.get("max_abs") is not None:
            diffs.append(f"{r['max_abs']:.1e}")
    return "<br>".join(texts), ", ".join(diffs) or "-"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    corpus = Path(os.environ.get("MODELPORT_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus"))
    rows = [row(p) for p in sorted(corpus.iterdir()) if p.suffix in (".h5", ".hdf5", ".keras")]
    print("| file | loader | weight audit | second readers | max abs diff |")
    print("|---|---|---|---|---|")
    for r in rows:
        refs, diffs = _cell(r["references"])
        print(f"| {r['file']} | {r['loader']} | {r['audit']} | {refs} | {diffs} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
