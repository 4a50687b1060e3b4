"""validate_pmml: the PMML 4.4 XSD from the pmml-model jar, offline, via lxml."""

from __future__ import annotations

import time

import pytest
from pmml_docs import Net

from modelport.errors import BadInputError
from modelport.runtimes.pmml_xsd import PmmlSchemaError, validate_pmml

VALID = Net("softmax", seed=4).pmml()


def test_valid_document_passes_from_path_and_bytes(tmp_path):
    path = tmp_path / "ok.pmml"
    path.write_text(VALID)
    start = time.perf_counter()
    validate_pmml(path)
    validate_pmml(str(path))
    validate_pmml(VALID.encode())
    assert time.perf_counter() - start < 5  # offline and quick (schema compiled once)


def test_unknown_element_is_named():
    doc = VALID.replace("<Header/>", "<Header/><DeepNetwork/>")
    with pytest.raises(PmmlSchemaError, match="DeepNetwork") as err:
        validate_pmml(doc.encode())
    assert err.value.violations and err.value.violations[0][0] == 3  # line of the bad element
    assert "not valid PMML 4.4" in str(err.value) and isinstance(err.value, BadInputError)


def test_every_violation_is_listed():
    doc = VALID.replace('<Con from="in0"', "<Con", 1).replace('activationFunction="tanh"', 'activationFunction="gelu"')
    with pytest.raises(PmmlSchemaError) as err:
        validate_pmml(doc.encode())
    text = str(err.value)
    assert "2 violation(s)" in text and "'from' is required" in text and "gelu" in text


def test_wrong_namespace_and_broken_xml_fail_clearly(tmp_path):
    with pytest.raises(PmmlSchemaError, match="No matching global declaration"):
        validate_pmml(VALID.replace("PMML-4_4", "PMML-4_3").encode())
    with pytest.raises(PmmlSchemaError, match="not well-formed XML"):
        validate_pmml(VALID[:200].encode())
    with pytest.raises(BadInputError, match="cannot read"):
        validate_pmml(tmp_path / "absent.pmml")
