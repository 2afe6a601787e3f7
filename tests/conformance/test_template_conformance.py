"""Every provider runs circuit-template requests: shapes, row order, shot noise, validation."""

from __future__ import annotations

import numpy as np
import pytest

from qhil import get_provider
from qhil.quantum.request import SamplingRequest
from qhil.quantum.simulator import Simulator
from qhil.quantum.template import Angle, CircuitTemplate, CircuitTemplateError, Gate
from qhil.quantum.template_random import random_params, random_template
from tests.conformance.cases import CASES, ProviderCase
from tests.reference import assert_within_shot_noise

SHOTS = 2000


@pytest.fixture(params=CASES, ids=lambda c: c.name)
def case(request) -> ProviderCase:
    return request.param


def template_request(seed: int = 4, shots: int | None = SHOTS) -> SamplingRequest:
    """Two random 3-qubit templates over the one- and two-qubit gates, rows interleaved (a
    three-qubit gate routes into so many two-qubit gates on a line that the noisy Torino twins
    leave their 0.2 allowance; three-qubit gates are checked on ideal backends elsewhere)."""
    rng = np.random.default_rng(seed)
    first = random_template(rng, 3, 14, n_params=4, max_arity=2)
    second = random_template(rng, 3, 10, n_params=4, max_arity=2)
    params = random_params(rng, first, 5)
    return SamplingRequest.from_templates([first, second], params, shots, seed=3,
                                          template_index=np.array([0, 1, 1, 0, 1]))


def exact(request: SamplingRequest) -> np.ndarray:
    import torch

    sim = Simulator(precision="complex128")
    out = np.zeros((request.batch_size, request.n_qubits))
    for index, template in enumerate(request.templates):
        rows = np.flatnonzero(request.template_index == index)
        out[rows] = sim.marginals(template, torch.from_numpy(request.params[rows])).numpy()
    return out


def test_template_request_marginals_within_shot_noise_in_row_order(case, seeded_braket):
    request = template_request()
    with get_provider(case.name) as provider:
        result = provider.submit(request).result(timeout_s=600)
    assert result.marginals.shape == (5, 3)
    assert_within_shot_noise(result.marginals, exact(request), SHOTS, slack=case.noise_tolerance)
    if result.counts is not None:
        assert all(sum(c.values()) == SHOTS for c in result.counts)


def test_template_wider_than_the_device_is_refused_before_running(case):
    with get_provider(case.name) as provider:
        wide = CircuitTemplate(provider.capabilities().max_qubits + 1,
                               [Gate("h", (0,))], n_params=0)
        request = SamplingRequest.from_templates(wide, np.zeros((1, 0)), SHOTS)
        with pytest.raises(Exception, match="qubits requested"):
            provider.submit(request)


@pytest.mark.parametrize("name", ["local", "aer", "braket-local"])
def test_exact_template_marginals(name):
    request = template_request(shots=None)
    with get_provider(name) as provider:
        result = provider.submit(request).result(timeout_s=600)
    np.testing.assert_allclose(result.marginals, exact(request), atol=1e-5)


def test_request_validation_names_the_mistake():
    template = CircuitTemplate(2, [Gate("rx", (0,), (Angle(0),)), Gate("cx", (0, 1))])
    with pytest.raises(CircuitTemplateError, match="takes 1 parameters"):
        SamplingRequest.from_templates(template, np.zeros((3, 2)), 100)
    other = CircuitTemplate(3, [Gate("rx", (0,), (Angle(0),))])
    with pytest.raises(Exception, match="share their number of qubits"):
        SamplingRequest.from_templates([template, other], np.zeros((2, 1)), 100,
                                       template_index=np.array([0, 1]))
    with pytest.raises(Exception, match="template_index"):
        SamplingRequest.from_templates([template, template], np.zeros((2, 1)), 100)


def test_template_request_subset_digest_and_structures():
    request = template_request()
    part = request.subset([1, 2, 4])
    assert part.batch_size == 3 and (part.template_index == 1).all()
    assert request.digest() != part.digest() and request.digest() == template_request().digest()
    assert list(request.structures().values()) == [[0, 3], [1, 2, 4]]
