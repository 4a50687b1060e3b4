"""JUnit XML: one testcase per artifact × runtime × output (GitHub, GitLab and Jenkins read it).

A runtime that crashed is an ``<error>``, a runtime that could not run a ``<skipped>``; gate
integrity and policy problems are failing testcases of their own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from modelport.io import write_bytes_atomic


def _stats(o: Any) -> str:
    text = (f"max_abs={o.max_abs:.3g} mean_abs={o.mean_abs:.3g} p99_abs={o.p99_abs:.3g} "
            f"max_rel={o.max_rel:.3g} mismatches={o.mismatches}/{o.elements} "
            f"nan_inf_disagreements={o.nan_inf_disagreements} atol={o.atol:g} rtol={o.rtol:g}")
    if o.argmax_agreement is not None:
        text += f" argmax_agreement={o.argmax_agreement:.4f}"
    if o.shape_error:
        text = f"{o.shape_error}; " + text
    return text


def to_xml(report: Any) -> bytes:
    suite_name = f"modelport {report.kind}"
    suites = ET.Element("testsuites", name=suite_name)
    suite = ET.SubElement(suites, "testsuite", name=suite_name)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def case(classname: str, name: str, seconds: float = 0.0) -> ET.Element:
        counts["tests"] += 1
        return ET.SubElement(suite, "testcase", classname=classname, name=name, time=f"{seconds:.6f}")

    reference = getattr(report, "reference", None) or {}
    if reference.get("vacuous"):  # a property and a note CI systems show with the suite
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="modelport.vacuous",
                      value=",".join(reference.get("vacuous_outputs", [])))
    for problem in report.problems:
        subject = problem.split(":", 1)[0]
        el = case("modelport.gate.integrity", subject)
        ET.SubElement(el, "failure", message=problem, type="gate").text = problem
        counts["failures"] += 1
    for r in report.results:
        classname = f"modelport.{r.format}.{r.runtime}"
        seconds = r.load_seconds + r.run_seconds
        if r.skipped or r.error:
            el = case(classname, r.artifact, seconds)
            if r.skipped:
                ET.SubElement(el, "skipped", message=r.skipped)
                counts["skipped"] += 1
            else:
                ET.SubElement(el, "error", message=r.error, type="runtime").text = r.error
                counts["errors"] += 1
            continue
        share = seconds / max(len(r.outputs), 1)
        for o in r.outputs:
            el = case(classname, f"{r.artifact} :: {o.output}", share)
            stats = _stats(o)
            ET.SubElement(el, "system-out").text = stats
            if not o.passed:
                text = stats
                if r.divergence and r.divergence.get("layer"):
                    text += f"\nfirst diverging Keras layer: {r.divergence['layer']}"
                ET.SubElement(el, "failure", message=f"{o.output} differs from Keras: {stats}", type="parity").text = text
                counts["failures"] += 1
    if reference.get("vacuous"):  # after the testcases, as the JUnit schema orders them
        ET.SubElement(suite, "system-out").text = reference.get("message") or ""
    for key, value in counts.items():
        suite.set(key, str(value))
        suites.set(key, str(value))
    suite.set("time", f"{report.total_seconds:.6f}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(report: Any, path: str | Path) -> Path:
    write_bytes_atomic(Path(path), to_xml(report))
    return Path(path)
