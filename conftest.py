"""Test session set-up: the test lab (a real stack on its own ports) for integration tests
and for the notebooks that nbval executes (`notebooks/*.ipynb`, run with --nbval-lax)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from rollbook.archive.leaks import files_containing
from rollbook.lab.stack import Lab
from rollbook.params import Params, load_params
from rollbook.prom.client import PromClient
from rollbook.runbooks.slo_dashboard import SloDashboard
from rollbook.runbooks.validation import firing_alerts

REPO = Path(__file__).resolve().parent
# The shared rollout (tests/integration/_rollout.py) serves integration tests and nbval;
# tests/_wait.py every test that waits for a condition.
sys.path[:0] = [str(REPO / "tests" / "integration"), str(REPO / "tests")]
from _rollout import Rollout, rolled_out  # noqa: E402

# Two test sessions at once (e.g. two engineers) each set their own dir and port base.
TEST_LAB_DIR = Path(os.environ.get("ROLLBOOK_TEST_LAB_DIR", REPO / ".lab-test")).absolute()
TEST_PORT_BASE = int(os.environ.get("ROLLBOOK_TEST_PORT_BASE", "26400"))
TEST_SEED_MESSAGES = 200_000
LAB_PARAMS = REPO / "params" / "lab.yaml"
# Every archive the session writes goes here; the last test scans it for secrets.
os.environ.setdefault("ROLLBOOK_OUTPUT_DIR", tempfile.mkdtemp(prefix="rollbook-test-outputs-"))
LAST_TEST = "test_no_secret_in_any_archive"

_started: list[Lab] = []


def _say(message: str) -> None:
    print(f"[test lab] {message}", flush=True)


def test_lab() -> Lab:
    """Start the session's lab once (reusing a healthy one); notebooks find it by env var."""
    if not _started:
        os.environ["ROLLBOOK_LAB_DIR"] = str(TEST_LAB_DIR)
        # open, not new: a kept lab (ROLLBOOK_KEEP_TEST_LAB) keeps its state directory
        lab = Lab.open(TEST_LAB_DIR, port_base=TEST_PORT_BASE, seed_messages=TEST_SEED_MESSAGES)
        _started.append(lab)  # before up: a lab that fails to come up is stopped too
        lab.up(_say)
    return _started[0]


test_lab.__test__ = False  # a helper, not a test


# The session's order. Seed-state tests that inject faults into the workload's traffic
# come first, so their errors have aged out of the SLO windows the notebooks judge. The
# tests of the rolled-out lab come after every seed-state test: the session's one
# `rollbook rollout --apply` happens before the first of them (test_rollout). The tests
# that inject regressions and faults into the rolled-out lab (validation, incident review)
# come after the notebooks, so the runbooks nbval executes judge clean post-rollout traffic.
FIRST = ("test_workload.py", "test_canary_lab.py")
AFTER_ROLLOUT = ("test_rollout.py", "test_airflow_dag.py")
AFTER_NOTEBOOKS = ("test_validation_runbook.py", "test_incident_review.py")


def _order(item) -> tuple[int, int]:
    """Faulty seed-state tests, other seed-state tests, the rollout's, notebooks, injected
    regressions, secret scan."""
    path = Path(str(item.fspath))
    if item.name == LAST_TEST:
        return (5, 0)
    if path.name in AFTER_NOTEBOOKS:
        return (4, AFTER_NOTEBOOKS.index(path.name))
    if path.suffix == ".ipynb":
        return (3, 0)
    if path.name in AFTER_ROLLOUT:
        return (2, 0)
    return (0, FIRST.index(path.name)) if path.name in FIRST else (1, 0)


def pytest_collection_modifyitems(session, config, items) -> None:
    """nbval cells take no fixtures: start the lab before any notebook runs. Order the
    items as `_order` says (a stable sort: files keep their order within a group)."""
    if any(str(item.fspath).endswith(".ipynb") for item in items):
        test_lab()
    items.sort(key=_order)


# nbval executes the runbooks as a DBA would after the rollout: the archive holds its
# passed runs (the preflight baseline, Phase 1's plans), the indexes exist, the flags are
# at 100 % and traffic has run on the new paths since. As a DBA would wait for a green
# dashboard, wait until no critical alert fires and the SLOs hold over the SLO dashboard's
# default window (the seed-state tests before inject faults; their traces must age out).
SLO_DASHBOARD_WINDOW = "last 5m"  # notebooks/slo_dashboard.ipynb's default
HEALTHY_TIMEOUT_SECONDS = 360
_post_rollout: list[bool] = []


def _unhealthy(params: Params, client: PromClient) -> list[str]:
    """Why the lab is not healthy now (no reasons: healthy)."""
    checks = [
        *firing_alerts(params, client).checks,
        *SloDashboard(params, SLO_DASHBOARD_WINDOW, client=client).slo_checks(),
    ]
    return [f"{c.name}: {c.status.value} ({c.detail})" for c in checks if c.status.value != "pass"]


def _bring_lab_to_post_rollout_state() -> None:
    lab = test_lab()
    params = load_params(LAB_PARAMS)
    rollout = rolled_out(lab, params)
    assert rollout.done.returncode == 0, f"the rollout before the notebooks: {rollout.done.stdout}"
    client = PromClient.from_params(params)
    deadline = time.monotonic() + HEALTHY_TIMEOUT_SECONDS
    while reasons := _unhealthy(params, client):
        assert time.monotonic() < deadline, "the lab is not healthy: " + "; ".join(reasons)
        time.sleep(10)


def pytest_runtest_setup(item) -> None:
    if str(item.fspath).endswith(".ipynb") and not _post_rollout:
        _post_rollout.append(True)
        _bring_lab_to_post_rollout_state()


def pytest_sessionfinish(session, exitstatus) -> None:
    if _started and not os.environ.get("ROLLBOOK_KEEP_TEST_LAB"):
        _started[0].down(_say)


@dataclass(frozen=True)
class ArchiveScan:
    """The folders every archive of the session lands in, scanned by its last test."""

    roots: tuple[Path, ...]

    def files(self) -> list[Path]:
        return sorted({p for root in self.roots if root.exists() for p in root.rglob("*")
                       if p.is_file()})  # fmt: skip

    def leaks(self, secret: str) -> list[Path]:
        """Archived files that hold `secret`."""
        return sorted({p for root in self.roots if root.exists()
                       for p in files_containing(root, secret)})  # fmt: skip


@pytest.fixture(scope="session")
def archive_scan(tmp_path_factory) -> ArchiveScan:
    """The session's output dir, the repository's outputs/ and pytest's temporary folders
    (where phase dry runs, Phase 1 runs and the explorer run archive)."""
    output_dir = Path(os.environ["ROLLBOOK_OUTPUT_DIR"])
    return ArchiveScan((output_dir, REPO / "outputs", tmp_path_factory.getbasetemp()))


@pytest.fixture(scope="session")
def lab() -> Lab:
    """The test session's lab (stopped at the end unless ROLLBOOK_KEEP_TEST_LAB is set)."""
    return test_lab()


@pytest.fixture(scope="session")
def lab_params(lab: Lab) -> Params:
    """params/lab.yaml resolved against the test lab."""
    return load_params(LAB_PARAMS, {"lab.dir": str(lab.layout.dir)})


@pytest.fixture(scope="session")
def rollout(lab: Lab, lab_params: Params) -> Rollout:
    """The session's applied rollout on the test lab (run by the first test that asks)."""
    return rolled_out(lab, lab_params)
