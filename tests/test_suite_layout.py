"""The suite's own layout: a parallel run keeps the modules sharing an expensive session fixture on one
worker (tests/conftest.py XDIST_GROUPS). Checks every module collected in this run (the whole suite in CI)."""

from __future__ import annotations

from conftest import SHARED_FIXTURES, xdist_group


def test_modules_sharing_a_session_fixture_share_a_worker(request):
    uses: dict[str, set] = {}
    for item in request.session.items:
        uses.setdefault(item.nodeid.split("::", 1)[0], set()).update(getattr(item, "fixturenames", ()))
    misplaced = [f"{module} uses the {group} fixtures: add it to XDIST_GROUPS in tests/conftest.py"
                 for module, names in uses.items() for group, needs in SHARED_FIXTURES.items()
                 if needs(names) and xdist_group(module) != group]
    assert not misplaced, "\n".join(misplaced)
    assert xdist_group("tests/test_spark.py::test_x") == "spark" and xdist_group("tests/a.py::t") == "tests/a.py"
