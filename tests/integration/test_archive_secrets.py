"""After the whole session (moved last by conftest): no lab secret in any archived file,
wherever a test archived it (see `archive_scan`)."""

from __future__ import annotations


def test_no_secret_in_any_archive(lab, archive_scan):
    runs = [p.parent for p in archive_scan.files() if p.name == "results.json"]
    assert runs, "the session archived no run: the scan would prove nothing"
    for role in ("app", "admin", "replication"):
        secret = lab.layout.secret_file(role).read_text().strip()
        leaks = archive_scan.leaks(secret)
        assert leaks == [], f"the lab's {role} password is in {leaks} ({len(runs)} runs scanned)"
