from decimal import Decimal

from qhil.config import tomllib  # tomllib on 3.11+, tomli on 3.10
from qhil.files import append_jsonl, read_jsonl, toml_text, write_text_atomic


def test_toml_text_round_trips_scalars_lists_decimals_and_tables():
    data = {"name": 'say "hi" \\ ok', "flag": False, "n": 3, "x": 3e-4, "skip": None,
            "sizes": [1, 2], "pricing": {"per_shot_usd": Decimal("0.00145"), "fee": Decimal("2")}}
    back = tomllib.loads(toml_text(data, header="made by a test"))
    assert back == {"name": 'say "hi" \\ ok', "flag": False, "n": 3, "x": 3e-4, "sizes": [1, 2],
                    "pricing": {"per_shot_usd": 0.00145, "fee": 2.0}}


def test_jsonl_and_atomic_writes(tmp_path):
    path = tmp_path / "m.jsonl"
    assert read_jsonl(path) == []
    append_jsonl(path, [{"a": 1}])
    append_jsonl(path, [{"a": 2}, {"b": None}])
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}, {"b": None}]
    write_text_atomic(tmp_path / "s.json", "{}")
    assert (tmp_path / "s.json").read_text() == "{}" and not list(tmp_path.glob("*.tmp"))


def test_checkpoints_are_written_as_plain_data_that_the_safe_loader_reads(tmp_path):
    """numpy values become numbers and tensors on the way in; anything else that is not plain
    data is refused before a byte is written; a state_dict keeps its type and metadata."""
    import numpy as np
    import pytest
    import torch

    from qhil.rl.checkpoints import CheckpointStore

    net = torch.nn.Linear(2, 1)
    rng = np.random.default_rng(3)
    state = {"net": net.state_dict(), "loss": np.float32(0.5), "arr": np.arange(3.0),
             "rng": rng.bit_generator.state, "torch_rng": torch.Generator().get_state(),
             "rows": [{"step": np.int64(7)}], "pair": (1, "a")}
    store = CheckpointStore(tmp_path / "checkpoints")
    store.save(state, 7)
    back = store.load()
    assert type(back["loss"]) is float and type(back["rows"][0]["step"]) is int
    assert torch.equal(back["arr"], torch.arange(3.0, dtype=torch.float64))
    assert back["net"]._metadata == net.state_dict()._metadata
    again = np.random.default_rng(0)
    again.bit_generator.state = back["rng"]
    assert again.random() == rng.random()
    with pytest.raises(TypeError, match="not plain data"):
        store.save({"bad": object()}, 8)
    assert sorted(f.name for f in store.path.iterdir()) == ["step-000000007"]
