"""Where the recorded plans live (tests/fixtures/plans, written by record_plans.py)."""

from __future__ import annotations

from pathlib import Path

PLANS_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "plans"
RECORDED = sorted(p.stem for p in PLANS_DIR.glob("*.json"))
# Edge cases of issue 12: public plans and plans recorded by cases/record_cases.py.
CASES_DIR = PLANS_DIR / "cases"
