"""The `cache:` params section: where the service caches each named query's rows, and how to
read them (the contract of `rollbook.cache.contract`). Absent: the reference layout.

```yaml
cache:
  entries:                 # named query (under `queries:`) -> where its rows are cached
    history_first_page: {key: "inbox:{conversation_id}:first"}
    history_next_page: {key: "inbox:{conversation_id}:after:{before_id}:{before_created_at}"}
    conversation_list: {key: "chat:conversations:{user_id}"}
    # a hash: {key: "chat:history:{conversation_id}", field: "first"}
  serializer: json-objects # json-rows (the reference) | json-objects
  # or, for values no serializer reads: a function (redis client, query name, args) -> rows
  # reader: mycompany.chat.cache.cached_rows
  probe_query: history_first_page   # the entry a send must delete (Phase 3's probe)
```
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Set
from typing import Any, cast

from pydantic import Field, field_validator, model_validator

from rollbook.cache.contract import (
    REFERENCE_LAYOUT,
    REFERENCE_PROBE_QUERY,
    Serializer,
    Template,
)
from rollbook.config.base import Strict
from rollbook.errors import InputError

PROBE_PARAMETER = "conversation_id"  # the probe watches the conversations sends go to


class CacheParamsError(InputError, ValueError):
    """A `cache:` section that does not fit the params' named queries (the message says how)."""


def import_function(path: str) -> Callable[..., Any]:
    """The function at dotted `path` (`package.module.function`), or ValueError saying why."""
    module_name, _, name = path.rpartition(".")
    if not module_name:
        raise ValueError(f"{path!r} is not a dotted path (package.module.function)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r}: {exc}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"{module_name!r} has no function {name!r}")
    return cast(Callable[..., Any], function)


class CachedQuery(Strict):
    """Where one named query's rows are cached: a key, and a hash field inside it (none: the
    key holds the value). `{name}` placeholders spell the query's parameters."""

    key: str = Field(min_length=1, description="key template, e.g. chat:history:{conversation_id}")
    field: str | None = Field(default=None, description="hash field template, e.g. first")

    @field_validator("key", "field")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None:
            Template(value)
        return value

    def templates(self) -> tuple[Template, Template | None]:
        return Template(self.key), (Template(self.field) if self.field is not None else None)

    def parameters(self) -> list[str]:
        return [name for t in self.templates() if t is not None for name in t.names]


def _shared_places(entries: Mapping[str, CachedQuery]) -> str | None:
    """Why two entries cannot be told apart, if they cannot: one key and field for both, or
    one key a hash (with a field) in one and a string in the other."""
    for name, entry in entries.items():
        key_names, field_names = (t.names if t else [] for t in entry.templates())
        if both := set(key_names) & set(field_names):
            return f"entries.{name}: {{{both.pop()}}} is in the key and in the field"
        for other, it in entries.items():
            if other != name and it.key == entry.key:
                if it.field == entry.field:
                    return f"entries.{name} and {other}: the same key and field"
                if (it.field is None) != (entry.field is None):
                    return f"entries.{name} and {other}: one key, a hash in one, not the other"
    return None


def _reference() -> dict[str, CachedQuery]:
    return {
        query: CachedQuery(key=key.text, field=field.text if field else None)
        for query, (key, field) in REFERENCE_LAYOUT.items()
    }


class CacheParams(Strict):
    """The service's cache layout; the defaults are the reference workload's."""

    entries: dict[str, CachedQuery] = Field(default_factory=_reference, min_length=1)
    serializer: Serializer = "json-rows"
    reader: str | None = Field(
        default=None,
        description="dotted path to a function (redis client, query name, args) -> the cached "
        "rows or None; reads values instead of the serializer",
    )
    probe_query: str = Field(
        default=REFERENCE_PROBE_QUERY,
        description="the entry a send to its conversation deletes; its key names only "
        f"{{{PROBE_PARAMETER}}}",
    )

    @field_validator("reader")
    @classmethod
    def _importable(cls, value: str | None) -> str | None:
        if value is not None:
            import_function(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CacheParams:
        if {"serializer", "reader"} <= self.model_fields_set:
            raise ValueError("name a serializer or a reader, not both")
        for problem in (_shared_places(self.entries), self._probe_problem()):
            if problem:
                raise ValueError(problem)
        return self

    def _probe_problem(self) -> str | None:
        probe = self.entries.get(self.probe_query)
        if probe is None:
            return f"probe_query: {self.probe_query!r} is not one of the entries"
        if (names := Template(probe.key).names) != [PROBE_PARAMETER]:
            return (
                f"probe_query: the key of {self.probe_query} must name {{{PROBE_PARAMETER}}} "
                f"and nothing else, not {names}"
            )
        return None

    def check_queries(self, queries: Mapping[str, Set[str]]) -> None:
        """Each entry is a named query (`queries`: name -> its parameters) whose parameters
        its key and field spell, all of them: CacheParamsError otherwise."""
        for name, entry in self.entries.items():
            if name not in queries:
                known = ", ".join(sorted(queries)) or "none defined"
                raise CacheParamsError(f"entries.{name}: no such named query (known: {known})")
            spelled, wanted = set(entry.parameters()), set(queries[name])
            if spelled != wanted:
                raise CacheParamsError(
                    f"entries.{name}: the key and field must spell the query's parameters "
                    f"{sorted(wanted)}, not {sorted(spelled)}"
                )
