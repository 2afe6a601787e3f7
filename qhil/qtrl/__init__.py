"""Quantum-Train RL (Dist-QTRL): a PQC generates the weights of a classical policy; N agents on
torch.distributed average their REINFORCE gradients.

    generator.py   QT model: U3 + CU3-ring PQC -> basis probabilities -> mapping MLP -> policy weights
    circuit.py     the same PQC as a provider SamplingRequest (hardware-in-the-loop p_i from shots)
    spending.py    the run's Dispatcher, ledger and budget share per agent (--provider runs)
    envs.py        MiniGrid-Empty-5x5-v0 and CartPole-v1 with flat observations
    reinforce.py   episode rollout, discounted returns, the REINFORCE loss (the maths only)
    agent.py       one agent's training loop (act, generate, update, all_reduce, checkpoint)
    launch.py      N local agent processes (spawn + a watching parent) or torchrun
    runfolder.py   config.toml, metrics.jsonl, summary.json, checkpoints/, returns.png
"""
