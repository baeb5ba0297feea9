"""Plans recorded from PostgreSQL 15 by tests/fixtures/plans/record_plans.py."""

from __future__ import annotations

import pytest
from _explain_plans import PLANS_DIR, RECORDED

from rollbook.explain.parse import Plan, load_plan


@pytest.fixture(scope="session")
def recorded() -> dict[str, Plan]:
    return {name: load_plan(PLANS_DIR / f"{name}.json") for name in RECORDED}
