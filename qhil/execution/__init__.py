"""Execution layer: the provider contract, jobs, results and provider lookup."""

from qhil.execution.job import FutureJob, Job, JobMetrics, JobStatus, JobTimings, SamplingResult
from qhil.execution.provider import Availability, Capabilities, Provider
from qhil.execution.registry import get_provider, list_profiles
from qhil.quantum.request import SamplingRequest

__all__ = [
    "Availability", "Capabilities", "FutureJob", "Job", "JobMetrics", "JobStatus", "JobTimings",
    "Provider", "SamplingRequest", "SamplingResult", "get_provider", "list_profiles",
]
