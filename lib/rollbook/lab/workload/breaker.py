"""The replica circuit breaker: lag or errors open it, reads then go to the primary."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable


class BreakerState(enum.IntEnum):
    """Values as exported in `chat_replica_breaker_state`."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class ReplicaBreaker:
    """Closed: replica reads allowed. Open: none, for `cooldown_seconds`. Half-open: reads
    are probes; `probes_to_close` successes in a row close it, any failure opens it again.

    Lag above the threshold counts as a failure in every state; a lag check that fails
    (replica unreachable) too. Time comes from `clock`, so tests drive it.
    """

    def __init__(
        self,
        cooldown_seconds: float = 5.0,
        probes_to_close: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cooldown_seconds = cooldown_seconds
        self.probes_to_close = probes_to_close
        self.clock = clock
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._successes = 0
        self._lag_ok = True

    @property
    def state(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._lag_ok
            and self.clock() - self._opened_at >= self.cooldown_seconds
        ):
            self._state = BreakerState.HALF_OPEN
            self._successes = 0
        return self._state

    def allows_replica(self) -> bool:
        """Whether a read may go to the replica now (half-open reads are probes)."""
        return self.state is not BreakerState.OPEN

    def record_lag(self, lag_seconds: float | None, max_lag_seconds: float) -> None:
        """A lag measurement (None: the check failed)."""
        self._lag_ok = lag_seconds is not None and lag_seconds <= max_lag_seconds
        if not self._lag_ok:
            self._open()

    def record_success(self) -> None:
        """A replica read succeeded."""
        if self.state is BreakerState.HALF_OPEN:
            self._successes += 1
            if self._successes >= self.probes_to_close:
                self._state = BreakerState.CLOSED

    def record_failure(self) -> None:
        """A replica read failed."""
        self._open()

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self.clock()
        self._successes = 0
