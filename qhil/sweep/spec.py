"""What a sweep asks for, parsed and checked before anything starts or is written (no Ray here).

    --seeds 0-4 | 0,2,7 | 3
    --grid block=pqc,fc            a TrainConfig key (dotted: quantum.gradient) and its values,
                                   each read as a TOML literal (1e-3, 4, true), else as text
    --param "qtdnn.lr=loguniform(1e-4,1e-2)"   searched by --search random|optuna:
                                   uniform(a,b), loguniform(a,b), randint(a,b) (b excluded),
                                   choice(x,y,...)

Each bad piece is an `argparse.ArgumentTypeError` (one line, exit 2). The parser imports this
module to build `qhil sweep --help`, so it imports nothing heavy (no numpy, no Ray).
"""

from __future__ import annotations

import argparse
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from qhil.config import tomllib
from qhil.rl.config import TrainConfig

SEARCHES = ("grid", "random", "optuna")
DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice")
OBJECTIVE = "eval_return_mean"  # what --search optuna maximises (summary.json's key)
_PARAM = re.compile(r"^\s*([\w.]+)\s*=\s*(\w+)\s*\((.*)\)\s*$")


class GridAxis(BaseModel):
    """One --grid: a config key and the values every cell takes in turn."""

    model_config = ConfigDict(frozen=True)
    key: str
    values: list[Any]


class Param(BaseModel):
    """One --param: a config key searched over a distribution."""

    model_config = ConfigDict(frozen=True)
    key: str
    kind: Literal[DISTRIBUTIONS]  # type: ignore[valid-type]
    args: list[Any]

    def bounds(self) -> list[Any]:
        """The values that bound the distribution (checked against the config; priced)."""
        if self.kind == "randint":
            return [self.args[0], self.args[1] - 1]
        return list(self.args)

    def priciest(self) -> Any:
        """The value the estimate assumes: the largest bound (a run's cost grows with it)."""
        numbers = [v for v in self.bounds() if isinstance(v, (int, float))]
        return max(numbers) if len(numbers) == len(self.bounds()) else self.bounds()[-1]


def seed_list(text: str) -> list[int]:
    """--seeds: `0-4`, `0,2,7` or `3`; a backwards range or a repeated seed is refused."""
    seeds: list[int] = []
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        low = _seed(first, text)
        high = _seed(last, text) if dash else low
        if high < low:
            raise argparse.ArgumentTypeError(
                f"seed range '{part.strip()}' runs backwards; write {high}-{low}")
        seeds += range(low, high + 1)
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"'{text}' names a seed twice")
    return seeds


def _seed(text: str, whole: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(
            f"must be seeds like 0-4 or 0,2,7 (non-negative integers), got '{whole}'")
    return int(text)


def grid_axis(text: str) -> GridAxis:
    """--grid KEY=V1,V2,...: a known config key and at least one value."""
    key, eq, values = text.partition("=")
    if not eq or not values.strip():
        raise argparse.ArgumentTypeError(f"must be KEY=V1,V2 (e.g. block=pqc,fc), got '{text}'")
    check_key(key.strip())
    return GridAxis(key=key.strip(), values=[literal(v) for v in values.split(",")])


def param(text: str) -> Param:
    """--param "KEY=KIND(ARGS)" with KIND one of DISTRIBUTIONS."""
    match = _PARAM.match(text)
    if not match or match.group(2) not in DISTRIBUTIONS:
        raise argparse.ArgumentTypeError(
            f"must be KEY=KIND(ARGS) with KIND one of {', '.join(DISTRIBUTIONS)} "
            f"(e.g. qtdnn.lr=loguniform(1e-4,1e-2)), got '{text}'")
    key, kind, args = match.group(1), match.group(2), match.group(3)
    check_key(key)
    values = [literal(a) for a in args.split(",")] if args.strip() else []
    _check_args(kind, values, text)
    return Param(key=key, kind=kind, args=values)


def _check_args(kind: str, values: list[Any], text: str) -> None:
    problem = ("" if values else "needs one value or more") if kind == "choice" \
        else _range_problem(kind, values)
    if problem:
        raise argparse.ArgumentTypeError(f"'{text}': {kind} {problem}")


def _range_problem(kind: str, values: list[Any]) -> str:
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(values) != 2 or len(numbers) != 2 or values[0] >= values[1]:
        return "needs two numbers, low < high"
    if kind == "loguniform" and values[0] <= 0:
        return "needs a low bound above 0"
    if kind == "randint" and not all(isinstance(v, int) for v in values):
        return "needs integer bounds"
    return ""


def config_keys() -> list[str]:
    """Every dotted key of TrainConfig that a sweep may set (its leaves)."""
    def leaves(data: dict[str, Any], prefix: str) -> list[str]:
        return [k for name, v in data.items()
                for k in (leaves(v, f"{prefix}{name}.") if isinstance(v, dict) else [prefix + name])]
    return leaves(TrainConfig().model_dump(), "")


def check_key(key: str) -> None:
    if key == "seed":
        raise argparse.ArgumentTypeError("seeds are swept by --seeds, not --grid or --param")
    if key not in config_keys():
        raise argparse.ArgumentTypeError(
            f"unknown config key '{key}'; use a TrainConfig field such as block, steps, "
            f"quantum.gradient or qtdnn.lr (see configs/*.toml)")


def literal(text: str) -> Any:
    """A value as TOML reads it (1e-3, 4, true, "x", [64, 64]); plain text otherwise."""
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
