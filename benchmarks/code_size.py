"""How big qhil/ is: all lines, and code lines (no blank lines, comments or docstrings).

    python benchmarks/code_size.py            this checkout
    python benchmarks/code_size.py DIR        another checkout (e.g. `git archive REV qhil | tar -x -C DIR`)

Issue 23's size target compares the first figure with the 17,557 lines qhil/ had at 18ed8a0.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

SKIPPED = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
           tokenize.ENDMARKER)


def docstring_lines(tree: ast.AST) -> set[int]:
    """Line numbers of every module, class and function docstring."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
                    and isinstance(first.value.value, str):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def code_lines(source: str) -> int:
    """Lines holding a token that is not a comment, blank or docstring."""
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in SKIPPED:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstring_lines(ast.parse(source)))


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[1]
    sources = [p.read_text() for p in sorted((root / "qhil").rglob("*.py"))]
    total, code = sum(s.count("\n") for s in sources), sum(code_lines(s) for s in sources)
    print(f"{root / 'qhil'}: {len(sources)} files, {total} lines, {code} code lines "
          f"(no blank lines, comments or docstrings)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
