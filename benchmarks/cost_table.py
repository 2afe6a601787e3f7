"""The README's example table: a training config's cost on several devices, per method.

Every figure comes from the devices' calibration snapshots (calibration/*.toml) through
`qhil.cost.estimate`; nothing is timed. Writes benchmarks/results/cost_table.json and .md.

    .venv/bin/python benchmarks/cost_table.py [--config configs/humanoid.toml]
        [--providers ibm-torino,braket-iqm-garnet,braket-ionq-forte]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import results_dir  # noqa: E402  (benchmarks/ is on sys.path)

from qhil.config import find_profile  # noqa: E402
from qhil.cost import DeviceModel, Workload, estimate  # noqa: E402
from qhil.cost.report import human_s, usd  # noqa: E402

RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)


def row(name: str, workload: Workload) -> dict:
    device = DeviceModel.from_profile(find_profile(name))
    result = estimate(workload, device)
    return {"provider": name, "pricing": device.pricing.model, **result.to_json()}


def markdown(rows: list[dict], config: str, workload: Workload) -> str:
    w = workload
    lines = [f"Workload of `{config}`: {w.n_qubits} qubits x {w.n_layers} layers ({w.entangler}), "
             f"batch {w.batch_size}, {w.shots} shots, {w.env_steps:,} exploration jobs x "
             f"{w.num_envs} circuits, {w.updates:,} updates (actor every {w.policy_delay}), "
             f"{w.eval_steps:,} evaluation steps.", "",
             "| device | billing | qtDNN: jobs | qtDNN: QPU time | qtDNN: wall | qtDNN: cost | "
             "param.-shift: QPU s / update | param.-shift: wall | param.-shift: cost | "
             "SPSA: wall | SPSA: cost |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        q, p, s = r["qtdnn"], r["parameter_shift"], r["spsa"]
        lines.append(
            f"| {r['provider']} | {r['pricing']} | {q['jobs']:,} | {human_s(q['qpu_s'])} | "
            f"{human_s(q['wall_s'])} | {usd(_d(q['cost_usd']))} | "
            f"{p['per_update']['qpu_s']:.3g} | {human_s(p['wall_s'])} | {usd(_d(p['cost_usd']))} | "
            f"{human_s(s['wall_s'])} | {usd(_d(s['cost_usd']))} |")
    return "\n".join(lines) + "\n"


def _d(text: str):
    from decimal import Decimal

    return Decimal(text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="configs/humanoid.toml")
    p.add_argument("--providers", default="ibm-torino,braket-iqm-garnet,braket-ionq-forte")
    p.add_argument("--name", default="cost_table")
    args = p.parse_args()
    workload = Workload.from_train_config(args.config)
    rows = [row(name, workload) for name in args.providers.split(",")]
    text = markdown(rows, args.config, workload)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(
        {"config": args.config, "workload": workload.to_json(), "rows": rows}, indent=2))
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
