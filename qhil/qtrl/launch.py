"""Starting the agents: in-process (1 agent), N spawned processes watched by this parent, or the
process torchrun started (multi-node through its rendezvous).

An agent that dies ends the job: the parent sees its exit at once (ProcessContext.join), ends the
other agents and raises RunInterruptedError naming the agent and the checkpoint to resume from.
Under torchrun the collective timeout (`timeout_s`) and torchrun's own worker watch do the same.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from qhil.errors import ConfigError, RunInterruptedError
from qhil.execution.budget import BudgetState
from qhil.execution.registry import get_provider
from qhil.guards import die_with_parent
from qhil.qtrl.agent import Agent
from qhil.qtrl.circuit import ShotSampler
from qhil.qtrl.config import QTRLConfig
from qhil.qtrl.runfolder import QTRLRunFolder
from qhil.qtrl.spending import open_agent_dispatcher


def under_torchrun() -> bool:
    """True when torchrun (or another env:// launcher) started this process."""
    return "TORCHELASTIC_RUN_ID" in os.environ or {"RANK", "WORLD_SIZE"} <= set(os.environ)


def run_agents(config: QTRLConfig, folder: QTRLRunFolder, limits: BudgetState | None = None) -> None:
    """Train with config.agents agents; returns when every agent finished (or all stopped at
    the budget `limits`, which covers the whole run folder)."""
    if under_torchrun():
        world = int(os.environ["WORLD_SIZE"])
        if world != config.agents:
            raise ConfigError(f"--agents {config.agents} but torchrun started {world} processes; "
                              f"pass --agents {world}")
        _agent_main(int(os.environ["RANK"]), config, str(folder.root), None, limits)
    elif config.agents == 1:
        _agent_main(0, config, str(folder.root), None, limits)
    else:
        _spawn(config, folder, limits)


def _spawn(config: QTRLConfig, folder: QTRLRunFolder, limits: BudgetState | None) -> None:
    """The agents meet through a file store in a fresh temporary folder: a TCP port picked here
    and bound later by agent 0 could be taken in between by another process (a flaky start)."""
    logging.getLogger("torch.multiprocessing.spawn").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="qhil-agents-") as meeting:
        address = (Path(meeting) / "rendezvous").as_uri()
        context = mp.start_processes(_agent_main, args=(config, str(folder.root), address, limits,
                                                        os.getpid()),
                                     nprocs=config.agents, join=False, start_method="spawn")
        _watch(context, folder)


def _watch(context, folder: QTRLRunFolder) -> None:
    """Wait for every agent; the first that dies or raises stops the rest."""
    try:
        while not context.join(timeout=1.0):
            pass
    except mp.ProcessExitedException as exc:
        raise _interrupted(folder, f"agent {exc.error_index} died (exit code {exc.exit_code})") from exc
    except mp.ProcessRaisedException as exc:
        reason = str(exc).strip().splitlines()[-1]
        raise _interrupted(folder, f"agent {exc.error_index} failed: {reason}") from exc
    finally:
        for process in context.processes:
            if process.is_alive():
                process.terminate()


def _interrupted(folder: QTRLRunFolder, what: str) -> RunInterruptedError:
    state = folder.load_checkpoint()
    where = (f"checkpoint at episode {state['episode']}" if state else "no checkpoint yet")
    return RunInterruptedError(f"{what}; the other agents were stopped; {where} in "
                               f"{folder.checkpoint.parent}; resume with: qhil qtrl --resume {folder.root}")


def _agent_main(rank: int, config: QTRLConfig, root: str, address: str | None,
                limits: BudgetState | None = None, parent_pid: int | None = None) -> None:
    """Body of one agent process (also called in-process for a single agent); a spawned agent
    (`parent_pid` given) ends when its parent does, however the parent died."""
    if parent_pid is not None:
        die_with_parent(parent_pid)
    torch.set_num_threads(1)
    world = config.agents
    if world > 1:
        _init_group(rank, world, config, address)
    provider = get_provider(config.provider) if config.provider else None
    sampler = None
    try:
        if provider is not None:
            dispatcher = open_agent_dispatcher(Path(root), provider, limits, rank, world, config.job_timeout_s)
            sampler = ShotSampler(dispatcher, config.shots, config.job_timeout_s)
        agent = Agent(config, QTRLRunFolder(root), rank, world, sampler)
        agent.write_agent_file(done=False)
        agent.train()
        if world > 1:
            dist.barrier()  # every agent has finished before any leaves
    finally:
        if sampler is not None:
            sampler.dispatcher.ledger.close()
        if provider is not None:
            provider.close()
    if parent_pid is not None and world > 1:
        exit_without_teardown(0)  # a spawned agent has nothing left to do


def exit_without_teardown(code: int) -> None:
    """End a process that joined a gloo group (a spawned agent or a torchrun worker) once its
    files are written and closed: os._exit after flushing stdout and stderr. Tearing the group
    down (destroy_process_group, or the interpreter's exit) sometimes aborted one agent with
    'terminate called without an active exception' (exit -6) after every agent had finished;
    torchrun then counted the run as failed and the other node waited out its 300 s exit
    barrier. Nothing is lost: the kernel closes the sockets and files."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def joined_group() -> bool:
    """Whether this process joined a torch.distributed group (then it must leave through
    exit_without_teardown)."""
    return dist.is_available() and dist.is_initialized()


def _init_group(rank: int, world: int, config: QTRLConfig, address: str | None) -> None:
    backend = config.backend
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", rank)) % torch.cuda.device_count())
    timeout = timedelta(seconds=config.timeout_s)
    if address is None:  # torchrun: MASTER_ADDR / MASTER_PORT from the environment
        dist.init_process_group(backend, timeout=timeout)
    else:
        dist.init_process_group(backend, init_method=address, rank=rank, world_size=world,
                                timeout=timeout)
