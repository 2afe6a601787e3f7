"""MkDocs hooks: figures that come from the tool are computed when the site is built, so a page
never disagrees with what `qhil` says.

    <!-- qhil:cost-table config=PATH providers=A,B,C -->   the cost table of `qhil estimate`
                                                           (benchmarks/cost_table.py's rows)
    <!-- qhil:cli-help -->                                 `qhil --help` and every command's help
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = re.compile(r"<!-- qhil:cost-table config=(\S+) providers=(\S+) -->")


def on_page_markdown(markdown: str, **_: object) -> str:
    markdown = TABLE.sub(lambda m: cost_table(m.group(1), m.group(2).split(",")), markdown)
    return markdown.replace("<!-- qhil:cli-help -->", cli_help())


def cost_table(config: str, providers: list[str]) -> str:
    """The table `benchmarks/cost_table.py` prints, from the calibration snapshots."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import cost_table as table

    from qhil.cost import Workload

    workload = Workload.from_train_config(ROOT / config)
    return table.markdown([table.row(name, workload) for name in providers], config, workload)


def cli_help() -> str:
    """`qhil --help`, then each command's `--help`, as code blocks under their own headings."""
    from qhil.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps them only here
    blocks = [f"```text\n{parser.format_help()}```"]
    blocks += [f"## qhil {name}\n\n```text\n{sub.format_help()}```" for name, sub in commands.items()]
    return "\n\n".join(blocks)
