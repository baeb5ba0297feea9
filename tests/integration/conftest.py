"""The test lab: a real stack on its own ports, started once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rollbook.config import Params, load_params
from rollbook.lab.layout import LabLayout
from rollbook.lab.stack import Lab

REPO = Path(__file__).resolve().parents[2]
TEST_LAB_DIR = REPO / ".lab-test"
TEST_PORT_BASE = 56400
TEST_SEED_MESSAGES = 200_000
LAB_PARAMS = REPO / "params" / "lab.yaml"


def _quiet(message: str) -> None:
    print(f"[test lab] {message}")


@pytest.fixture(scope="session")
def lab() -> Lab:
    """The session's lab (reused when healthy); stopped at the end unless ROLLBOOK_KEEP_TEST_LAB."""
    os.environ["ROLLBOOK_LAB_DIR"] = str(TEST_LAB_DIR)
    the_lab = Lab(
        LabLayout(TEST_LAB_DIR, port_base=TEST_PORT_BASE, seed_messages=TEST_SEED_MESSAGES)
    )
    the_lab.up(_quiet)
    yield the_lab
    if not os.environ.get("ROLLBOOK_KEEP_TEST_LAB"):
        the_lab.down(_quiet)


@pytest.fixture(scope="session")
def lab_params(lab: Lab) -> Params:
    """params/lab.yaml resolved against the test lab."""
    return load_params(LAB_PARAMS, {"lab.dir": str(lab.layout.dir)})
