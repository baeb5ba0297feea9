"""results.json through one model: written and read back typed, versioned, and a file
archived before the version existed still reads."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from rollbook.archive.results import SCHEMA_VERSION, RunResults
from rollbook.verdict import Status, compare

OLD_RUN = (
    Path(__file__).parent.parent / "fixtures" / "runs" / "20261202T093059Z-probe-fixture-2d391a"
)


def test_written_results_read_back_typed_with_their_version(tmp_path):
    path = tmp_path / "results.json"
    check = compare("p95", 0.2, "<", 0.3, unit="s")
    RunResults(
        runbook="unit", verdict="passed", checks=[check], data={"baseline": {"p95": 0.2}}
    ).write(path)
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == SCHEMA_VERSION == 1
    read = RunResults.read(path)
    assert read is not None and read.checks == [check] and read.checks[0].status is Status.PASS
    assert read.data == {"baseline": {"p95": 0.2}} and read.verdict == "passed"
    assert RunResults.read(tmp_path / "missing.json") is None


def test_a_file_from_before_the_version_reads_as_version_0():
    read = RunResults.read(OLD_RUN / "results.json")
    assert read is not None and read.schema_version == 0
    assert read.verdict == "passed" and [c.name for c in read.checks] == ["probe latency"]


def test_a_malformed_check_is_an_error_naming_the_field(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"runbook": "x", "checks": [{"status": "pass"}]}))
    with pytest.raises(ValidationError, match="checks.0.name"):
        RunResults.read(path)
