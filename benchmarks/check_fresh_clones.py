"""Green on every fresh clone? `make test` on N fresh clones of this repository, one after another.

    .venv/bin/python benchmarks/check_fresh_clones.py [--clones 10] [--venv PATH] [--keep]

Each clone is a `git clone` of this checkout's HEAD (committed work only) into its own temporary
folder, with `../shared` beside it (a symlink to this checkout's `../shared`, as the lead's layout
has it). The clones share one venv (`--venv`, default this checkout's `.venv`; a fresh venv per
clone would add N full pip installs): make is told the venv is set up (`make -o .venv/.installed
test BIN=VENV/bin`, so it never installs anything into it), and PYTHONPATH puts the clone's own
`qhil` first, which is checked before its tests run. Writes fresh_clones.{json,md} (runs/benchmarks/,
or benchmarks/results/ with --update-results): per clone, passed / failed / errors / skipped, wall
time and the failing tests. A failing clone's folder and make log are kept (all of them with --keep).
`make test` is run as it stands, so its `chromium` target installs Chromium once where it is
missing and make runs as root. A clone takes as long as the whole suite: run it on an idle machine.
PYTEST_ADDOPTS reaches each clone's pytest (a smoke run of the script itself: PYTEST_ADDOPTS=
"tests/test_reference.py" ... --clones 1 --results-dir /tmp/x).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import ROOT, machine_load, results_dir

RESULTS = results_dir()
COUNTS = ("passed", "failed", "errors", "skipped")


def clone(into: Path) -> Path:
    """A fresh clone of HEAD in `into`/repo, with `into`/shared beside it."""
    repo = into / "repo"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(repo)], check=True)
    shared = ROOT.parent / "shared"
    if shared.is_dir():
        (into / "shared").symlink_to(shared.resolve(), target_is_directory=True)
    return repo


def clone_env(repo: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1"}


def check_imports_clone(repo: Path, venv: Path) -> None:
    """The venv's python, run in the clone, imports the clone's qhil (not an editable install)."""
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import qhil; print(qhil.__file__)"],
                           cwd=repo, env=clone_env(repo), capture_output=True, text=True, check=True)
    if not Path(where.stdout.strip()).resolve().is_relative_to(repo.resolve()):
        raise SystemExit(f"{venv} imports qhil from {where.stdout.strip()}, not from the clone")


def make_test(repo: Path, venv: Path) -> tuple[int, str, float]:
    """`make test` in the clone with the shared venv: exit code, output, wall seconds."""
    started = time.perf_counter()
    proc = subprocess.run(["make", "-o", ".venv/.installed", "test", f"BIN={venv / 'bin'}"],
                          cwd=repo, env=clone_env(repo), capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - started


def summary_of(log: str) -> dict:
    """Counts of pytest's last summary line ("1 failed, 821 passed in 300.1s") and the failures."""
    lines = [line for line in log.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    counts = dict.fromkeys(COUNTS, 0)
    for number, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", lines[-1] if lines else ""):
        counts["errors" if word.startswith("error") else word] = int(number)
    failing = re.findall(r"^(?:FAILED|ERROR) (\S+)", log, flags=re.MULTILINE)
    return {**counts, "failing": failing}


def one_clone(index: int, venv: Path, keep: bool) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"qhil-clone-{index}-"))
    repo = clone(folder)
    check_imports_clone(repo, venv)
    code, log, wall = make_test(repo, venv)
    (folder / "make-test.log").write_text(log)
    row = {"clone": index, "exit_code": code, "green": code == 0, "wall_s": round(wall, 1),
           **summary_of(log), "folder": str(folder)}
    if row["green"] and not keep:
        shutil.rmtree(folder)
        row["folder"] = None
    return row


def markdown(rows: list[dict], data: dict) -> str:
    green = sum(r["green"] for r in rows)
    lines = ["# `make test` on fresh clones", "",
             f"Commit {data['commit']}, {len(rows)} clone(s) one after another, shared venv "
             f"`{data['venv']}` (the clone's qhil on PYTHONPATH); load average at start "
             f"{data['load_start']}, at end {data['load_end']}.", "",
             f"**{green} of {len(rows)} green.**", "",
             "| clone | result | passed | failed | errors | skipped | wall (s) | failing |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['clone']} | {'green' if r['green'] else 'RED'} | {r['passed']} | "
                     f"{r['failed']} | {r['errors']} | {r['skipped']} | {r['wall_s']} | "
                     f"{', '.join(r['failing']) or '-'} |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clones", type=int, default=10)
    p.add_argument("--venv", type=Path, default=ROOT / ".venv",
                   help="the venv every clone's tests run in (nothing is installed into it)")
    p.add_argument("--keep", action="store_true", help="keep green clones' folders too")
    args = p.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    data = {"commit": commit, "venv": str(args.venv.resolve()), "load_start": machine_load()}
    rows: list[dict] = []
    for i in range(args.clones):
        rows.append(one_clone(i + 1, args.venv.resolve(), args.keep))
        text = write_results(rows, data)
        print(text.splitlines()[-1], flush=True)
    print(text)
    return 0 if data["green"] == len(rows) else 1


def write_results(rows: list[dict], data: dict) -> str:
    """Results so far, rewritten after every clone (a session that ends midway keeps what ran)."""
    data.update(load_end=machine_load(), green=sum(r["green"] for r in rows), clones=rows)
    (RESULTS / "fresh_clones.json").write_text(json.dumps(data, indent=2) + "\n")
    text = markdown(rows, data)
    (RESULTS / "fresh_clones.md").write_text(text + "\n")
    return text


if __name__ == "__main__":
    sys.exit(main())
