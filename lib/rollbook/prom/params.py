"""The `monitoring:` params section: query overrides and SLO declarations.

```yaml
monitoring:
  queries:                       # replace any catalog concept's PromQL by name
    throughput_rps: sum(rate(http_requests_total{app="chat"}[$range]))
  slo:
    - history_latency_p95_seconds <= 350ms
    - error_ratio < 1%
    - {concept: throughput_rps, op: ">=", threshold: 120}
```
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from rollbook.config.base import Strict
from rollbook.prom.catalog import UnknownConcept, concepts

_SLO_TEXT = re.compile(
    r"^\s*(?P<concept>\w+)\s*(?P<op><=|>=|<|>)\s*(?P<number>-?\d+(?:\.\d+)?)\s*(?P<unit>ms|s|%)?\s*$"
)
_DIVISOR = {None: 1, "s": 1, "ms": 1000, "%": 100}


def parse_slo(value: Any) -> Any:
    """`history_latency_p95_seconds <= 350ms` -> {concept, op, threshold} (ms and % scaled)."""
    if not isinstance(value, str):
        return value
    match = _SLO_TEXT.match(value)
    if not match:
        raise ValueError(
            f"cannot read SLO {value!r}: write `<concept> <op> <number>[ms|s|%]`, "
            "e.g. `history_latency_p95_seconds <= 350ms`"
        )
    threshold = float(match["number"]) / _DIVISOR[match["unit"]]
    return {"concept": match["concept"], "op": match["op"], "threshold": threshold}


class Slo(Strict):
    """One objective: the concept summarised over a window must satisfy `op threshold`."""

    concept: str
    op: Literal["<", "<=", ">", ">="]
    threshold: float
    required: bool = True

    @field_validator("concept")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in concepts():
            raise ValueError(f"no such metric concept: {name!r}")
        return name

    def __str__(self) -> str:
        return f"{self.concept} {self.op} {self.threshold:g}"


SloEntry = Annotated[Slo, BeforeValidator(parse_slo)]

# The service's objectives; alert rules, charts and the dashboard read the same list.
DEFAULT_SLOS: list[Slo] = [
    Slo(concept="history_latency_p95_seconds", op="<=", threshold=0.350),
    Slo(concept="send_latency_p95_seconds", op="<=", threshold=0.250),
    Slo(concept="error_ratio", op="<", threshold=0.01),
    Slo(concept="throughput_rps", op=">=", threshold=100),
]


class MonitoringParams(Strict):
    """Prometheus queries and objectives for one environment."""

    queries: dict[str, str] = Field(
        default_factory=dict, description="concept name -> PromQL replacing the catalog's"
    )
    slo: list[SloEntry] = Field(default_factory=lambda: list(DEFAULT_SLOS))

    @model_validator(mode="after")
    def _known_queries(self) -> MonitoringParams:
        try:
            concepts(self.queries)
        except UnknownConcept as exc:
            raise ValueError(f"queries: {exc}") from None
        return self
