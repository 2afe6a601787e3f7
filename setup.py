"""The wheel's build step that pyproject.toml cannot say: the top-level `providers/` and
`calibration/` folders (the design card's layout, where users read and copy device profiles)
are copied into the package as `qhil/data/providers` and `qhil/data/calibration`, so an
installed qhil finds them where `qhil.config.DATA_ROOT` looks. Everything else is in
pyproject.toml."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("providers", "calibration")


class BuildWithProfiles(build_py):
    """build_py, then the shipped profiles and snapshots into the package's data folder."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the folders in place
        root = Path(__file__).resolve().parent
        for folder in SHIPPED:
            target = Path(self.build_lib) / "qhil" / "data" / folder
            self.mkpath(str(target))
            for path in sorted((root / folder).glob("*.toml")):
                self.copy_file(str(path), str(target / path.name))


setup(cmdclass={"build_py": BuildWithProfiles})
