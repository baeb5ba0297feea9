"""Everything `rollbook run` rejects before a kernel starts."""

from pathlib import Path

import nbformat
import pytest

from rollbook.runner.inputs import BadInput, notebook_parameters, parse_overrides

PROBE = Path(__file__).parents[1] / "runner_notebooks" / "probe.ipynb"
DECLARED = {"params_file": "p.yaml", "apply": False, "latency_ms": 5.0, "charts": 2, "crash": ""}


def test_declared_parameters_come_from_the_parameters_cell():
    declared = notebook_parameters(PROBE)
    assert declared["apply"] is False
    assert declared["latency_ms"] == 5.0
    assert declared["charts"] == 2
    assert declared["crash"] == ""


def test_overrides_are_typed_like_their_default():
    typed = parse_overrides(["latency_ms=12", "charts=3", "crash=kill"], DECLARED)
    assert typed == {"latency_ms": 12.0, "charts": 3, "crash": "kill"}
    assert isinstance(typed["latency_ms"], float)


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("latency=3", "does not declare it"),
        ("charts=many", "expected int like the default 2"),
        ("latency_ms", "write it as name=value"),
        ("apply=true", "--apply"),
        ("params_file=x.yaml", "--params"),
        ("db_password=x", "never pass a secret"),
    ],
)
def test_bad_overrides_name_the_problem(pair, message):
    with pytest.raises(BadInput, match=message):
        parse_overrides([pair], DECLARED)


def test_boolean_override_accepts_words():
    declared = {**DECLARED, "verbose": False}
    assert parse_overrides(["verbose=yes"], declared) == {"verbose": True}
    with pytest.raises(BadInput, match="expected bool"):
        parse_overrides(["verbose=maybe"], declared)


def test_missing_notebook_and_missing_parameters_cell(tmp_path):
    with pytest.raises(BadInput, match="no such notebook"):
        notebook_parameters(tmp_path / "absent.ipynb")
    plain = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), plain)
    with pytest.raises(BadInput, match="no code cell tagged 'parameters'"):
        notebook_parameters(plain)


def test_parameters_cell_must_declare_params_file_and_apply(tmp_path):
    cell = nbformat.v4.new_code_cell("threshold = 3", metadata={"tags": ["parameters"]})
    path = tmp_path / "partial.ipynb"
    kernel = {"kernelspec": {"name": "rollbook", "display_name": "rollbook", "language": "python"}}
    nbformat.write(nbformat.v4.new_notebook(cells=[cell], metadata=kernel), path)
    with pytest.raises(BadInput, match="must declare params_file, apply"):
        notebook_parameters(path)
