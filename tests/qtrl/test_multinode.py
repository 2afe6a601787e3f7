"""The multi-node command of docs/tutorials/qtrl.md, on one machine: two torchrun "nodes" (2 processes each) meet
through a c10d rendezvous on 127.0.0.1 and train 4 agents; only loopback addresses are used."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A free localhost TCP port for torchrun's rendezvous endpoint."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun() -> str:
    path = Path(sys.executable).with_name("torchrun")
    return str(path) if path.is_file() else shutil.which("torchrun") or pytest.skip("no torchrun")


def node(port: int, out: Path, host: bool) -> subprocess.Popen:
    """The documented line with HOST = 127.0.0.1 (and --local-addr so a node never advertises a
    non-loopback address). Both nodes run on one machine, so which one hosts the rendezvous
    store is said (`is_host`), not guessed from the hostname by both; a rendezvous that cannot
    meet fails within a minute instead of waiting out torch's 10-minute default."""
    conf = f"is_host={int(host)},join_timeout=60,read_timeout=30"
    cmd = [torchrun(), "--nnodes", "2", "--nproc-per-node", "2", "--rdzv-backend", "c10d",
           "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-conf", conf, "--local-addr", "127.0.0.1",
           "-m", "qhil", "qtrl", "--agents", "4", "--env", "CartPole-v1", "--blocks", "2",
           "--episodes", "3", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GLOO_SOCKET_IFNAME": "lo"}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_store(port: int, host: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Until the host node's c10d store accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and host.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            return
        except OSError:
            time.sleep(0.2)


def finish(nodes: list[subprocess.Popen], timeout_s: float = 300.0) -> list[tuple[str, str]]:
    """Every node's (stdout, stderr); a node still running at the deadline fails the test with
    both nodes' stderr (torchrun's exit barrier waits 300 s for a node whose worker died)."""
    deadline = time.monotonic() + timeout_s
    try:
        return [n.communicate(timeout=max(1.0, deadline - time.monotonic())) for n in nodes]
    except subprocess.TimeoutExpired:
        for n in nodes:
            n.kill()
        logs = [n.communicate()[1][-3000:] for n in nodes]
        pytest.fail(f"a node did not finish in {timeout_s:.0f} s; stderr of each: {logs}")


def test_two_torchrun_nodes_train_four_agents_over_loopback(tmp_path):
    out = tmp_path / "run"
    port = free_port()
    host = node(port, out, host=True)
    wait_for_store(port, host)  # the other node's store client would fail on a refused connection
    nodes = [host, node(port, out, host=False)]
    logs = finish(nodes)
    assert [n.returncode for n in nodes] == [0, 0], [err[-2000:] for _, err in logs]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["agents"] == 4 and summary["episodes"] == 3 and summary["episodes_total"] == 12
    assert summary["params_identical_across_agents"] is True
    agents = [json.loads((out / "agents" / f"rank-{r}.json").read_text()) for r in range(4)]
    assert sorted(a["node"]["GROUP_RANK"] for a in agents) == ["0", "0", "1", "1"]
    assert all(socket.gethostbyname(a["node"]["MASTER_ADDR"]).startswith("127.") for a in agents)
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [len(r["returns"]) for r in rows] == [4, 4, 4]
