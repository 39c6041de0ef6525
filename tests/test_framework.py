"""The framework as typed clauses (parser, checker, code generator) and the settlement's
reason lines (runtime), against the Jilin framework file and hand arithmetic.

Lines in the framework file regions/jilin/framework-2025.policy, cited below: deductions
total 13, bonus limit 15, composite 18, grades 22 (优) 24 (良) 26 (合格) 28 (基本合格)
31 (不合格), other breach 34, downgrade 36, veto 38, tenure 41, terminated 43, exit with
violations 45, exit without violations 47, referral 49, evidence 51.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, pack

from policy_dsl.compiler import ast, checker, parser
from policy_dsl.compiler.diagnostics import CompileError
from policy_dsl.runtime import (
    Composite,
    FrameworkRules,
    InputRecord,
    Reason,
    outcome_json,
    score_batch,
    settle,
)
from policy_dsl.runtime.framework import Lang

FRAMEWORK_FILE = "regions/jilin/framework-2025.policy"
PACK = "jilin/medical-inpatient-2026"
GRADE_CITES = ["JL-10", "JL-12"]


def jilin_framework(text: str | None = None) -> ast.Framework:
    source = text if text is not None else (ROOT / FRAMEWORK_FILE).read_text(encoding="utf-8")
    framework = parser.parse_text(source, FRAMEWORK_FILE)
    assert isinstance(framework, ast.Framework)
    return framework


# ---------------------------------------------------------------- typed clauses from the file

def test_every_clause_of_the_jilin_framework_is_a_typed_node() -> None:
    """Each value as the file writes it (percents in percentage points), each with its
    reason's readings and the line where its clause starts."""
    f = jilin_framework()
    assert (f.name, f.region, f.region_label, f.version) == ("jilin", "jilin", "吉林省", 2025)
    assert (f.deductions_total is not None and f.deductions_total.points == Decimal(100)
            and f.deductions_total.reason.citations == ("JL-8",)
            and f.deductions_total.span.line == 13)
    assert f.bonus_limit is not None
    assert (f.bonus_limit.points, f.bonus_limit.advisory, f.bonus_limit.span.line) == (
        Decimal(10), True, 15)
    assert f.composite is not None
    assert (f.composite.own, f.composite.subordinates, f.composite.reason.citations,
            f.composite.span.line) == (Decimal(70), Decimal(30), ("JL-11",), 18)
    assert f.other_breach is not None
    assert (f.other_breach.renewal, f.other_breach.span.line) == ("review", 34)
    assert f.downgrade is not None
    assert (f.downgrade.national, f.downgrade.provincial, f.downgrade.span.line) == (2, 1, 36)
    assert isinstance(f.downgrade.national, int)
    assert f.veto is not None and (f.veto.grade, f.veto.span.line) == ("不合格", 38)
    assert f.tenure is not None and (f.tenure.months, f.tenure.span.line) == (6, 41)
    assert f.tenure.reason.citations == ("JL-13",)
    assert f.terminated is not None
    assert (f.terminated.refund, f.terminated.span.line) == (Decimal(0), 43)
    assert f.exit_with_violations is not None
    assert (f.exit_with_violations.grade, f.exit_with_violations.score,
            f.exit_with_violations.span.line) == ("合格", Decimal(70), 45)
    assert f.exit_without_violations is not None
    assert (f.exit_without_violations.refund, f.exit_without_violations.span.line) == (
        Decimal(100), 47)
    assert f.referral is not None and f.referral.reason.citations == ("JL-17",)
    assert f.referral.span.line == 49
    assert f.evidence is not None and f.evidence.reason.citations == ("JL-6",)
    assert f.evidence.span.line == 51


def test_the_grades_of_the_jilin_framework() -> None:
    """第十条/第十二条: floors 90/80/70/60/0; refunds 100% minus 0/2/2.5/3 per point below
    90, 0% for 不合格; renewal; 基本合格 twice: with_suspension; 优 and 良 publicised."""
    grades = [(g.label, g.floor, g.refund, g.step, g.below, g.renewal, g.repeat_grade,
               g.repeat_renewal, g.publicize, g.span.line) for g in jilin_framework().grades]
    d = Decimal
    assert grades == [
        ("优", d(90), d(100), None, None, "direct", None, None, True, 22),
        ("良", d(80), d(100), d(2), d(90), "direct", None, None, True, 24),
        ("合格", d(70), d(100), d("2.5"), d(90), "direct", None, None, False, 26),
        ("基本合格", d(60), d(100), d(3), d(90), "review", "基本合格", "with_suspension",
         False, 28),
        ("不合格", d(0), d(0), None, None, "none", None, None, False, 31),
    ]


def test_the_framework_has_no_string_keyed_clause_lookup() -> None:
    assert not hasattr(ast, "Clause")
    assert not hasattr(ast.Framework, "clause")


# ---------------------------------------------------------------- the checker, at the clause

def located(text: str) -> list[tuple[str, int, int, str]]:
    return [(d.code, d.span.line, d.span.column, d.message)
            for d in checker.check_framework(jilin_framework(text))]


def jilin_text(old: str, new: str) -> str:
    text = (ROOT / FRAMEWORK_FILE).read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new)


def test_the_jilin_framework_is_clean() -> None:
    assert located((ROOT / FRAMEWORK_FILE).read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(("old", "new", "code", "line", "words"), [
    ('veto grade "不合格"', 'veto grade "差"', "C228", 38, "no grade is called 差"),
    ('refund as "合格" at 70', 'refund as "及格" at 70', "C228", 45, "no grade is called 及格"),
    # 合格's band is 70 up to (not including) 80: 80 is 良's, 65 is 基本合格's
    ('refund as "合格" at 70', 'refund as "合格" at 80', "C229", 45, "outside 合格's band "
     "(from 70 below 80)"),
    ('refund as "合格" at 70', 'refund as "合格" at 65', "C229", 45, "outside 合格's band"),
    ("composite own 70% subordinates 30%", "composite own 70% subordinates 20%", "C234", 18,
     "must add up to 100%, not 90%"),
    ("terminated refund 0%", "terminated refund 120%", "C216", 43, "between 0% and 100%"),
    ("exit without violations refund 100%", "exit without violations refund 101%", "C216", 47,
     "between 0% and 100%"),
    ("tenure 6 months", "tenure 121 months", "C243", 41, "more than 120"),
    # five grades: a downgrade of 5 would go below the lowest from any grade
    ("downgrade national 2 provincial 1", "downgrade national 5 provincial 1", "C243", 36,
     "national downgrade of 5 grades"),
    ('grade "合格" from 70', 'grade "合格" from 85', "C229", 26, "not below 良's 80"),
    ('after "基本合格" with_suspension', 'after "基本" with_suspension', "C228", 28,
     "no grade is called 基本"),
])
def test_a_broken_clause_is_reported_at_that_clause(old: str, new: str, code: str, line: int,
                                                     words: str) -> None:
    found = located(jilin_text(old, new))
    assert [(c, ln, col) for c, ln, col, m in found if words in m] == [(code, line, 3)], found


def test_a_missing_required_clause_is_reported_at_the_framework() -> None:
    text = jilin_text("  terminated refund 0%\n", "  # terminated refund 0%\n")
    text = text.replace('    "第十四条：因违法违规问题', '    # "第十四条：因违法违规问题')
    assert located(text) == [("C221", 6, 1, "the framework has no 'terminated' clause")]


def test_a_clause_given_twice_is_a_located_error() -> None:
    """The second `tenure` (after the first, on line 41) is reported where it stands."""
    text = jilin_text("  terminated refund 0%\n",
                      '  tenure 3 months "again"\n  terminated refund 0%\n')
    with pytest.raises(CompileError) as raised:
        jilin_framework(text)
    [diagnostic] = raised.value.diagnostics
    assert (diagnostic.span.line, diagnostic.span.column) == (43, 3)
    assert diagnostic.message == ("'tenure' is given twice in framework jilin "
                                  "(first on line 41)")


def test_a_number_too_large_for_months_is_a_located_error() -> None:
    with pytest.raises(CompileError) as raised:
        jilin_framework(jilin_text("tenure 6 months", "tenure 99999999999999999999 months"))
    [diagnostic] = raised.value.diagnostics
    assert (diagnostic.span.line, diagnostic.span.column) == (41, 10)
    assert "too large" in diagnostic.message


def test_a_bonus_limit_that_is_not_advisory_is_an_error() -> None:
    """The grammar writes every bonus limit `advisory` (JL-8: a warning); a node without it
    (a framework built by a tool) makes a standard above it an error."""
    framework = jilin_framework()
    assert framework.bonus_limit is not None
    standard = parser.parse_file(ROOT / "regions/jilin/model-medical-inpatient-2026.policy")
    assert isinstance(standard, ast.Standard)
    found = {}
    for advisory in (True, False):
        limit = dataclasses.replace(framework.bonus_limit, points=Decimal(5), advisory=advisory)
        changed = dataclasses.replace(framework, bonus_limit=limit)
        found[advisory] = checker.check(standard, {"jilin": changed}).diagnostics
    assert [(d.code, d.severity) for d in found[True]] == [("W301", "warning")]
    assert [(d.code, d.severity) for d in found[False]] == [("C231", "error")]
    assert "bonus items add up to 10, above the framework's 5" in found[False][0].message


# ---------------------------------------------------------------- the generated FRAMEWORK

def test_the_pack_holds_each_clause_as_a_typed_value_with_its_line() -> None:
    rules: FrameworkRules = pack(PACK).FRAMEWORK  # type: ignore[attr-defined]
    assert rules.composite == Composite(
        own=Decimal(70), subordinates=Decimal(30),
        reason=Reason("第十一条：自身考核得分的70%与下属机构（人员）考核得分平均数的30%之和",
                      ("JL-11",), 18))
    assert rules.tenure is not None and (rules.tenure.months, rules.tenure.reason.line) == (6, 41)
    assert rules.exit_with_violations is not None
    assert (rules.exit_with_violations.grade, rules.exit_with_violations.score) == (
        "合格", Decimal(70))
    assert [g.reason.line for g in rules.grades] == [22, 24, 26, 28, 31]


def test_the_generated_framework_block_uses_keyword_arguments() -> None:
    text = (ROOT / "generated" / "jilin_medical_inpatient_2026.py").read_text(encoding="utf-8")
    block = text[text.index("FRAMEWORK = FrameworkRules("):]
    block = block[:block.index("\n)\n")]
    assert "        GradeRule(\n            label='优',\n            floor=Decimal('90'),\n" \
        in block
    assert "    tenure=Tenure(\n        months=6,\n" in block
    # every argument on its own line, by keyword: no positional values left
    for line in block.splitlines()[1:]:
        stripped = line.strip()
        assert stripped in {"),", "("} or stripped.endswith(("(", "=(")) \
            or "=" in stripped.split("(")[0], line


# ---------------------------------------------------------------- settlement reason lines

def institution(deducted: str = "0", **changes: Any) -> dict[str, Any]:
    """In its agreement since 2020, deposit 200,000 yuan, assessed for 2026; own score
    100 − `deducted`."""
    record: dict[str, Any] = {
        "id": "J", "assessment_year": 2026, "agreement_start": "2020-01-01",
        "deposit": "200000",
        "deductions": [{"item": "1", "points": deducted, "evidence": "考核记录 2026-001"}],
        "bonuses": [],
    }
    record.update(changes)
    return record


def steps(deducted: str = "0", lang: Lang = "zh",
          **changes: Any) -> list[tuple[str, list[str], int, str]]:
    [outcome] = score_batch(pack(PACK), [InputRecord(1, "J", institution(deducted, **changes))],
                            explain=True)
    line = outcome_json(outcome, explain=True, lang=lang)
    assert line["error"] is None, line["error"]
    return [(s["step"], s["cites"], s["line"], s["detail"])
            for s in line["settlement_explanation"]]  # type: ignore[attr-defined]


def test_good_at_85_55_every_step() -> None:
    """良 at 85.55 (100 − 14.45): 100% − 2% × (90 − 85.55) = 100 − 8.90 = 91.10%;
    200,000 × 91.10% = 182,200.00 refunded, 200,000 − 182,200.00 = 17,800.00 withheld. In
    Chinese by default, in the framework's words (综合得分, 等次, 返还, 扣除, 续签)."""
    assert steps("14.45") == [
        ("composite", ["JL-11"], 18,
         "无下属机构（人员）考核得分：最终考核得分 = 自身考核得分 85.55"),
        ("grade", GRADE_CITES, 24, "最终考核得分 85.55：“良”等次（80分（含）以上、90分以下）"),
        ("refund", GRADE_CITES, 24, "按“良”等次返还质量保证金：100% − 2% × (90 − 85.55) = 91.10%；"
                                    "质量保证金 200000 × 91.10% = 返还 182200.00 元，"
                                    "扣除 17800.00 元"),
        ("renewal", GRADE_CITES, 24, "“良”等次：直接续签"),
        ("publicity", GRADE_CITES, 24, "“良”等次：向社会宣传"),
    ]


def test_good_at_85_55_every_step_in_english() -> None:
    """The same steps with --lang en; the structured fields do not change with the language."""
    english = steps("14.45", lang="en")
    assert english == [
        ("composite", ["JL-11"], 18, "no subordinate scores: final score = own score 85.55"),
        ("grade", GRADE_CITES, 24, "final score 85.55: 良 (from 80 below 90)"),
        ("refund", GRADE_CITES, 24, "refund as 良: 100% − 2% × (90 − 85.55) = 91.10%; "
                                    "200000 × 91.10% = 182200.00 yuan"),
        ("renewal", GRADE_CITES, 24, "良: renewal direct"),
        ("publicity", GRADE_CITES, 24, "良: publicized"),
    ]
    assert [s[:3] for s in english] == [s[:3] for s in steps("14.45")]


@pytest.mark.parametrize(("deducted", "line", "refund"), [
    # 优 at 95: 100%, no formula
    ("5", 22, "按“优”等次返还质量保证金：100.00%；质量保证金 200000 × 100.00% = 返还 200000.00 元，"
              "扣除 0.00 元"),
    # 合格 at 79.99: 100 − 2.5 × 10.01 = 100 − 25.025 = 74.975 → 74.98; × 200,000 = 149,960.00;
    # withheld 200,000 − 149,960.00 = 50,040.00
    ("20.01", 26, "按“合格”等次返还质量保证金：100% − 2.5% × (90 − 79.99) = 74.975% → 74.98%；"
                  "质量保证金 200000 × 74.98% = 返还 149960.00 元，扣除 50040.00 元"),
    # 基本合格 at 65: 100 − 3 × 25 = 25.00%; 50,000.00 refunded, 150,000.00 withheld
    ("35", 28, "按“基本合格”等次返还质量保证金：100% − 3% × (90 − 65) = 25.00%；"
               "质量保证金 200000 × 25.00% = 返还 50000.00 元，扣除 150000.00 元"),
    # 不合格 at 50: 0%, all 200,000.00 withheld
    ("50", 31, "按“不合格”等次返还质量保证金：0.00%；质量保证金 200000 × 0.00% = 返还 0.00 元，"
               "扣除 200000.00 元"),
])
def test_each_grades_refund_line(deducted: str, line: int, refund: str) -> None:
    [found] = [s for s in steps(deducted) if s[0] == "refund"]
    assert found == ("refund", GRADE_CITES, line, refund)


def test_composite_line_shows_own_score_weights_and_mean() -> None:
    """JL-11: own 90, subordinates 80, 80, 81: mean 241 / 3 = 80.333… (28 significant
    digits); 80.33…33 × 30 = 2409.99…990 has 30 significant digits and rounds at 28 to
    2410, so 90 × 70 + 2410 = 8710, / 100 = 87.1 → 87.10 (良). The mean is shown cut at 4
    decimals."""
    found = steps("10", subordinate_scores=["80", "80", "81"])
    assert found[0] == ("composite", ["JL-11"], 18,
                        "自身考核得分 90 × 70% + 3 个下属机构（人员）考核得分的平均数"
                        "（241 ÷ 3 = 80.3333…）× 30% = 87.1 → 87.10")
    assert found[1][3] == "最终考核得分 87.10：“良”等次（80分（含）以上、90分以下）"
    assert steps("10", "en", subordinate_scores=["80", "80", "81"])[0][3] == (
        "own score 90 × 70% + the mean of 3 subordinate scores (241 / 3 = 80.3333…) × 30% = "
        "87.1 → 87.10")


def test_downgrade_national_refunds_as_the_new_grade_at_its_top() -> None:
    """优 at 95, national criticism: down 2 → 合格; refund as 合格 at min(95, 80) = 80:
    100 − 2.5 × 10 = 75.00%; 150,000.00."""
    found = steps("5", opinion_events=["national"])
    assert found[1:4] == [
        ("grade", GRADE_CITES, 22, "最终考核得分 95.00：“优”等次（90分（含）以上）"),
        ("downgrade", ["JL-12"], 36, "被国家医保局通报批评，降2档：“优” → “合格”"),
        ("refund", GRADE_CITES, 26, "按“合格”等次返还质量保证金，得分以该等次上限计："
                                    "min(95.00, 80) = 80：100% − 2.5% × (90 − 80) = 75.00%；"
                                    "质量保证金 200000 × 75.00% = 返还 150000.00 元，"
                                    "扣除 50000.00 元"),
    ]
    assert found[4:] == [("renewal", GRADE_CITES, 26, "“合格”等次：直接续签"),
                         ("publicity", GRADE_CITES, 26, "“合格”等次：不予宣传")]


def test_downgrade_provincial_keeps_a_score_below_the_band_top() -> None:
    """良 at 85, provincial: down 1 → 合格; min(85, 80) = 80 → 75.00%."""
    found = steps("15", opinion_events=["provincial"])
    assert ("downgrade", ["JL-12"], 36, "被省医保部门通报批评，降1档：“良” → “合格”") in found
    assert any(s[0] == "refund" and "min(85.00, 80) = 80" in s[3] and "= 75.00%" in s[3]
               for s in found)


def test_several_downgrades_only_the_largest_applies() -> None:
    """JL-12: provincial (1) then national (2): down 2 only: 优 at 95 → 合格."""
    found = [s for s in steps("5", opinion_events=["provincial", "national"])
             if s[0] == "downgrade"]
    assert found == [
        ("downgrade", ["JL-12"], 36,
         "被省医保部门通报批评，降1档：不适用，多起时只取降档最多的一起"),
        ("downgrade", ["JL-12"], 36, "被国家医保局通报批评，降2档：“优” → “合格”"),
    ]


def test_downgrade_stops_at_the_lowest_grade() -> None:
    """基本合格 at 60, national: down 2 would pass the bottom → 不合格."""
    [found] = [s for s in steps("40", opinion_events=["national"]) if s[0] == "downgrade"]
    assert found[3] == "被国家医保局通报批评，降2档：“基本合格” → “不合格”（降至最低等次为止）"


def test_veto_line_and_the_events_it_overrides() -> None:
    """优 at 98 with a veto finding → 不合格, 0%; the national criticism is not applied."""
    found = steps("2", veto=True, opinion_events=["national"])
    assert found[2:5] == [
        ("veto", ["JL-12"], 38, "检查中发现需解除服务协议情形，一票否决：“优” → “不合格”"),
        ("downgrade", ["JL-12"], 36, "被国家医保局通报批评：不再降档，一票否决已定为“不合格”"),
        ("refund", GRADE_CITES, 31, "按“不合格”等次返还质量保证金，得分以该等次上限计：min(98.00, "
                                    "60) = 60：0.00%；质量保证金 200000 × 0.00% = 返还 0.00 元，"
                                    "扣除 200000.00 元"),
    ]


def test_renewal_lines_for_a_repeated_grade_and_another_breach() -> None:
    """基本合格 (65) twice in a row: review → with_suspension; 优 (95) with another breach:
    direct → review (第十二条, line 34)."""
    repeated = [s for s in steps("35", previous_grade="基本合格") if s[0] == "renewal"]
    assert repeated == [
        ("renewal", GRADE_CITES, 28, "“基本合格”等次：按正常程序审核续签"),
        ("renewal", GRADE_CITES, 28, "连续两年考核结果为“基本合格”：按正常程序审核续签 → "
                                     "续签但暂停服务1个月整改"),
    ]
    breach = [s for s in steps("5", other_breach=True) if s[0] == "renewal"]
    assert breach == [("renewal", GRADE_CITES, 22, "“优”等次：直接续签"),
                      ("renewal", ["JL-12"], 34, "有其他违约情形：直接续签 → 按正常程序审核续签")]


def test_deferred_line() -> None:
    """JL-13: from 2026-07-02, 6 months end on 2027-01-02, after 1 January 2027: deferred."""
    assert steps(agreement_start="2026-07-02") == [
        ("deferred", ["JL-13"], 41,
         "2026-07-02 起履行服务协议，至 2027-01-01 不满 6 个月：不纳入 2026 年度考核，纳入 2027 "
         "年度考核，当年度质量保证金届时一并返还"),
    ]


def test_terminated_line_and_referral() -> None:
    """JL-14: 0% of 200,000 = 0.00; JL-17: fraud clues are flagged whatever the status."""
    assert steps(status="terminated", fraud_clues=True) == [
        ("terminated", ["JL-14"], 43, "因违法违规被解除服务协议：不纳入当年度考核，不再续签；"
                                      "返还比例 0.00%：质量保证金 200000 × 0.00% = 返还 0.00 元，"
                                      "扣除 200000.00 元"),
        ("referral", ["JL-17"], 49, "发现涉嫌骗取医疗保障基金支出的线索：移送医疗保障行政部门"),
    ]


@pytest.mark.parametrize(("violations", "line", "detail"), [
    # 合格 at 70: 100 − 2.5 × (90 − 70) = 50.00%; 200,000 × 50% = 100,000.00
    (True, 45, "主动退出，核查发现违规违约问题：按“合格”最低比例（70分）返还：100% − 2.5% × "
               "(90 − 70) = 50.00%；质量保证金 200000 × 50.00% = 返还 100000.00 元，扣除 "
               "100000.00 元；不再续签"),
    (False, 47, "主动退出，未发现违规违约问题：返还比例 100.00%：质量保证金 200000 × 100.00% = "
                "返还 200000.00 元，扣除 0.00 元；不再续签"),
])
def test_voluntary_exit_lines(violations: bool, line: int, detail: str) -> None:
    assert steps(status="voluntary_exit", violations_found=violations) == [
        ("exit", ["JL-15"], line, detail)]


def test_no_explanation_unless_asked() -> None:
    """Without --explain the settlement carries no lines and the output no key; the values
    are the same."""
    [outcome] = score_batch(pack(PACK), [InputRecord(1, "J", institution("14.45"))],
                            explain=False)
    assert outcome.settlement is not None and outcome.settlement.lines == ()
    assert "settlement_explanation" not in outcome_json(outcome)
    assert outcome_json(outcome)["refund_ratio"] == "91.10"


def test_settle_explains_when_asked_and_gives_the_same_values() -> None:
    rules: FrameworkRules = pack(PACK).FRAMEWORK  # type: ignore[attr-defined]
    # the framework's inputs as the pack reads them (deposit 1,000, a provincial criticism)
    inputs = pack(PACK).read_record(institution(
        deposit="1000", opinion_events=["provincial"])).settlement
    quiet = settle(rules, inputs, Decimal("91.5"), explain=False)
    explained = settle(rules, inputs, Decimal("91.5"))
    assert dataclasses.replace(explained, lines=()) == quiet
    # 优 at 91.50, provincial: → 良, min(91.50, 90) = 90: 100% (at or above 90)
    assert (quiet.grade, quiet.refund_ratio, quiet.refund_amount) == (
        "良", Decimal("100.00"), Decimal("1000.00"))
    assert [line.step for line in explained.lines] == [
        "composite", "grade", "downgrade", "refund", "renewal", "publicity"]
    assert explained.lines[3].detail_en == (
        "refund as 良, the score capped at the top of its band: min(91.50, 90) = 90: "
        "100.00% (at or above 90); 1000 × 100.00% = 1000.00 yuan")
    assert explained.lines[3].detail == (
        "按“良”等次返还质量保证金，得分以该等次上限计：min(91.50, 90) = 90：100.00%（90分不低于"
        "90分）；质量保证金 1000 × 100.00% = 返还 1000.00 元，扣除 0.00 元")
    # the deposit and what is withheld: 1000 − 1000.00 = 0.00
    assert (quiet.deposit, quiet.withheld) == (Decimal("1000"), Decimal("0.00"))


def test_case_failure_report_shows_the_settlement_lines(tmp_path: Path) -> None:
    from policy_dsl.casebook.cases import load_cases, run_case

    case_file = tmp_path / "regions" / "jilin" / "tests" / "wrong.yaml"
    case_file.parent.mkdir(parents=True)
    case_file.write_text(
        "pack: jilin/medical-inpatient-2026\n"
        "defaults: {assessment_year: 2026, agreement_start: 2020-01-01, deposit: 200000,\n"
        "           deductions: [], bonuses: []}\n"
        "cases:\n"
        "  - name: a wrong ratio\n"
        "    readings: [JL-12]\n"
        "    explain: '85.55 → 91.10%, written wrongly as 91.20'\n"
        "    facts: {deductions: [{item: '1', points: 14.45, evidence: x}]}\n"
        "    expect: {refund_ratio: '91.20'}\n", encoding="utf-8")
    [case] = load_cases(case_file, tmp_path, ROOT / "generated")
    result = run_case(case, ROOT / "generated")
    assert result.differences == ["refund_ratio: expected 91.20, got 91.10"]
    assert ("refund  按“良”等次返还质量保证金：100% − 2% × (90 − 85.55) = 91.10%；质量保证金 "
            "200000 × 91.10% = 返还 182200.00 元，扣除 17800.00 元 [JL-10, JL-12] (framework "
            "line 24)") in result.report


# ---------------------------------------------------------------- deposits withheld

@pytest.mark.parametrize(("deposit", "deducted", "grade", "ratio", "refund", "withheld"), [
    # 良 at 87.3: 100% − 2% × (90 − 87.3) = 100 − 5.4 = 94.60%; 100000.00 × 94.60% =
    # 94600.00 refunded; 100000.00 − 94600.00 = 5400.00 withheld
    ("100000.00", "12.7", "良", "94.60", "94600.00", "5400.00"),
    # 合格 at 72.35: 100% − 2.5% × 17.65 = 100 − 44.125 = 55.875 → 55.88% (half-up);
    # 100000 × 55.88% = 55880.00; 100000 − 55880.00 = 44120.00
    ("100000", "27.65", "合格", "55.88", "55880.00", "44120.00"),
    # a deposit with cents, 良 at 87.3: 123456.78 × 94.60% = 116790.11388 → 116790.11;
    # 123456.78 − 116790.11 = 6666.67
    ("123456.78", "12.7", "良", "94.60", "116790.11", "6666.67"),
    # 不合格 at 55: nothing refunded, all withheld
    ("100000", "45", "不合格", "0.00", "0.00", "100000.00"),
    # 优 at 95: all refunded, nothing withheld
    ("100000", "5", "优", "100.00", "100000.00", "0.00"),
])
def test_deposit_and_withheld_on_the_result_line(deposit: str, deducted: str, grade: str,
                                                 ratio: str, refund: str,
                                                 withheld: str) -> None:
    [outcome] = score_batch(pack(PACK), [InputRecord(1, "J", institution(
        deducted, deposit=deposit))], explain=False)
    line = outcome_json(outcome)
    assert (line["grade"], line["refund_ratio"], line["refund_amount"]) == (grade, ratio, refund)
    assert (line["deposit"], line["withheld"]) == (
        str(Decimal(deposit).quantize(Decimal("0.01"))), withheld)
    assert Decimal(withheld) == Decimal(deposit) - Decimal(refund)  # exact, no rounding


def test_withheld_is_null_while_the_refund_is_deferred() -> None:
    """JL-13: a deferred assessment decides no refund this year, so nothing is withheld yet."""
    [outcome] = score_batch(pack(PACK), [InputRecord(1, "J", institution(
        agreement_start="2026-07-02"))], explain=False)
    line = outcome_json(outcome)
    assert line["status"] == "deferred" and line["refund_amount"] is None
    assert (line["deposit"], line["withheld"]) == ("200000.00", None)


def test_withheld_in_every_table_format(tmp_path: Path) -> None:
    """CSV and Parquet carry deposit and withheld as the JSON line writes them."""
    import csv

    import pyarrow.parquet
    from test_cli import policyc

    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(institution("12.7", deposit="100000.00")) + "\n", "utf-8")
    assert policyc("score", "--pack", PACK, str(source), "-o",
                   str(tmp_path / "r.csv")).returncode == 0
    [row] = list(csv.DictReader((tmp_path / "r.csv").read_text("utf-8-sig").splitlines()))
    assert (row["refund_amount"], row["deposit"], row["withheld"]) == (
        "94600.00", "100000.00", "5400.00")
    assert policyc("score", "--pack", PACK, str(source), "-o",
                   str(tmp_path / "r.parquet")).returncode == 0
    [parquet_row] = pyarrow.parquet.read_table(tmp_path / "r.parquet").to_pylist()
    assert (parquet_row["deposit"], parquet_row["withheld"]) == (
        Decimal("100000.00"), Decimal("5400.00"))
