"""rollbook installed from a wheel, away from the checkout: the sdist is built from the
checkout and the wheel from the sdist (setuptools' PEP 517 hooks, as a release would,
offline), the wheel is installed (not editable) into a fresh virtualenv, and from a folder
outside the checkout `rollbook --help`, `rollbook params check` and two runbooks on the
test lab run with the installed package, in the CLI and in the kernel.

The virtualenv borrows this environment's dependencies through a .pth file holding a plain
path (which does not activate the editable install of rollbook there), and their Jupyter
data files (nbconvert's templates; not this environment's kernelspecs) through symlinks:
nothing is downloaded, and the only rollbook it can import is the wheel's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = REPO / "tests" / "runner_notebooks" / "installed_package.ipynb"
# What would let the checkout in: its lib on the path, kernelspecs of other environments.
NOT_INHERITED = ("PYTHONPATH", "JUPYTER_PATH", "VIRTUAL_ENV")


@dataclass(frozen=True)
class Installed:
    venv: Path
    work: Path  # the folder outside the checkout the commands run from
    env: dict[str, str]

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(self, *args: str | Path, **env: str) -> subprocess.CompletedProcess:
        """A command of the virtualenv (`rollbook`, `python`) run from the work folder."""
        command = [str(self.venv / "bin" / str(args[0])), *map(str, args[1:])]
        return subprocess.run(
            command, cwd=self.work, env={**self.env, **env}, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip

    def rollbook(self, *args: str | Path, **env: str) -> subprocess.CompletedProcess:
        return self.run("rollbook", *args, **env)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    return {**env, **extra}


def _build(hook: str, source: Path, dist: Path, suffix: str) -> Path:
    """Run setuptools' PEP 517 `hook` in `source`; the file it wrote into `dist`."""
    code = f"from setuptools import build_meta; build_meta.{hook}({str(dist)!r})"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=source, env=_clean_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    (built,) = dist.glob(f"*{suffix}")
    return built


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    assert not root.is_relative_to(REPO)
    sdist = _build("build_sdist", REPO, root / "sdist", ".tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(root / "src", filter="data")
    source = root / "src" / sdist.name.removesuffix(".tar.gz")
    wheel = _build("build_wheel", source, root / "dist", ".whl")

    venv = root / "venv"
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    (Path(purelib.stdout.strip()) / "_dependencies.pth").write_text(sysconfig.get_path("purelib"))
    jupyter_data = venv / "share" / "jupyter"
    jupyter_data.mkdir(parents=True)
    for data in (Path(sys.prefix) / "share" / "jupyter").iterdir():
        if data.name != "kernels":
            (jupyter_data / data.name).symlink_to(data)
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    options = ["--no-deps", "--no-index", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "install", *options, str(wheel)], check=True, env=_clean_env())

    work = root / "work"
    work.mkdir()
    env = _clean_env(
        PATH=os.pathsep.join([str(venv / "bin"), os.environ["PATH"]]),
        JUPYTER_DATA_DIR=str(root / "jupyter"),  # no user-level kernelspec either
    )
    return Installed(venv, work, env)


def test_the_installed_package_is_what_imports_and_ships_its_files(installed):
    code = (
        "import json, rollbook, rollbook.resources as r;"
        "print(json.dumps([rollbook.__file__, str(r.data_dir()), str(r.checkout())]))"
    )
    done = installed.run("python", "-c", code)
    assert done.returncode == 0, done.stderr
    module, data, checkout = json.loads(done.stdout)
    package = Path(module).parent
    assert package.is_relative_to(installed.venv), module
    assert Path(data) == package / "_data" and checkout == "None"
    shipped = installed.rollbook("files")
    assert shipped.returncode == 0, shipped.stderr
    folders = dict(line.split(maxsplit=1) for line in shipped.stdout.splitlines())
    assert folders == {
        name: str(package / "_data" / name)
        for name in ("notebooks", "migrations", "monitoring", "params")
    }
    assert (package / "_data" / "notebooks" / "00_preflight.ipynb").is_file()
    assert (package / "_data" / "monitoring" / "prometheus" / "alerts.rules.yml").is_file()
    assert (package / "_data" / "migrations" / "02-keyset-pagination-indexes.sql").is_file()


def test_help_and_params_check_from_outside_the_checkout(installed):
    done = installed.rollbook("--help")
    assert done.returncode == 0, done.stderr
    commands = done.stdout.partition("Commands:")[2].splitlines()
    assert {"files", "params", "run"} <= {line.split()[0] for line in commands if line.strip()}
    params = Path(installed.rollbook("files", "params").stdout.strip())
    checked = installed.rollbook("params", "check", params / "production.example.yaml")
    assert checked.returncode == 0, checked.stderr
    assert "is valid" in checked.stderr and "environment: production" in checked.stdout


def _run(installed: Installed, lab, notebook: str | Path, out: Path) -> tuple[Path, dict]:
    """`rollbook run` on the test lab with the wheel's lab params; run folder and results."""
    params = Path(installed.rollbook("files", "params").stdout.strip()) / "lab.yaml"
    args = ["run", notebook, "--params", params, "--output-dir", out]
    done = installed.rollbook(*args, ROLLBOOK_LAB_DIR=str(lab.layout.dir))
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    run_dir = Path(done.stdout.strip().splitlines()[-1].removeprefix("archived in "))
    return run_dir, json.loads((run_dir / "results.json").read_text())


def test_a_shipped_runbook_runs_by_name_on_the_test_lab(installed, lab, tmp_path):
    run_dir, results = _run(installed, lab, "explain_explorer", tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert Path(manifest["notebook"]).is_relative_to(installed.venv), manifest["notebook"]
    assert results["verdict"] == "passed" and results["data"]["summary"]


def test_the_kernel_imports_the_installed_package(installed, lab, tmp_path):
    probe = shutil.copy(PROBE, installed.work)  # the kernel starts in the notebook's folder
    _, results = _run(installed, lab, probe, tmp_path)
    assert results["verdict"] == "passed", results["checks"]
    assert Path(results["data"]["rollbook"]).is_relative_to(installed.venv)
    assert results["data"]["python"] == str(installed.python)
