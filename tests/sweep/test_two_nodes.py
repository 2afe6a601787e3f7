"""`qhil sweep --address` on two Ray nodes on this machine (`ray start --head` and a second
`ray start --address`, loopback only, each with its own ports and one CPU), started and stopped
here: both nodes' CPUs schedule the sweep's trials."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sweep.test_sweep_ray import ROOT

pytest.importorskip("ray.tune")
pytestmark = pytest.mark.slow

RAY = Path(sys.executable).parent / "ray"
PORT_FLAGS = ("--node-manager-port", "--object-manager-port", "--dashboard-agent-listen-port",
              "--dashboard-agent-grpc-port", "--runtime-env-agent-port", "--metrics-export-port")


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_node(first: list[str], env: dict[str, str], own: list[int]) -> subprocess.Popen:
    """`ray start --block ...` in its own process group; returns once the node is up. `own` are
    this node's ports, taken with every other port of the test in one `free_ports` call: ports
    taken in separate calls can repeat (the first call's sockets are closed by then)."""
    ports = [f"{flag}={port}" for flag, port in zip(PORT_FLAGS, own, strict=True)]
    node = subprocess.Popen([str(RAY), "start", "--block", "--num-cpus=1", "--disable-usage-stats",
                             "--node-ip-address=127.0.0.1", *first, *ports], env=env,
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in node.stdout:
        seen.append(line)
        if "Ray runtime started" in line:
            return node
    raise AssertionError("".join(seen[-30:]))


def stop(node: subprocess.Popen) -> None:
    try:
        os.killpg(node.pid, signal.SIGTERM)
        node.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(node.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_a_sweep_runs_on_two_nodes(tiny_config, tmp_path, short_tmp):
    # Ray 2.60's head turns token authentication on; the other node and the driver present the
    # same token (~/.ray/auth_token, which the head wrote) when told to
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": short_tmp, "QHIL_QUIET": "1",
           "RAY_AUTH_MODE": "token"}
    port, client_port, *own = free_ports(2 + 2 * len(PORT_FLAGS))
    head_own, worker_own = own[:len(PORT_FLAGS)], own[len(PORT_FLAGS):]
    nodes = []
    try:
        nodes.append(start_node(["--head", f"--port={port}", "--include-dashboard=false",
                                 f"--temp-dir={short_tmp}/head",
                                 f"--ray-client-server-port={client_port}"], env, head_own))
        nodes.append(start_node([f"--address=127.0.0.1:{port}"], env, worker_own))
        out = tmp_path / "two"
        done = subprocess.run(
            [sys.executable, "-m", "qhil", "sweep", "--address", f"127.0.0.1:{port}",
             "--config", str(tiny_config()), "--grid", "block=fc,zeros", "--cpus-per-trial", "1",
             "--out", str(out)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=500)
    finally:
        for node in reversed(nodes):
            stop(node)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "at 2 trials at once" in done.stderr  # one CPU on each node: both joined
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["block=fc_seed=0", "block=zeros_seed=0"]
    assert all((p / "summary.json").is_file() for p in (out / "runs").iterdir())
