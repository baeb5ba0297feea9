"""The verdict and its banner count every check as what it was: no data is never a pass,
and a runbook that checked nothing does not pass."""

import json

import pytest

from rollbook import runbook
from rollbook.verdict import VerdictFailed, compare, expect, raise_if_failed, tally

PARAMS = """\
environment: unit
primary: {host: 127.0.0.1, port: 5432, dbname: chat, user: chat, password: {env: UNIT_PW}}
"""


@pytest.fixture
def rb(tmp_path, monkeypatch):
    path = tmp_path / "params.yaml"
    path.write_text(PARAMS)
    context = {"run_dir": str(tmp_path / "run"), "archive_root": str(tmp_path), "headless": True}
    shown: list[str] = []
    monkeypatch.setattr(runbook, "_display", lambda markup, plain: shown.append(plain))
    book = runbook.start(path, name="unit", context=context)
    shown.clear()  # the dry-run banner
    book.shown = shown
    return book


def written(book) -> dict:
    return json.loads((book.run_dir / "results.json").read_text())


def test_tally_counts_no_data_as_no_data():
    checks = [
        compare("p95", 0.2, "<", 0.3),
        expect("plans vs archived (primary)", None, required=False),
        expect("plans vs archived (replica)", None, required=False),
        compare("errors", 0.5, "<", 0.01, required=False),
        compare("lag", None, "<", 5),
    ]
    assert tally(checks) == (
        "1 passed, 1 no data, 1 failed (not required), 2 no data (not required)"
    )
    assert tally([]) == "no checks"


def test_tally_counts_every_pass_once_required_or_not():
    checks = [compare("p95", 0.2, "<", 0.3), compare("info", 1, "<", 2, required=False)]
    assert tally(checks) == "2 passed"  # not "1 passed, 1 passed"


def test_zero_checks_is_a_failed_verdict(rb):
    with pytest.raises(VerdictFailed, match="no checks"):
        rb.verdict()
    assert written(rb)["verdict"] == "failed"
    assert rb.shown[0].startswith("FAILED: no checks")
    with pytest.raises(VerdictFailed, match="no checks"):
        raise_if_failed([])


def test_banner_of_a_pass_with_no_data_does_not_call_them_passed(rb):
    rb.add_checks([compare("p95", 0.2, "<", 0.3), expect("plans", None, required=False)])
    rb.verdict()
    assert written(rb)["verdict"] == "passed"
    assert rb.shown[0] == "PASSED: 1 passed, 1 no data (not required)"
    assert "2 checks passed" not in rb.shown[0]


def test_banner_of_a_failure_counts_and_names_the_failing_checks(rb):
    rb.add_checks(
        [compare("p95", 0.9, "<=", 0.35, unit="s"), expect("plans", None, required=False)]
    )
    with pytest.raises(VerdictFailed, match="p95"):
        rb.verdict()
    banner = rb.shown[0]
    assert banner.startswith("FAILED: 1 failed, 1 no data (not required)")
    assert "p95: fail, observed 0.9s, threshold <= 0.35" in banner
