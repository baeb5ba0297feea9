"""These notebooks are run by the runner's tests (tests/integration/test_run_*.py), never by
nbval directly: they need a params file and an output directory from the test."""

collect_ignore_glob = ["*.ipynb"]
