"""Suzhou 2023 附件1 (with inpatient services): every SZ reading, values worked out by hand.

Each case starts from `full_marks_inpatient()` (100 of 100, see tests/helpers.py) and changes
only the facts of its reading; the comment shows the arithmetic from the table.
"""

from decimal import Decimal as D

import pytest
from helpers import DROP, full_marks_inpatient, item, score_all, score_one

PACK = "suzhou/inpatient-2023"


def test_full_marks_base_record_scores_100() -> None:
    result = score_one(PACK, full_marks_inpatient())
    assert result["error"] is None
    assert (result["total"], result["earned"], result["applicable_max"]) == ("100.00", "100", "100")


# ---------------------------------------------------------------- SZ-1 目录 (level thresholds)

@pytest.mark.parametrize(("level", "share", "expected"), [
    # 三级 threshold 80%: 77.5% is 2.5 points short → 2 complete steps (G4) → 1 − 0.2 = 0.8
    ("tertiary", "77.5", D("0.8")),
    # 三级: exactly 80% meets "≥80%" (G6) → 1
    ("tertiary", "80", D("1")),
    # 二级 threshold 90%: 87.5% → 2.5 short → 2 steps → 0.8
    ("secondary", "87.5", D("0.8")),
    # 二级: 85% would pass 三级's 80% but is 5 short of 90% → 5 steps → 0.5
    ("secondary", "85", D("0.5")),
    # 一级及以下 threshold 95%: 94.99% → 0.01 short → 0 complete steps → 1
    ("primary", "94.99", D("1")),
    # 一级: 60% → 35 short → 3.5 deducted, "最多扣1分" → 0
    ("primary", "60", D("0")),
])
def test_sz1_share_threshold_depends_on_level(level: str, share: str, expected: D) -> None:
    """SZ-1, G4, G6: item 1 = 1 (updated) + 1 (no errors) + the share part."""
    result = score_one(PACK, full_marks_inpatient(level=level, catalogue_drug_share=share))
    assert item(result, 1) == 2 + expected


def test_sz1_catalogue_not_updated_and_maintenance_error() -> None:
    """SZ-1 (G1 操作方法): late update → that point 0; maintenance error → that point 0: 0+0+1."""
    result = score_one(PACK, full_marks_inpatient(catalogue_updated_on_time=False,
                                                  catalogue_maintained_correctly="否"))
    assert item(result, 1) == D("1")


# ---------------------------------------------------------------- SZ-2 价格

def test_sz2_deductions_pooled_and_capped_at_3() -> None:
    """SZ-2: 2 price violations + 1 disclosure + 1 late notice = 4 deducted, capped at 3 → 0."""
    result = score_one(PACK, full_marks_inpatient(price_violations=2, fee_disclosure_failures=1,
                                                  late_self_pricing_notices=1))
    assert item(result, 2) == D("0")
    # and one violation alone: 3 − 1 = 2
    assert item(score_one(PACK, full_marks_inpatient(price_violations=1)), 2) == D("2")


# ---------------------------------------------------------------- SZ-3, SZ-4 and G5 rescaling

def test_sz3_procurement_weighted_20_percent() -> None:
    """SZ-3: 87.5 × 20% = 17.5; total 100 − 20 + 17.5 = 97.5 of 100."""
    result = score_one(PACK, full_marks_inpatient(procurement_score="87.5"))
    assert item(result, 3) == D("17.5")
    assert result["total"] == "97.50"


def test_sz3_private_rescaled_100_over_80() -> None:
    """SZ-3, G5: private: item 3 left out; one price violation: earned 80 − 20 − 1 = 79 of
    applicable 80 → 79 × 100 / 80 = 98.75."""
    result = score_one(PACK, full_marks_inpatient(ownership="private", procurement_score=DROP,
                                                  price_violations=1))
    assert item(result, 3) is None
    assert (result["earned"], result["applicable_max"], result["total"]) == ("79", "80", "98.75")


def test_sz4_outside_drg_rescaled() -> None:
    """SZ-4, G5: outside DRG: item 4 left out; upload 95% outside DRG (≥90%) still 2;
    one care violation: 80 − 1 = 79 of 80 → 98.75."""
    result = score_one(PACK, full_marks_inpatient(in_drg=False, drg_score=DROP,
                                                  settlement_list_upload_rate="95",
                                                  care_violations=1))
    assert item(result, 4) is None
    assert (result["earned"], result["applicable_max"], result["total"]) == ("79", "80", "98.75")


def test_sz4_private_and_outside_drg_rescaled_100_over_60() -> None:
    """SZ-3, SZ-4, G5: both left out: maximum 100 − 20 − 20 = 60; one price violation:
    earned 59 → 59 × 100 / 60 = 98.333… → 98.33."""
    result = score_one(PACK, full_marks_inpatient(ownership="民营", procurement_score=DROP,
                                                  in_drg=False, drg_score=DROP,
                                                  price_violations=1))
    assert (result["earned"], result["applicable_max"], result["total"]) == ("59", "60", "98.33")


def test_g2_total_rounds_half_up() -> None:
    """G2: private, one price violation (−1), share 79% (1 step, −0.1): earned 78.9 of 80 →
    78.9 × 100 / 80 = 98.625 → half-up 98.63 (half-even would give 98.62)."""
    result = score_one(PACK, full_marks_inpatient(ownership="private", procurement_score=DROP,
                                                  price_violations=1, catalogue_drug_share="79"))
    assert result["earned"] == "78.9"
    assert result["total"] == "98.63"


def test_sz3_sz4_weighted_scores_required_only_when_they_apply() -> None:
    """G7: the procurement score is required for a public institution and the DRG score in
    DRG payment; given where not required, it is still checked (120 is out of 0..100)."""
    public_without = score_one(PACK, full_marks_inpatient(procurement_score=DROP))
    assert public_without["total"] is None
    assert "procurement_score: is missing; it is required when ownership is public" in \
        public_without["error"]
    drg_without = score_one(PACK, full_marks_inpatient(drg_score=DROP))
    assert "drg_score: is missing; it is required when in_drg" in drg_without["error"]
    private_out_of_range = score_one(PACK, full_marks_inpatient(ownership="private",
                                                                procurement_score="120"))
    assert "procurement_score: 120 is out of range" in private_out_of_range["error"]


# ---------------------------------------------------------------- SZ-5 国谈药

def test_sz5_rate_not_below_last_year_and_per_product_deductions() -> None:
    """SZ-5: rate 69.9% < last year's 70% → 0 of the 1 point; meeting held 2.
    Products: one with 1 case (−1), one with 2 cases (−3): 0 + 2 − 4 = −2 → floor 0 (G3)."""
    result = score_one(PACK, full_marks_inpatient(
        negotiated_drug_rate="69.9", unstocked_products=[{"cases": 1}, {"cases": 2}]))
    assert item(result, 5) == D("0")


def test_sz5_escalation_per_product() -> None:
    """SZ-5: equal rate (≥, G6) 1 + meeting 2 = 3; one product with 1 case: 3 − 1 = 2;
    one product with 3 cases ("2例" and more → 3): 3 − 3 = 0."""
    assert item(score_one(PACK, full_marks_inpatient(unstocked_products=[{"cases": 1}])), 5) \
        == D("2")
    assert item(score_one(PACK, full_marks_inpatient(unstocked_products=[{"cases": 3}])), 5) \
        == D("0")


# ---------------------------------------------------------------- SZ-6 基金

def test_sz6_heaviest_document_per_violation() -> None:
    """SZ-6 从一重: violation A has a correction notice (1) and a 1–2× penalty (3) → 3;
    B only a return without penalty → 2; C a fraud return (4) and a judicial referral (5)
    → 5. 15 − 3 − 2 − 5 = 5."""
    violations = [
        {"documents": ["correction_notice", "loss_penalty"]},
        {"documents": ["仅责令退回损失，不予行政处罚"]},
        {"documents": ["fraud_return_only", "judicial_referral"]},
    ]
    result = score_one(PACK, full_marks_inpatient(violations=violations))
    assert item(result, 6) == D("5")


def test_sz6_floor_at_zero() -> None:
    """SZ-6, G3: four fraud penalties, 4 × 5 = 20 > 15 → 0."""
    violations = [{"documents": ["fraud_penalty"]}] * 4
    assert item(score_one(PACK, full_marks_inpatient(violations=violations)), 6) == D("0")


@pytest.mark.parametrize(("loss", "expenditure", "expected"), [
    # 0.1% of 1,000,000,000 = 1,000,000: a loss of exactly that is "达到…千分之一以上" (G6) → 0
    ("1000000", "1000000000", D("0")),
    # one cent less: not serious; no documents → 15
    ("999999.99", "1000000000", D("15")),
    # only the loss given: the ratio cannot be computed → not applied → 15
    ("5000000", DROP, D("15")),
])
def test_sz6_loss_of_one_thousandth_zeroes_item(loss: object, expenditure: object,
                                                 expected: D) -> None:
    """SZ-6: serious consequences: loss ≥ 0.1% of the region's previous-year expenditure."""
    result = score_one(PACK, full_marks_inpatient(
        fund_loss_amount=loss, region_fund_expenditure_last_year=expenditure))
    assert item(result, 6) == expected


def test_sz6_refusal_or_social_harm_zeroes_item() -> None:
    """SZ-6: 拒不改正 → 0; 严重不良社会影响 → 0, whatever the deductions were."""
    assert item(score_one(PACK, full_marks_inpatient(refused_to_correct=True)), 6) == D("0")
    assert item(score_one(PACK, full_marks_inpatient(serious_social_harm="是")), 6) == D("0")


# ---------------------------------------------------------------- SZ-7 基金管理

@pytest.mark.parametrize(("in_drg", "rate", "expected"), [
    (True, "98", D("5")),      # ≥98% → 2: 1+1+1+2
    (True, "97.99", D("4")),   # <98% → −1 (G6 strict "低于")
    (True, "96", D("4")),      # ≥96% → 1
    (True, "95.99", D("3")),   # <96% → 0
    (False, "90", D("5")),     # outside DRG: ≥90% → 2
    (False, "89.9", D("4")),   # ≥80% → 1
    (False, "79.99", D("3")),  # <80% → 0
])
def test_sz7_upload_rate_tiers_depend_on_drg(in_drg: bool, rate: str, expected: D) -> None:
    """SZ-7: settlement-list upload tiers, 98/96 in DRG payment, 90/80 outside it."""
    changes: dict[str, object] = {"in_drg": in_drg, "settlement_list_upload_rate": rate}
    if not in_drg:
        changes["drg_score"] = DROP
    assert item(score_one(PACK, full_marks_inpatient(**changes)), 7) == expected


def test_sz7_incidents_and_floor() -> None:
    """SZ-7: no financial system (−1 of the awards): 4; two incidents: 4 − 2 = 2;
    seven incidents: 4 − 7 → floor 0."""
    base = {"financial_system_in_place": False}
    assert item(score_one(PACK, full_marks_inpatient(**base, cooperation_incidents=2)), 7) == 2
    assert item(score_one(PACK, full_marks_inpatient(**base, cooperation_incidents=7)), 7) == 0


# ---------------------------------------------------------------- SZ-8 编码

def test_sz8_nonstandard_rate_strictly_below_one_percent() -> None:
    """SZ-8, G6 "低于1%": 0.99% → 2+3 = 5; exactly 1% → 2+0 = 2."""
    assert item(score_one(PACK, full_marks_inpatient(nonstandard_code_rate="0.99")), 8) == 5
    assert item(score_one(PACK, full_marks_inpatient(nonstandard_code_rate="1")), 8) == 2


# ---------------------------------------------------------------- SZ-9 信息化

@pytest.mark.parametrize(("evouchers", "expected"), [
    (500, D("8")),     # 500/1000 = 50% ≥ 50% → 2
    (499, D("7.5")),   # 49.9% ≥ 40% → 1.5
    (300, D("7")),     # 30% → 1
    (299, D("6")),     # 29.9% → 0
])
def test_sz9_evoucher_rate_tiers(evouchers: int, expected: D) -> None:
    """SZ-9: e-voucher rate = e-voucher settlements / all settlements; other parts 2+2+2."""
    assert item(score_one(PACK, full_marks_inpatient(evoucher_settlements=evouchers)), 9) \
        == expected


def test_sz9_not_dual_channel_gets_eprescription_part_in_full() -> None:
    """SZ-9, G5 (不涉及的不扣分): not dual-channel and not connected → the part's 2 in full."""
    result = score_one(PACK, full_marks_inpatient(dual_channel=False, eprescription_connected=False,
                                                  eprescription_flow_rate=DROP))
    assert item(result, 9) == D("8")


@pytest.mark.parametrize(("connected", "flow", "expected"), [
    (False, DROP, D("6")),     # dual-channel, not connected: 0 (no flow without connection)
    (True, "80", D("7.5")),    # connected 1 + flow 80% (not >80%, >50%) 0.5
    (True, "80.01", D("8")),   # 1 + 1
    (True, "50", D("7")),      # 1 + 0 (50% is not "高于50%")
])
def test_sz9_dual_channel_eprescription(connected: bool, flow: object, expected: D) -> None:
    """SZ-9: for a dual-channel hospital: connection 1, flow rate >80% 1 or >50% 0.5."""
    result = score_one(PACK, full_marks_inpatient(eprescription_connected=connected,
                                                  eprescription_flow_rate=flow))
    assert item(result, 9) == expected


def test_sz9_zero_settlements_is_an_input_error() -> None:
    """G7: a zero base in a share makes the record invalid, naming the derived value."""
    result = score_one(PACK, full_marks_inpatient(evoucher_settlements=0, all_settlements=0))
    assert result["total"] is None
    assert "evoucher_rate: cannot be derived: all_settlements is 0" in result["error"]


# ---------------------------------------------------------------- SZ-10, SZ-11

def test_sz10_per_case_and_floor() -> None:
    """SZ-10: 4 − 3 = 1; 4 − 6 → 0 (扣完为止)."""
    assert item(score_one(PACK, full_marks_inpatient(care_violations=3)), 10) == 1
    assert item(score_one(PACK, full_marks_inpatient(care_violations=6)), 10) == 0


def test_sz11_any_situation_zeroes() -> None:
    """SZ-11: 2, or 0 with any verified situation."""
    assert item(score_one(PACK, full_marks_inpatient(agreement_violations=1)), 11) == 0
    assert item(score_one(PACK, full_marks_inpatient(agreement_violations=0)), 11) == 2


# ---------------------------------------------------------------- SZ-12 满意度 and SZ-C

def test_sz12_ranking_with_ties_in_a_batch_under_20() -> None:
    """SZ-12: five institutions, satisfaction 90, 95, 95, 80, 70. Competition ranking: 95, 95
    share rank 1; 90 is 3; 80 is 4; 70 is 5. Fewer than 20: all in the top ten, none in the
    bottom ten. Adjustments: +1.0, +1.0, +0.8, +0.7, +0.6.
    Items: A (90) with a complaint of 1: 2 − 1 + 0.8 = 1.8; B, C (95): 2 + 1.0 → 2;
    D (80) with complaints 1 and 0.5: 2 − 1.5 + 0.7 = 1.2; E (70) with complaints 1, 1:
    2 − 2 + 0.6 = 0.6."""
    records = [
        full_marks_inpatient(id="A", satisfaction_score="90", complaints=[{"deduction": 1}]),
        full_marks_inpatient(id="B", satisfaction_score="95"),
        full_marks_inpatient(id="C", satisfaction_score="95"),
        full_marks_inpatient(id="D", satisfaction_score="80",
                             complaints=[{"deduction": "1"}, {"deduction": "0.5"}]),
        full_marks_inpatient(id="E", satisfaction_score="70",
                             complaints=[{"deduction": 1}, {"deduction": 1}]),
    ]
    results = score_all(PACK, records)
    assert [item(r, 12) for r in results] == [D("1.8"), D("2"), D("2"), D("1.2"), D("0.6")]
    lines = results[0]["explanation"]["12"]
    assert {"reason": lines[2]["reason"], "points": lines[2]["points"]} == {
        "reason": "第三方满意度评分：最高的前10家分别加1.0-0.1分，最低的10家分别扣1.0-0.1分",
        "points": "0.8"}


def test_sz12_bottom_ten_counted_from_the_bottom_with_ties() -> None:
    """SZ-12: 22 institutions scoring 100, 99, …, 81, then two tied at 70. Ranks 1..20, and
    the tied pair share rank 21. Bottom position = N − rank + 1 = 22 − 21 + 1 = 2 → −0.9 for
    both (no one gets −1.0). Rank 20 (score 81): position 3 → −0.8. Rank 13: position 10 →
    −0.1. Rank 12: position 11 → 0, and it is not top ten → 0. Rank 10 → +0.1.
    Item 12 = 2 + adjustment, clamped to [0, 2], with a complaint of 1 each to see the
    negative side: tied pair 2 − 1 − 0.9 = 0.1; rank 20: 2 − 1 − 0.8 = 0.2;
    rank 13: 0.9; rank 12: 1; rank 10: 2 − 1 + 0.1 = 1.1."""
    scores = [str(100 - i) for i in range(20)] + ["70", "70"]
    records = [full_marks_inpatient(id=f"I{i + 1}", satisfaction_score=s,
                                    complaints=[{"deduction": 1}])
               for i, s in enumerate(scores)]
    results = {r["id"]: item(r, 12) for r in score_all(PACK, records)}
    assert results["I21"] == results["I22"] == D("0.1")
    assert results["I20"] == D("0.2")
    assert results["I13"] == D("0.9")
    assert results["I12"] == D("1")
    assert results["I10"] == D("1.1")
    assert results["I1"] == D("2")  # 2 − 1 + 1.0


def test_sz12_without_survey_score_uses_direct_adjustment() -> None:
    """SZ-12: no survey score: the adjustment given directly (−0.5) → 2 − 0.5 = 1.5; with
    neither, 0 → 2. The ranked institution alone is rank 1 (+1.0 → clamped 2)."""
    records = [
        full_marks_inpatient(id="X", satisfaction_score=DROP, direct_survey_adjustment="-0.5"),
        full_marks_inpatient(id="Y", satisfaction_score=DROP),
    ]
    assert [item(r, 12) for r in score_all(PACK, records)] == [D("1.5"), D("2")]


def test_szc_invalid_record_takes_no_part_in_ranking() -> None:
    """SZ-C: the best-rated record is invalid (a percent written in words): it gets its error
    and the other two rank 1 (+1.0) and 2 (+0.9). With a complaint of 1:
    2 − 1 + 1.0 = 2 and 2 − 1 + 0.9 = 1.9. Nothing is lost: three lines out, in order."""
    records = [
        full_marks_inpatient(id="bad", satisfaction_score="99", catalogue_drug_share="八成"),
        full_marks_inpatient(id="P", satisfaction_score="90", complaints=[{"deduction": 1}]),
        full_marks_inpatient(id="Q", satisfaction_score="80", complaints=[{"deduction": 1}]),
    ]
    results = score_all(PACK, records)
    assert [r["id"] for r in results] == ["bad", "P", "Q"]
    assert "catalogue_drug_share" in results[0]["error"]
    assert [item(results[1], 12), item(results[2], 12)] == [D("2"), D("1.9")]


# ---------------------------------------------------------------- SZ-13, SZ-14 bonus items

@pytest.mark.parametrize(("changes", "expected"), [
    # connected 3; Dec 2023 exactly 5% (达到, G6) +2; 2024 9.99% <10% → 5
    ({"pay_later_share_dec_2023": "5", "pay_later_share_2024": "9.99"}, D("5")),
    # connected 3 only
    ({"pay_later_share_dec_2023": "4.99", "pay_later_share_2024": "9.99"}, D("3")),
    # not connected: nothing, and the shares are not required
    ({"pay_later_connected": False, "pay_later_share_dec_2023": DROP,
      "pay_later_share_2024": DROP}, D("0")),
    # not connected but shares high: the +2s need the connection → 0
    ({"pay_later_connected": False}, D("0")),
])
def test_sz13_pay_after_treatment(changes: dict[str, object], expected: D) -> None:
    """SZ-13: 3 for the connection, +2, +2 (both need it), capped at 5."""
    assert item(score_one(PACK, full_marks_inpatient(**changes)), 13) == expected


def test_sz14_forwarding_and_display_capped_at_5() -> None:
    """SZ-14: 2 forwarded + 3 channels × 0.5 = 3.5; 4 + 4 × 0.5 = 6 → capped 5."""
    three = ["电子屏", "poster", "宣传材料"]
    assert item(score_one(PACK, full_marks_inpatient(policies_forwarded=2,
                                                     display_channels=three)), 14) == D("3.5")
    four = [*three, "other"]
    assert item(score_one(PACK, full_marks_inpatient(policies_forwarded=4,
                                                     display_channels=four)), 14) == D("5")


# ---------------------------------------------------------------- SZ-T and the output shape

def test_szt_output_shape() -> None:
    """SZ-T: the stable output: id, total, earned, applicable_max, items, error."""
    result = score_one(PACK, full_marks_inpatient(id="H-1", price_violations=1))
    assert {k: result[k] for k in ("id", "total", "earned", "applicable_max", "error")} == {
        "id": "H-1", "total": "99.00", "earned": "99", "applicable_max": "100", "error": None}
    assert list(result["items"]) == [str(n) for n in range(1, 15)]
