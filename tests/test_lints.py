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


VERSION = '''\
standard demo {{
  region example "示例市"
  title "示例标准（仅用于测试，非真实政策）"
  version {version}
  effective {period}
  applies to "示例机构"
  total 5
}}
fact flagged "标记": bool
category "一、示例" 5 {{
  item 1 "示例项目" 5 {{
    basis "示例依据（测试用）"
    award 5 when flagged "标记的，得5分" [T-1]
  }}
}}
'''


def build_versions(tmp_path: Path, *periods: tuple[int, str]) -> pipeline.BuildResult:
    (tmp_path / "regions" / "example").mkdir(parents=True)
    for version, period in periods:
        (tmp_path / "regions" / "example" / f"demo-{version}.policy").write_text(
            VERSION.format(version=version, period=period), encoding="utf-8")
    return pipeline.build(tmp_path)


def test_overlapping_versions_are_an_error_at_the_later_effective_line(tmp_path: Path) -> None:
    result = build_versions(tmp_path, (2023, "2023-01-01 to 2024-06-30"),
                            (2024, "2024-01-01 to open"))
    found = [d for d, _ in result.diagnostics if d.code == "L409"]
    assert [(d.span.file, d.span.line, d.span.column, d.severity) for d in found] == [
        ("regions/example/demo-2024.policy", 5, 3, "error")]
    assert "version 2023 (regions/example/demo-2023.policy:5)" in found[0].message
    assert not result.ok


def test_consecutive_versions_are_clean(tmp_path: Path) -> None:
    result = build_versions(tmp_path, (2023, "2023-01-01 to 2023-12-31"),
                            (2024, "2024-01-01 to open"))
    assert [d.code for d, _ in result.diagnostics] == []
    assert result.ok
