"""Test session set-up: the test lab (a real stack on its own ports) for integration tests
and for the notebooks that nbval executes (`notebooks/*.ipynb`, run with --nbval-lax)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from rollbook.archive.layout import default_output_dir
from rollbook.config import Params, load_params
from rollbook.db import session
from rollbook.flags import FlagStore
from rollbook.lab.stack import Lab
from rollbook.runner import prepare, run

REPO = Path(__file__).resolve().parent
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
        lab.up(_say)
        _started.append(lab)
    return _started[0]


test_lab.__test__ = False  # a helper, not a test


def pytest_collection_modifyitems(session, config, items) -> None:
    """nbval cells take no fixtures: start the lab before any notebook runs. The secret
    scan of the archives runs last, after every notebook and runbook of the session."""
    if any(str(item.fspath).endswith(".ipynb") for item in items):
        test_lab()
    last = [item for item in items if item.name == LAST_TEST]
    items[:] = [item for item in items if item.name != LAST_TEST] + last


# nbval executes the runbooks as a DBA would after the rollout: the archive holds a passed
# preflight (the baseline) and Phase 1 (the index plans), the indexes exist, and the flags
# are where the ramps leave them. (The ramps themselves are tested in test_rollout.py.)
# The preflight's baseline is the calm minute before Phase 1 (the tests before left the
# seed state); the validation judges the traffic after the last flag change.
POST_ROLLOUT_RUNS = (
    ("00_preflight.ipynb", ["baseline_window=1m"], False),
    ("01_phase1_indexes.ipynb", [], True),
)
CALM_SECONDS = 45
POST_ROLLOUT_FLAGS = {
    **{f"pgbouncer.{e}": 100 for e in ("history", "send", "conversations")},
    **{f"{kind}.{e}": 100 for kind in ("cache", "replica") for e in ("history", "conversations")},
}
_post_rollout: list[bool] = []


def _bring_lab_to_post_rollout_state() -> None:
    lab = test_lab()
    lab.wait_for_monitoring()
    time.sleep(CALM_SECONDS)
    for name, overrides, apply in POST_ROLLOUT_RUNS:
        notebook = REPO / "notebooks" / name
        report = run(prepare(notebook, LAB_PARAMS, overrides, apply, default_output_dir()))
        assert report.exit_code == 0, f"{name} before the notebooks: {report.reason}"
    params = load_params(LAB_PARAMS)
    with session(params.primary, params.safety, purpose="test-setup") as conn:
        store = FlagStore(conn)
        for name, value in POST_ROLLOUT_FLAGS.items():
            store.set(name, value, run_id="test-post-rollout")
    time.sleep(CALM_SECONDS)


def pytest_runtest_setup(item) -> None:
    if str(item.fspath).endswith(".ipynb") and not _post_rollout:
        _post_rollout.append(True)
        _bring_lab_to_post_rollout_state()


def pytest_sessionfinish(session, exitstatus) -> None:
    if _started and not os.environ.get("ROLLBOOK_KEEP_TEST_LAB"):
        _started[0].down(_say)


@pytest.fixture(scope="session")
def lab() -> Lab:
    """The test session's lab (stopped at the end unless ROLLBOOK_KEEP_TEST_LAB is set)."""
    return test_lab()


@pytest.fixture(scope="session")
def lab_params(lab: Lab) -> Params:
    """params/lab.yaml resolved against the test lab."""
    return load_params(LAB_PARAMS, {"lab.dir": str(lab.layout.dir)})
