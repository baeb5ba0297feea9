"""The cache entry contract: where a service caches a named query's rows in Redis and how.

The reference layout is what the lab's chat workload does, and what Phase 3 and the
validation read unless the params' `cache:` section names another:

    history_first_page  chat:history:{conversation_id} (hash)  field first
    history_next_page   chat:history:{conversation_id} (hash)  field {before_created_at}|{before_id}
    conversation_list   chat:conversations:{user_id} (string)

A value is `json-rows`: a JSON array of the query's rows, each an array in the query's column
order, timestamps in ISO 8601. Every key has a TTL; a send deletes its conversation's history
hash and its members' lists after its commit. Hash fields starting `rollbook:` belong to a
checker (Phase 3's invalidation probe); a service never reads them.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

from rollbook.errors import InputError, RollbookError

Serializer = Literal["json-rows", "json-objects"]
# Cached rows: each an array in the query's column order, or an object by column name.
CachedRows = list[list[Any] | dict[str, Any]]
CHECKER_PREFIX = "rollbook:"  # hash fields a checker adds; never the service's
PROBE_FIELD = CHECKER_PREFIX + "probe"
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


class TemplateError(InputError, ValueError):
    """A key or field template in the params that cannot be read (the message says why)."""


class CacheFormatError(RollbookError, ValueError):
    """A cached value that is not in the encoding the params name (the message names where)."""


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


class Template:
    """A Redis key or hash field with `{name}` placeholders for a named query's parameters,
    e.g. `chat:history:{conversation_id}`. Formats a key, parses one back, and gives the
    SCAN pattern of every key it can spell."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.parts: list[tuple[str, str | None]] = []
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise TemplateError(f"{text!r}: {exc}") from None
        for literal, name, spec, conversion in parsed:
            if name is not None:
                if not name.isidentifier():
                    raise TemplateError(f"{text!r}: {{{name}}} is not a parameter name")
                if spec or conversion:
                    raise TemplateError(f"{text!r}: {{{name}}} takes no format spec")
                if name in self.names:
                    raise TemplateError(f"{text!r}: {{{name}}} appears twice")
                if not literal and self.parts and self.parts[-1][1] is not None:
                    raise TemplateError(f"{text!r}: two placeholders need text between them")
            self.parts.append((literal, name))
        self._pattern = re.compile(
            "".join(re.escape(lit) + (f"(?P<{n}>.+?)" if n else "") for lit, n in self.parts)
        )

    @property
    def names(self) -> list[str]:
        return [name for _, name in self.parts if name is not None]

    def format(self, **values: Any) -> str:
        """The key for these parameter values (timestamps as ISO 8601)."""
        return "".join(lit + (_text(values[n]) if n else "") for lit, n in self.parts)

    def parse(self, text: str) -> dict[str, str] | None:
        """The parameter values spelled in `text`, or None if the template cannot spell it."""
        found = self._pattern.fullmatch(text)
        return None if found is None else found.groupdict()

    def glob(self) -> str:
        """The SCAN MATCH pattern of every key this template spells."""
        return "".join(
            _GLOB_SPECIAL.sub(r"\\\1", lit) + ("*" if n else "") for lit, n in self.parts
        )

    def __repr__(self) -> str:
        return f"Template({self.text!r})"


# -- the reference layout (the lab's chat workload) -----------------------------------------

HISTORY_KEY = Template("chat:history:{conversation_id}")
FIRST_PAGE_FIELD = Template("first")
NEXT_PAGE_FIELD = Template("{before_created_at}|{before_id}")
CONVERSATIONS_KEY = Template("chat:conversations:{user_id}")
# named query -> (key, hash field or None)
REFERENCE_LAYOUT: dict[str, tuple[Template, Template | None]] = {
    "history_first_page": (HISTORY_KEY, FIRST_PAGE_FIELD),
    "history_next_page": (HISTORY_KEY, NEXT_PAGE_FIELD),
    "conversation_list": (CONVERSATIONS_KEY, None),
}
# The entry a send to its conversation must delete: what Phase 3's invalidation probe watches.
REFERENCE_PROBE_QUERY = "history_first_page"


def history_key(conversation_id: int) -> str:
    """Redis hash holding a conversation's cached history pages (field: cursor)."""
    return HISTORY_KEY.format(conversation_id=conversation_id)


def history_field(cursor: tuple[datetime, int] | None) -> str:
    """The hash field of the first page (no cursor) or of the page after `cursor`."""
    if cursor is None:
        return FIRST_PAGE_FIELD.format()
    return NEXT_PAGE_FIELD.format(before_created_at=cursor[0], before_id=cursor[1])


def conversations_key(user_id: int) -> str:
    """Redis string holding a user's cached conversation list."""
    return CONVERSATIONS_KEY.format(user_id=user_id)


# -- values ---------------------------------------------------------------------------------


def encode_rows(rows: Sequence[Sequence[Any]]) -> str:
    """Rows as `json-rows`, the reference encoding (timestamps in ISO 8601)."""
    return json.dumps([[v.isoformat() if isinstance(v, date) else v for v in r] for r in rows])


def decode(serializer: Serializer, raw: bytes | str, where: str) -> CachedRows:
    """The rows of a cached value: arrays in column order (`json-rows`) or objects by column
    name (`json-objects`); CacheFormatError naming `where` if it is neither."""
    return _loaded(serializer, raw, where)


def decode_rows(raw: bytes | str, where: str) -> list[list[Any]]:
    """A `json-rows` value (the reference encoding) read back."""
    return _loaded("json-rows", raw, where)


def _loaded(serializer: Serializer, raw: bytes | str, where: str) -> list[Any]:
    shape = list if serializer == "json-rows" else dict
    try:
        rows = json.loads(raw)
    except ValueError as exc:
        raise CacheFormatError(f"{where}: not {serializer}: {exc}") from None
    if not isinstance(rows, list) or not all(isinstance(row, shape) for row in rows):
        raise CacheFormatError(f"{where}: not {serializer}: {str(raw)[:80]}")
    return rows


# -- comparison -----------------------------------------------------------------------------

_MISSING = object()


def _instant(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _same_value(cached: Any, value: Any) -> bool:
    if isinstance(cached, str) and isinstance(value, date):
        try:
            parse = datetime if isinstance(value, datetime) else date
            cached = parse.fromisoformat(cached)
        except ValueError:
            return False
    if isinstance(cached, datetime) and isinstance(value, datetime):
        return _instant(cached) == _instant(value)
    if isinstance(cached, str) and not isinstance(value, str):
        return cached == _text(value)  # e.g. a UUID or a numeric cached as text
    return bool(cached == value)


def _same_row(cached: Sequence[Any] | Mapping[str, Any], row: Sequence[Any],
              columns: Sequence[str]) -> bool:  # fmt: skip
    if isinstance(cached, Mapping):
        cached = [cached.get(column, _MISSING) for column in columns]
    return len(cached) == len(row) and all(map(_same_value, cached, row))


def same_rows(cached: Sequence[Any], database: Sequence[Sequence[Any]],
              columns: Sequence[str] = ()) -> bool:  # fmt: skip
    """Whether cached rows (arrays in the query's column order, or objects by column name)
    hold the database's rows: timestamps compared as instants, whatever their spelling."""
    return len(cached) == len(database) and all(
        _same_row(c, row, columns) for c, row in zip(cached, database, strict=True)
    )
