"""A chaos service's job store on disk: jobs that outlive the process that sent them.

    spool = JobSpool(directory)
    spool.save(job_id, request, token, delay_s)    when the service accepts a job
    spool.load(job_id) -> SpooledJob | None         attach by id from any process
    spool.find(token) -> job_id | None              search by the qhil_token tag
    spool.jobs() -> list[SpooledJob]                the service's own count of what it ran

Like a cloud service, the job exists apart from its client: a new process re-attaches to it. The
work itself is re-run from the stored request with its seed, so the result is the same.
Files are written to a temporary name and renamed, so a killed writer leaves no half a job.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qhil.quantum.request import SamplingRequest


@dataclass(frozen=True)
class SpooledJob:
    job_id: str
    request: SamplingRequest
    token: str | None
    delay_s: float
    request_hash: str


class JobSpool:
    """One folder, one .npz per job (request arrays) and one .json (id, token, delay); an hDQNN
    request is stored as its angles and CZ pairs, the files versions before one request kind wrote."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)

    def save(self, job_id: str, request: SamplingRequest, token: str | None, delay_s: float) -> None:
        arrays = self.dir / f"{job_id}.npz"
        hdqnn = request.hdqnn_arrays
        with open(self._tmp(arrays), "wb") as f:
            if hdqnn is not None:  # the arrays keep the hDQNN layout (OpenQASM would not)
                np.savez(f, angles=hdqnn[0], cz=hdqnn[1])
            else:
                np.savez(f, params=request.params, template_index=request.template_index)
        os.replace(self._tmp(arrays), arrays)
        templates = [] if hdqnn is not None else [t.to_qasm() for t in request.templates]
        meta = {"job_id": job_id, "token": token, "delay_s": delay_s, "shots": request.shots,
                "seed": request.seed, "request_hash": request.digest(), "templates": templates}
        path = self.dir / f"{job_id}.json"
        self._tmp(path).write_text(json.dumps(meta))
        os.replace(self._tmp(path), path)

    def load(self, job_id: str) -> SpooledJob | None:
        path = self.dir / f"{job_id}.json"
        if not path.exists() or "/" in job_id:
            return None
        meta = json.loads(path.read_text())
        with np.load(self.dir / f"{job_id}.npz") as arrays:
            request = _request(arrays, meta)
        return SpooledJob(job_id, request, meta["token"], meta["delay_s"], meta["request_hash"])

    def find(self, token: str) -> str | None:
        for path in self.dir.glob("*.json"):
            meta = json.loads(path.read_text())
            if meta["token"] == token:
                return meta["job_id"]
        return None

    def jobs(self) -> list[SpooledJob]:
        found = (self.load(p.stem) for p in sorted(self.dir.glob("*.json")))
        return [job for job in found if job is not None]

    @staticmethod
    def _tmp(path: Path) -> Path:
        return path.with_name(f".{path.name}.tmp")


def _request(arrays, meta: dict) -> SamplingRequest:
    """The stored request: hDQNN angles and CZ pairs, or templates (as OpenQASM 3) with their
    parameters."""
    if not meta.get("templates"):
        return SamplingRequest.from_hdqnn(arrays["angles"], arrays["cz"], meta["shots"], meta["seed"])
    from qhil.quantum.template import CircuitTemplate

    templates = [CircuitTemplate.from_qasm(text) for text in meta["templates"]]
    return SamplingRequest.from_templates(templates, arrays["params"], meta["shots"], meta["seed"],
                                          arrays["template_index"])

