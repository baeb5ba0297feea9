"""Flag names and values are validated before anything is stored."""

import math

import pytest

from rollbook.flags import KNOWN_FLAGS, FlagError, known_flag, validate_flag


@pytest.mark.parametrize("name", ["pgbouncer.send", "cache.history", "replica.conversations"])
@pytest.mark.parametrize("value", [0, 12.5, 100])
def test_percent_flags_accept_0_to_100(name, value):
    assert validate_flag(name, value) == value


@pytest.mark.parametrize("value", [-1, 100.5, 1000])
def test_percent_flags_refuse_out_of_range(value):
    with pytest.raises(FlagError, match=r"pgbouncer\.history: .* out of range \(0\.\.100\)"):
        validate_flag("pgbouncer.history", value)


@pytest.mark.parametrize("value", ["25", None, True, [1], math.nan])
def test_non_numbers_are_refused(value):
    with pytest.raises(FlagError, match="expected a number"):
        validate_flag("cache.conversations", value)


def test_numbers_without_upper_bound():
    assert validate_flag("replica.max_lag_seconds", 3600) == 3600
    assert validate_flag("workload.rate.history", 500) == 500
    with pytest.raises(FlagError, match=">= 0"):
        validate_flag("workload.rate.send", -2)


def test_unknown_flag_lists_the_known_ones():
    with pytest.raises(FlagError) as info:
        validate_flag("cache.send", 10)
    message = str(info.value)
    assert "unknown flag 'cache.send'" in message
    assert all(name in message for name in KNOWN_FLAGS)


def test_catalog_per_endpoint():
    for endpoint in ("history", "send", "conversations"):
        assert known_flag(f"pgbouncer.{endpoint}").kind == "percent"
        assert known_flag(f"workload.rate.{endpoint}").default is None
        assert known_flag(f"fault.{endpoint}.error_percent").kind == "percent"
    for endpoint in ("history", "conversations"):
        assert known_flag(f"cache.{endpoint}").default == 0
        assert known_flag(f"replica.{endpoint}").default == 0
    assert "cache.send" not in KNOWN_FLAGS and "replica.send" not in KNOWN_FLAGS
