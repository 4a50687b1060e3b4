"""Reports of a ParityReport: rich table (terminal), JSON (+ JSON Schema in docs/), JUnit XML, HTML."""

from __future__ import annotations

from modelport.validators.reports.html import write_html
from modelport.validators.reports.json_report import write_json
from modelport.validators.reports.junit import write_junit
from modelport.validators.reports.table import render_table

__all__ = ["render_table", "write_html", "write_json", "write_junit"]
