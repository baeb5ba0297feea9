"""Phase 3 on the test lab with the workload running: the dry run through `rollbook run`
(the ramp plan is shown and no flag changes; `--apply` is tested by test_rollout.py), and
its cache correctness checks against the service's real traffic, with and without the
lab's cache faults (a fill that stores a stale page, a send that does not invalidate)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import redis
from _phases_lab import dry_run_phase, flag_state, seed_flags  # noqa: F401
from test_lab import eventually, flags, metric_sum  # noqa: F401  (flags: fixture)

from rollbook.runbooks import cache
from rollbook.verdict import Status

NOTEBOOK = "03_phase3_redis_cache.ipynb"


@pytest.mark.usefixtures("seed_flags")
def test_dry_run_changes_no_flag(lab_params, tmp_path):
    dry_run_phase(NOTEBOOK, lab_params, tmp_path, ramps=2)


@pytest.fixture
def applying(lab_params):
    return lab_params.model_copy(
        update={"safety": lab_params.safety.model_copy(update={"apply": True})}
    )


@pytest.fixture
def in_effect(lab, flags):  # noqa: F811
    """Set a flag and wait until the workload uses it."""

    def set_flag(name: str, value: float) -> None:
        flags(name, value)
        eventually(
            lambda: metric_sum(lab, "chat_flag_value", name=name) == value, 10, f"{name} in effect"
        )

    return set_flag


def empty_cache(lab) -> None:
    client = redis.Redis(port=lab.layout.ports["redis"])
    for key in client.scan_iter(match="chat:*", count=1000):
        client.delete(key)


@contextmanager
def faulty(lab, in_effect, name: str):
    """A lab cache fault on every request for the block, from an empty cache (all that is
    cached is the faulty service's); then off, and the cache emptied again."""
    in_effect(name, 100)
    empty_cache(lab)
    try:
        yield
    finally:
        in_effect(name, 0)
        empty_cache(lab)


@pytest.mark.usefixtures("seed_flags")
def test_consistency_compares_the_services_entries(lab_params, applying):
    before = flag_state(lab_params)[0]
    found = cache.consistency(applying)
    (check,) = found.checks
    assert check.status is Status.PASS, check.detail
    assert found.found.compared > 0 and f"{found.found.compared} compared" in check.detail
    assert set(found.raised) == set(cache.FLAGS)
    assert flag_state(lab_params)[0] == before  # the warm-up's flags are back


@pytest.mark.usefixtures("seed_flags")
def test_consistency_fails_when_the_service_caches_wrong_values(lab, applying, in_effect):
    with faulty(lab, in_effect, "fault.cache.wrong_value_percent"):
        found = cache.consistency(applying)
    (check,) = found.checks
    assert check.status is Status.FAIL, check.detail
    assert len(found.found.mismatched) > 0 and "; chat:" in check.detail


@pytest.mark.usefixtures("seed_flags")
def test_invalidation_measured_on_the_services_sends(applying, in_effect):
    in_effect("cache.history", 100)  # the service's entries, with their TTL
    measured = cache.invalidation(applying)
    assert measured.check.status is Status.PASS, measured.check.detail
    assert len(measured.samples) > 0 and measured.samples["deleted"].all()


@pytest.mark.usefixtures("seed_flags")
def test_invalidation_fails_when_sends_do_not_invalidate(lab, applying, in_effect):
    """Pages expire by their TTL meanwhile: an expiry is not an invalidation."""
    in_effect("cache.history", 100)
    with faulty(lab, in_effect, "fault.cache.skip_invalidation_percent"):
        measured = cache.invalidation(applying)
    assert measured.check.status is Status.FAIL, measured.check.detail
    assert not measured.samples["deleted"].any()
