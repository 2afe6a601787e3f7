"""Shared helpers of the bench_train_* scripts: run `qhil train` in a subprocess, write results."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from _results import results_dir  # noqa: E402  (benchmarks/ is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)
RUNS = ROOT / "runs" / "bench"
sys.path.insert(0, str(ROOT))


def qhil_train(out: Path, *flags: str) -> dict[str, Any]:
    """`python -m qhil train ... --out OUT --json`; returns the summary (raises on failure)."""
    if out.exists():
        import shutil
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "qhil", "train", *flags, "--out", str(out), "--json"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout)


def metrics(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines() if x]


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def write_results(name: str, data: dict[str, Any], markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown.rstrip() + "\n")
    print(markdown)


def refit_and_measure(run: Path | str, minibatches: int, measure) -> tuple[list, Any]:
    """A finished run's session restored on the CPU; on each of `minibatches` fresh minibatches
    the qtDNN is refitted as the learner would, then `measure(session, minibatch)` is called. Returns
    the measurements and the session (closed)."""
    from qhil.execution.registry import get_provider
    from qhil.rl.run import Session, open_run_dispatcher
    from qhil.rl.rundir import RunFolder

    folder = RunFolder(Path(run))
    config = folder.load_config().with_overrides(**{"loop.device": "cpu"})
    with get_provider("local") as provider:
        dispatcher = open_run_dispatcher(folder, provider, None)
        s = Session(config, folder, dispatcher)
        s.restore()
        found = []
        for _ in range(minibatches):
            batch = s.replay.sample(config.td3.batch_size, s.learner.rng, s.device)
            s.td3.qtdnn.refit(*s.learner._refit_pairs(batch), s.learner.generator)
            found.append(measure(s, batch))
        s.explorer.close()
        dispatcher.ledger.close()
    return found, s
