"""The one packaging step pyproject.toml cannot declare: the wheel carries the checkout's
runbooks, migrations, monitoring files and params files inside the package, in
`rollbook/_data/`, where `rollbook.resources` finds them (a checkout uses its own folders).
The list of shipped files is `rollbook.resources.SHIPPED`."""

import runpy
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESOURCES = runpy.run_path("lib/rollbook/resources.py")


def shipped_files() -> list[Path]:
    """The shipped files, relative to the project folder."""
    return sorted(
        path
        for folder, patterns in RESOURCES["SHIPPED"].items()
        for pattern in patterns
        for path in Path(folder).glob(pattern)
        if path.is_file()
    )


class BuildPyWithData(build_py):
    """build_py that also copies the shipped files (and lists them for the sdist)."""

    def get_source_files(self) -> list[str]:
        return [*super().get_source_files(), *map(str, shipped_files())]

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's own folders
            return
        target = Path(self.build_lib, "rollbook", RESOURCES["PACKAGED"])
        for path in shipped_files():
            self.mkpath(str((target / path).parent))
            self.copy_file(str(path), str(target / path))


setup(cmdclass={"build_py": BuildPyWithData})
