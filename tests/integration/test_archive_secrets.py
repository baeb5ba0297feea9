"""After the whole session (moved last by conftest): no lab secret in any archived file."""

from __future__ import annotations

import os
from pathlib import Path

from rollbook.archive.leaks import files_containing

REPO = Path(__file__).resolve().parents[2]


def test_no_secret_in_any_archive(lab):
    roots = [Path(os.environ["ROLLBOOK_OUTPUT_DIR"]), REPO / "outputs"]
    archived = [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]
    assert archived, "the session archived nothing: the scan would prove nothing"
    for role in ("app", "admin", "replication"):
        secret = lab.layout.secret_file(role).read_text().strip()
        leaks = [p for root in roots if root.exists() for p in files_containing(root, secret)]
        assert leaks == [], f"the lab's {role} password is in {leaks}"
