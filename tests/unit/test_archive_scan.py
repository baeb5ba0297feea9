"""The session's secret scan (`archive_scan`, run by the last test of a session) reaches
every archive a test writes, including those in pytest's temporary folders."""

from __future__ import annotations

PLANTED = "planted-Secret-4c1e"


def test_a_secret_in_a_run_archived_in_tmp_path_is_found(archive_scan, tmp_path):
    run = tmp_path / "20261202T093000Z-01_phase1_indexes-lab-4c1e00"
    run.mkdir()
    (run / "notebook.ipynb").write_text(f'{{"cells": [{{"source": "password={PLANTED}"}}]}}')
    (run / "results.json").write_text('{"verdict": "passed"}')
    assert run / "results.json" in archive_scan.files()
    assert archive_scan.leaks(PLANTED) == [run / "notebook.ipynb"]
