"""`rollbook params check`: one clear message naming the field, exit 2, secrets never shown."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollbook.cli import main

VALID = """
environment: staging
primary:
  host: 127.0.0.1
  port: 5432
  dbname: chat
  user: rollbook
  password: {env: TEST_PG_PASSWORD}
"""


def check(tmp_path: Path, text: str):
    path = tmp_path / "params.yaml"
    path.write_text(textwrap.dedent(text))
    return CliRunner().invoke(main, ["params", "check", str(path)])


def test_valid_file_prints_reference_not_value(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_PG_PASSWORD", "s3cret-value")
    result = check(tmp_path, VALID)
    assert result.exit_code == 0, result.output
    assert "TEST_PG_PASSWORD" in result.output
    assert "s3cret-value" not in result.output


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (VALID + "colour: blue\n", "colour", "unknown key"),
        (VALID.replace("port: 5432", "port: five"), "primary.port", "integer"),
        (VALID.replace("  user: rollbook\n", ""), "primary.user", "required field is missing"),
        (
            VALID.replace("{env: TEST_PG_PASSWORD}", "hunter2"),
            "primary.password",
            "literal secret is not allowed",
        ),
        (
            VALID.replace("{env: TEST_PG_PASSWORD}", "{env: A, file: /x}"),
            "primary.password",
            "exactly one",
        ),
    ],
    ids=["unknown-key", "wrong-type", "missing-field", "literal-password", "two-sources"],
)
def test_bad_params_exit_2_naming_the_field(tmp_path, text, field, message):
    result = check(tmp_path, text)
    assert result.exit_code == 2
    assert f"{field}: " in result.output
    assert message in result.output
    assert "hunter2" not in result.output


def test_unreadable_file(tmp_path):
    result = CliRunner().invoke(main, ["params", "check", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "cannot read params file" in result.output


def test_not_a_mapping(tmp_path):
    result = check(tmp_path, "- just\n- a list\n")
    assert result.exit_code == 2
    assert "must be a YAML mapping" in result.output


def test_lab_params_without_a_lab_name_the_directory(tmp_path):
    result = check(tmp_path, f"environment: lab\nlab: {{dir: {tmp_path / 'nolab'}}}\n")
    assert result.exit_code == 2
    assert "rollbook lab up --dir" in result.output
