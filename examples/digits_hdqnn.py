"""A supervised hDQNN in twenty lines: your own circuit as a torch layer, trained with qtDNN.

    python examples/digits_hdqnn.py [--gradient qtdnn|exact|parameter-shift] [--provider local]

PreDNN -> qhil.QuantumLayer (an 8-qubit circuit template, sampled on the provider with its
budget, ledger and retries) -> PostDNN, classifying scikit-learn's bundled 8x8 digits (nothing
is downloaded). With qtdnn the backward pass goes through a surrogate refitted on every batch's
(q_i, q_o) pairs, so no extra circuits are run for gradients. The building blocks live in
qhil/supervised/digits.py; swap `digits_template` for `qhil.CircuitTemplate.from_qasm(...)` or
`.from_qiskit(qc)` to use your own circuit.
"""

from __future__ import annotations

import argparse

from qhil.supervised.digits import DigitsConfig, train_digits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gradient", default="qtdnn", choices=["qtdnn", "exact", "parameter-shift"])
    parser.add_argument("--provider", default="local")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    result = train_digits(DigitsConfig(gradient=args.gradient, provider=args.provider,
                                       epochs=args.epochs))
    print(f"{args.gradient}: test accuracy {result.test_accuracy:.3f}, gradient cosine vs exact "
          f"{result.mean_grad_cosine:.2f}, {result.circuits} circuits sampled on {args.provider}")


if __name__ == "__main__":
    main()
