"""Lints (compiler/lints.py): each broken rule file in tests/lints/ gives its code at the line
and column its first line names (`# expect: CODE LINE:COL`), and nothing else; the shipped
rule files and plugins give no lint at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_dsl.compiler import ast, parser, pipeline
from policy_dsl.compiler.diagnostics import Diagnostic
from policy_dsl.compiler.lints import CODES

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted((ROOT / "tests" / "lints").glob("*.policy"))


def lint_file(path: Path) -> list[Diagnostic]:
    text = path.read_text(encoding="utf-8")
    standard = parser.parse_text(text, path.name)
    assert isinstance(standard, ast.Standard)
    _, found = pipeline.compile_standard(standard, text, {})
    return found


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_broken_file_gives_its_code_at_its_place(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    code, place = first.removeprefix("# expect: ").split()
    line, column = (int(n) for n in place.split(":"))
    found = lint_file(path)
    assert [(d.code, d.span.line, d.span.column) for d in found] == [(code, line, column)], \
        [d.render(path.read_text(encoding="utf-8")) for d in found]
    assert found[0].severity == CODES[code][0]
    assert found[0].hint


def test_shipped_rule_files_and_plugins_give_no_lint() -> None:
    result = pipeline.build(ROOT)
    lints = [d.render(text) for d, text in result.diagnostics if d.code.startswith("L")]
    assert lints == []
    assert len(result.packs) >= 7  # every shipped pack, the city packs included
