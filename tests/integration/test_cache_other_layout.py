"""Phase 3's cache checks and the validation's, on a cache that is not the reference
workload's (`_other_cache`: string keys per page, JSON objects, timestamps in UTC+2, read by
the `json-objects` serializer or, compressed, by a reader function), named in the params'
`cache:` section: they find its entries, compare them with the database, find a wrong one,
and measure its invalidation after sends (or its absence)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _other_cache import DB, LAYOUT, OtherService, key
from _phases_lab import settled_sends
from test_lab import flags  # noqa: F401  (fixture)

from rollbook.db import session
from rollbook.params import Params, load_params
from rollbook.runbooks import cache, correctness
from rollbook.verdict import Status

LAB_PARAMS = Path(__file__).resolve().parents[2] / "params" / "lab.yaml"

READERS = {
    "serializer": {"serializer": "json-objects"},
    "reader function": {"reader": "_other_cache.cached_rows"},
}
EVERY_ENTRY = 100_000


def other_params(lab, reader: str) -> Params:
    """The lab params with the other service's Redis database and cache layout."""
    overrides = {
        "lab.dir": str(lab.layout.dir),
        "redis.db": DB,
        "cache": {"entries": LAYOUT, **READERS[reader]},
    }
    return load_params(LAB_PARAMS, overrides)


@pytest.fixture
def no_sends(lab, lab_params, flags) -> None:  # noqa: F811
    """The workload sends nothing during the test (asked for before `other`, so from before
    the fill): the other cache stays as it was filled."""
    flags("workload.rate.send", 0)
    with session(lab_params.primary, lab_params.safety, purpose="test") as conn:
        settled_sends(lab, conn)


@pytest.fixture(params=list(READERS))
def other(request, lab) -> Iterator[tuple[Params, OtherService]]:
    params = other_params(lab, request.param)
    with OtherService(params, compressed=request.param == "reader function") as service:
        yield params, service


def test_the_checks_compare_every_entry_of_another_layout(no_sends, other):
    params, service = other
    found = cache.consistency(params, sample_size=EVERY_ENTRY)
    (check,) = found.checks
    assert check.status is Status.PASS, check.detail
    assert {query for query, _ in service.filled.values()} == set(LAYOUT)
    assert found.found.compared == len(service.filled), check.detail
    (validated,) = correctness.cache_entries(params, EVERY_ENTRY).checks
    assert validated.status is Status.PASS, validated.detail
    assert f"{len(service.filled)} compared" in validated.detail


def test_a_wrong_entry_of_another_layout_is_found(no_sends, other):
    params, service = other
    wrong, (_, rows) = next((k, f) for k, f in service.filled.items() if "newest" in k)
    service.store(wrong, [{**row, "body": row["body"] + " (tampered)"} for row in rows])
    found = cache.consistency(params, sample_size=EVERY_ENTRY)
    (check,) = found.checks
    assert check.status is Status.FAIL and f"; {wrong}" in check.detail, check.detail
    section = correctness.cache_entries(params, EVERY_ENTRY)
    (validated,) = section.checks
    assert validated.status is Status.FAIL and wrong in validated.detail, validated.detail
    assert list(section.table["key"]) == [wrong]


@pytest.mark.parametrize("invalidates", [True, False], ids=["invalidates", "does-not"])
def test_the_probe_measures_another_layouts_invalidation(lab, invalidates):
    params = other_params(lab, "serializer")
    with OtherService(params, compressed=False) as service:
        service.invalidates = invalidates
        measured = cache.invalidation(params)
    assert len(measured.samples) > 0, measured.check.detail
    if invalidates:
        assert measured.check.status is Status.PASS, measured.check.detail
        assert measured.samples["deleted"].all()
    else:
        assert measured.check.status is Status.FAIL, measured.check.detail
        assert not measured.samples["deleted"].any()
    probed = measured.samples["conversation"]
    assert {key("history_first_page", conversation_id=c) for c in probed} <= set(service.filled)
