"""The reference workload and the flag store against the test lab."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from _wait import steady
from click.testing import CliRunner
from test_lab import eventually, flag_in_effect, flags, metric_sum  # noqa: F401  (flags: fixture)

from rollbook.cli import main
from rollbook.db import session
from rollbook.flags import FlagStore

LAB_PARAMS = Path(__file__).resolve().parents[2] / "params" / "lab.yaml"


def test_rate_flag_starves_and_raises_traffic(lab, flags):  # noqa: F811
    flags("workload.rate.send", 0)
    flag_in_effect(lab, "workload.rate.send", 0)
    steady(lambda: metric_sum(lab, "chat_sends_acknowledged_total"), 2, 30, "sends in flight")
    sends = {"metric": "chat_sends_acknowledged_total"}
    assert growth(lab, 2, sends=sends)["sends"] == 0
    flags("workload.rate.send", 25)
    flag_in_effect(lab, "workload.rate.send", 25)
    assert growth(lab, 3, sends=sends)["sends"] >= 45  # 75 expected


def test_send_invalidates_the_conversations_cached_pages(lab, lab_params, flags):  # noqa: F811
    with session(lab_params.primary, lab_params.safety, purpose="test") as conn:
        hot = [r[0] for r in conn.execute(
            "SELECT conversation_id FROM messages GROUP BY 1 ORDER BY count(*) DESC LIMIT 5"
        )]  # fmt: skip
    client = redis.Redis(port=lab.layout.ports["redis"])
    keys = [f"chat:history:{c}" for c in hot]
    for key in keys:
        client.hset(key, "sentinel", "[]")
    flags("workload.rate.send", 25)
    invalidations = metric_sum(lab, "chat_cache_invalidations_total")
    eventually(
        lambda: not all(client.hexists(k, "sentinel") for k in keys), 10, "a hot page invalidated"
    )
    eventually(
        lambda: metric_sum(lab, "chat_cache_invalidations_total") > invalidations,
        2,
        "the invalidation counted",
    )
    assert metric_sum(lab, "chat_cache_invalidation_duration_seconds_count") > 0


def growth(lab, seconds: float, **series: dict[str, str]) -> dict[str, float]:
    """How much each named (metric, labels) series grows over `seconds`."""

    def read() -> dict[str, float]:
        return {name: metric_sum(lab, **query) for name, query in series.items()}

    before = read()
    time.sleep(seconds)
    return {name: value - before[name] for name, value in read().items()}


def history(metric: str, **labels: str) -> dict[str, str]:
    return {"metric": metric, "endpoint": "history", **labels}


def test_fault_flags_hit_canary_requests_only(lab, flags):  # noqa: F811
    flags("workload.rate.history", 40)
    flags("pgbouncer.history", 50)
    flags("fault.history.error_percent", 100)
    for name, value in (("pgbouncer.history", 50), ("fault.history.error_percent", 100)):
        flag_in_effect(lab, name, value)
    # canary requests that began before the fault was in effect have finished
    canary_ok = history("chat_requests_total", variant="canary", outcome="ok")
    steady(lambda: metric_sum(lab, **canary_ok), 1, 30, "canary requests without the fault")
    seen = growth(
        lab,
        3,
        canary_errors=history("chat_requests_total", variant="canary", outcome="error"),
        canary_ok=history("chat_requests_total", variant="canary", outcome="ok"),
        baseline_errors=history("chat_requests_total", variant="baseline", outcome="error"),
        baseline_ok=history("chat_requests_total", variant="baseline", outcome="ok"),
    )
    assert seen["canary_errors"] > 20 and seen["canary_ok"] == 0
    assert seen["baseline_errors"] == 0 and seen["baseline_ok"] > 20

    # latency before errors off: a canary request reads the error flag after its delay, so
    # every canary success from now on carries the delay
    flags("fault.history.latency_ms", 300)
    flags("fault.history.error_percent", 0)
    for name, value in (("fault.history.latency_ms", 300), ("fault.history.error_percent", 0)):
        flag_in_effect(lab, name, value)
    duration = "chat_request_duration_seconds"
    seen = growth(
        lab,
        3,
        canary_sum=history(f"{duration}_sum", variant="canary"),
        canary_count=history(f"{duration}_count", variant="canary"),
        baseline_sum=history(f"{duration}_sum", variant="baseline"),
        baseline_count=history(f"{duration}_count", variant="baseline"),
    )
    # 300 ms injected: canary requests take about that (the open-loop scheduler may start a
    # request a few ms before its scheduled time), baseline requests far less: a few ms, or
    # ~0.1 s in a window with a stall of the lab (seen in a clean run), never the 0.3 s
    assert seen["canary_sum"] / seen["canary_count"] >= 0.25
    assert seen["baseline_sum"] / seen["baseline_count"] < 0.2


def test_flags_cli_sets_with_an_audit_row_that_cannot_be_changed(lab, lab_params, flags):  # noqa: F811
    flags("cache.conversations", 0)  # restored afterwards
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    runner = CliRunner()
    params = ["--params", str(LAB_PARAMS)]
    result = runner.invoke(
        main, ["flags", "set", "cache.conversations", "15", "--run-id", run_id, *params]
    )
    assert result.exit_code == 0, result.output
    got = runner.invoke(main, ["flags", "get", "cache.conversations", *params])
    assert got.output.strip() == "15"
    refused = runner.invoke(main, ["flags", "set", "cache.send", "15", *params])
    assert refused.exit_code == 2 and "known flags: cache.conversations" in refused.output
    with session(lab_params.primary, lab_params.safety, purpose="test") as conn:
        audit = FlagStore(conn).history()
        row = audit[audit.run_id == run_id].iloc[-1]
        assert (row["name"], row["old_value"], row["new_value"]) == ("cache.conversations", 0, 15)
        for statement in (
            "UPDATE rollbook.flag_audit SET new_value = '0' WHERE run_id = %s",
            "DELETE FROM rollbook.flag_audit WHERE run_id = %s",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement, [run_id])
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("TRUNCATE rollbook.flag_audit")
