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


def free_ports(n: int, avoid: frozenset[int] = frozenset()) -> list[int]:
    """`n` distinct ports free now and not in `avoid` (ports handed out by an earlier call are
    free again once its sockets close, so a later call can repeat them unless told to avoid them)."""
    sockets, ports = [], []
    while len(ports) < n:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        if s.getsockname()[1] not in avoid:
            ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


def start_node(first: list[str], env: dict[str, str], own: list[int]) -> subprocess.Popen:
    """`ray start --block ...` in its own process group, on the ports `own`; returns once the
    node is up."""
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
    raise PortTaken("".join(seen[-30:])) if PORT_CLASH in "".join(seen) else \
        AssertionError("".join(seen[-30:]))


class PortTaken(AssertionError):
    """A port chosen free was taken before Ray bound it (another process's ephemeral port)."""


PORT_CLASH = "port number"  # Ray: "... is trying to use a port number N that is used by ..."


def start_with_retries(first: list[str], env: dict[str, str], avoid: frozenset[int],
                       tries: int = 3) -> subprocess.Popen:
    """`start_node` with fresh ports when a chosen port was taken meanwhile: free ports are only
    free until someone binds them, and Ray's own processes take ephemeral ports too."""
    for _ in range(tries - 1):
        try:
            return start_node(first, env, free_ports(len(PORT_FLAGS), avoid))
        except PortTaken:
            pass
    return start_node(first, env, free_ports(len(PORT_FLAGS), avoid))


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
    port, client_port = free_ports(2)
    named = frozenset({port, client_port})  # not bound until the head starts: avoid them
    nodes = []
    try:
        nodes.append(start_with_retries(["--head", f"--port={port}", "--include-dashboard=false",
                                          f"--temp-dir={short_tmp}/head",
                                          f"--ray-client-server-port={client_port}"], env, named))
        nodes.append(start_with_retries([f"--address=127.0.0.1:{port}"], env, named))
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
