"""The learner on the cluster's GPU: a local Ray cluster that declares one logical GPU places the
learner actor with it; torch has no CUDA on this machine, so the learner says so and runs on the
CPU. (Real CUDA is not tested here: no GPU machine runs these tests.)"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile

import pytest

from qhil.distributed.learner import learner_device

from .conftest import run_cli


def test_a_gpu_torch_cannot_use_leaves_the_learner_on_the_cpu_and_says_why():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the GPU is used")
    placed = learner_device(["0"], "auto")
    assert placed.device == "cpu" and placed.gpu_ids == ["0"]
    assert "Ray gave the learner GPU 0 but torch cannot use it" in placed.note
    assert learner_device([], "auto").note == ""  # no GPU given: nothing to explain


@pytest.fixture
def ray_with_a_gpu():
    """Ray on this machine declaring one (logical) GPU, as a GPU node would."""
    ray = pytest.importorskip("ray")
    from qhil.sweep.cluster import worker_env

    temp = tempfile.mkdtemp(prefix="qhil-ray-")
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, _temp_dir=temp,
             log_to_driver=False, logging_level=logging.WARNING,
             runtime_env={"env_vars": worker_env()})
    yield ray
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


def test_the_learner_actor_takes_the_gpu_and_trains_on_the_cpu_it_falls_back_to(
        ray_with_a_gpu, tiny_config, tmp_path, capsys):
    import torch

    run = tmp_path / "run"
    assert run_cli(["train", "--config", str(tiny_config(steps=120)), "--out", str(run),
                    "--yes"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["learner_gpu_ids"] == ["0"]  # Ray placed the learner with the GPU
    assert summary["steps"] == 120 and summary["updates"] > 0
    if torch.cuda.is_available():
        assert summary["learner_device"] == "cuda"
        return
    assert summary["learner_device"] == "cpu"
    assert "torch cannot use it" in capsys.readouterr().err


def test_without_a_gpu_the_learner_stays_in_the_driver(tiny_config, tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("Ray finds this machine's GPU")
    run = tmp_path / "run"
    assert run_cli(["train", "--config", str(tiny_config(steps=80)), "--out", str(run),
                    "--yes"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["learner_gpu_ids"] == [] and summary["learner_device"] == "cpu"
