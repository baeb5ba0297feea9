"""Phase 2: move the application's connections onto PgBouncer (transaction pooling).

Preconditions read PgBouncer's admin console and the primary: pool mode, pool sizes
against `max_connections`, `max_client_conn`, and prepared-statement support. In
transaction mode a client's next transaction may run on another server connection, so a
server-side prepared statement made by the driver (psycopg 3 prepares a query after
`prepare_threshold` = 5 executions) is missing there. PgBouncer tracks prepared statements
itself only from 1.21 (`max_prepared_statements` > 0); before that the application must
connect with `prepare_threshold=None`. A probe runs the history query more times than
the threshold through PgBouncer with that setting, as the application would.
"""

from __future__ import annotations

import pandas as pd
import psycopg

from rollbook.config import Params
from rollbook.config.endpoints import PostgresEndpoint
from rollbook.db import pgbouncer_console
from rollbook.db.session import conninfo
from rollbook.phases import preflight
from rollbook.phases.indexes import Preconditions
from rollbook.phases.preflight import Section
from rollbook.phases.ramps import Observed
from rollbook.verdict import compare, expect

# Message history, conversation list, then the send path (writes last).
FLAGS = ("pgbouncer.history", "pgbouncer.conversations", "pgbouncer.send")
PREPARED_STATEMENTS_SINCE = (1, 21)
PSYCOPG_PREPARE_THRESHOLD = 5  # psycopg 3's default: prepare on the 6th execution
PROBE_QUERY = "history_first_page"
SERIES = [
    "pgbouncer_pool_saturation_ratio",
    "pgbouncer_clients_waiting",
    "pgbouncer_max_wait_seconds",
    "pgbouncer_pool_connections",
    "primary_connections",
    "latency_p95_by_endpoint_seconds",
    "read_routing_share",
]


def during_ramps(max_saturation: float = 0.9, max_wait_seconds: float = 0.5) -> list[Observed]:
    """What the pool may reach while the ramps run."""
    return [
        Observed("pgbouncer_pool_saturation_ratio", "<=", max_saturation),
        Observed("pgbouncer_clients_waiting", "<=", 0, required=False),
        Observed("pgbouncer_max_wait_seconds", "<=", max_wait_seconds),
        Observed("error_ratio", "<", 0.01),
    ]


def version_tuple(text: str) -> tuple[int, ...]:
    """`PgBouncer 1.18.0` -> (1, 18, 0)."""
    number = text.split()[-1]
    return tuple(int(part) for part in number.split(".") if part.isdigit())


def _console(params: Params) -> tuple[pd.Series, str]:
    with pgbouncer_console(params.pgbouncer) as conn:
        cur = conn.execute("SHOW CONFIG")
        frame = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
        version = conn.execute("SHOW VERSION").fetchone()[0]
    return frame.set_index("key")["value"], version


def prepared_statements(params: Params, repeats: int = 2 * PSYCOPG_PREPARE_THRESHOLD) -> Section:
    """PgBouncer's prepared-statement support and a probe of the driver setting it requires."""
    config, version = _console(params)
    supported = version_tuple(version) >= PREPARED_STATEMENTS_SINCE
    tracked = int(config.get("max_prepared_statements", 0) or 0) if supported else 0
    probe_ok, detail = _probe(params, repeats)
    rows = [
        ("PgBouncer version", version),
        ("max_prepared_statements", config.get("max_prepared_statements", "not supported")),
        ("prepared statements tracked by PgBouncer", tracked > 0),
        ("application driver setting required", "none" if tracked else "prepare_threshold=None"),
        (f"probe: {PROBE_QUERY} x{repeats} via PgBouncer", detail),
    ]
    return Section(
        pd.DataFrame(rows, columns=["item", "value"]),
        [
            expect(
                "prepared statements: PgBouncer tracks them or the driver disables them",
                True if tracked else probe_ok,
                detail=f"{version}; " + detail,
            )
        ],
    )


def _probe(params: Params, repeats: int) -> tuple[bool, str]:
    """Run the probe query `repeats` times through PgBouncer with prepare_threshold=None."""
    if PROBE_QUERY not in params.queries:
        return False, f"no `{PROBE_QUERY}` in params queries"
    named = params.queries[PROBE_QUERY]
    pooled = PostgresEndpoint(
        **{
            **params.primary.model_dump(),
            "host": params.pgbouncer.host,
            "port": params.pgbouncer.port,
            "dbname": params.pgbouncer.dbname,
        }  # fmt: skip
    )
    try:
        with psycopg.connect(**conninfo(pooled, "rollbook:pgbouncer-probe")) as conn:
            conn.prepare_threshold = None
            for _ in range(repeats):
                with conn.transaction():
                    conn.execute(
                        "SELECT set_config('statement_timeout', %s, true)",
                        (f"{params.safety.statement_timeout_ms}ms",),
                    )
                    conn.execute(named.sql, named.params).fetchall()
    except psycopg.Error as exc:
        return False, f"failed: {str(exc).strip()[:160]}"
    return True, f"{repeats} executions, no server-side prepared statement"


def preconditions(params: Params, *, min_client_connections: int = 100) -> Preconditions:
    """Pool mode and capacity, client connection limit, prepared statements."""
    capacity = preflight.pool_capacity(params)
    prepared = prepared_statements(params)
    config, _ = _console(params)
    clients = int(config.get("max_client_conn", 0))
    limit = Section(
        pd.DataFrame([("max_client_conn", clients)], columns=["setting", "value"]),
        [
            compare(
                "PgBouncer max_client_conn covers the application's clients",
                clients,
                ">=",
                min_client_connections,
                unit="connections",
            )
        ],
    )
    return Preconditions(
        {"pool capacity": capacity, "client limit": limit, "prepared statements": prepared}
    )
