"""One duration grammar for the CLI (`rollbook runs --since`) and the params (windows, canary)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from rollbook.archive.catalog import parse_since
from rollbook.canary.params import CanaryParams
from rollbook.cli import main
from rollbook.duration import DurationError, parse_duration
from rollbook.prom.window import as_window

GRAMMAR = {
    "90s": timedelta(seconds=90),
    "1h30m": timedelta(minutes=90),
    "2d": timedelta(days=2),
    "1w": timedelta(weeks=1),
    "250ms": timedelta(milliseconds=250),
    "1.5h": timedelta(minutes=90),
    "1h 30m": timedelta(minutes=90),
}


@pytest.mark.parametrize(("text", "expected"), GRAMMAR.items())
def test_the_grammar(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["5 minutes", "", "h", "-5m", "30", "1h30", "2 days", "1y"])
def test_what_is_not_a_duration(text):
    with pytest.raises(DurationError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(("text", "expected"), GRAMMAR.items())
def test_since_and_params_windows_read_the_same_grammar(text, expected):
    now = datetime.now(UTC)
    assert abs(parse_since(text) - (now - expected)) < timedelta(seconds=5)
    assert as_window(f"last {text}").duration == expected


def test_canary_params_read_the_same_grammar():
    durations = {"hold": "1h30m", "check_interval": "90s", "check_window": "2m"}
    canary = CanaryParams.model_validate(durations)
    assert (canary.hold, canary.check_interval, canary.check_window) == (5400, 90, 120)


def test_cli_runs_since_takes_seconds_and_compound_durations(tmp_path):
    for since in ("90s", "1h30m", "2d"):
        done = CliRunner().invoke(main, ["runs", "--since", since, "--output-dir", str(tmp_path)])
        assert done.exit_code == 0, done.output
        assert done.output.strip() == "no runs"
    done = CliRunner().invoke(main, ["runs", "--since", "soon", "--output-dir", str(tmp_path)])
    assert done.exit_code == 2 and "1h30m" in done.output
