"""`policyc explain`: the values each rule used, and the sentences made from them.

Every expected sentence and number is worked out by hand from the source tables (POLICY-NOTES
readings cited); the records start from the full-marks records of tests/helpers.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from decimal import Decimal as D
from typing import Any

import pytest
from helpers import DROP, ROOT, full_marks_inpatient, full_marks_outpatient, pack

from policy_dsl.runtime import InputRecord, read_records, score_batch
from policy_dsl.runtime.explain import (
    Explanation,
    ItemExplanation,
    NotExplained,
    explain_outcome,
    explanation_json,
    render_text,
)

INPATIENT = "suzhou/inpatient-2023"
OUTPATIENT = "suzhou/outpatient-2023"
JILIN = "jilin/medical-inpatient-2026"


def explain_all(pack_name: str, records: list[Mapping[str, Any]]) -> list[Explanation]:
    loaded = pack(pack_name)
    inputs = [InputRecord(i + 1, r.get("id"), r) for i, r in enumerate(records)]
    return [explain_outcome(loaded, o) for o in score_batch(loaded, inputs, explain=True)]


def explain_one(pack_name: str, record: Mapping[str, Any]) -> Explanation:
    return explain_all(pack_name, [record])[0]


def item_of(explanation: Explanation, number: int) -> ItemExplanation:
    return next(i for i in explanation.items if i.number == number)


def sentences(item: ItemExplanation) -> list[str]:
    return [step.sentence for step in item.steps]


# ---------------------------------------------------------------- SZ-1: the step rule

def test_sz1_step_rule_names_share_threshold_gap_steps_and_deduction() -> None:
    """SZ-1, G4: 三级 threshold 80%; 77.5% is 2.5 points short → 2 complete steps × 0.1 =
    0.2 deducted; item 1 = 1 + 1 + (1 − 0.2) = 2.8."""
    explanation = explain_one(INPATIENT, full_marks_inpatient(catalogue_drug_share="77.5"))
    first = item_of(explanation, 1)
    assert first.earned == D("2.8")
    assert ("医保目录内药品占医院药品供应目录的品种数占比 77.5%（三级标准 80%），"
            "低 2.5 个百分点 → 2 个完整步长 × 0.1 = 扣 0.2") in sentences(first)
    step = next(s for s in first.steps if s.points == D("-0.2"))
    assert step.reason.citations == ("SZ-1", "G4", "G6")
    assert step.reason.line > 0
    roles = {o.role: o.value for o in step.uses}
    assert (roles["threshold"], roles["steps"], roles["amount"]) == (D(80), D(2), D("0.1"))
    text = render_text(explanation, item=1)
    assert "第1项 执行医保目录和支付标准（一、医保政策执行）：2.8 / 3" in text
    assert "[SZ-1, G4, G6]" in text and f"（规则文件第{step.reason.line}行）" in text


def test_sz1_share_at_threshold_and_rule_cap_binding() -> None:
    """G6: 80% meets "≥80%": no deduction. 一级 at 60%: 35 points short of 95% → 35 steps ×
    0.1 = 3.5, "最多扣1分" → 1 deducted; item 1 = 2."""
    at = item_of(explain_one(INPATIENT, full_marks_inpatient(catalogue_drug_share="80")), 1)
    assert "医保目录内药品占医院药品供应目录的品种数占比 80%（三级标准 80%），不低于标准 → 不扣分" \
        in sentences(at)
    low = item_of(explain_one(INPATIENT, full_marks_inpatient(
        level="primary", catalogue_drug_share="60")), 1)
    assert low.earned == D(2)
    assert ("医保目录内药品占医院药品供应目录的品种数占比 60%（一级及以下标准 95%），"
            "低 35 个百分点 → 35 个完整步长 × 0.1 = 扣 3.5，超过上限 1，按 1 计 → 扣 1"
            ) in sentences(low)


# ---------------------------------------------------------------- SZ-2: per-count rules, the cap

def test_sz2_per_count_rules_and_the_item_cap_that_binds() -> None:
    """SZ-2: 2 price violations × 1 + 1 missed disclosure × 1 + 1 late notice × 1 = 4
    deducted; deductions are capped at 3 → item 2 = 3 − 3 = 0."""
    explanation = explain_one(INPATIENT, full_marks_inpatient(
        price_violations=2, fee_disclosure_failures=1, late_self_pricing_notices=1))
    second = item_of(explanation, 2)
    assert second.earned == D(0)
    said = sentences(second)
    assert "经查实的价格问题 2 次 × 1 = 扣 2" in said
    assert "未按规定做好收费公示 1 次 × 1 = 扣 1" in said
    assert "扣分 4 超过上限 3，按 3 计" in said
    cap = next(s for s in second.steps if s.sentence.startswith("扣分 4"))
    assert cap.points == D(1)  # 1 point of the 4 given back


# ---------------------------------------------------------------- SZ-9: tiers, a part n/a

def test_sz9_evoucher_tier_and_the_e_prescription_part_not_applicable() -> None:
    """SZ-9: e-voucher rate 450 / 1000 = 45% ≥ 40% → 1.5 (below 50%). Not dual-channel:
    the e-prescription part is not applicable and awarded its 2 points (G5), its facts not
    required (G7; the connection is a yes/no the pack still reads).
    Item 9 = 1.5 + 2 (mobile) + 2 (e-prescription, G5) + 2 (systems) = 7.5."""
    explanation = explain_one(INPATIENT, full_marks_inpatient(
        evoucher_settlements=450, all_settlements=1000, dual_channel=False,
        eprescription_connected=False, eprescription_flow_rate=DROP))
    ninth = item_of(explanation, 9)
    assert ninth.earned == D("7.5")
    said = sentences(ninth)
    assert "医保电子凭证结算率 45%（使用医保电子凭证结算笔数（门诊、住院） 450，" \
        "结算总笔数（门诊、住院） 1000） ≥ 40% → 得 1.5" in said
    part = next(s for s in ninth.steps if "G5" in s.reason.citations)
    assert part.points == D(2)
    assert part.sentence == "具备双通道资质：否 → 本分项不涉及，按满分计"


def test_a_condition_that_does_not_hold() -> None:
    """SZ-13: not connected to the pay-after-treatment platform → 0 of the 3 (bonus item)."""
    explanation = explain_one(INPATIENT, full_marks_inpatient(
        pay_later_connected=False, pay_later_share_dec_2023=DROP, pay_later_share_2024=DROP))
    said = sentences(item_of(explanation, 13))
    assert said[0] == "接入苏州市先诊疗后付费平台并正常运行：否 → 不加分"


# ---------------------------------------------------------------- SZ-3, SZ-4, G5: rescaling

def test_private_hospital_outside_drg_items_3_and_4_not_applicable_rescaled() -> None:
    """SZ-3, SZ-4, G5: private and outside DRG: items 3 and 4 (20 + 20) not applicable;
    applicable maximum 60. With item 1 at 2.8 (77.5%, as above) and outside DRG an upload rate
    of 99% ≥ 90% → 2: earned 60 − 0.2 = 59.8; total 59.8 × 100 / 60 = 99.666… → 99.67."""
    explanation = explain_one(INPATIENT, full_marks_inpatient(
        ownership="private", in_drg=False, procurement_score=DROP, drg_score=DROP,
        catalogue_drug_share="77.5"))
    assert (explanation.earned, explanation.applicable_max, explanation.total) == (
        D("59.8"), D(60), D("99.67"))
    text = render_text(explanation)
    assert "总分 99.67：得分 59.8 ÷ 适用满分 60 × 100 = 99.67" in text
    third, fourth = item_of(explanation, 3), item_of(explanation, 4)
    assert third.earned is None and fourth.earned is None
    assert sentences(third) == ["举办性质：民营 → 本项不适用"]
    assert sentences(fourth) == ["纳入DRG付费：否 → 本项不适用"]
    assert "不适用（本项满分 20 不计入适用满分）" in text
    upload = sentences(item_of(explanation, 7))
    assert "纳入DRG付费：否，结算清单上传率 99% ≥ 90% → 得 2" in upload


def test_weighted_score() -> None:
    """SZ-3: procurement score 85 × 20% = 17."""
    explanation = explain_one(INPATIENT, full_marks_inpatient(procurement_score="85"))
    assert sentences(item_of(explanation, 3)) == ["药品耗材招采专项评价得分 85 × 20% = 17"]


# ---------------------------------------------------------------- cohorts

def test_satisfaction_rank_third_of_25() -> None:
    """SZ-12: 25 hospitals ranked by third-party satisfaction; the one at 96.5 is 3rd (99 and
    98 above it) → +0.8 (1.0, 0.9, 0.8). With one complaint assessed at 1: item 12 =
    2 − 1 + 0.8 = 1.8."""
    scores = ["99", "98", "96.5"] + [str(70 + n) for n in range(22)]
    records = [full_marks_inpatient(id=f"H{n:02d}", satisfaction_score=score)
               for n, score in enumerate(scores)]
    records[2]["complaints"] = [{"deduction": "1"}]
    third = explain_all(INPATIENT, records)[2]
    twelfth = item_of(third, 12)
    assert twelfth.earned == D("1.8")
    assert "第三方机构满意度评分 96.5，在 25 家中排第 3，满意度调查加减分 0.8 → 得 0.8" \
        in sentences(twelfth)


def test_outpatient_peer_group_mean() -> None:
    """SZ2-4, G4: three clinics of one peer group; cost growth 10%, 0%, 26%; the group's mean
    (10 + 0 + 26) / 3 = 12%. Clinic C: 26 − 12 = 14 points above → 2 complete 5-point steps
    × 1 = 2 deducted."""
    no_average = {"peer_cost_growth_given": DROP, "peer_visits_growth_given": DROP}
    records = [
        full_marks_outpatient(id="A", **no_average),
        full_marks_outpatient(id="B", cost_per_visit="100", visits=2000, **no_average),
        full_marks_outpatient(id="C", cost_per_visit="126", visits=2600, **no_average),
    ]
    clinic = explain_all(OUTPATIENT, records)[2]
    said = sentences(item_of(clinic, 4))
    assert ("门诊次均费用增幅 26%（本年度参保患者门诊次均医药费用（元） 126，"
            "上年度参保患者门诊次均医药费用（元） 100），本组平均门诊次均费用增幅 12%"
            "（同组（社区卫生服务中心）3 家的平均），高 14 个百分点 → 2 个完整步长 × 1 = 扣 2"
            ) in said
    # visits: 30% against a mean of 13.33…%: shown to 2 decimals, marked ≈ (exact in JSON)
    assert any("≈13.33%" in s and "高 ≈16.67 个百分点" in s for s in said)
    uses = explanation_json(clinic, item=4)["items"][0]["rules"]  # type: ignore[index]
    group_means = [u["value"] for rule in uses for u in rule["uses"] if u["role"] == "cohort"]
    assert "13.33333333333333333333333333" in group_means


# ---------------------------------------------------------------- frameworks (Jilin)

def jilin(deducted: str = "0", bonus: str = "0", **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "J", "name": "示例医院", "assessment_year": 2026,
        "agreement_start": "2020-01-01", "deposit": "200000",
        "deductions": [{"item": "1", "points": deducted, "evidence": "考核记录 2026-001"}],
        "bonuses": [{"item": "2", "points": bonus, "evidence": "截图 2026-01"}],
    }
    record.update(changes)
    return record


def test_jilin_refund_at_85_55() -> None:
    """JL-8, JL-12: 100 − 14.5 + 0.05 = 85.55 → 良; 100% − 2% × (90 − 85.55) = 91.10%;
    200,000 × 91.10% = 182,200.00 yuan; direct renewal; publicised."""
    explanation = explain_one(JILIN, jilin(deducted="14.5", bonus="0.05"))
    assert "考核记录 2026-001：14.5 → 扣 14.5" in sentences(item_of(explanation, 1))
    assert "截图 2026-01：0.05 → 加 0.05" in sentences(item_of(explanation, 2))
    text = render_text(explanation)
    # withheld: 200,000 − 182,200.00 = 17,800.00
    assert "结果：状态 已考核，自身得分 85.55，最终得分 85.55，等次 良，返还比例 91.10%，" \
        "返还金额 182200.00 元，扣除质量保证金 17800.00 元，直接续签，予以公示" in text
    # the runtime's own line, in Chinese unless English is asked for
    assert "按“良”等次返还质量保证金：100% − 2% × (90 − 85.55) = 91.10%" in text
    assert "refund as" not in text
    english = render_text(explanation, lang="en")
    assert "refund as 良: 100% − 2% × (90 − 85.55) = 91.10%" in english
    assert "按“良”等次返还质量保证金" not in english
    data = explanation_json(explanation)
    settled = data["settlement"]
    assert settled["deposit"] == "200000.00" and settled["withheld"] == "17800.00"  # type: ignore[index]


def test_jilin_with_subordinates() -> None:
    """JL-11: own 90 (10 deducted), subordinates 80 and 70 (mean 75):
    90 × 70% + 75 × 30% = 63 + 22.5 = 85.5 → 良; refund 100% − 2% × 4.5 = 91.00%."""
    explanation = explain_one(JILIN, jilin(deducted="10", subordinate_scores=["80", "70"]))
    text = render_text(explanation)
    assert "综合得分：第十一条" in text
    assert "自身考核得分 90 × 70% + 2 个下属机构（人员）考核得分的平均数（150 ÷ 2 = 75）× 30% " \
        "= 85.5 → 85.50" in text
    assert "等次 良" in text and "返还比例 91.00%" in text


def test_jilin_downgrade() -> None:
    """JL-12: 优 at 95, national criticism: down 2 → 合格, refunded as 合格 at 80:
    100% − 2.5% × 10 = 75.00%; 200,000 × 75% = 150,000.00."""
    explanation = explain_one(JILIN, jilin(deducted="5", opinion_events=["national"]))
    text = render_text(explanation)
    assert "降档：" in text and "被国家医保局通报批评，降2档：“优” → “合格”" in text
    assert "等次 合格（调整前 优），返还比例 75.00%，返还金额 150000.00 元" in text
    data = explanation_json(explanation)
    assert data["settlement"]["refund_ratio"] == "75.00"  # type: ignore[index]


# ---------------------------------------------------------------- the structure and JSON

def test_json_keeps_exact_decimals_as_strings() -> None:
    explanation = explain_one(INPATIENT, full_marks_inpatient(catalogue_drug_share="77.5"))
    data = json.loads(json.dumps(explanation_json(explanation, item=1), ensure_ascii=False))
    [first] = data["items"]
    assert (first["earned"], first["points"]) == ("2.8", "3")
    rule = next(r for r in first["rules"] if r["points"] == "-0.2")
    share = next(u for u in rule["uses"] if u["role"] == "fact" and u["unit"] == "percent")
    assert share == {"role": "fact", "label": "医保目录内药品占医院药品供应目录的品种数占比",
                     "value": "77.5", "unit": "percent"}


def test_scores_without_explanation_carry_no_values_and_agree() -> None:
    """The values are recorded only when an explanation is asked for; scores are the same."""
    loaded = pack(INPATIENT)
    record = InputRecord(1, "H", full_marks_inpatient(catalogue_drug_share="77.5"))
    [plain] = score_batch(loaded, [record], explain=False)
    [explained] = score_batch(loaded, [record], explain=True)
    assert plain.score is not None and explained.score is not None
    assert plain.score.total == explained.score.total == D("99.80")
    assert all(item.lines == () for item in plain.score.items)


def test_a_record_with_an_input_error_is_not_explained() -> None:
    loaded = pack(INPATIENT)
    record = InputRecord(1, "H", full_marks_inpatient(catalogue_drug_share="120"))
    [outcome] = score_batch(loaded, [record], explain=True)
    with pytest.raises(NotExplained, match="catalogue_drug_share"):
        explain_outcome(loaded, outcome)


@pytest.mark.parametrize(("pack_name", "path"), [
    (INPATIENT, "examples/suzhou-inpatient.jsonl"),
    (OUTPATIENT, "examples/suzhou-outpatient.csv"),
    (JILIN, "examples/jilin-medical-inpatient.jsonl"),
])
def test_every_sample_institution_explains(pack_name: str, path: str) -> None:
    """Each valid sample institution explains, its text naming every item and the total."""
    loaded = pack(pack_name)
    text = (ROOT / path).read_text("utf-8-sig")
    records = read_records(text, "csv" if path.endswith(".csv") else "jsonl", path)
    explained = 0
    for outcome in score_batch(loaded, records, explain=True):
        if outcome.error is not None:
            continue
        rendered = render_text(explain_outcome(loaded, outcome))
        assert all(f"第{item.number}项 {item.label}" in rendered for item in loaded.INFO.items)
        explained += 1
    assert explained >= 3


# ---------------------------------------------------------------- the command

def policyc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy_dsl.console", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli_explain_one_item_as_text_and_json() -> None:
    done = policyc("explain", "--pack", INPATIENT, "examples/suzhou-inpatient.jsonl",
                   "--id", "SZ-H002", "--item", "1")
    assert done.returncode == 0, done.stderr
    assert "机构：SZ-H002" in done.stdout and "第1项" in done.stdout
    assert "第2项" not in done.stdout
    # 二级 threshold 90%: 87.5% is 2.5 short → 2 complete steps × 0.1 = 0.2
    assert "（二级标准 90%），低 2.5 个百分点 → 2 个完整步长 × 0.1 = 扣 0.2" in done.stdout
    done = policyc("explain", "--pack", INPATIENT, "examples/suzhou-inpatient.jsonl",
                   "--id", "SZ-H002", "--format", "json")
    data = json.loads(done.stdout)
    assert (data["total"], data["earned"], data["applicable_max"]) == ("76.00", "60.8", "80")


def test_cli_unknown_id_lists_ids_near_it() -> None:
    done = policyc("explain", "--pack", INPATIENT, "examples/suzhou-inpatient.jsonl",
                   "--id", "SZ-H02")
    assert done.returncode == 3
    assert "no institution with id 'SZ-H02'" in done.stderr and "SZ-H002" in done.stderr


def test_cli_record_with_an_input_error() -> None:
    done = policyc("explain", "--pack", OUTPATIENT, "examples/suzhou-outpatient.csv",
                   "--id", "SZ-C004")
    assert done.returncode == 3
    assert "cost_per_visit_last_year is 0" in done.stderr
    assert done.stdout == ""


def test_explaining_never_fails_where_scoring_does_not() -> None:
    """Over 1,500 varied hospitals (benchmarks/make_batch.py: every rule's branches, optional
    facts left out where the table allows), scoring with explanations gives the same scores
    and the same errors as without, and every explanation renders."""
    import importlib.util
    import random

    spec = importlib.util.spec_from_file_location("make_batch", ROOT / "benchmarks/make_batch.py")
    assert spec is not None and spec.loader is not None
    make_batch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_batch)
    rng = random.Random(9)
    records = [InputRecord(i + 1, f"B{i}", make_batch.record(i, rng)) for i in range(1500)]
    loaded = pack(INPATIENT)
    quick = score_batch(loaded, records, explain=False)
    explained = score_batch(loaded, records, explain=True)
    for without, with_lines in zip(quick, explained, strict=True):
        assert without.error == with_lines.error
        if without.score is None:
            continue
        assert with_lines.score is not None
        assert [i.earned for i in without.score.items] == \
            [i.earned for i in with_lines.score.items]
        render_text(explain_outcome(loaded, with_lines))
