"""One self-contained HTML file: summary, a row per artifact × runtime × output, and for each
artifact an inline-SVG histogram of per-element absolute errors (log10 bins). No scripts, no links."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from modelport.io import write_bytes_atomic

_CSS = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}td.l{text-align:left}
.pass{color:#17803d;font-weight:600}.fail,.error{color:#c0262d;font-weight:600}.skipped{color:#a06800}
.hist{display:inline-block;margin:0 1.5em 1em 0;vertical-align:top}h2{margin-top:1.6em}small{color:#666}"""


def _svg_histogram(hist: dict[str, Any], title: str) -> str:
    counts = hist.get("counts") or []
    edges = hist.get("log10_edges") or []
    zeros = int(hist.get("zeros", 0))
    bars = [zeros] + list(counts)
    labels = ["0"] + [f"1e{e:g}" for e in edges[:-1]]
    width, height, pad = 16 * len(bars) + 40, 140, 30
    top = max(bars) if bars and max(bars) > 0 else 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + pad}" role="img">',
             f"<title>{html.escape(title)}</title>"]
    for i, n in enumerate(bars):
        h = 0 if n == 0 else max(1.0, (height - 10) * n / top)
        x = 30 + 16 * i
        fill = "#8a8" if i == 0 else "#4a7ab5"
        parts.append(f'<rect x="{x}" y="{height - h:.1f}" width="14" height="{h:.1f}" fill="{fill}">'
                     f"<title>{html.escape(labels[i])}: {n}</title></rect>")
    for i in range(0, len(bars), 4):
        parts.append(f'<text x="{30 + 16 * i}" y="{height + 14}" font-size="9">{html.escape(labels[i])}</text>')
    parts.append(f'<text x="0" y="10" font-size="9">{top}</text>')
    parts.append(f'<line x1="28" y1="{height}" x2="{width}" y2="{height}" stroke="#999"/></svg>')
    return "".join(parts)


def to_html(report: Any) -> str:
    e = html.escape
    status = "PASS" if report.passed else "FAIL"
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
           f"<title>modelport {e(report.kind)}: {status}</title><style>{_CSS}</style></head><body>",
           f"<h1>modelport {e(report.kind)}: <span class='{'pass' if report.passed else 'fail'}'>{status}</span></h1>",
           f"<p>model <code>{e(report.model)}</code> · tolerance atol {report.tolerance.get('atol')} "
           f"rtol {report.tolerance.get('rtol')} · {report.total_seconds:.2f}s</p>"]
    if report.vacuous:
        out.append(f"<p class='skipped'><b>{e(report.reference.get('message') or '')}</b> "
                   f"(outputs: {e(', '.join(report.reference.get('vacuous_outputs', [])))})</p>")
    if report.problems:
        out.append("<ul>" + "".join(f"<li class='fail'>{e(p)}</li>" for p in report.problems) + "</ul>")
    out.append("<table><tr><th>artifact</th><th>runtime</th><th>output</th><th>max abs</th><th>mean abs</th>"
               "<th>p99 abs</th><th>max rel</th><th>p99 rel</th><th>mismatches</th><th>NaN/Inf</th>"
               "<th>argmax</th><th>load s</th><th>run s</th><th>result</th></tr>")
    for r in report.results:
        if r.skipped or r.error:
            out.append(f"<tr><td class='l'>{e(r.artifact)}</td><td class='l'>{e(r.runtime)}</td>"
                       f"<td colspan='11' class='l'>{e(r.skipped or r.error or '')}</td>"
                       f"<td class='{r.status}'>{r.status}</td></tr>")
            continue
        for o in r.outputs:
            res = "pass" if o.passed else "fail"
            agree = "-" if o.argmax_agreement is None else f"{o.argmax_agreement:.2%}"
            out.append(
                f"<tr><td class='l'>{e(r.artifact)}</td><td class='l'>{e(r.runtime)}</td><td class='l'>{e(o.output)}</td>"
                f"<td>{o.max_abs:.3g}</td><td>{o.mean_abs:.3g}</td><td>{o.p99_abs:.3g}</td><td>{o.max_rel:.3g}</td>"
                f"<td>{o.p99_rel:.3g}</td><td>{o.mismatches}/{o.elements}</td><td>{o.nan_inf_disagreements}</td>"
                f"<td>{agree}</td><td>{r.load_seconds:.3f}</td><td>{r.run_seconds:.3f}</td>"
                f"<td class='{res}'>{res}{(' ' + e(o.shape_error)) if o.shape_error else ''}</td></tr>")
    out.append("</table>")
    for r in report.results:
        if not r.outputs:
            continue
        out.append(f"<h2>{e(r.artifact)} <small>{e(r.format)} in {e(r.runtime)}</small></h2>")
        if r.divergence and r.divergence.get("layer"):
            out.append(f"<p class='fail'>first diverging Keras layer: <code>{e(str(r.divergence['layer']))}</code></p>")
        for o in r.outputs:
            title = f"{r.artifact} {o.output}: |error| per element"
            out.append(f"<div class='hist'><div>{e(o.output)} <small>|artifact − Keras| per element, "
                       f"{o.elements} elements</small></div>{_svg_histogram(o.histogram, title)}</div>")
    times = report.runtime_seconds()
    if times:
        out.append("<h2>time per runtime</h2><table><tr><th>runtime</th><th>load s</th><th>run s</th><th>total s</th></tr>")
        out += [f"<tr><td class='l'>{e(k)}</td><td>{v['load']:.3f}</td><td>{v['run']:.3f}</td><td>{v['total']:.3f}</td></tr>"
                for k, v in times.items()]
        out.append("</table>")
    out.append("</body></html>\n")
    return "".join(out)


def write_html(report: Any, path: str | Path) -> Path:
    write_bytes_atomic(Path(path), to_html(report).encode())
    return Path(path)
