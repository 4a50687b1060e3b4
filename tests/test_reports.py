"""Reports: JSON valid against the documented schema, JUnit readable by CI systems, self-contained HTML."""

from __future__ import annotations

import functools
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema

from tests.validation_helpers import ROOT, artifact, converted_mlp, loaded, perturb_onnx

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "report-schema.json").read_text())


@functools.cache
def failing_report():
    """onnx (one weight changed: fails, localised), pb (passes), a truncated onnx (runtime error)."""
    from modelport.validators import validate_artifacts

    result = converted_mlp()
    good = artifact(result, "onnx")
    bad, broken = ROOT / "bad.onnx", ROOT / "broken.onnx"
    perturb_onnx(good.path, bad, "hidden1")
    broken.write_bytes(good.path.read_bytes()[:100])
    arts = [type(good)(**{**good.__dict__, "path": p}) for p in (bad, broken)] + [artifact(result, "pb")]
    lm = loaded("mlp")
    return validate_artifacts(lm.model, lm.spec, arts, runtimes=["onnxruntime", "tensorflow"], base=ROOT)


def test_json_reports_match_the_schema(tmp_path):
    from modelport.validators.reports import write_json

    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    for report in (converted_mlp().parity, failing_report()):
        write_json(report, tmp_path / "r.json")
        data = json.loads((tmp_path / "r.json").read_text())
        jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)
        assert data["passed"] is report.passed
        assert all(t["total"] >= 0 for t in data["timing"]["runtimes"].values())
    assert data["summary"] == {"pass": 1, "fail": 1, "error": 1, "skipped": 0}
    assert data["results"][0]["divergence"]["layer"] == "hidden1"
    bad = dict(data, passed="yes")
    try:
        jsonschema.validate(bad, SCHEMA, cls=jsonschema.Draft202012Validator)
        raise AssertionError("schema accepted a malformed report")
    except jsonschema.ValidationError:
        pass


def test_junit_one_testcase_per_artifact_and_output(tmp_path):
    from modelport.validators.reports import write_junit

    write_junit(failing_report(), tmp_path / "j.xml")
    root = ET.parse(tmp_path / "j.xml").getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["bad.onnx :: probs", "broken.onnx", "mlp-out/mlp.pb :: probs"]
    assert suite.get("tests") == "3" and suite.get("failures") == "1" and suite.get("errors") == "1"
    failure = cases[0].find("failure")
    assert "max_abs=" in failure.get("message") and "hidden1" in failure.text
    assert cases[1].find("error") is not None and cases[2].find("failure") is None


def test_html_is_self_contained_with_a_histogram_per_artifact(tmp_path):
    from modelport.validators.reports import write_html

    report = failing_report()
    write_html(report, tmp_path / "r.html")
    text = (tmp_path / "r.html").read_text()
    assert text.startswith("<!DOCTYPE html>") and "FAIL" in text
    assert "<script" not in text and "src=" not in text and "href=" not in text  # nothing fetched
    compared = [r for r in report.results if r.outputs]
    assert text.count("<svg") == sum(len(r.outputs) for r in compared) == 2
    assert "first diverging Keras layer" in text and "hidden1" in text


def test_relative_error_is_floored_at_the_absolute_tolerance():
    """A reference at 0 (an underflowed softmax probability) made max_rel ~1e269 in real reports:
    it is relative to max(|expected|, atol), so a passing output's max_rel is at most 1 + rtol."""
    import numpy as np

    from modelport.validators.compare import compare
    from modelport.validators.tolerance import Bound, build

    expected = np.array([[0.0, 0.25, 0.75], [1e-30, 0.5, 0.5]], np.float32)
    got = expected + np.array([[2e-6, 1e-6, -3e-6], [4e-6, 0.0, 0.0]], np.float32)
    r = compare("probs", got, expected, Bound(atol=1e-5, rtol=1e-5), classifier=True)
    assert r.passed and r.mismatches == 0
    assert np.isclose(r.max_rel, 0.4, rtol=1e-3)  # 4e-6 against the floor 1e-5, not against 1e-30
    assert 0 < r.p99_rel <= r.max_rel <= 1 + 1e-5
    for report in (converted_mlp().parity, failing_report()):
        for result in report.results:
            for o in result.outputs:
                if o.passed:
                    rtol = build(**report.tolerance).bound(o.output, result.format).rtol
                    assert o.max_rel <= 1 + rtol, (result.artifact, o.output, o.max_rel)
