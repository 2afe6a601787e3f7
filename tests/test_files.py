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
