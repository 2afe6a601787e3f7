"""The simulator's general kernel (quantum/sim_general.py): diagonal runs merged into one
diagonal, one-qubit runs fused per qubit group, gates fused into blocks, chunked batches and the
chained-binomial sampler, each against a gate-by-gate reference and Qiskit's Statevector."""

from __future__ import annotations

import numpy as np
import torch

from qhil.quantum import sim_general
from qhil.quantum.sim_general import BlockStep, DiagStep, FuseStep, compile_plan
from qhil.quantum.simulator import Simulator, chunk_rows
from qhil.quantum.template import Angle, CircuitTemplate, Gate
from qhil.quantum.template_gates import GATES
from tests.quantum.test_template_random import qiskit_states

SIM = Simulator(precision="complex128")
DIAGONAL = ["rz", "p", "z", "s", "sdg", "t", "tdg", "id", "cz", "cp", "crz", "rzz", "cs", "csdg",
            "ccz", "gphase"]


def gate_by_gate(template: CircuitTemplate, params: torch.Tensor) -> torch.Tensor:
    """The reference: every gate applied on its own, in order (no fusion, no merging)."""
    state = torch.zeros(params.shape[0], 2 ** template.n_qubits, dtype=torch.complex128)
    state[:, 0] = 1
    for gate in template.gates:
        mat = sim_general.gate_matrix(gate, params, torch.complex128)
        state = sim_general.apply_gate(state, mat, gate.qubits, template.n_qubits)
    return state


def random_gates(rng: np.random.Generator, names: list[str], n: int, count: int,
                 n_params: int) -> list[Gate]:
    gates = []
    for _ in range(count):
        name = names[rng.integers(len(names))]
        spec = GATES[name]
        qubits = tuple(int(q) for q in rng.choice(n, size=spec.qubits, replace=False))
        angle = lambda: Angle.poly({(int(rng.integers(n_params)),): 1.3, (): 0.2,  # noqa: E731
                                   tuple(sorted(rng.integers(n_params, size=2).tolist())): -0.7})
        gates.append(Gate(name, qubits, tuple(angle() for _ in range(spec.angles))))
    return gates


def layer(name: str, n: int) -> list[Gate]:
    return [Gate(name, (q,), (Angle.const(0.3 + q),) if GATES[name].angles else ()) for q in range(n)]


def check(template: CircuitTemplate, params: np.ndarray) -> None:
    ours = SIM.statevector(template, torch.from_numpy(params))
    assert torch.allclose(ours, gate_by_gate(template, torch.from_numpy(params)), atol=1e-10)
    assert np.abs(ours.numpy() - qiskit_states(template, params)).max() < 1e-9


def test_a_run_of_diagonal_gates_on_any_qubits_is_one_diagonal():
    rng = np.random.default_rng(3)
    n = 5
    run = random_gates(rng, DIAGONAL, n, 40, n_params=4)
    template = CircuitTemplate(n, [*layer("h", n), *run, *layer("rx", n)], n_params=4)
    plan = compile_plan(template, torch.complex128, "cpu")
    assert [type(s) for s in plan.steps] == [FuseStep, DiagStep, FuseStep]
    assert sum(len(g.angles) for g in plan.steps[1].groups) == sum(bool(g.angles) for g in run)
    check(template, rng.uniform(-3, 3, (3, 4)))


def test_a_constant_diagonal_run_is_one_cached_vector_and_a_final_run_is_skipped():
    n = 4
    ring = [Gate("cz", (q, (q + 1) % n)) for q in range(n)] + [Gate("t", (0,)), Gate("ccz", (0, 1, 2))]
    template = CircuitTemplate(n, [*layer("ry", n), *ring, *layer("rx", n), *ring], n_params=0)
    plan = compile_plan(template, torch.complex128, "cpu")
    assert plan.steps[1].groups == () and plan.steps[1].const.shape == (2 ** n,)
    assert isinstance(plan.final, DiagStep)  # not applied for probabilities
    check(template, np.zeros((2, 0)))
    probs = SIM.probabilities(template, torch.zeros(2, 0))
    state = gate_by_gate(template, torch.zeros(2, 0))
    assert torch.allclose(probs, state.abs() ** 2, atol=1e-12)


def test_one_qubit_runs_are_fused_per_qubit_group():
    rng = np.random.default_rng(5)
    n = 9
    runs = random_gates(rng, ["rx", "ry", "u3", "h", "sx", "r"], n, 60, n_params=6)
    template = CircuitTemplate(n, [*runs, Gate("cz", (0, 8)), *runs[:20]], n_params=6)
    plan = compile_plan(template, torch.complex128, "cpu")
    fused = [s for s in plan.steps if isinstance(s, FuseStep)]
    assert len(fused[0].runs) == n  # every qubit's run in one step: groups of at most 4
    assert sim_general._groups(list(range(n))) == [(0, 3), (3, 3), (6, 3)]
    assert sim_general._groups([0, 1, 4, 5, 6, 7, 8]) == [(0, 2), (4, 3), (7, 2)]
    check(template, rng.uniform(-3, 3, (3, 6)))


def test_gates_on_few_qubits_are_one_block_and_wider_ones_split():
    rng = np.random.default_rng(7)
    names = ["cx", "cy", "swap", "rxx", "cu", "ccx", "cswap", "iswap", "xx_plus_yy", "ry", "cz"]
    three = random_gates(rng, names, 3, 30, n_params=5)
    wide = [Gate(g.name, tuple(q + 3 for q in g.qubits), g.angles) for g in three]
    template = CircuitTemplate(6, [*three, *random_gates(rng, names, 6, 20, 5), *wide], n_params=5)
    plan = compile_plan(template, torch.complex128, "cpu")
    blocks = [s for s in plan.steps if isinstance(s, BlockStep)]
    assert all(len(b.qubits) <= sim_general.BLOCK_QUBITS for b in blocks)
    assert len(blocks[0].gates) >= 25  # the first 30 gates (on qubits 0-2) fused
    check(template, rng.uniform(-3, 3, (4, 5)))


def test_constant_blocks_are_built_once():
    template = CircuitTemplate(3, [Gate("h", (0,)), Gate("cx", (0, 1)), Gate("ccx", (0, 1, 2)),
                                   Gate("swap", (1, 2))], n_params=0)
    plan = compile_plan(template, torch.complex64, "cpu")
    assert all(s.const is not None for s in plan.steps if isinstance(s, BlockStep))
    check(template, np.zeros((1, 0)))


def test_exact_gradients_flow_through_diagonal_runs_blocks_and_fused_runs():
    rng = np.random.default_rng(11)
    gates = random_gates(rng, [*DIAGONAL, "rx", "u3", "cx", "crx", "rzx"], 4, 40, n_params=3)
    template = CircuitTemplate(4, [*layer("h", 4), *gates], n_params=3)
    x = torch.from_numpy(rng.uniform(-2, 2, (1, 3)))
    jac = torch.autograd.functional.jacobian(lambda p: SIM.marginals(template, p)[0], x)[:, 0]
    h = 1e-6
    for j in range(3):
        step = torch.zeros_like(x)
        step[0, j] = h
        fd = (SIM.marginals(template, x + step) - SIM.marginals(template, x - step))[0] / (2 * h)
        assert torch.allclose(jac[:, j], fd, atol=1e-6)


def test_chunked_batches_equal_row_by_row():
    rng = np.random.default_rng(13)
    n = 11
    template = CircuitTemplate(n, random_gates(rng, ["ry", "cx", "rzz", "crz", "u3"], n, 40, 4),
                               n_params=4)
    sim = Simulator(precision="complex64")
    rows = chunk_rows(n, 10**6, "complex64") + 3
    params = torch.from_numpy(rng.uniform(-3, 3, (rows, 4)))
    batched = sim.marginals(template, params)
    assert torch.allclose(batched[-2:], sim.marginals(template, params[-2:]), atol=1e-6)


def test_marginals_only_sampling_is_seeded_and_within_shot_noise():
    rng = np.random.default_rng(17)
    template = CircuitTemplate(3, random_gates(rng, ["ry", "cx", "rzz", "h"], 3, 20, 2), n_params=2)
    params = torch.from_numpy(rng.uniform(-3, 3, (64, 2)))
    draw = lambda: SIM.sample_marginals(template, params, 4000,  # noqa: E731
                                        torch.Generator().manual_seed(5))
    assert torch.equal(draw(), draw())
    exact = SIM.marginals(template, params)
    sigma = (exact * (1 - exact) / 4000).sqrt() + 1e-3
    assert ((draw() - exact).abs() <= 5 * sigma).all()


def test_row_tables_built_in_parts_give_the_same_states(monkeypatch):
    rng = np.random.default_rng(19)
    names = ["ry", "cx", "rzz", "crx", "u3", "ccx", "xx_plus_yy"]
    template = CircuitTemplate(5, random_gates(rng, names, 5, 30, 3), n_params=3)
    params = torch.from_numpy(rng.uniform(-3, 3, (7, 3)))
    whole = SIM.statevector(template, params)
    plan = compile_plan(template, torch.complex128, "cpu")
    monkeypatch.setattr(sim_general, "TABLE_ENTRIES", 2 * plan.program.row_entries)  # parts of 2
    assert torch.allclose(SIM.statevector(template, params), whole, atol=1e-12)
    assert torch.allclose(whole, gate_by_gate(template, params), atol=1e-10)
