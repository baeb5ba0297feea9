"""The one duration grammar of rollbook: `90s`, `5m`, `1h30m`, `2d`, `1w`, `250ms`.

Used wherever a person writes a duration: the CLI (`rollbook runs --since 90s`), the params
(`window: last 1h30m`, the canary's `hold: 5m`) and notebook parameters. It is the
Prometheus duration syntax (a sequence of number-unit parts, largest first or not), with
decimals and spaces between parts allowed.
"""

from __future__ import annotations

import re
from datetime import timedelta

from rollbook.errors import InputError

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
EXAMPLES = "30m, 90s, 1h30m, 2d"


class DurationError(InputError, ValueError):
    """A duration that does not follow the grammar."""


def parse_duration(text: str | float | int | timedelta) -> timedelta:
    """`90s`, `1h30m`, `2d` (see the module doc), a number of seconds or a timedelta."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, int | float):
        return timedelta(seconds=text)
    compact = str(text).strip().replace(" ", "")
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise DurationError(f"not a duration: {text!r} (use e.g. {EXAMPLES})")
    return timedelta(seconds=sum(float(n) * UNITS[u] for n, u in parts))
