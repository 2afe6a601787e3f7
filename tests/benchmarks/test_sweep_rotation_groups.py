"""sweep_rotation_groups: its workloads, and that it leaves the simulator's rule as shipped."""


from qhil.quantum import simulator
from tests.benchmarks.scripts import load_benchmark


def load_script():
    return load_benchmark("sweep_rotation_groups")


def test_workloads_hold_about_two_million_amplitudes_with_either_entangler():
    sweep = load_script()
    angles, cz = sweep.workload(10, "data")
    assert angles.shape == (2048, 10, 10, 2) and cz.shape == (2048, 10, 1, 2)
    angles, cz = sweep.workload(20, "ring")
    assert angles.shape == (8, 10, 20, 2) and cz.shape == (8, 10, 20, 2)
    assert cz[0, 0, -1].tolist() == [19, 0]


def test_a_timed_size_is_undone_afterwards():
    sweep = load_script()
    shipped = simulator.rotation_groups
    circuits = tuple(t[:64] for t in sweep.workload(6, "data"))
    assert sweep.median_s(6, 2, circuits, repeats=1) > 0
    assert simulator.rotation_groups is shipped
