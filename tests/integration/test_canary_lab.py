"""Canary ramps on the lab with the workload running: a healthy ramp is promoted, each of
the five triggers rolls a faulty ramp back (verified), thin traffic pauses, and no
acknowledged send is lost across any of the rollbacks.

Faults are injected from the controller's progress callback at the first health check of
the second step, so they land mid-ramp at a known time. Short intervals (check every 3 s,
hold 6 s) keep each ramp under a minute.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from _phases_lab import settled_sends
from test_lab import eventually, flags  # noqa: F401  (flags: fixture)

from rollbook.canary import Outcome, controller_for
from rollbook.canary.metrics import PromMetricSource
from rollbook.canary.params import CanaryParams
from rollbook.canary.progress import RampProgress
from rollbook.canary.state import UNFINISHED
from rollbook.db import pgbouncer_console, session
from rollbook.flags import FlagStore
from rollbook.prom.client import PromClient

CHECK_SECONDS = 3.0
# Flag poll (1 s) + scrape interval (2 s): how long a fault takes to show in Prometheus.
PROPAGATION_SECONDS = 3.0
STEPS = [25.0, 50.0, 100.0]
FAULT_LATENCY_SECONDS = 3


@pytest.fixture(scope="module")
def canary_params(lab_params):
    """Lab params with short ramps; the latency SLO sits well above the lab's current p95
    (this lab shares its CPUs, so absolute latency varies between machines)."""
    source = PromMetricSource(PromClient.from_params(lab_params))
    eventually(lambda: source.snapshot("history", 30).latency().total >= 200, 60, "history traffic")
    p95 = source.snapshot("history", 30).p95_seconds()
    canary = CanaryParams.model_validate(
        {
            "steps": STEPS,
            "check_interval": CHECK_SECONDS,
            "check_window": 9,
            "warmup": 3,
            "hold": 6,
            "max_extend": 9,
            "verify_within": 60,
            "reference_window": 30,
            "triggers": {
                "latency_slo": {"p95_seconds": round(max(2.5, p95 + 1.5), 3), "consecutive": 2},
                "canary_worse": {"min_samples": 20},
                "replica_lag": {"max_seconds": 2},
            },
        }
    )
    update = {"canary": canary, "safety": lab_params.safety.model_copy(update={"apply": True})}
    return lab_params.model_copy(update=update)


@pytest.fixture
def quiet(flags):  # noqa: F811
    """Moderate traffic (the history endpoint carries the ramps)."""
    flags("workload.rate.history", 20)
    flags("workload.rate.conversations", 2)
    flags("workload.rate.send", 2)
    return flags


@pytest.fixture
def primary(lab_params):
    """A primary session; a ramp a failed test left unfinished is closed afterwards."""
    with session(lab_params.primary, lab_params.safety, purpose="canary test") as conn:
        yield conn
        if conn.execute("SELECT to_regclass('rollbook.ramps')").fetchone()[0]:
            conn.execute(
                "UPDATE rollbook.ramps SET status = 'abandoned by test' WHERE status = ANY(%s)",
                [list(UNFINISHED)],
            )


class Injector:
    """A progress callback that injects a fault at the first check of `at_step` and can
    undo it when the rollback happens (`on_rollback`)."""

    def __init__(self, inject, at_step: float = STEPS[1], on_rollback=None) -> None:
        self.inject, self.at_step, self.on_rollback = inject, at_step, on_rollback
        self.fault_at: float | None = None
        self.log = RampProgress(live=False)

    def __call__(self, result, event) -> None:
        self.log(result, event)
        if self.fault_at is None and event.kind == "check" and event.flag_value == self.at_step:
            self.inject()
            self.fault_at = time.time()
        if event.kind == "rollback" and self.on_rollback is not None:
            self.on_rollback()


@pytest.fixture
def no_send_lost(lab, quiet, primary):
    """Acknowledged sends (workload counter) equal the rows written over the test."""

    def settle() -> tuple[float, int]:
        quiet("workload.rate.send", 0)
        return settled_sends(lab, primary)

    acked_before, rows_before = settle()
    quiet("workload.rate.send", 2)

    def check() -> None:
        acked_after, rows_after = settle()
        assert acked_after - acked_before > 0, "no sends happened during the test"
        assert acked_after - acked_before == rows_after - rows_before

    return check


def ramp(params, flag, conn, injector, triggers=None):
    controller = controller_for(
        params, flag, conn, triggers=triggers, progress=injector, run_id=f"test-{time.time_ns()}"
    )
    return controller, controller.run()


def assert_rolled_back(result, injector, trigger, previous, conn, observed_keys, late=0.0):
    """Rolled back within two check intervals of the fault taking effect (`late`: seconds
    after the injection before the fault can show), audited and verified."""
    assert result.outcome is Outcome.ROLLED_BACK, result.reason
    assert result.trigger == trigger, result.reason
    assert set(observed_keys) <= set(result.observed[trigger])
    assert injector.fault_at is not None
    consecutive = 2 if trigger == "latency_slo" else 1
    bound = late + PROPAGATION_SECONDS + consecutive * CHECK_SECONDS + CHECK_SECONDS
    assert result.rolled_back_at - injector.fault_at <= bound
    assert FlagStore(conn).get(result.flag) == previous
    audit = FlagStore(conn).history()
    mine = audit[audit.run_id == result.run_id]
    # the steps in order up to the one the fault showed in (the one it was injected in or the
    # next: a 3 s request shows when it ends), then back to the prior value
    *stepped, restored = mine["new_value"].tolist()
    assert stepped == STEPS[: len(stepped)] and injector.at_step in stepped
    assert restored == previous
    assert result.verification.passed, result.verification.summary
    row = conn.execute(
        "SELECT status, trigger FROM rollbook.ramps WHERE run_id = %s", [result.run_id]
    ).fetchone()
    assert row == ("rolled back", trigger)


def test_healthy_ramp_of_cache_history_is_promoted(canary_params, quiet, primary):
    quiet("cache.history", 0)  # restored to its prior value afterwards
    # 10 % of 20 req/s: a 15 s window holds enough canary requests for the judge
    steps = {"steps": [10, 25, 50, 100], "check_window": 15}
    params = canary_params.model_copy(
        update={"canary": canary_params.canary.model_copy(update=steps)}
    )
    _, result = ramp(params, "cache.history", primary, RampProgress(live=False))
    assert result.outcome is Outcome.PROMOTED, result.reason
    assert FlagStore(primary).get("cache.history") == 100
    gates = result.timeline().query("kind == 'gate'")
    assert gates["flag_value"].tolist()[-1] == 100 and gates["status"].iloc[-1] == "ok"


def test_error_fault_rolls_back_on_error_rate(canary_params, quiet, primary, no_send_lost):
    quiet("cache.history", 0)
    injector = Injector(lambda: quiet("fault.history.error_percent", 100))
    _, result = ramp(canary_params, "cache.history", primary, injector, ["error_rate"])
    assert_rolled_back(result, injector, "error_rate", 0, primary, ["canary_error_ratio"])
    assert result.observed["error_rate"]["canary_error_ratio"] > 0.01
    no_send_lost()


def test_latency_fault_rolls_back_on_the_judge_or_the_slo(
    canary_params, quiet, primary, no_send_lost
):
    quiet("cache.history", 0)
    # Injected in the first step: a 3 s request is observed when it ends, so the fault shows
    # after that step's gate, in the second step (whose warm-up is judged by the SLO only).
    injector = Injector(
        lambda: quiet("fault.history.latency_ms", FAULT_LATENCY_SECONDS * 1000), at_step=STEPS[0]
    )
    _, result = ramp(
        canary_params, "cache.history", primary, injector, ["canary_worse", "latency_slo"]
    )
    assert result.trigger in ("canary_worse", "latency_slo"), result.reason
    keys = {"canary_worse": ["p_value", "effect"], "latency_slo": ["canary_p95_seconds"]}
    late = FAULT_LATENCY_SECONDS + canary_params.canary.warmup
    assert_rolled_back(result, injector, result.trigger, 0, primary, keys[result.trigger], late)
    no_send_lost()


def test_redis_outage_rolls_back_on_cache_errors(canary_params, quiet, primary, lab, no_send_lost):
    quiet("cache.history", 0)
    redis = next(s for s in lab.services if s.name == "redis")
    injector = Injector(redis.stop)
    try:
        _, result = ramp(canary_params, "cache.history", primary, injector, ["error_rate"])
    finally:
        lab.up(lambda message: None)
    assert_rolled_back(result, injector, "error_rate", 0, primary, ["cache_error_ratio"])
    assert result.observed["error_rate"]["cache_error_ratio"] > 0.01
    no_send_lost()


def test_replica_lag_rolls_back_and_recovers_once_replay_resumes(
    canary_params, quiet, primary, lab, no_send_lost
):
    quiet("replica.history", 0)
    admin = lab.replica.connect()

    def resume() -> None:
        admin.execute("SELECT pg_wal_replay_resume()")

    injector = Injector(lambda: admin.execute("SELECT pg_wal_replay_pause()"), on_rollback=resume)
    try:
        _, result = ramp(canary_params, "replica.history", primary, injector, ["replica_lag"])
    finally:
        resume()
        admin.close()
    assert_rolled_back(result, injector, "replica_lag", 0, primary, ["replica_lag_seconds"])
    observed = result.observed["replica_lag"]
    assert observed["replica_lag_seconds"] > 2 or observed["breaker_state"] == 2
    no_send_lost()


class PoolFlood:
    """Clients holding PgBouncer server connections while the flag routes traffic there."""

    def __init__(self, lab, flag: str, clients: int = 4) -> None:
        self.lab, self.flag, self.clients = lab, flag, clients
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for _ in range(self.clients):
            thread = threading.Thread(target=self._client, daemon=True)
            thread.start()
            self.threads.append(thread)

    def _client(self) -> None:
        password = self.lab.layout.secret_file("app").read_text().strip()
        port = self.lab.layout.ports["pgbouncer"]
        with (
            self.lab.primary.connect(as_app=True) as direct,
            psycopg.connect(
                host="127.0.0.1", port=port, dbname="chat", user="chat", password=password,
                autocommit=True, prepare_threshold=None,
            ) as pooled,
        ):  # fmt: skip
            store = FlagStore(direct)
            while not self.stop.is_set() and store.get(self.flag) > 0:
                pooled.execute("SELECT pg_sleep(0.5)")

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)


def test_pool_saturation_rolls_back_when_the_pool_shrinks_and_floods(
    canary_params, quiet, primary, lab, lab_params, no_send_lost
):
    quiet("pgbouncer.history", 0)
    flood = PoolFlood(lab, "pgbouncer.history")

    def shrink_and_flood() -> None:
        with pgbouncer_console(lab_params.pgbouncer) as console:
            console.execute("SET default_pool_size = 1")
        flood.start()

    injector = Injector(shrink_and_flood)
    try:
        _, result = ramp(canary_params, "pgbouncer.history", primary, injector, ["pool_saturation"])
    finally:
        flood.close()
        with pgbouncer_console(lab_params.pgbouncer) as console:
            console.execute(f"SET default_pool_size = {lab.layout.pool_size}")
    assert_rolled_back(
        result,
        injector,
        "pool_saturation",
        0,
        primary,
        ["pool_saturation_ratio", "clients_waiting"],
    )
    no_send_lost()


def test_thin_traffic_pauses_then_the_next_run_rolls_the_paused_ramp_back(
    canary_params, quiet, primary
):
    quiet("cache.history", 0)
    quiet("workload.rate.history", 0.5)
    _, paused = ramp(canary_params, "cache.history", primary, RampProgress(live=False))
    assert paused.outcome is Outcome.PAUSED and "inconclusive" in paused.reason
    assert FlagStore(primary).get("cache.history") == STEPS[0]  # held, never promoted
    _, resolved = ramp(canary_params, "cache.history", primary, RampProgress(live=False))
    assert resolved.outcome is Outcome.ROLLED_BACK and resolved.trigger == "interrupted"
    assert FlagStore(primary).get("cache.history") == 0
    statuses = dict(
        primary.execute(
            "SELECT run_id, status FROM rollbook.ramps WHERE run_id = ANY(%s)",
            [[paused.run_id, resolved.run_id]],
        ).fetchall()
    )
    assert statuses == {
        paused.run_id: f"rolled back by {resolved.run_id}",
        resolved.run_id: "rolled back",
    }
