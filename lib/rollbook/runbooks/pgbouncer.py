"""Phase 2: move the application's connections onto PgBouncer (transaction pooling).

Preconditions read PgBouncer's admin console and the primary: pool mode, pool sizes
against `max_connections`, `max_client_conn`, and prepared-statement support. In
transaction mode a client's next transaction may run on another server connection, so a
server-side prepared statement made by the driver (psycopg 3 prepares a query after
`prepare_threshold` = 5 executions) is missing there. PgBouncer tracks prepared statements
itself only from 1.21 (`max_prepared_statements` > 0); before that the application must
connect with `prepare_threshold=None`. Whether it does is the application's side, which
the params declare (`pgbouncer.app_prepares_statements`); the check judges that
declaration against PgBouncer's version, pool mode and tracking.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from rollbook.canary.rollout_ramps import Observed
from rollbook.db import pgbouncer_console, scalar
from rollbook.params import Params, required
from rollbook.runbooks import preflight
from rollbook.runbooks.indexes import Preconditions
from rollbook.step import StepResult
from rollbook.verdict import Check, compare, expect

# Message history, conversation list, then the send path (writes last).
FLAGS = ("pgbouncer.history", "pgbouncer.conversations", "pgbouncer.send")
PREPARED_STATEMENTS_SINCE = (1, 21)
PREPARED_CHECK = "prepared statements: PgBouncer tracks them or the driver disables them"
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


@dataclass(frozen=True)
class Console:
    """What PgBouncer's admin console says about itself and the application's pool."""

    config: dict[str, str]
    version: str
    pool_mode: str  # the pooled database's own pool_mode, else the global one


def _console(params: Params) -> Console:
    pgbouncer = required(params.pgbouncer, "pgbouncer")
    with pgbouncer_console(pgbouncer) as conn:
        config = {row[0]: row[1] for row in conn.execute("SHOW CONFIG").fetchall()}
        version = scalar(conn, "SHOW VERSION")
        databases = preflight.console_rows(conn, "SHOW DATABASES")
    own = databases.loc[databases["name"] == pgbouncer.dbname, "pool_mode"].dropna()
    pool_mode = next((m for m in own if m), config.get("pool_mode", "unknown"))
    return Console(config, version, pool_mode)


def prepared_statement_check(
    version: str, pool_mode: str, max_prepared: str | None, app_prepares: bool | None
) -> Check:
    """Pass when server-side prepared statements cannot go astray: the pool keeps a client
    on one server connection (session mode), PgBouncer tracks them (>= 1.21 with
    `max_prepared_statements` > 0), or the application declares that it does not prepare."""
    tracked = version_tuple(version) >= PREPARED_STATEMENTS_SINCE and int(max_prepared or 0) > 0
    facts = f"{version}, pool_mode {pool_mode}, " + (
        f"tracks prepared statements (max_prepared_statements {max_prepared})"
        if tracked
        else "does not track prepared statements"
    )
    if pool_mode == "session" or tracked:
        ok, why = True, "prepared statements stay valid"
    elif app_prepares is None:
        ok, why = None, "declare `pgbouncer.app_prepares_statements` in params"
    elif app_prepares:
        ok, why = (
            False,
            (
                "the application prepares statements (e.g. psycopg's prepare_threshold): its "
                "next transaction may run on a server connection without them"
            ),
        )
    else:
        ok, why = True, "the application does not prepare statements"
    return expect(PREPARED_CHECK, ok, detail=f"{facts}; {why}")


def prepared_statements(params: Params) -> StepResult:
    """Whether the application's server-side prepared statements survive PgBouncer's
    pooling: its version, pool mode and tracking against the params' declaration."""
    console = _console(params)
    max_prepared = console.config.get("max_prepared_statements")
    declared = required(params.pgbouncer, "pgbouncer").app_prepares_statements
    rows = [
        ("PgBouncer version", console.version),
        ("pool_mode (application database)", console.pool_mode),
        ("max_prepared_statements", max_prepared or "not supported"),
        ("application prepares statements (params)", "not declared" if declared is None
         else declared),
    ]  # fmt: skip
    return StepResult(
        pd.DataFrame(rows, columns=["item", "value"]),
        [prepared_statement_check(console.version, console.pool_mode, max_prepared, declared)],
    )


def preconditions(params: Params, *, min_client_connections: int = 100) -> Preconditions:
    """Pool mode and capacity, client connection limit, prepared statements."""
    capacity = preflight.pool_capacity(params)
    prepared = prepared_statements(params)
    clients = int(_console(params).config.get("max_client_conn", 0))
    limit = StepResult(
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
    return Preconditions.of(
        {"pool capacity": capacity, "client limit": limit, "prepared statements": prepared}
    )
