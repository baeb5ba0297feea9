"""The run context, resolved once by `runbook.start`: the runner's as handed in, else an
interactive run's; headless by one rule; step reports only to a runner that listens."""

from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from rollbook import run_context, runbook
from rollbook.archive.layout import OUTPUT_DIR_ENV
from rollbook.run_context import RunContext, StepReport, resolve

PARAMS = """\
environment: unit
primary: {host: 127.0.0.1, port: 5432, dbname: chat, user: chat, password: {env: UNIT_PW}}
"""


@pytest.fixture
def archive(tmp_path, monkeypatch):
    monkeypatch.setenv(OUTPUT_DIR_ENV, str(tmp_path / "outputs"))
    return tmp_path / "outputs"


@pytest.fixture
def sent(monkeypatch):
    """What the kernel sends the runner on the progress comm."""
    messages: list[dict] = []
    monkeypatch.setattr(
        run_context, "_progress_comm", lambda: SimpleNamespace(send=messages.append)
    )
    return messages


def test_the_runners_context_is_taken_as_given(tmp_path, archive):
    given = {"run_dir": str(tmp_path / "r1"), "archive_root": str(tmp_path), "headless": True}
    context = resolve({**given, "report_steps": True}, name="probe", environment="lab")
    assert context == RunContext(
        run_dir=tmp_path / "r1", archive_root=tmp_path, headless=True, report_steps=True
    )
    assert context.run_id == "r1"


def test_a_context_with_a_field_it_does_not_know_is_refused(tmp_path):
    given = {"run_dir": str(tmp_path), "archive_root": str(tmp_path), "headless": True}
    with pytest.raises(ValidationError, match="run_drectory"):
        resolve({**given, "run_drectory": "x"}, name="probe", environment="lab")


def test_outside_a_kernel_a_run_is_headless_and_interactive_in_the_default_archive(archive):
    context = resolve(None, name="00_preflight", environment="lab")
    assert context.headless is True and context.report_steps is False
    assert context.archive_root == archive
    assert context.run_dir.parent == archive / "interactive"
    assert context.run_id.split("-")[1:3] == ["00_preflight", "lab"]


def test_in_a_jupyter_kernel_without_the_runner_a_run_is_watched_live(archive, monkeypatch):
    monkeypatch.setattr("IPython.get_ipython", lambda: SimpleNamespace(kernel=object()))
    assert resolve(None, name="x", environment="lab").headless is False
    monkeypatch.setattr("IPython.get_ipython", lambda: SimpleNamespace())  # a terminal IPython
    assert resolve(None, name="x", environment="lab").headless is True


def test_steps_are_reported_only_to_a_runner_that_listens(tmp_path, sent):
    fields = {"run_dir": tmp_path, "archive_root": tmp_path, "headless": True}
    RunContext(**fields).report(StepReport("baseline", "ok", 1.0))
    assert sent == []
    RunContext(**fields, report_steps=True).report(StepReport("baseline", "ok", 1.0))
    assert sent == [
        {"name": "baseline", "status": "ok", "seconds": 1.0, "detail": "", "nested": False}
    ]


def test_each_runbook_step_is_reported_when_it_ends(tmp_path, sent):
    params_file = tmp_path / "params.yaml"
    params_file.write_text(PARAMS)
    context = {"run_dir": str(tmp_path / "run"), "archive_root": str(tmp_path)}
    rb = runbook.start(
        params_file, name="unit", context={**context, "headless": True, "report_steps": True}
    )
    with rb.step("fine"):
        pass
    with pytest.raises(ZeroDivisionError), rb.step("broken"):
        raise ZeroDivisionError("division by zero")
    assert [(m["name"], m["status"]) for m in sent] == [("fine", "ok"), ("broken", "failed")]
    assert sent[1]["detail"] == "ZeroDivisionError: division by zero"
    assert all(m["seconds"] >= 0 for m in sent)
