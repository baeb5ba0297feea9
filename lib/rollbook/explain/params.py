"""Params sections for EXPLAIN: named queries, finding thresholds, plan assertions.

```yaml
queries:
  history_first_page:
    sql: SELECT id, ... WHERE conversation_id = %(conversation_id)s ORDER BY ... LIMIT 50
    params: {conversation_id: 42}
    description: newest 50 messages of a conversation
    bind_from: SELECT id FROM conversations ORDER BY random() LIMIT 1000   # load tests
explain:
  thresholds: {misestimate_factor: 10}       # see FindingThresholds for every default
  assertions:
    history_first_page:
      - uses_index: messages_conversation_keyset_idx
      - no_node: Seq Scan on messages
      - no_node: Sort
      - max_execution_ms: 5
```
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any

from pydantic import Field, field_validator, model_validator

from rollbook.config.base import Strict
from rollbook.explain.tree import NODE_KINDS


class NamedQuery(Strict):
    """A query the runbooks EXPLAIN, with psycopg `%(name)s` placeholders and their values."""

    sql: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    description: str = ""
    bind_from: str | None = Field(
        default=None,
        min_length=1,
        description="load tests: a query whose rows give the bind values, one row drawn per "
        "request (columns named after placeholders, or one column for the one left open)",
    )


class FindingThresholds(Strict):
    """When a finding fires. Defaults follow pev2 / explain.depesz.com / pganalyze practice."""

    hot_node_share: float = Field(
        default=0.5, gt=0, le=1, description="HOT_NODE: node's exclusive time / execution time"
    )
    hot_node_min_ms: float = Field(default=10.0, ge=0, description="HOT_NODE: and at least this")
    misestimate_factor: float = Field(
        default=10.0, gt=1, description="MISESTIMATE: max(actual/estimated, estimated/actual)"
    )
    misestimate_min_rows: int = Field(
        default=100, ge=0, description="MISESTIMATE: larger of estimated/actual rows (all loops)"
    )
    filter_waste_share: float = Field(
        default=0.9, gt=0, le=1, description="SEQ_SCAN_FILTER_WASTE: rows removed / rows read"
    )
    index_filter_waste_share: float = Field(
        default=0.5, gt=0, le=1, description="INDEX_FILTER_WASTE: rows removed / rows read"
    )
    filter_waste_min_rows: int = Field(
        default=1000, ge=0, description="*_FILTER_WASTE: rows removed (all loops) at least"
    )
    heap_fetches_share: float = Field(
        default=0.1, gt=0, description="HEAP_FETCHES: heap fetches / rows of an index-only scan"
    )
    heap_fetches_min: int = Field(default=100, ge=0, description="HEAP_FETCHES: at least")
    nested_loop_min_loops: int = Field(
        default=1000,
        ge=1,
        description="NESTED_LOOP_MANY_LOOPS: times the inner side (or SubPlan) really ran "
        "(a Memoize's cache misses)",
    )
    nested_loop_min_ms: float = Field(
        default=1.0, ge=0, description="NESTED_LOOP_MANY_LOOPS: the inner side's total time"
    )
    nested_loop_min_share: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="NESTED_LOOP_MANY_LOOPS: and the inner side's total time / execution time",
    )
    jit_share: float = Field(
        default=0.1, gt=0, description="JIT_OVERHEAD: JIT total time / execution time"
    )
    jit_min_ms: float = Field(default=10.0, ge=0, description="JIT_OVERHEAD: and at least this")
    temp_io_min_mb: float = Field(
        default=1.0, ge=0, description="TEMP_IO: temp blocks read + written, in MB"
    )
    large_offset_min_rows: int = Field(
        default=1000, ge=1, description="LARGE_OFFSET: rows a Limit reads and throws away"
    )
    planning_min_ms: float = Field(
        default=5.0, ge=0, description="PLANNING_OVER_EXECUTION: planning time at least this"
    )
    trigger_share: float = Field(
        default=0.1, gt=0, description="TRIGGER_OVERHEAD: trigger time / execution time"
    )
    trigger_min_ms: float = Field(default=1.0, ge=0, description="TRIGGER_OVERHEAD: at least")


ASSERTION_KINDS = (
    "uses_index",
    "no_node",
    "max_rows_examined",
    "max_execution_ms",
    "max_buffers",
)


class PlanAssertion(Strict):
    """One expectation about a plan; give exactly one key.

    - `uses_index: NAME` — some node scans index NAME
    - `no_node: "Seq Scan on messages"` / `no_node: Sort` — no node of that type (on that
      relation); `Seq Scan` also matches parallel seq scans
    - `max_rows_examined: N` — rows read by scan nodes (returned + removed by filters) ≤ N
    - `max_execution_ms: X` — execution time ≤ X
    - `max_buffers: N` — shared blocks hit + read of the whole plan ≤ N
    """

    uses_index: str | None = Field(default=None, min_length=1)
    no_node: str | None = Field(default=None, min_length=1)
    max_rows_examined: int | None = Field(default=None, ge=0)
    max_execution_ms: float | None = Field(default=None, ge=0)
    max_buffers: int | None = Field(default=None, ge=0)

    @field_validator("no_node")
    @classmethod
    def _names_a_node_kind(cls, pattern: str | None) -> str | None:
        if pattern is None:
            return pattern
        kind = node_pattern_kind(pattern)
        known = {k.lower(): k for k in NODE_KINDS}
        if kind.lower() not in known:
            close = get_close_matches(kind.lower(), known, n=1)
            hint = f"did you mean {known[close[0]]!r}? " if close else ""
            raise ValueError(
                f"{kind!r} is no PostgreSQL plan node: {hint}(e.g. Seq Scan, Index Scan, Sort, "
                "Nested Loop, Hash Join, HashAggregate, optionally 'on <table>' or 'using <index>')"
            )
        return pattern

    @model_validator(mode="after")
    def _exactly_one(self) -> PlanAssertion:
        given = [k for k in ASSERTION_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(ASSERTION_KINDS)} per assertion")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ASSERTION_KINDS if getattr(self, k) is not None)

    @property
    def value(self) -> Any:
        return getattr(self, self.kind)


def node_pattern_kind(pattern: str) -> str:
    """The node kind a `no_node` pattern names: `Parallel Seq Scan on m` -> `Seq Scan`."""
    kind = pattern.partition(" on ")[0].partition(" using ")[0].strip()
    for prefix in ("parallel ", "partial ", "finalize "):
        if kind.lower().startswith(prefix):
            kind = kind[len(prefix) :]
    return kind.removesuffix(" Backward").removesuffix(" backward")


class ExplainSettings(Strict):
    """The `explain:` params section."""

    thresholds: FindingThresholds = FindingThresholds()
    assertions: dict[str, list[PlanAssertion]] = Field(
        default_factory=dict, description="query name -> assertions on its plan"
    )
