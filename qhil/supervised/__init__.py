"""Supervised hDQNN: PreDNN -> QuantumLayer -> PostDNN classifiers (see digits.py)."""
