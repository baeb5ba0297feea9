"""`rollbook run`: validate, execute, decide the outcome, archive, catalog."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rollbook.archive import catalog
from rollbook.archive.html import export_html
from rollbook.archive.layout import RunPaths, new_run_id
from rollbook.archive.manifest import build_manifest
from rollbook.archive.results import RunResults, write_json
from rollbook.params import Params, redacted
from rollbook.run_context import RunContext
from rollbook.runner.execute import Watch, execute
from rollbook.runner.inputs import (
    find_notebook,
    notebook_parameters,
    parse_overrides,
    validated_params,
)
from rollbook.runner.outcome import EXIT_CODES, Outcome, banner_markup, decide, insert_banner


@dataclass(frozen=True)
class RunRequest:
    """A validated request: nothing here can fail once the kernel has started."""

    notebook: Path
    params_file: Path
    params: Params
    overrides: dict[str, Any]
    apply: bool
    output_dir: Path

    def parameters(self, context: RunContext) -> dict[str, Any]:
        """What papermill injects: the params file *path*, the mode, the run context, plain
        overrides."""
        return {
            "params_file": str(self.params_file),
            "apply": self.apply,
            "run_context": context.model_dump(mode="json"),
            **self.overrides,
        }


@dataclass
class RunReport:
    run_id: str
    outcome: Outcome
    reason: str
    paths: RunPaths
    results: RunResults = field(default_factory=RunResults)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]


def prepare(
    notebook: Path, params_file: Path, overrides: list[str], apply: bool, output_dir: Path
) -> RunRequest:
    """Validate everything before a kernel starts; raises BadInput (exit code 2)."""
    notebook = find_notebook(notebook)
    declared = notebook_parameters(notebook)
    typed = parse_overrides(overrides, declared)
    params_file = Path(params_file).absolute()
    params = validated_params(params_file)
    return RunRequest(notebook, params_file, params, typed, apply, Path(output_dir).absolute())


def _results_or_placeholder(request: RunRequest, paths: RunPaths) -> RunResults:
    """results.json as the kernel left it, or an empty one if it never wrote it."""
    results = RunResults.read(paths.results)
    if results is None:
        results = RunResults(
            runbook=request.notebook.stem,
            environment=request.params.environment,
            apply=request.apply,
        )
        results.write(paths.results)
    return results


def run(request: RunRequest, watch: Watch | None = None) -> RunReport:
    """Execute the notebook and archive the run; the report carries the exit code. `watch`:
    how a person follows it (default: nobody; the cell log is in the run's `run.log`)."""
    started_at = datetime.now(UTC)
    run_id = new_run_id(request.notebook.stem, request.params.environment, started_at)
    paths = RunPaths(request.output_dir / run_id)
    paths.dir.mkdir(parents=True)
    context = RunContext(
        run_dir=paths.dir, archive_root=request.output_dir, headless=True, report_steps=True
    )
    parameters = request.parameters(context)
    execution = execute(request.notebook, paths.notebook, parameters, paths.log, watch or Watch())
    results = _results_or_placeholder(request, paths)
    outcome, reason = decide(execution, results, paths.notebook)
    report = RunReport(run_id, outcome, reason, paths, results)
    insert_banner(
        paths.notebook, banner_markup(outcome, reason, apply=request.apply, run_id=run_id)
    )
    shown_params = redacted(request.params)
    export_html(paths.notebook, paths.html, shown_params)
    manifest = build_manifest(
        run_id=run_id,
        notebook=request.notebook,
        params_file=request.params_file,
        redacted_params=shown_params,
        overrides=request.overrides,
        apply=request.apply,
        started_at=started_at,
        ended_at=datetime.now(UTC),
        outcome=outcome.value,
        reason=reason,
        exit_code=report.exit_code,
        files=paths.files(),
    )
    write_json(paths.manifest, manifest)
    catalog.record(request.output_dir, paths.dir)
    return report
