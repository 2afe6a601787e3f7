"""Today's dedicated hDQNN kernel, frozen: the baseline the one `Simulator` is timed against.

`main_kernel()` returns the class `BatchedSimulator` as it was at BASELINE (the commit before
the simulators were merged into `qhil.quantum.simulator.Simulator`), read with `git show` from
this repository's own history (simulator.py and the statevector.py arithmetic it imports,
both from that commit) and imported from a temporary folder, so the two run in one process on
the same inputs.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

BASELINE = "b64ae76ea7b9f73cefeb77850f198aa6dd7da1a4"
ROOT = Path(__file__).resolve().parent.parent
_FILES = {"frozen_statevector": "qhil/quantum/statevector.py",
          "frozen_simulator": "qhil/quantum/simulator.py"}


def main_kernel():
    """The frozen BatchedSimulator class (n_qubits, device, precision, noise)."""
    if "frozen_simulator" not in sys.modules:
        folder = Path(tempfile.mkdtemp(prefix="qhil-frozen-kernel-"))
        for name, path in _FILES.items():
            text = subprocess.run(["git", "-C", str(ROOT), "show", f"{BASELINE}:{path}"],
                                  check=True, capture_output=True, text=True).stdout
            text = text.replace("from qhil.quantum.statevector import", "from frozen_statevector import")
            (folder / f"{name}.py").write_text(text)
            _load(name, folder / f"{name}.py")
    return sys.modules["frozen_simulator"].BatchedSimulator


def _load(name: str, path: Path) -> None:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
