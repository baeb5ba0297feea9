"""The ramp controller: step a flag up, check health on a schedule, judge each step, roll
back at once when a trigger fires and verify that the rollback brought the system back.

Time, flags, ramp state and metrics are injected (`Clock`, `FlagAccess`, `StateStore`,
`MetricSource`), so unit tests drive the controller with fakes and the lab with real ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from rollbook.canary.judge import Buckets
from rollbook.canary.metrics import MetricSource, Snapshot
from rollbook.canary.params import CanaryParams
from rollbook.canary.result import Event, Outcome, RampResult, Verification, check_status
from rollbook.canary.state import RampState
from rollbook.canary.triggers import Signal, TriggerResult, TriggerSet
from rollbook.prom.client import PrometheusError


class Clock(Protocol):
    def now(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FlagAccess(Protocol):
    def get(self, name: str) -> float | None: ...
    def set(
        self, name: str, value: float, run_id: str | None = None, by: str | None = None
    ) -> float: ...


class StateStore(Protocol):
    def claim(self, flag: str) -> None: ...
    def release(self) -> None: ...
    def unfinished(self, flag: str) -> RampState | None: ...
    def begin(self, state: RampState) -> None: ...
    def update(
        self, run_id: str, status: str, step_index: int | None = None, trigger: str | None = None
    ) -> None: ...


Progress = Callable[[RampResult, Event], None]


@dataclass(frozen=True)
class Ramp:
    """What to ramp: a percentage flag of one endpoint, its steps, triggers and SLO."""

    flag: str
    endpoint: str
    settings: CanaryParams
    slo_seconds: float
    steps: tuple[float, ...]
    triggers: tuple[str, ...]


def new_run_id(flag: str) -> str:
    return f"ramp-{flag}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"


class RampController:
    """Runs one ramp; `run()` returns a `RampResult` (promoted, rolled back, paused)."""

    result: RampResult  # set by run() before anything reads it
    triggers: TriggerSet  # set by _run() once the reference latency is measured

    def __init__(
        self,
        ramp: Ramp,
        *,
        flags: FlagAccess,
        states: StateStore,
        source: MetricSource,
        run_id: str | None = None,
        archive_run_id: str | None = None,
        clock: Clock | None = None,
        progress: Progress | None = None,
        dry_run: bool = False,
        changed_by: str = "rollbook canary",
    ) -> None:
        self.ramp = ramp
        self.settings = ramp.settings
        self.flags = flags
        self.states = states
        self.source = source
        self.run_id = run_id or new_run_id(ramp.flag)
        # The flag audit names the archived runbook run, so a reviewer can join the two.
        self.audit_run_id = archive_run_id or self.run_id
        self.clock = clock or SystemClock()
        self.progress = progress
        self.dry_run = dry_run
        self.changed_by = changed_by
        self.step_triggers: list[str] = list(ramp.triggers)

    # ---- the ramp --------------------------------------------------------------------------
    def run(self) -> RampResult:
        ramp = self.ramp
        current = self.flags.get(ramp.flag) or 0.0
        self.result = RampResult(
            ramp.flag, self.run_id, list(ramp.steps), current, self.clock.now()
        )
        if self.dry_run:
            return self._plan()
        self.states.claim(ramp.flag)
        try:
            return self._run()
        finally:
            self.states.release()

    def _run(self) -> RampResult:
        ramp, result = self.ramp, self.result
        start_index = 0
        interrupted = self.states.unfinished(ramp.flag)
        if interrupted is not None:
            result.previous_value = interrupted.previous_value
            detail = (
                f"run {interrupted.run_id} left {ramp.flag} {interrupted.status} at step "
                f"{interrupted.steps[interrupted.step_index]:g} %"
            )
            if self.settings.on_interrupted == "rollback":
                self.states.update(interrupted.run_id, f"rolled back by {self.run_id}")
                self._begin(interrupted.step_index, "rolling back")
                self.triggers = self._trigger_set(Buckets.empty())
                self._event("interrupted", detail=f"{detail}; rolling back")
                return self._rollback("interrupted", [])
            self.states.update(interrupted.run_id, f"resumed by {self.run_id}")
            start_index = interrupted.step_index
            self._event("resume", detail=f"{detail}; resuming there")
        self.triggers = self._trigger_set(self._reference())
        self._begin(start_index, "running")
        for index in range(start_index, len(ramp.steps)):
            value = ramp.steps[index]
            self.flags.set(ramp.flag, value, run_id=self.audit_run_id, by=self.changed_by)
            self.states.update(self.run_id, "running", step_index=index)
            result.step_value = value
            self.step_triggers = self._judged_at(index)
            self.triggers = replace(self.triggers, full_step=value >= 100)
            self._event(
                "step",
                detail=f"{ramp.flag} set to {value:g} %; {self._warmup_rule()}"
                + self._judged_note(),
            )
            decision, fired = self._hold()
            if decision == "rollback":
                return self._rollback(fired[0].name, fired)
            if decision == "pause":
                self.states.update(self.run_id, "paused")
                result.outcome = Outcome.PAUSED
                self._event("pause", "no data", result.reason)
                return result
        self.states.update(self.run_id, "promoted")
        result.outcome = Outcome.PROMOTED
        result.reason = f"every step judged healthy up to {ramp.steps[-1]:g} %"
        self._event("promote", "ok", result.reason)
        return result

    def _plan(self) -> RampResult:
        """Dry run: the steps and when each would be judged; no flag is touched."""
        result, s = self.result, self.settings
        at = result.started_at
        for index, value in enumerate(self.ramp.steps):
            result.step_value = value
            self.step_triggers = self._judged_at(index)
            self._event(
                "plan",
                detail=f"set {self.ramp.flag} to {value:g} %, hold {s.hold:g} s with checks "
                f"every {s.check_interval:g} s ({', '.join(self.step_triggers)}); "
                + self._warmup_rule(),
                at=at,
            )
            at += s.warmup + s.hold
        result.step_value = result.previous_value
        result.outcome = Outcome.DRY_RUN
        result.reason = "dry run: no flag changed"
        return result

    def _judged_at(self, index: int) -> list[str]:
        """The triggers of step `index`: at 100 % after earlier steps, with `full_step_judge`
        absolute, canary_worse has no live baseline left and sits the step out."""
        names = list(self.ramp.triggers)
        full = self.ramp.steps[index] >= 100 and index > 0
        if full and self.settings.full_step_judge == "absolute" and len(names) > 1:
            return [n for n in names if n != "canary_worse"]
        return names

    def _judged_note(self) -> str:
        if "canary_worse" in self.ramp.triggers and "canary_worse" not in self.step_triggers:
            return (
                "; canary_worse not judged at 100 % (no live baseline left; it judged the "
                "earlier steps): " + ", ".join(self.step_triggers) + " decide"
            )
        return ""

    def _warmup_rule(self) -> str:
        s = self.settings
        if s.judge_warmup:
            return (
                f"warm-up {s.warmup:g} s is judged too (judge_warmup): a cold path that is "
                "slow for its first seconds counts as a regression"
            )
        return (
            f"warm-up {s.warmup:g} s not judged (cold caches and buffers): checks see only "
            "requests after it"
        )

    def _hold(self) -> tuple[str, list[TriggerResult]]:
        """Check until the step is judged: ("promote" | "rollback" | "pause", fired).
        Unless `judge_warmup`, no canary_worse window reaches back into the warm-up, and its
        first check waits until a `check_interval` has passed after it. The warm-up spares
        only that comparison (cold caches and buffers): the other triggers guard it too."""
        s = self.settings
        started = self.clock.now()
        breaches = 0
        while True:
            self.clock.sleep(s.check_interval)
            elapsed = self.clock.now() - started
            judged = elapsed - s.warmup
            if judged < (0 if s.judge_warmup else s.check_interval):
                note = f"{elapsed:.0f} of {s.warmup:g} s, canary_worse not judged"
                guards = [n for n in self.step_triggers if n != "canary_worse"]
                if not guards:
                    self._event("warmup", detail=note)
                    continue
                seen = self._evaluate(min(s.check_window, elapsed), guards)
                results, breaches = self._count_latency_breaches(seen, breaches)
                self._record("warmup", results, f"{note}: ")
                if fired := [r for r in results if r.fired]:
                    return "rollback", fired
                continue
            window = s.check_window if s.judge_warmup else min(s.check_window, judged)
            seen = self._evaluate(window, self.step_triggers)
            results, breaches = self._count_latency_breaches(seen, breaches)
            self._record("check", results, prefix=f"{window:.0f} s window: ")
            if fired := [r for r in results if r.fired]:
                return "rollback", fired
            if judged < s.hold:
                continue
            step = elapsed if s.judge_warmup else judged
            # While the step fits in the check's window, the check has judged all of it.
            gate = seen if step <= window else self._evaluate(step, self.step_triggers)
            gate = [self._hold_latency_breach(r, breaches) for r in gate]
            self._record("gate", gate, prefix=f"step over {step:.0f} s: ")
            if fired := [r for r in gate if r.fired]:
                return "rollback", fired
            if all(r.signal is Signal.OK for r in gate):
                return "promote", []
            if judged >= s.hold + s.max_extend:
                missing = [r.summary() for r in gate if r.signal is Signal.NO_DATA]
                self.result.reason = "inconclusive, not promoted: " + "; ".join(missing)
                return "pause", []

    def _count_latency_breaches(
        self, results: list[TriggerResult], breaches: int
    ) -> tuple[list[TriggerResult], int]:
        """latency_slo fires after N consecutive breaches; a check with no data neither
        counts nor resets."""
        needed = self.settings.triggers.latency_slo.consecutive
        counted = []
        for r in results:
            if r.name == "latency_slo" and r.signal is not Signal.NO_DATA:
                breaches = breaches + 1 if r.fired else 0
                signal = Signal.FIRED if breaches >= needed else Signal.OK
                observed = {**r.observed, "consecutive_breaches": breaches}
                r = TriggerResult(r.name, signal, observed, f"{r.threshold} ({needed} checks)")
            counted.append(r)
        return counted, breaches

    def _hold_latency_breach(self, result: TriggerResult, breaches: int) -> TriggerResult:
        """A gate over the SLO holds the step (neither promoted nor rolled back) until the
        checks have seen the breach `consecutive` times."""
        needed = self.settings.triggers.latency_slo.consecutive
        if result.name != "latency_slo" or not result.fired or breaches >= needed:
            return result
        return TriggerResult(
            result.name,
            Signal.NO_DATA,
            {**result.observed, "consecutive_breaches": breaches},
            f"{result.threshold}; over it, not yet for {needed} checks: step held",
        )

    # ---- rollback and its verification -----------------------------------------------------
    def _rollback(self, trigger: str, fired: list[TriggerResult]) -> RampResult:
        ramp, result, s = self.ramp, self.result, self.settings
        self.states.update(self.run_id, "rolling back", trigger=trigger)
        self.flags.set(
            ramp.flag, result.previous_value, run_id=self.audit_run_id, by=self.changed_by
        )
        result.rolled_back_at = self.clock.now()
        result.trigger, result.fired = trigger, fired
        result.step_value = result.previous_value
        reason = "; ".join(r.summary() for r in fired) or "a previous run was interrupted"
        result.reason = f"rolled back on {trigger}: {reason}"
        self._event("rollback", "fired", f"{ramp.flag} restored to {result.previous_value:g} %")
        names = [r.name for r in fired] or list(ramp.triggers)
        if self.triggers.reference.total < s.triggers.canary_worse.min_samples:
            names = [n for n in names if n != "canary_worse"] or ["latency_slo", "error_rate"]
        while True:
            self.clock.sleep(s.check_interval)
            since = self.clock.now() - result.rolled_back_at
            restored = self.flags.get(ramp.flag) == result.previous_value
            recovery = self._evaluate(s.check_window, names, recovery=True)
            steady = since >= s.check_window  # the whole window lies after the rollback
            passed = restored and steady and all(r.signal is Signal.OK for r in recovery)
            self._record("verify", recovery, prefix="" if steady else "window not clear yet: ")
            if passed or since >= s.verify_within:
                break
        result.verification = Verification(passed, since, restored, tuple(recovery))
        self.states.update(self.run_id, "rolled back")
        result.outcome = Outcome.ROLLED_BACK
        self._event("verified" if passed else "unverified", check_status(recovery), "")
        return result

    # ---- helpers ---------------------------------------------------------------------------
    def _trigger_set(self, reference: Buckets) -> TriggerSet:
        return TriggerSet(
            list(self.ramp.triggers),
            self.settings.triggers,
            self.ramp.slo_seconds,
            reference,
            cache_ramp=self.ramp.flag.startswith("cache."),
            judge_alpha=self.settings.judge_alpha,
        )

    def _reference(self) -> Buckets:
        """The endpoint's latency before the ramp (baseline requests, else all)."""
        snap = self._snapshot(self.settings.reference_window)
        if snap is None:
            return Buckets.empty()
        reference = snap.latency("baseline")
        if reference.total < self.settings.triggers.canary_worse.min_samples:
            reference = snap.latency()
        p95 = reference.quantile(0.95)
        self._event(
            "reference",
            detail=f"{reference.total} requests before the ramp, p95 "
            + ("n/a" if p95 is None else f"{p95:.3g} s"),
        )
        return reference

    def _snapshot(self, window: float) -> Snapshot | None:
        try:
            return self.source.snapshot(self.ramp.endpoint, window)
        except PrometheusError as exc:
            self._event("check", Signal.NO_DATA.value, f"metrics unavailable: {exc}")
            return None

    def _evaluate(
        self, window: float, names: list[str] | None = None, *, recovery: bool = False
    ) -> list[TriggerResult]:
        """The triggers (`names`, else all) on canary traffic, or on all traffic for a
        `recovery` check."""
        snap = self._snapshot(window)
        chosen = names if names is not None else list(self.ramp.triggers)
        if snap is None:
            return [TriggerResult(n, Signal.NO_DATA, {"metrics": "unavailable"}) for n in chosen]
        if recovery:
            return self.triggers.recovery(snap, chosen)
        return self.triggers.evaluate(snap, chosen)

    def _begin(self, step_index: int, status: str) -> None:
        r = self.result
        self.states.begin(
            RampState(self.run_id, r.flag, r.previous_value, r.steps, step_index, status)
        )

    def _record(self, kind: str, results: list[TriggerResult], prefix: str = "") -> None:
        interesting = [r for r in results if r.signal is not Signal.OK] or results
        detail = prefix + "; ".join(r.summary() for r in interesting)
        self._event(kind, check_status(results), detail, tuple(results))

    def _event(
        self,
        kind: str,
        status: str = "",
        detail: str = "",
        results: tuple[TriggerResult, ...] = (),
        at: float | None = None,
    ) -> None:
        r = self.result
        value = r.previous_value if r.step_value is None else r.step_value
        event = Event(self.clock.now() if at is None else at, kind, value, status, detail, results)
        r.events.append(event)
        if self.progress is not None:
            self.progress(r, event)
