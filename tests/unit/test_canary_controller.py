"""The ramp controller with a fake clock, a fake metric source, fake flags and ramp state."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import pytest

from rollbook.canary.controller import Ramp, RampController
from rollbook.canary.judge import Buckets
from rollbook.canary.metrics import Snapshot
from rollbook.canary.params import CanaryParams
from rollbook.canary.result import Outcome
from rollbook.canary.state import UNFINISHED, RampState
from rollbook.verdict import Status

BOUNDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, math.inf)
FAST = (100, 500, 300, 100, 0, 0, 0)  # per 1000 requests: p95 0.175 s
SLOW = (0, 100, 300, 400, 200, 0, 0)  # about 50 % slower, p95 0.4375 s
SETTINGS = CanaryParams(
    check_interval=3, check_window=9, warmup=3, hold=6, max_extend=6, verify_within=30,
    reference_window=30,
)  # fmt: skip


class FakeClock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class FakeFlags:
    def __init__(self, **values: float) -> None:
        self.values = dict(values)
        self.audit: list[tuple[str, float, str | None]] = []

    def get(self, name: str) -> float | None:
        return self.values.get(name, 0.0)

    def set(self, name, value, run_id=None, by=None):
        self.values[name] = value
        self.audit.append((name, value, run_id))
        return value


class FakeStates:
    def __init__(self, *rows: RampState) -> None:
        self.rows = {r.run_id: r for r in rows}
        self.claimed: list[str] = []

    def claim(self, flag):
        self.claimed.append(flag)

    def release(self):
        pass

    def unfinished(self, flag):
        rows = [r for r in self.rows.values() if r.flag == flag and r.status in UNFINISHED]
        return rows[-1] if rows else None

    def begin(self, state):
        self.rows[state.run_id] = state

    def update(self, run_id, status, step_index=None, trigger=None):
        row = self.rows[run_id]
        self.rows[run_id] = replace(
            row, status=status, step_index=row.step_index if step_index is None else step_index
        )


def scaled(counts: tuple[int, ...], share: float) -> Buckets:
    return Buckets.from_counts(list(BOUNDS), [c * share for c in counts])


@dataclass
class FakeSource:
    """1000 requests per window split by the flag; `fault` changes what the canary sees,
    `lasting` keeps a fault after the rollback (the flag back at 0)."""

    clock: FakeClock
    flags: FakeFlags
    flag: str = "cache.history"
    traffic: float = 1000
    fault: str | None = None
    fault_from: float = math.inf
    lasting: bool = False
    healthy_up_to: float = 0.0  # flag value (the ramp's previous one) that carries no fault
    windows: list[float] = field(default_factory=list)

    def snapshot(self, endpoint: str, window_seconds: float) -> Snapshot:
        self.windows.append(window_seconds)
        value = self.flags.get(self.flag)
        share = value / 100
        faulty = self.clock.now() >= self.fault_from and (
            value > self.healthy_up_to or self.lasting
        )
        fault = self.fault if faulty else None
        canary_n, baseline_n = self.traffic * share, self.traffic * (1 - share)
        canary_latency = SLOW if fault == "slow" else FAST
        if fault == "over_slo":
            canary_latency = (0, 0, 0, 100, 200, 700, 0)
        errors = canary_n * 0.2 if fault == "errors" else 0
        return Snapshot(
            window_seconds=window_seconds,
            buckets={
                "canary": scaled(canary_latency, canary_n / 1000),
                "baseline": scaled(FAST, baseline_n / 1000),
            },
            requests={
                ("canary", "ok"): canary_n - errors,
                ("canary", "error"): errors,
                ("baseline", "ok"): baseline_n,
                ("baseline", "error"): 0.0,
            },
            cache_lookups=canary_n,  # a cache ramp's canary looks the cache up
            pool_saturation_ratio=1.0 if fault == "pool" else 0.3,
            clients_waiting=4.0 if fault == "pool" else 0.0,
            replica_lag_seconds=30.0 if fault == "lag" else 0.1,
            breaker_state=2.0 if fault == "lag" else 0.0,
        )


ALL_TRIGGERS = ("latency_slo", "error_rate", "canary_worse", "pool_saturation", "replica_lag")


def make(
    flags=None,
    states=None,
    settings=SETTINGS,
    dry_run=False,
    triggers=ALL_TRIGGERS,
    archive_run_id=None,
    **source,
):
    clock = FakeClock()
    flags = flags or FakeFlags()
    source = FakeSource(clock, flags, **source)
    ramp = Ramp("cache.history", "history", settings, 0.3, tuple(settings.steps), triggers)
    controller = RampController(
        ramp,
        flags=flags,
        states=states or FakeStates(),
        source=source,
        run_id="run-1",
        archive_run_id=archive_run_id,
        clock=clock,
        dry_run=dry_run,
    )
    return controller, flags, source, clock


def test_a_healthy_ramp_is_promoted_step_by_step():
    controller, flags, source, _ = make()
    result = controller.run()
    assert result.outcome is Outcome.PROMOTED
    assert flags.audit == [("cache.history", v, "run-1") for v in (10, 25, 50, 100)]
    assert controller.states.rows["run-1"].status == "promoted"
    gates = result.timeline().query("kind == 'gate'")
    assert gates["flag_value"].tolist() == [10, 25, 50, 100]
    assert set(gates["status"]) == {"ok"}
    assert result.checks()[0].status is Status.PASS


def test_flag_audit_rows_carry_the_archived_run_id_of_the_runbook():
    controller, flags, _, _ = make(archive_run_id="20261202T1000Z-02_phase2_pgbouncer-lab-ab12")
    controller.run()
    assert {run_id for _, _, run_id in flags.audit} == {
        "20261202T1000Z-02_phase2_pgbouncer-lab-ab12"
    }
    assert controller.states.rows["run-1"].status == "promoted"  # each ramp's own state row


@pytest.mark.parametrize(
    "fault, trigger, observed_key, observed",
    [
        ("errors", "error_rate", "canary_error_ratio", 0.2),
        ("over_slo", "latency_slo", "canary_p95_seconds", pytest.approx(0.96, abs=0.04)),
        ("slow", "canary_worse", "canary_p95_seconds", pytest.approx(0.4375)),
        ("pool", "pool_saturation", "clients_waiting", 4.0),
        ("lag", "replica_lag", "replica_lag_seconds", 30.0),
    ],
)
def test_each_trigger_rolls_back_at_once_and_the_rollback_is_verified(
    fault, trigger, observed_key, observed
):
    settings = SETTINGS
    if fault == "slow":  # below the SLO: only the judge can see it
        settings = SETTINGS.model_copy(update={"steps": [50.0, 100.0]})
    controller, flags, source, clock = make(
        FakeFlags(**{"cache.history": 5.0}),
        settings=settings,
        fault=fault,
        healthy_up_to=5.0,
        triggers=(trigger,),  # each fault would trip several triggers; watch one at a time
    )
    source.fault_from = clock.now() + 12  # during the ramp, after the first step
    result = controller.run()
    assert result.outcome is Outcome.ROLLED_BACK
    assert result.trigger == trigger and result.fired[0].name == trigger
    assert result.observed[trigger][observed_key] == observed
    assert flags.values["cache.history"] == 5.0 and flags.audit[-1] == (
        "cache.history",
        5.0,
        "run-1",
    )
    consecutive = settings.triggers.latency_slo.consecutive if trigger == "latency_slo" else 1
    assert result.rolled_back_at - source.fault_from <= consecutive * settings.check_interval
    assert result.verification.passed and result.verification.flag_restored
    assert controller.states.rows["run-1"].status == "rolled back"
    statuses = {c.name: c.status for c in result.checks()}
    assert statuses[f"ramp cache.history trigger {trigger}"] is Status.FAIL
    assert statuses["ramp cache.history rollback verified (metrics recovered)"] is Status.PASS


def test_latency_over_the_slo_needs_consecutive_checks():
    settings = SETTINGS.model_copy(
        update={"triggers": SETTINGS.triggers.model_copy(
            update={"latency_slo": SETTINGS.triggers.latency_slo.model_copy(
                update={"consecutive": 3})})})  # fmt: skip
    controller, _, source, clock = make(
        settings=settings, fault="over_slo", triggers=("latency_slo",)
    )
    source.fault_from = clock.now() + 20
    result = controller.run()
    # the checks of a step's warm-up count too: only canary_worse waits for it
    checks = result.timeline().query("kind in ('warmup', 'check')")
    after_fault = checks[checks["elapsed_s"] >= 20]
    assert after_fault["status"].tolist() == ["ok", "ok", "fired"]
    breaches = [e.results[0].observed["consecutive_breaches"] for e in result.events
                if e.kind in ("warmup", "check") and e.at >= source.fault_from]  # fmt: skip
    assert breaches == [1, 2, 3] and result.trigger == "latency_slo"


def test_too_little_traffic_pauses_as_inconclusive_instead_of_promoting():
    controller, flags, _, _ = make(traffic=60)  # 6 canary requests per window at 10 %
    result = controller.run()
    assert result.outcome is Outcome.PAUSED
    assert flags.values["cache.history"] == 10  # held, not promoted, not rolled back
    assert "inconclusive" in result.reason and "canary_worse" in result.reason
    assert controller.states.rows["run-1"].status == "paused"
    assert result.checks()[0].status is Status.NO_DATA


def test_a_rollback_whose_metrics_do_not_recover_is_reported_unverified():
    controller, flags, source, clock = make(fault="lag", lasting=True)
    source.fault_from = clock.now() + 20
    result = controller.run()
    assert result.outcome is Outcome.ROLLED_BACK and result.trigger == "replica_lag"
    assert flags.values["cache.history"] == 0
    assert not result.verification.passed and result.verification.flag_restored
    assert result.verification.seconds >= SETTINGS.verify_within
    verified = result.checks()[-1]
    assert verified.status is Status.FAIL and "NOT recovered" in verified.detail


def interrupted_row() -> RampState:
    return RampState("run-0", "cache.history", 5.0, [10, 25, 50, 100], 2, "running")


def test_an_interrupted_ramp_is_resumed_at_its_step():
    states = FakeStates(interrupted_row())
    settings = SETTINGS.model_copy(update={"on_interrupted": "resume"})
    controller, flags, _, _ = make(FakeFlags(**{"cache.history": 50.0}), states, settings)
    result = controller.run()
    assert result.outcome is Outcome.PROMOTED and result.previous_value == 5.0
    assert [value for _, value, _ in flags.audit] == [50, 100]
    assert states.rows["run-0"].status == "resumed by run-1"
    assert result.timeline()["kind"].iloc[0] == "resume"


def test_an_interrupted_ramp_is_rolled_back_to_its_previous_value():
    states = FakeStates(interrupted_row())
    controller, flags, _, _ = make(FakeFlags(**{"cache.history": 50.0}), states)
    result = controller.run()
    assert result.outcome is Outcome.ROLLED_BACK and result.trigger == "interrupted"
    assert flags.values["cache.history"] == 5.0 and result.verification.passed
    assert states.rows["run-0"].status == "rolled back by run-1"
    assert states.rows["run-1"].status == "rolled back"


def test_dry_run_shows_the_plan_without_touching_flags_or_state():
    controller, flags, source, _ = make(dry_run=True)
    result = controller.run()
    assert result.outcome is Outcome.DRY_RUN
    assert flags.audit == [] and controller.states.rows == {} and source.windows == []
    plan = result.timeline()
    assert plan["flag_value"].tolist() == [10, 25, 50, 100]
    assert plan["elapsed_s"].tolist() == [0, 9, 18, 27]


def test_the_chart_marks_the_rollback():
    controller, _, source, clock = make(fault="errors")
    source.fault_from = clock.now() + 20
    figure = controller.run().chart()
    assert figure.layout.shapes and "rollback: error_rate" in figure.layout.annotations[0].text
    assert {t.name for t in figure.data} >= {"cache.history", "check: fired", "check: ok"}


def test_progress_prints_log_lines_headless_and_renders_a_panel_live(capsys):
    from rollbook.canary.progress import RampProgress

    controller, _, source, clock = make(fault="errors", triggers=("error_rate",))
    source.fault_from = clock.now() + 12
    controller.progress = RampProgress(live=False)
    result = controller.run()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(result.events)
    assert any("rollback" in line and "restored to 0 %" in line for line in lines)
    panel = RampProgress.panel(result)
    assert "Ramp cache.history" in panel and "rolled back" in panel
    assert panel.count("<tr>") == 1 + 8  # header + the last eight events


def test_progress_reports_each_ramp_step_once_when_it_ends(capsys):
    from rollbook.canary.progress import RampProgress

    def reported(controller) -> list:
        steps = []
        controller.progress = RampProgress(report=steps.append)
        controller.run()
        return steps

    def shown(steps) -> list:
        return [(s.name, s.status, s.seconds is not None, s.nested) for s in steps]

    promoted = [(f"ramp cache.history {v} %", "ok", True, True) for v in (10, 25, 50, 100)]
    assert shown(reported(make()[0])) == promoted
    controller, _, source, clock = make(fault="errors", triggers=("error_rate",))
    source.fault_from = clock.now() + 12
    rolled_back = reported(controller)
    assert shown(rolled_back) == [
        ("ramp cache.history 10 %", "ok", True, True),
        ("ramp cache.history 25 %", "failed", True, True),
    ]
    assert rolled_back[-1].detail.startswith("rolled back on error_rate")
    planned = [(f"ramp cache.history {v} %", "planned", False, True) for v in (10, 25, 50, 100)]
    assert shown(reported(make(dry_run=True)[0])) == planned


def test_a_step_makes_no_more_judgements_than_its_alpha_share_assumes():
    """The judge's level is the ramp's alpha over `judgements_per_step` per step: a step that
    runs to the end of its extension must not query more windows than that."""
    controller, _, source, _ = make(traffic=60)  # inconclusive: the first step runs out
    result = controller.run()
    assert result.outcome is Outcome.PAUSED
    judged = source.windows[1:]  # after the pre-ramp reference
    assert 0 < len(judged) <= SETTINGS.judgements_per_step()
    assert max(judged) > SETTINGS.check_window  # the step outgrew the window: gates anew


def test_a_late_clock_never_judges_a_sliver_of_a_window_after_the_warmup():
    """Real sleeps overrun: the check after the warm-up must not judge a 0.1 s window."""
    controller, _, source, clock = make()
    real_sleep = clock.sleep
    clock.sleep = lambda seconds: real_sleep(seconds + 0.05)
    result = controller.run()
    assert result.outcome is Outcome.PROMOTED
    judged = source.windows[1:]
    assert min(judged) >= SETTINGS.check_interval


def test_errors_in_a_steps_warmup_roll_back_at_once():
    """The warm-up spares the latency comparison only: errors from the step's first second
    are caught at its first check, not after the warm-up (issue 12, cold start)."""
    controller, flags, source, clock = make(fault="errors", triggers=("error_rate",))
    started = clock.now()
    source.fault_from = started  # the canary fails from its first request
    result = controller.run()
    assert result.outcome is Outcome.ROLLED_BACK and result.trigger == "error_rate"
    assert result.rolled_back_at - started <= SETTINGS.check_interval  # not after the warm-up
    fired = [e for e in result.events if e.status == "fired"][0]
    assert fired.kind == "warmup" and "canary_worse not judged" in fired.detail


@pytest.mark.parametrize(
    "full_step_judge, outcome", [("absolute", Outcome.PROMOTED), ("reference", Outcome.ROLLED_BACK)]
)
def test_at_100_percent_canary_worse_needs_its_live_baseline_unless_told_otherwise(
    full_step_judge, outcome
):
    """A slowdown that shows only at 100 % (the whole endpoint slower than minutes ago: the
    machine's drift as much as the flag) is compared with the pre-ramp reference only when
    `full_step_judge` says so; by default the absolute triggers decide that step."""
    settings = SETTINGS.model_copy(
        update={"steps": [50.0, 100.0], "full_step_judge": full_step_judge}
    )
    controller, _, _, _ = make(
        settings=settings, fault="slow", fault_from=0, healthy_up_to=50.0,
        triggers=("error_rate", "canary_worse"),
    )  # fmt: skip
    result = controller.run()
    assert result.outcome is outcome
    full_step = [e for e in result.events if e.flag_value == 100 and e.kind in ("check", "gate")]
    judged = {r.name for e in full_step for r in e.results}
    assert judged == (
        {"error_rate"} if full_step_judge == "absolute" else {"error_rate", "canary_worse"}
    )
    step_event = next(e for e in result.events if e.kind == "step" and e.flag_value == 100)
    assert ("canary_worse not judged at 100 %" in step_event.detail) is (
        full_step_judge == "absolute"
    )
    half_step = {
        r.name for e in result.events if e.flag_value == 50 and e.kind == "check" for r in e.results
    }
    assert "canary_worse" in half_step  # judged against live traffic before
