"""The cache contract without services: key templates, the reference layout's spelling,
value encodings and row comparison, the reader on a Redis stand-in (entries found by their
templates, rows by serializer or function, the probe's mark), and the `cache:` params."""

from __future__ import annotations

import fnmatch
import json
import random
import textwrap
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from rollbook.cache.contract import (
    HISTORY_KEY,
    NEXT_PAGE_FIELD,
    PROBE_FIELD,
    CacheFormatError,
    Template,
    TemplateError,
    conversations_key,
    decode,
    encode_rows,
    history_field,
    history_key,
    same_rows,
)
from rollbook.cache.params import CacheParams, CacheParamsError
from rollbook.cache.reader import PROBE_TTL_SECONDS, CacheReader, Entry
from rollbook.cli import main
from rollbook.params import Params
from rollbook.runbooks import correctness

AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
# The named queries' example values (what `queries:` gives the reader).
QUERIES = {
    "history_first_page": {"conversation_id": 1},
    "history_next_page": {"conversation_id": 1, "before_created_at": "2026-01-01", "before_id": 9},
    "conversation_list": {"user_id": 23},
}


def test_the_reference_layout_spells_the_workloads_keys():
    assert history_key(42) == "chat:history:42"
    assert conversations_key(7) == "chat:conversations:7"
    assert history_field(None) == "first"
    assert history_field((AT, 5)) == f"{AT.isoformat()}|5"


def test_a_template_parses_back_what_it_formats():
    field = history_field((AT, 5))
    assert NEXT_PAGE_FIELD.parse(field) == {"before_created_at": AT.isoformat(), "before_id": "5"}
    assert HISTORY_KEY.parse("chat:history:42") == {"conversation_id": "42"}
    assert HISTORY_KEY.parse("chat:conversations:42") is None
    assert NEXT_PAGE_FIELD.parse("first") is None


def test_a_template_scans_for_its_keys_with_glob_characters_escaped():
    assert HISTORY_KEY.glob() == "chat:history:*"
    assert Template("page[{id}]*").glob() == r"page\[*\]\*"
    assert Template("{{tag}}:{id}").format(id=3) == "{tag}:3"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{a}{b}", "two placeholders need text between them"),
        ("x:{id:>5}", "takes no format spec"),
        ("x:{0}", "is not a parameter name"),
        ("x:{id", "expected '}'"),
        ("{id}:{id}", "appears twice"),
    ],
)
def test_a_template_that_cannot_be_read_back_is_refused(text, why):
    with pytest.raises(TemplateError, match=why):
        Template(text)


def test_rows_round_trip_through_json_rows():
    rows = [(2, 7, "hello", AT), (1, 8, "hi", AT - timedelta(seconds=1))]
    stored = encode_rows(rows)
    assert json.loads(stored)[0] == [2, 7, "hello", AT.isoformat()]
    assert same_rows(decode("json-rows", stored, "k"), rows)
    assert not same_rows(decode("json-rows", stored, "k"), rows[:1])


def test_timestamps_compare_as_instants_and_objects_by_column_name():
    paris = timezone(timedelta(hours=1))
    cached = [{"body": "hello", "id": 2, "created_at": AT.astimezone(paris).isoformat()}]
    columns = ["id", "body", "created_at"]
    assert same_rows(cached, [(2, "hello", AT)], columns)
    assert not same_rows(cached, [(2, "hello", AT + timedelta(microseconds=1))], columns)
    assert not same_rows([{"id": 2, "body": "hello"}], [(2, "hello", AT)], columns)


def test_a_value_in_another_encoding_names_where_it_is():
    with pytest.raises(CacheFormatError, match="chat:history:1 first: not json-objects"):
        decode("json-objects", encode_rows([(1, AT)]), "chat:history:1 first")
    with pytest.raises(CacheFormatError, match="not json-rows"):
        decode("json-rows", b"\x80gzip", "k")


class FakeRedis:
    """The few Redis commands the reader uses, on dicts (strings: bytes, hashes: dicts)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes | dict[str, bytes]] = {}
        self.ttls: dict[str, int] = {}

    def pipeline(self, transaction: bool = True) -> FakePipeline:
        return FakePipeline(self)

    def scan_iter(self, match: str, count: int) -> list[bytes]:
        return [k.encode() for k in self.data if fnmatch.fnmatchcase(k, match)]

    def set(self, key: str, value: str) -> None:
        self.data[key] = value.encode()

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def hset(self, key: str, field: str, value: str) -> None:
        self.data.setdefault(key, {})[field] = value.encode()

    def hget(self, key: str, field: str) -> bytes | None:
        return self.data.get(key, {}).get(field)

    def hkeys(self, key: str) -> list[bytes]:
        return [f.encode() for f in self.data.get(key, {})]

    def hexists(self, key: str, field: str) -> bool:
        return field in self.data.get(key, {})

    def hdel(self, key: str, field: str) -> None:
        self.data.get(key, {}).pop(field, None)

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def pttl(self, key: str) -> int:
        return self.ttls.get(key, -1) if key in self.data else -2

    def expire(self, key: str, seconds: int) -> None:
        self.ttls[key] = seconds * 1000


class FakePipeline:
    def __init__(self, redis: FakeRedis) -> None:
        self.redis, self.calls = redis, []

    def __enter__(self) -> FakePipeline:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def __getattr__(self, name: str):
        def queue(*args):
            self.calls.append((name, args))
            return self

        return queue

    def execute(self) -> list:
        return [getattr(self.redis, name)(*args) for name, args in self.calls]


def reference_cache() -> FakeRedis:
    client = FakeRedis()
    client.hset(history_key(1), "first", encode_rows([(2, 7, "hello", AT)]))
    client.hset(history_key(1), history_field((AT, 2)), encode_rows([(1, 8, "hi", AT)]))
    client.hset(history_key(1), PROBE_FIELD, "1")  # a checker's, not the service's
    client.set(conversations_key(23), encode_rows([(1, "general", AT)]))
    client.set("chat:conversations:not-a-number", "[]")  # not this layout's
    return client


def test_the_reader_finds_the_entries_by_their_templates():
    reader = CacheReader(CacheParams(), reference_cache(), QUERIES)
    found = {(e.query, tuple(sorted(e.args.items()))) for e in reader.entries(10)}
    assert found == {
        ("history_first_page", (("conversation_id", 1),)),
        ("history_next_page",
         (("before_created_at", AT.isoformat()), ("before_id", 2), ("conversation_id", 1))),
        ("conversation_list", (("user_id", 23),)),
    }  # fmt: skip
    assert len(reader.entries(2, random.Random(1))) == 2


def test_the_reader_decodes_rows_and_sees_an_entry_gone():
    client = reference_cache()
    reader = CacheReader(CacheParams(), client, QUERIES)
    entry = Entry("history_first_page", {"conversation_id": 1}, history_key(1), "first")
    assert reader.rows(entry) == [[2, 7, "hello", AT.isoformat()]]
    client.delete(history_key(1))
    assert reader.rows(entry) is None


def cached_rows(client, query, args):
    """A reader function, as the params name one: this one keeps rows under its own keys."""
    raw = client.get(f"rows/{query}/{json.dumps(args, sort_keys=True)}")
    return None if raw is None else json.loads(raw)["rows"]


def test_a_reader_function_replaces_the_serializer():
    client = reference_cache()
    args = {"user_id": 23}
    client.set(f"rows/conversation_list/{json.dumps(args)}", json.dumps({"rows": [[5]]}))
    section = CacheParams(reader=f"{__name__}.cached_rows")
    reader = CacheReader(section, client, QUERIES)
    (entry,) = [e for e in reader.entries(10) if e.query == "conversation_list"]
    assert reader.rows(entry) == [[5]]


def test_the_default_layout_needs_its_named_queries():
    with pytest.raises(CacheParamsError, match="entries.history_first_page: no such named query"):
        CacheReader(CacheParams(), FakeRedis(), {})


def test_the_probe_marks_a_hash_with_a_field_the_service_never_reads():
    client = FakeRedis()
    marker = CacheReader(CacheParams(), client, QUERIES).marker()
    assert marker.arm(1) == PROBE_TTL_SECONDS * 1000  # created the hash: it expires alone
    assert marker.poll([1]) == [(True, PROBE_TTL_SECONDS * 1000)]
    client.delete(history_key(1))  # the service's invalidation
    assert marker.poll([1]) == [(False, -2)]
    client.hset(history_key(1), "first", "[]")
    marker.arm(1)
    marker.disarm(1)
    assert client.hkeys(history_key(1)) == [b"first"]


def test_the_probe_watches_a_value_held_by_its_own_key():
    client = FakeRedis()
    layout = {"history_first_page": {"key": "inbox:{conversation_id}:first"}}
    marker = CacheReader(CacheParams(entries=layout), client, QUERIES).marker()
    assert marker.arm(1) is None  # nothing cached: nothing to watch yet
    client.set("inbox:1:first", "[[1]]")
    client.expire("inbox:1:first", 30)
    assert marker.arm(1) == 30_000
    assert marker.poll([1]) == [(True, 30_000)]
    client.set("inbox:1:first", "[[2], [1]]")  # deleted and filled again since
    assert marker.poll([1]) == [(False, 30_000)]
    assert client.data["inbox:1:first"] == b"[[2], [1]]"  # the service's value untouched


class Primary:
    """A connection answering every query with `rows` (columns id, body), noting each call."""

    def __init__(self, rows: list[tuple]) -> None:
        self.rows, self.calls = rows, []

    def execute(self, sql: str, args: dict):
        self.calls.append((sql, args))
        columns = [SimpleNamespace(name="id"), SimpleNamespace(name="body")]
        return SimpleNamespace(description=columns, fetchall=lambda: self.rows)


class Cached:
    """A reader whose entries hold `rows` each."""

    def __init__(self, rows: dict[str, list]) -> None:
        self.cached = rows

    def rows(self, entry: Entry) -> list | None:
        return self.cached.get(entry.key)


def test_each_entry_is_compared_with_its_named_query_run_with_its_args():
    sql = "SELECT id, body FROM messages WHERE conversation_id = %(conversation_id)s"
    params = Params(environment="unit", primary={"dbname": "chat", "user": "app"},
                    queries={"history_first_page": {"sql": sql}})  # fmt: skip
    entries = [Entry("history_first_page", {"conversation_id": c}, f"k{c}") for c in (1, 2)]
    reader = Cached({"k1": [{"id": 1, "body": "hi"}], "k2": [[1, "stale"]]})
    primary = Primary([(1, "hi")])
    found = correctness.compare_entries(reader, primary, params, entries, settle_seconds=0)
    assert (found.compared, [m["key"] for m in found.mismatched]) == (2, ["k2"])
    assert primary.calls[:2] == [(sql, {"conversation_id": 1}), (sql, {"conversation_id": 2})]


VALID = """
environment: staging
primary: {dbname: chat, user: rollbook}
queries:
  history_first_page:
    sql: SELECT id FROM messages WHERE conversation_id = %(conversation_id)s
    params: {conversation_id: 1}
  conversation_list:
    sql: SELECT id FROM conversation_members WHERE user_id = %(user_id)s
    params: {user_id: 2}
cache:
  entries:
    history_first_page: {key: "inbox:{conversation_id}:first"}
    conversation_list: {key: "inbox:users:{user_id}"}
  serializer: json-objects
"""


def check(tmp_path, text: str):
    path = tmp_path / "params.yaml"
    path.write_text(textwrap.dedent(text))
    return CliRunner().invoke(main, ["params", "check", str(path)])


def test_a_service_layout_in_the_params_passes(tmp_path):
    result = check(tmp_path, VALID)
    assert result.exit_code == 0, result.output
    reader = VALID.replace("serializer: json-objects", f"reader: {__name__}.cached_rows")
    assert check(tmp_path, reader).exit_code == 0


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (("json-objects", "msgpack"), "cache.serializer", "json-rows"),
        ((":first", ":{a}{b}"), "cache.entries.history_first_page.key", "two placeholders"),
        (("serializer: json-objects", "reader: nosuch.module.rows"), "cache.reader",
         "cannot import 'nosuch.module'"),
        (("serializer: json-objects", "serializer: json-rows\n  reader: json.loads"), "cache",
         "a serializer or a reader, not both"),
        (("history_first_page: {key", "history_last_page: {key"), "cache",
         "probe_query: 'history_first_page' is not one of the entries"),
        (("{user_id}\"}", "{user_id}\"}\n    x: {key: \"x:{id}\"}"), "cache",
         "entries.x: no such named query (known: conversation_list, history_first_page)"),
        (("inbox:users:{user_id}", "inbox:users:{user}"), "cache",
         "entries.conversation_list: the key and field must spell the query's parameters "
         "['user_id'], not ['user']"),
        (("inbox:users:{user_id}", "inbox:{conversation_id}:first\", field: \"{user_id}"),
         "cache", "entries.history_first_page and conversation_list: one key, a hash in one"),
        (("\n  serializer", "\n  probe_query: conversation_list\n  serializer"), "cache",
         "probe_query: the key of conversation_list must name {conversation_id}"),
    ],
    ids=["serializer", "template", "reader", "both", "probe-entry", "query", "parameters",
         "hash-and-string", "probe-key"],
)  # fmt: skip
def test_a_bad_cache_section_is_one_params_error_naming_the_field(tmp_path, edit, field, message):
    result = check(tmp_path, VALID.replace(*edit))
    assert result.exit_code == 2, result.output
    assert f"{field}: " in result.output
    assert message in result.output
