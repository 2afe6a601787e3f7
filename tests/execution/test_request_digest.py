"""Digests of hDQNN requests are those of versions with an hDQNN request kind (angles + CZ arrays),
so ledgers and run journals written by them still answer on resume and nothing is bought twice.

The hex values were recorded on main before SamplingRequest became one kind (commit b64ae76).
"""

from dataclasses import replace

import numpy as np
import pytest

from qhil.errors import RequestValidationError
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.quantum.request import SamplingRequest
from qhil.quantum.template import CircuitTemplate

RECORDED = [  # (entangler, n, L, B, shots, seed), digest, digest of subset([2, 0, 1]), structures
    (("data", 3, 2, 5, 100, 7),
     "610bdab046ed0c4d2fd611ee24102284e2c58de8bd8b77b09ead394408e1e008",
     "056a0587b3eb05503bb70b64d69658e32505d7a6531640f59743727ac6682c0d", 4),
    (("data", 4, 3, 8, None, None),
     "55eef8066f3eda70a13a62ca5d46b0d478b6e0c4b003acc725b993bee4bf5668",
     "3858f0167e2372f82fe783b2f9d11ee63e6d08a318a2116a1fce6f120d3aeb02", 8),
    (("ring", 4, 2, 6, 200, 3),
     "14c9c4418eee62caee5595b03118642264c8dad26aaeb348874143a0346ddbad",
     "1eaf937bcd1984d73f5d57c195417f5681c8c266aa9b0428894beadf8a304903", 1),
    (("chain", 3, 2, 4, 50, None),
     "6a7221ff0455e3daa0ee3d269df480a366b1d348184f10c334f56e49b5ed78cd",
     "aa538856216f420ac5856c795d527fbcc4d49a1b6c3f53285affcd442c705e53", 1),
    (("ring", 5, 3, 3, None, 11),
     "850d68cb9372af7253ae20ff1625f8d3cd564b562df69d3cd5f2468bd7b70ee7",
     "7fdf0b1184bf050d20c2e53441ba2d11fbf9bdf2632d326f7170d2fe2528a222", 1),
    (("data", 10, 10, 16, 1000, 0),
     "972f863a89df20779fc935967fd21ad046c776575bf9457bca35758844c6db4a",
     "8f182a95a9540fdb19cb270f2aced42d0cf89f767bf11c466493d6767688b72e", 16),
]


def _request(entangler, n, layers, batch, shots, seed):
    ansatz = HDQNNAnsatz(n, layers, entangler)
    controls = np.random.default_rng(n * 100 + layers).uniform(-1, 4, (batch, ansatz.control_dim))
    return ansatz.request(controls, shots, seed)


@pytest.mark.parametrize(("case", "digest", "subset_digest", "structures"), RECORDED)
def test_hdqnn_digest_is_the_one_recorded_before_one_request_kind(case, digest, subset_digest,
                                                                  structures):
    request = _request(*case)
    assert request.digest() == digest
    assert request.subset([2, 0, 1]).digest() == subset_digest
    assert len(request.structures()) == structures


def test_from_hdqnn_and_hand_built_templates_share_the_digest():
    request = _request("data", 3, 2, 5, 100, 7)
    angles, cz = request.hdqnn_arrays
    again = SamplingRequest.from_templates(
        [CircuitTemplate.from_hdqnn(3, row) for row in cz], angles.reshape(5, -1), 100, seed=7,
        template_index=np.arange(5))
    assert again.digest() == RECORDED[0][1]
    assert SamplingRequest.from_hdqnn(angles, cz, 100, seed=8).digest() != RECORDED[0][1]


def test_a_relabelled_request_is_the_same_request_with_other_tags_and_counts():
    request = _request("data", 3, 2, 5, 100, 7)
    again = request.relabelled(tags={"purpose": "explore"}, counts=False)
    assert (again.tags, again.counts, request.tags, request.counts) == (
        {"purpose": "explore"}, False, {}, True)
    assert again.digest() == request.digest() == RECORDED[0][1]
    rebuilt = replace(request, tags={"purpose": "explore"}, counts=False)  # validated anew
    for name in ("templates", "shots", "seed", "tags", "counts"):
        assert getattr(again, name) == getattr(rebuilt, name)
    np.testing.assert_array_equal(again.params, rebuilt.params)
    np.testing.assert_array_equal(again.template_index, rebuilt.template_index)
    tags = {"a": "b"}
    assert request.relabelled(tags=tags).tags is not tags  # its own copy, as replace gives


def test_template_request_digest_is_unchanged():
    template = CircuitTemplate.from_qasm(
        'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] a;\ninput float[64] b;\n'
        "qubit[2] q;\nrx(a) q[0];\nry(2*b) q[1];\ncx q[0], q[1];\n")
    params = np.arange(6, dtype=float).reshape(3, 2) / 7
    request = SamplingRequest.from_templates(template, params, 100, seed=5)
    assert request.digest() == "c7a4553f35c4f30e0124dd72d395d589bdefcd1edd6de4cec84f3977987b742e"
    assert request.hdqnn_arrays is None


def test_from_hdqnn_groups_rows_by_structure_in_first_seen_order():
    angles = np.random.default_rng(0).uniform(-1, 1, (5, 2, 3, 2))
    cz = np.zeros((5, 2, 1, 2), dtype=np.int64)
    cz[[0, 3], 0, 0] = (0, 2)
    cz[[1, 4], 1, 0] = (1, 2)  # row 2: no CZ at all
    request = SamplingRequest.from_hdqnn(angles, cz, 10)
    assert request.template_index.tolist() == [0, 1, 2, 0, 1] and len(request.templates) == 3
    assert all(t.hdqnn_layout is not None for t in request.templates)
    np.testing.assert_array_equal(request.params, angles.reshape(5, -1))
    np.testing.assert_array_equal(request.templates[1].hdqnn_layout.cz, cz[1])


def test_the_old_angles_cz_constructor_is_refused_with_the_way_to_build_it():
    with pytest.raises(RequestValidationError, match="from_hdqnn"):
        SamplingRequest(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 1, 2), dtype=int), 10)


def test_a_chaos_spool_keeps_the_hdqnn_files_of_earlier_versions(tmp_path):
    from qhil.adapters.chaos_spool import JobSpool

    request = _request("data", 3, 2, 5, 100, 7)
    spool = JobSpool(tmp_path)
    spool.save("job-1", request, "tok", 0.0)
    with np.load(tmp_path / "job-1.npz") as arrays:  # what versions with angles/cz requests wrote
        assert sorted(arrays.files) == ["angles", "cz"]
    job = spool.load("job-1")
    assert job.request_hash == job.request.digest() == RECORDED[0][1]
    assert all(t.hdqnn_layout is not None for t in job.request.templates)
