"""Hostile files and paths (issue 26, "Hostile files"): oversized and deeply nested OpenQASM,
binary junk, huge and deeply nested TOML, profiles whose calibration path leads out of their
folder, an --out that is a symbolic link or lies inside another run, a mistyped mount path.
Each exits 2 with one line and no traceback, within 5 s, without reading a huge file whole
(peak memory grows by less than 256 MiB), and leaves the files it found as they were."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.commands.conftest import build_world, tree_hashes
from tests.commands.test_bad_inputs import run_in_process

HEAD = 'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] a;\ninput float[64] b;\n' \
       'qubit[2] q;\n'
DOUBLING = "".join(f"gate g{i} x {{ g{i - 1} x; g{i - 1} x; }}\n" for i in range(1, 40))
QASM = {  # file name -> text (bytes for junk)
    "million-gates.qasm": HEAD + "cx q[0], q[1];\n" * 10**6,
    "big-comment.qasm": HEAD + "// " + "x" * (2 << 20) + "\n",
    "many-statements.qasm": HEAD + "x q;" * 25_000,
    "deep-parens.qasm": HEAD + "rx(" + "(" * 5000 + "a" + ")" * 5000 + ") q[0];\n",
    "deep-index.qasm": HEAD + "x q[" + "[" * 500 + "0" + "]" * 500 + "];\n",
    "operator-chain.qasm": HEAD + "rx(" + "+".join(["a"] * 9000) + ") q[0];\n",
    "unary-chain.qasm": HEAD + "rx(" + "-" * 9000 + "a) q[0];\n",
    "power-tower.qasm": HEAD + "rx(((a+b+1)**8)**8) q[0];\n",
    "self-calling-gate.qasm": HEAD + "gate g x { g x; }\ng q[0];\n",
    "mutual-gates.qasm": HEAD + "gate f x { h x; }\ngate g x { f x; }\ngate f2 x { g2 x; }\n"
                         "gate g2 x { f2 x; }\nf2 q[0];\n",
    "doubling-gates.qasm": HEAD + "gate g0 x { h x; }\n" + DOUBLING + "g39 q[0];\n",
    "huge-register.qasm": "OPENQASM 3.0;\nqubit[1000000000] q;\nh q[0];\n",
    "many-registers.qasm": "OPENQASM 3.0;\n" + "".join(f"qubit[100] r{i};\n" for i in range(20)),
    "junk.qasm": bytes(range(256)) * 64,
    "nul.qasm": "\x00" * 4096,
    "utf16.qasm": "OPENQASM 3.0;\nqubit[1] q;\n".encode("utf-16"),
    "empty.qasm": "",
}
PROFILE = 'name = "{name}"\nkind = "local"\ndevice = "embedded"\ncalibration = "{cal}"\n' \
          '[limits]\nmax_qubits = 8\n'
TOML = {  # under h/providers/: profiles; under h/: configs
    "providers/dotdot.toml": PROFILE.format(name="dotdot", cal="../../../../etc/passwd"),
    "providers/dotdot-inside.toml": PROFILE.format(name="in", cal="calibration/../../../x.toml"),
    "providers/linked-out.toml": PROFILE.format(name="link", cal="calibration/linked.toml"),
    "providers/huge.toml": "# " + "x" * (2 << 20) + "\n",
    "providers/deep.toml": "a = " + "[" * 100_000 + "]" * 100_000 + "\n",
    "providers/junk.toml": bytes(range(256)) * 64,
    "huge-config.toml": 'env = "Pendulum-v1"\n' + "# padding\n" * 200_000,
    "deep-config.toml": "seed = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n",
    "junk-config.toml": bytes(reversed(range(256))) * 64,
}
SAMPLE = ["sample", "--batch", "2", "--shots", "10", "--circuit"]
GOOD = ["--config", "{w}/good.toml"]
CASES = {
    **{f"sample-{name}": [*SAMPLE, "{h}/" + name] for name in QASM},
    "sample-sparse-4gib.qasm": [*SAMPLE, "{h}/sparse.qasm"],
    "sample-qasm-folder": [*SAMPLE, "{h}"],
    "sample-qasm-fifo": [*SAMPLE, "{h}/fifo.qasm"],
    "sample-qasm-dev-zero": [*SAMPLE, "/dev/zero"],
    "sample-qasm-link-to-dev-zero": [*SAMPLE, "{h}/zero.qasm"],
    "estimate-million-gates": ["estimate", "--provider", "local", "--circuit",
                               "{h}/million-gates.qasm"],
    "compare-deep-parens": ["compare", "--providers", "local", "--circuit",
                            "{h}/deep-parens.qasm", "--out", "{h}/new-report"],
    **{f"sample-profile-{Path(n).stem}": ["sample", "--profile", "{h}/" + n]
       for n in TOML if n.startswith("providers/")},
    "sample-provider-path-dotdot": ["sample", "--provider", "{h}/providers/dotdot.toml"],
    "sample-profile-dev-zero": ["sample", "--profile", "/dev/zero"],
    "train-huge-config": ["train", "--config", "{h}/huge-config.toml", "--out", "{h}/new-run"],
    "train-deep-config": ["train", "--config", "{h}/deep-config.toml", "--out", "{h}/new-run"],
    "train-junk-config": ["train", "--config", "{h}/junk-config.toml", "--out", "{h}/new-run"],
    "train-config-dev-zero": ["train", "--config", "/dev/zero", "--out", "{h}/new-run"],
    "train-out-link-to-run": ["train", *GOOD, "--out", "{h}/link-to-run"],
    "train-out-link-to-empty": ["train", *GOOD, "--out", "{h}/link-to-empty"],
    "train-out-dangling-link": ["train", *GOOD, "--out", "{h}/dangling"],
    "train-out-inside-run": ["train", *GOOD, "--out", "{w}/goodrun/checkpoints/new"],
    "train-out-inside-linked-run": ["train", *GOOD, "--out", "{h}/link-to-run/sub"],
    "train-out-mistyped-mount": ["train", *GOOD, "--out", "/qhil-no-such-mount/run"],
    "qtrl-out-link-to-run": ["qtrl", "--env", "CartPole-v1", "--blocks", "2", "--episodes", "2",
                             "--out", "{h}/link-to-run"],
    "qtrl-out-inside-run": ["qtrl", "--env", "CartPole-v1", "--blocks", "2", "--episodes", "2",
                            "--out", "{w}/goodrun/q"],
    "compare-out-mistyped-mount": ["compare", "--providers", "local", "--qubits", "2",
                                   "--out", "/qhil-no-such-mount/report"],
}


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def build_hostile(root: Path, world: Path) -> Path:
    """The hostile files, beside (not inside) the world of ordinary ones."""
    for name, content in {**QASM, **TOML}.items():
        _write(root / name, content)
    with open(root / "sparse.qasm", "wb") as f:
        f.truncate(4 << 30)  # 4 GiB of holes: reading it whole would take 4 GiB
    os.mkfifo(root / "fifo.qasm")
    (root / "zero.qasm").symlink_to("/dev/zero")
    (root / "providers" / "calibration").mkdir()
    (root / "providers" / "calibration" / "linked.toml").symlink_to("/etc/hostname")
    (root / "empty").mkdir()
    (root / "link-to-run").symlink_to(world / "goodrun")
    (root / "link-to-empty").symlink_to(root / "empty")
    (root / "dangling").symlink_to(root / "nowhere")
    return root


def listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under root (links not followed) -> (size, mtime_ns): the big files unread."""
    return {str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    from qhil.quantum.template import CircuitTemplate

    world = build_world(tmp_path_factory.mktemp("world"))
    hostile = build_hostile(tmp_path_factory.mktemp("hostile"), world)
    CircuitTemplate.from_qasm(HEAD + "rx(a) q[0];\n")  # imports warmed: the 5 s are the file's
    return world, hostile


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_file_exits_2_in_bounded_time_and_memory(name, places, capsys, monkeypatch):
    world, hostile = places
    monkeypatch.chdir(world)
    argv = [a.replace("{w}", str(world)).replace("{h}", str(hostile)) for a in CASES[name]]
    before, seen = tree_hashes(world), listing(hostile)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    code, out, err = run_in_process(capsys, argv)
    assert time.monotonic() - start < 5.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_kib < 256 * 1024
    assert code == 2, (code, err)
    assert out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert tree_hashes(world) == before and listing(hostile) == seen


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0 or not shutil.which("mount"),
                    reason="mounting a tmpfs needs root")
@pytest.mark.parametrize("command", [["train", "--config", "{w}/good.toml"],
                                     ["compare", "--providers", "local", "--qubits", "2"]],
                         ids=lambda c: c[0])
def test_a_mistyped_folder_beside_a_mount_point_is_refused(places, tmp_path, capsys, command):
    """/mnt/dtaa/run beside the mounted /mnt/data: refused in one line, nothing created (the
    cases above cover a missing folder at the top of the file system)."""
    world, _ = places
    (tmp_path / "data").mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(tmp_path / "data")],
                      capture_output=True).returncode != 0:
        pytest.skip("this machine refuses to mount a tmpfs here")
    try:
        argv = [a.replace("{w}", str(world)) for a in command]
        code, out, err = run_in_process(capsys, [*argv, "--out", str(tmp_path / "dtaa" / "run")])
    finally:
        subprocess.run(["umount", "-l", str(tmp_path / "data")], capture_output=True)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert f"{tmp_path / 'dtaa'} does not exist" in err and "mistyped" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
