"""Validate a PMML document against the PMML 4.4 XML Schema, offline.

The schema is the ``pmml.xsd`` that JPMML's ``pmml-model`` jar vendors (shipped inside the
``jpmml_evaluator`` wheel), read straight from the jar and compiled once per process with lxml.
"""

from __future__ import annotations

import re
import zipfile
from functools import lru_cache
from pathlib import Path

from modelport.errors import BadInputError

MAX_LISTED = 10
_NS = re.compile(r"\{http://www\.dmg\.org/PMML-4_4\}")


class PmmlSchemaError(BadInputError):
    """The document is not valid PMML 4.4; ``violations`` lists (line, message) pairs."""

    def __init__(self, message: str, hint: str | None = None, violations=()):
        super().__init__(message, hint)
        self.violations = list(violations)


def _schema_jar() -> Path:
    from modelport.runtimes._jvm import jpmml_jars

    for jar in jpmml_jars():
        name = Path(jar).name
        if name.startswith("pmml-model-") and not name.startswith("pmml-model-metro"):
            return Path(jar)
    raise BadInputError("the pmml-model jar was not found in jpmml_evaluator", "reinstall jpmml_evaluator")


@lru_cache(maxsize=1)
def schema():
    """The compiled PMML 4.4 schema (lxml.etree.XMLSchema), loaded once."""
    from lxml import etree

    with zipfile.ZipFile(_schema_jar()) as jar:
        xsd_name = next(n for n in jar.namelist() if n.rsplit("/", 1)[-1] == "pmml.xsd")
        xsd = jar.read(xsd_name)
    return etree.XMLSchema(etree.fromstring(xsd, parser=etree.XMLParser(resolve_entities=False, no_network=True)))


def validate_pmml(path_or_bytes: str | Path | bytes) -> None:
    """Raise ``PmmlSchemaError`` listing the violations unless the document is valid PMML 4.4."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    label = "<bytes>" if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    try:
        if isinstance(path_or_bytes, bytes):
            doc = etree.fromstring(path_or_bytes, parser=parser).getroottree()
        else:
            doc = etree.parse(str(path_or_bytes), parser=parser)
    except OSError as exc:
        raise BadInputError(f"cannot read {label}: {exc}", "check the path") from exc
    except etree.XMLSyntaxError as exc:
        raise PmmlSchemaError(
            f"{label} is not well-formed XML: {exc}", "the file is truncated or not XML", [(exc.lineno, str(exc))]
        ) from exc
    xsd = schema()
    if xsd.validate(doc):
        return
    violations = [(e.line, _NS.sub("", e.message)) for e in xsd.error_log]
    shown = "; ".join(f"line {line}: {msg}" for line, msg in violations[:MAX_LISTED])
    more = f" (+{len(violations) - MAX_LISTED} more)" if len(violations) > MAX_LISTED else ""
    raise PmmlSchemaError(
        f"{label} is not valid PMML 4.4: {len(violations)} violation(s): {shown}{more}",
        "the document must follow the PMML 4.4 schema (namespace http://www.dmg.org/PMML-4_4)",
        violations,
    )
