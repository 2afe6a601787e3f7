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
    node is up. A node that did not come up is stopped (with any raylet it left running)."""
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
    stop(node)
    said = "".join(seen)
    raise (NodeFailed if any(cause in said for cause in PASSING_CAUSES) else AssertionError)(
        "".join(seen[-30:]))


class NodeFailed(AssertionError):
    """A node did not start for a cause of the moment: a port chosen free was taken before Ray
    bound it (another process's ephemeral port), or Ray's fixed 30 s wait for its raylet to
    register ran out on a loaded machine."""


# Ray: "... is trying to use a port number N that is used by ...";
# "The current node timed out during startup ..." (ray/_private/node.py, raylet_start_wait_time_s)
PASSING_CAUSES = ("port number", "timed out during startup")


def start_cluster(env: dict[str, str], short_tmp: str, tries: int = 3) -> tuple[int, list]:
    """A head and a second node on fresh ports: the head's port and the nodes. A cluster whose
    node failed for a passing cause is started again, whole (a half-started node may have
    registered with the head), up to `tries` times; the last try's error goes through."""
    for attempt in range(tries - 1):
        try:
            return start_two(env, f"{short_tmp}/head{attempt}")
        except NodeFailed:
            pass
    return start_two(env, f"{short_tmp}/head{tries - 1}")


def start_two(env: dict[str, str], head_tmp: str) -> tuple[int, list]:
    """The head (its files in `head_tmp`) and a second node; both stopped if either fails."""
    port, client_port = free_ports(2)
    named = frozenset({port, client_port})  # not bound until the head starts: avoid them
    nodes = []
    try:
        nodes.append(start_node(["--head", f"--port={port}", "--include-dashboard=false",
                                 f"--temp-dir={head_tmp}", f"--ray-client-server-port={client_port}"],
                                env, free_ports(len(PORT_FLAGS), named)))
        nodes.append(start_node([f"--address=127.0.0.1:{port}"], env,
                                free_ports(len(PORT_FLAGS), named)))
    except NodeFailed:
        for node in reversed(nodes):
            stop(node)
        raise
    return port, nodes


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
    nodes = []
    try:
        port, nodes = start_cluster(env, short_tmp)
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
