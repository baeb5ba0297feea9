"""The `canary:` params section and building a ramp from params."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rollbook.canary import RampError, ramp_for
from rollbook.params import ParamsError, validate_params

BASE = {"environment": "test", "primary": {"dbname": "chat", "user": "chat"}}


def params(**canary):
    return validate_params({**BASE, "canary": canary})


def test_durations_read_like_prometheus_and_default_to_the_seed_cadence():
    p = params(hold="2m", check_interval="3s", check_window="9s")
    assert (p.canary.hold, p.canary.check_interval, p.canary.check_window) == (120, 3, 9)
    assert validate_params(BASE).canary.steps == [10, 25, 50, 100]
    assert validate_params(BASE).canary.check_interval == 30


@pytest.mark.parametrize(
    "canary, message",
    [
        ({"steps": [25, 10]}, "steps must increase"),
        ({"steps": [0, 50]}, "percentages in (0, 100]"),
        ({"check_interval": "30s", "check_window": "10s"}, "must cover check_interval"),
        ({"on_interrupted": "ignore"}, "on_interrupted"),
        ({"triggers_by_flag": {"cache": ["latency"]}}, "triggers_by_flag"),
        ({"canary_worse_by_flag": {"cache": {"min_slowdown": "fast"}}}, "by_flag.cache"),
        ({"canary_worse_by_flag": {"cache": {"min_slowdwn": "2ms"}}}, "min_slowdwn"),
    ],
)
def test_bad_canary_params_name_what_is_wrong(canary, message):
    with pytest.raises(ParamsError, match="canary") as error:
        params(**canary)
    assert message in str(error.value)


def test_triggers_by_flag_family_and_override():
    p = params(triggers_by_flag={"replica.history": ["replica_lag"]})
    ramp = ramp_for(p, "replica.history")
    assert ramp.triggers == ("replica_lag",) and ramp.endpoint == "history"
    assert "pool_saturation" in ramp_for(p, "pgbouncer.send").triggers
    assert "replica_lag" not in ramp_for(p, "cache.history").triggers


def test_the_judges_floors_by_family_then_flag_over_the_ramps():
    """A cost a path adds by design (a cache miss's round trips) is accepted explicitly, for
    that family only; the flag's own entry wins over its family's."""
    p = params(
        triggers={
            "canary_worse": {"min_slowdown": "0.5ms", "min_samples": 30},
            "latency_slo": {"p95_seconds": 0.3},
        },
        canary_worse_by_flag={"cache": {"min_slowdown": "2ms"}, "cache.history": {"alpha": 0.001}},
    )
    judge = {f: ramp_for(p, f).settings.triggers.canary_worse for f in
             ("cache.conversations", "cache.history", "replica.history")}  # fmt: skip
    assert judge["cache.conversations"].min_slowdown == 0.002
    assert judge["cache.history"].min_slowdown == 0.002 and judge["cache.history"].alpha == 0.001
    assert judge["replica.history"].min_slowdown == 0.0005
    assert {j.min_samples for j in judge.values()} == {30}


def test_the_latency_slo_comes_from_monitoring_unless_given():
    assert ramp_for(params(), "cache.history").slo_seconds == 0.35
    given = params(triggers={"latency_slo": {"p95_seconds": 0.2}})
    assert ramp_for(given, "cache.history").slo_seconds == 0.2
    with pytest.raises(RampError, match="no latency SLO for conversations"):
        ramp_for(params(), "cache.conversations")


@pytest.mark.parametrize("flag", ["fault.history.latency_ms", "workload.rate.send", "nope"])
def test_only_rollout_flags_can_be_ramped(flag):
    with pytest.raises(RampError, match=flag.split(".")[0]):
        ramp_for(params(), flag)


def test_step_overrides_are_validated_like_params():
    assert ramp_for(params(), "cache.history", steps=[50, 100]).steps == (50, 100)
    with pytest.raises(ValidationError, match="steps must increase"):
        ramp_for(params(), "cache.history", steps=[50, 20])
