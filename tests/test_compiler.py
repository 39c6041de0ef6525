"""The compiler's stages: syntax errors, build-time checks, and generated code."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from policy_dsl.compiler import ast, checker, codegen, parser, pipeline
from policy_dsl.compiler.diagnostics import CompileError, Diagnostic
from policy_dsl.runtime import InputRecord, score_batch
from policy_dsl.runtime.packs import load_pack

MINIMAL = textwrap.dedent('''\
    standard demo {
      region example "示例市"
      title "示例标准（仅用于测试，非真实政策）"
      version 2024
      effective 2024-01-01 to open
      applies to "示例机构"
      total 5
      rescale to 100
    }
    enum grade_level "级别" { high "高" low "低" }
    fact level "级别": grade_level
    fact rate "比率": percent in 0..100
    fact incidents "次数": count
    fact flagged "标记": bool
    category "一、示例" 5 {
      item 1 "示例项目" 5 {
        basis "示例依据（测试用）"
        part "比率" 2 {
          award tiers rate { >= 90%: 2, >= 80%: 1, else: 0 } "比率分档" [T-1]
        }
        award 3 "基础分"
        deduct 1 per incidents cap 3 "每次扣1分" [T-2]
        zero when flagged and level is high "标记即不得分"
      }
    }
''')


def check_text(text: str) -> list[Diagnostic]:
    """Parse and check rule text; the diagnostics (a syntax error is one)."""
    try:
        standard = parser.parse_text(text, "demo.policy")
    except CompileError as error:
        return list(error.diagnostics)
    return checker.check(standard).diagnostics


def only_error(text: str) -> Diagnostic:
    errors = [d for d in check_text(text) if d.severity == "error"]
    assert len(errors) == 1, [d.render() for d in errors]
    return errors[0]


def test_minimal_file_is_clean() -> None:
    assert check_text(MINIMAL) == []


# ---------------------------------------------------------------- syntax errors

def test_syntax_error_names_line_column_and_expectation() -> None:
    text = MINIMAL.replace('award 3 "基础分"', "award 3")
    error = only_error(text)
    assert error.code == "P100"
    # the next line's 'deduct' is where a reason text was expected
    assert (error.span.line, error.span.column) == (22, 5)
    assert "unexpected 'deduct'; expected" in error.message
    assert error.hint and "quoted" in error.hint


def test_chinese_outside_quotes_gets_a_hint() -> None:
    error = only_error(MINIMAL.replace('fact flagged "标记": bool', "fact flagged 标记: bool"))
    assert error.span.line == 14
    assert error.hint and "inside quotes" in error.hint
    rendered = error.render(MINIMAL.replace('fact flagged "标记": bool', "fact flagged 标记: bool"))
    assert rendered.startswith("demo.policy:14:14: error P100:")
    assert "^" in rendered


def test_missing_comma_in_tiers_gets_a_hint() -> None:
    error = only_error(MINIMAL.replace(">= 90%: 2,", ">= 90%: 2"))
    assert error.hint and "commas" in error.hint


# ---------------------------------------------------------------- build-time checks

@pytest.mark.parametrize(("old", "new", "code", "words"), [
    # points do not add up (item 5 in a category of 5 → 6)
    ('item 1 "示例项目" 5 {', 'item 1 "示例项目" 6 {', "C211", "add up to 6"),
    # a fact used but not declared, with a suggestion
    ("deduct 1 per incidents", "deduct 1 per incident", "C203", "did you mean 'incidents'"),
    # a percent compared with a bool
    ("zero when flagged and level is high", "zero when flagged and rate >= flagged",
     "C205", "must be a percent"),
    # a percent compared with a plain number (80 instead of 80%)
    (">= 80%: 1", ">= 80: 1", "C205", "% sign"),
    # unknown enum member
    ("level is high", "level is highest", "C206", "no member 'highest'"),
    # a cap larger than the item's points
    ("cap 3", "cap 6", "C208", "larger than the 5 points"),
    # tiers out of order
    ("{ >= 90%: 2, >= 80%: 1, else: 0 }", "{ >= 80%: 1, >= 90%: 2, else: 0 }", "C209",
     "out of order"),
    # an item without a legal basis
    ('basis "示例依据（测试用）"', "", "C210", "no legal basis"),
    # an optional fact used without a guard
    ("fact incidents \"次数\": count", "fact incidents \"次数\": count optional", "C213",
     "may be missing"),
    # a name that is a Python keyword
    ("fact flagged", "fact class", "C212", "reserved"),
])
def test_build_time_checks(old: str, new: str, code: str, words: str) -> None:
    text = MINIMAL.replace(old, new)
    assert text != MINIMAL
    errors = [d for d in check_text(text) if d.severity == "error" and d.code == code]
    assert errors, [d.render() for d in check_text(text)]
    rendered = errors[0].render(text) + (errors[0].hint or "")
    assert words in rendered
    assert errors[0].span.file == "demo.policy" and errors[0].span.line > 0


def test_unused_fact_and_duplicate_item() -> None:
    text = MINIMAL.replace('fact flagged "标记": bool',
                           'fact flagged "标记": bool\nfact spare "备用": bool')
    assert only_error(text).code == "C204"
    duplicate = MINIMAL.replace('  }\n}\n', '  }\n  item 1 "重复" 0 { basis "x" }\n}\n')
    assert [d.code for d in check_text(duplicate)] == ["C202"]


def test_lookup_must_cover_every_member() -> None:
    text = MINIMAL.replace('award 3 "基础分"', 'award lookup level { high: 3 } "基础分"')
    error = only_error(text)
    assert error.code == "C207" and "low" in error.message


def test_checker_collects_every_error_in_one_run() -> None:
    text = MINIMAL.replace("cap 3", "cap 6").replace("level is high", "level is top")
    assert sorted(d.code for d in check_text(text)) == ["C206", "C208"]


# ---------------------------------------------------------------- generated code

def build_minimal(tmp_path: Path, text: str = MINIMAL) -> pipeline.BuildResult:
    (tmp_path / "regions" / "example").mkdir(parents=True)
    (tmp_path / "regions" / "example" / "demo.policy").write_text(text, encoding="utf-8")
    return pipeline.build(tmp_path)


def test_build_is_byte_identical_and_written_once(tmp_path: Path) -> None:
    first = build_minimal(tmp_path)
    assert first.ok
    written = pipeline.write_files(first.files, tmp_path / "generated")
    assert written == ["example_demo_2024.py", "index.json"]
    second = pipeline.build(tmp_path)
    assert second.files == first.files
    assert pipeline.write_files(second.files, tmp_path / "generated") == []
    assert pipeline.differences(second.files, tmp_path / "generated") == []


def test_generated_header_names_source_hash_and_compiler(tmp_path: Path) -> None:
    import hashlib

    result = build_minimal(tmp_path)
    source = result.files["example_demo_2024.py"]
    digest = hashlib.sha256(MINIMAL.encode()).hexdigest()
    assert source.splitlines()[:2] == [
        f"# Generated by policyc {codegen.__version__} from regions/example/demo.policy",
        f"# Source SHA-256: {digest}",
    ]


def test_stale_generated_file_is_reported_with_a_diff(tmp_path: Path) -> None:
    result = build_minimal(tmp_path)
    pipeline.write_files(result.files, tmp_path / "generated")
    edited = MINIMAL.replace('award 3 "基础分"', 'award 3 "基础分（已修改）"')
    (tmp_path / "regions" / "example" / "demo.policy").write_text(edited, encoding="utf-8")
    diffs = pipeline.differences(pipeline.build(tmp_path).files, tmp_path / "generated")
    assert any("基础分（已修改）" in diff for diff in diffs)


HOSTILE_TEXT = '"""\n"; import os; os.system("echo pwned") #\\'
# the same text as a rule file writes it: quotes, backslash and line break escaped
HOSTILE = (HOSTILE_TEXT.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))


def test_rule_text_cannot_escape_into_code(tmp_path: Path) -> None:
    """Labels, reasons and titles full of quotes, backslashes and line breaks stay text."""
    text = (MINIMAL.replace('"示例项目"', f'"{HOSTILE}"')
            .replace('"基础分"', f'"{HOSTILE}"')
            .replace('title "示例标准（仅用于测试，非真实政策）"', f'title "{HOSTILE}"')
            .replace('"比率"', f'"{HOSTILE}"', 1))
    result = build_minimal(tmp_path, text)
    assert result.ok, [d.render() for d, _ in result.diagnostics]
    pipeline.write_files(result.files, tmp_path / "generated")
    module = load_pack("example/demo-2024", packs_dir=tmp_path / "generated")
    expected = HOSTILE_TEXT
    assert module.INFO.items[0].label == expected
    assert module.INFO.title == expected
    record = {"level": "high", "rate": "85", "incidents": 0, "flagged": False}
    outcome = score_batch(module, [InputRecord(1, None, record)])[0]
    assert outcome.score is not None
    texts = [line.reason.text for line in outcome.score.items[0].lines]
    assert expected in texts


def test_minimal_pack_scores_by_hand(tmp_path: Path) -> None:
    """rate 85% → tier 1; award 3; 2 incidents → −2: 1 + 3 − 2 = 2 of 5 → 2 × 100 / 5 = 40.
    flagged and high → 0."""
    result = build_minimal(tmp_path)
    pipeline.write_files(result.files, tmp_path / "generated")
    module = load_pack("example/demo-2024", packs_dir=tmp_path / "generated")
    records = [InputRecord(1, "a", {"level": "低", "rate": "85%", "incidents": 2,
                                    "flagged": True}),
               InputRecord(2, "b", {"level": "high", "rate": "85%", "incidents": 2,
                                    "flagged": True})]
    first, second = score_batch(module, records)
    assert first.score is not None and second.score is not None
    assert (first.score.items[0].earned, first.score.total) == (Decimal(2), Decimal("40.00"))
    assert second.score.items[0].earned == 0


# ---------------------------------------------------------------- frameworks

FRAMEWORK = textwrap.dedent('''\
    framework demo_fw {
      region example "示例省"
      title "示例框架（测试用）"
      effective 2026-01-01 to open
      deductions total 5 "扣分项总分5分"
      bonus limit 1 advisory "加分项原则上不超过1分" [T-8]
      grade "好" from 4 refund 100% renewal direct "4分以上"
      grade "差" from 0 refund 0% renewal none "4分以下"
      terminated refund 0% "解除协议"
      exit without violations refund 100% "主动退出"
    }
''')


def check_with_framework(framework_text: str, standard_text: str) -> list[Diagnostic]:
    framework = parser.parse_text(framework_text, "fw.policy")
    assert isinstance(framework, ast.Framework)
    found = checker.check_framework(framework)
    standard = parser.parse_text(standard_text, "demo.policy")
    assert isinstance(standard, ast.Standard)
    return found + checker.check(standard, {framework.name: framework}).diagnostics


UNDER_FRAMEWORK = MINIMAL.replace("  rescale to 100\n", "  framework demo_fw\n")


def test_standard_under_framework_is_clean() -> None:
    assert check_with_framework(FRAMEWORK, UNDER_FRAMEWORK) == []


@pytest.mark.parametrize(("old", "new", "code", "words"), [
    ('grade "差" from 0', 'grade "差" from 5', "C229", "not below"),
    ('grade "差" from 0', 'grade "差" from 1', "C229", "must start at 0"),
    ('terminated refund 0% "解除协议"', 'veto grade "极差" "否决"', "C228", "no grade is called"),
    ("deductions total 5", "deductions total 6", "C233", "fixes them at 6"),
])
def test_framework_checks(old: str, new: str, code: str, words: str) -> None:
    found = check_with_framework(FRAMEWORK.replace(old, new), UNDER_FRAMEWORK)
    assert any(d.code == code and words in d.message for d in found), [d.render() for d in found]


def test_unknown_framework_is_an_error() -> None:
    text = MINIMAL.replace("  rescale to 100\n", "  framework demo_fx\n")
    found = check_with_framework(FRAMEWORK, text)
    assert [(d.code, d.hint) for d in found] == [("C220", "did you mean 'demo_fw'?")]


def test_bonus_above_the_framework_limit_is_a_warning() -> None:
    """JL-8's "in principle": a standard with 2 bonus points under a limit of 1 builds, with a
    warning that quotes the clause."""
    text = (UNDER_FRAMEWORK.replace('category "一、示例" 5 {', 'category "一、示例" 7 {')
            .replace('  }\n}\n', '  }\n  bonus item 2 "加分" 2 { basis "x" award 2 "加" }\n}\n'))
    found = check_with_framework(FRAMEWORK, text)
    assert [(d.code, d.severity) for d in found] == [("W301", "warning")]
    assert "加分项原则上不超过1分" in found[0].message and "[T-8]" in found[0].message
