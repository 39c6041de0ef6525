"""Jilin 2025 framework (吉医保发〔2025〕9号): every JL reading, worked out by hand.

The model standards take the assessment panel's entries; an institution's own score is
100 − its deductions + its bonuses (bonus capped at 10, JL-8).
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import score_one

PACK = "jilin/medical-inpatient-2026"


def institution(deducted: str = "0", bonus: str = "0", **changes: Any) -> dict[str, Any]:
    """An institution in its agreement since 2020, deposit 200,000 yuan, assessed for 2026,
    with one deduction entry and one bonus entry of the given points."""
    record: dict[str, Any] = {
        "id": "J", "assessment_year": 2026, "agreement_start": "2020-01-01",
        "deposit": "200000",
        "deductions": [{"item": "1", "points": deducted, "evidence": "考核记录 2026-001"}],
        "bonuses": [{"item": "2", "points": bonus, "evidence": "截图 2026-01"}],
    }
    record.update(changes)
    return record


def result(**kwargs: Any) -> dict[str, Any]:
    outcome = score_one(PACK, institution(**kwargs))
    assert outcome["error"] is None, outcome["error"]
    return outcome


# ---------------------------------------------------------------- JL-8, JL-10: score and grade

def test_jl8_score_is_deductions_plus_bonus_up_to_110() -> None:
    """JL-8: 100 − 5 + 7 = 102; bonus 12 is more than item 2's 10 (the limit): rejected."""
    assert result(deducted="5", bonus="7")["final_score"] == "102.00"
    over = score_one(PACK, institution(bonus="12"))
    assert "bonuses[0].points: 12 is more than item 2's 10 points" in over["error"]


@pytest.mark.parametrize(("deducted", "final", "grade", "ratio"), [
    # 100 − 10.005 = 89.995 → rounds half-up to 90.00 → 优 (JL-10 on the rounded score)
    ("10.005", "90.00", "优", "100.00"),
    # 89.994 → 89.99 → 良: 100 − 2 × 0.01 = 99.98
    ("10.006", "89.99", "良", "99.98"),
    ("20", "80.00", "良", "80.00"),          # 良 from 80: 100 − 2 × 10
    ("20.01", "79.99", "合格", "74.98"),     # 100 − 2.5 × 10.01 = 74.975 → 74.98
    ("30", "70.00", "合格", "50.00"),        # 合格 at 70: 100 − 2.5 × 20
    ("40", "60.00", "基本合格", "10.00"),    # 基本合格 at 60: 100 − 3 × 30
    ("40.01", "59.99", "不合格", "0.00"),
])
def test_jl10_grade_band_edges(deducted: str, final: str, grade: str, ratio: str) -> None:
    """JL-10 bands (含 = inclusive), JL-12 refund ratios at each edge."""
    outcome = result(deducted=deducted)
    assert (outcome["final_score"], outcome["grade"], outcome["refund_ratio"]) == (
        final, grade, ratio)


# ---------------------------------------------------------------- JL-12 settlement

def test_jl12_refund_at_85_55() -> None:
    """JL-12: 良 at 85.55: 100% − 2% × (90 − 85.55) = 100 − 8.9 = 91.10%;
    200,000 × 91.10% = 182,200.00 yuan; direct renewal; publicised."""
    outcome = result(deducted="14.5", bonus="0.05")
    assert (outcome["final_score"], outcome["grade"], outcome["refund_ratio"],
            outcome["refund_amount"], outcome["renewal"], outcome["publicize"]) == (
        "85.55", "良", "91.10", "182200.00", "direct", True)


def test_jl12_refund_amount_rounds_to_the_cent() -> None:
    """JL-12, G2: 合格 at 79.99 → 74.98%; deposit 12,345.67 × 74.98% = 9,256.783… → 9,256.78."""
    outcome = result(deducted="20.01", deposit="12345.67")
    assert outcome["refund_amount"] == "9256.78"


def test_jl12_downgraded_twice_refunds_as_new_grade_at_its_top() -> None:
    """JL-12: 优 at 95, criticised by the national administration: down 2 → 合格; the refund
    uses 合格's rule with the score capped at 80: 100 − 2.5 × 10 = 75%."""
    outcome = result(deducted="5", opinion_events=["national"])
    assert (outcome["grade_before_adjustment"], outcome["grade"], outcome["refund_ratio"]) == (
        "优", "合格", "75.00")
    assert outcome["publicize"] is False
    [adjustment] = outcome["adjustments"]
    assert (adjustment["kind"], adjustment["grades"], adjustment["applied"]) == (
        "downgrade", 2, True)
    assert adjustment["cites"] == ["JL-12"]


def test_jl12_largest_downgrade_applies_not_the_sum() -> None:
    """JL-12: national (2) and provincial (1): down 2, not 3: 优 at 95 → 合格 (not 基本合格).
    Provincial alone: 优 → 良, refund as 良 at min(95, 90) = 90 → 100%."""
    both = result(deducted="5", opinion_events=["provincial", "国家"])
    assert both["grade"] == "合格"
    assert [a["applied"] for a in both["adjustments"]] == [False, True]
    provincial = result(deducted="5", opinion_events=["省"])
    assert (provincial["grade"], provincial["refund_ratio"]) == ("良", "100.00")


def test_jl12_downgrade_stops_at_the_lowest_grade() -> None:
    """JL-12: 基本合格 at 60, national event: down 2 would pass the bottom → 不合格, 0%."""
    outcome = result(deducted="40", opinion_events=["national"])
    assert (outcome["grade"], outcome["refund_ratio"], outcome["renewal"]) == (
        "不合格", "0.00", "none")


def test_jl12_veto() -> None:
    """JL-12 一票否决: 优 at 98 with a finding that the agreement must end → 不合格,
    refund 0, no renewal."""
    outcome = result(deducted="2", veto=True)
    assert (outcome["grade_before_adjustment"], outcome["grade"], outcome["refund_ratio"],
            outcome["refund_amount"], outcome["renewal"]) == (
        "优", "不合格", "0.00", "0.00", "none")
    assert outcome["adjustments"][0]["kind"] == "veto"


@pytest.mark.parametrize(("changes", "renewal"), [
    ({"deducted": "5"}, "direct"),                                     # 优
    ({"deducted": "5", "other_breach": True}, "review"),               # 优 with another breach
    ({"deducted": "35"}, "review"),                                    # 基本合格 (65)
    ({"deducted": "35", "previous_grade": "基本合格"}, "with_suspension"),  # twice in a row
    ({"deducted": "35", "previous_grade": "合格"}, "review"),
    ({"deducted": "45"}, "none"),                                      # 不合格
])
def test_jl12_renewal(changes: dict[str, Any], renewal: str) -> None:
    """JL-12: direct renewal unless another breach; consecutive 基本合格: 1-month suspension."""
    assert result(**changes)["renewal"] == renewal


# ---------------------------------------------------------------- JL-11 composite

def test_jl11_composite_70_30() -> None:
    """JL-11: own 90, subordinates 80 and 70 (mean 75): 0.7 × 90 + 0.3 × 75 = 63 + 22.5 =
    85.5 → 良; 100 − 2 × 4.5 = 91%."""
    outcome = result(deducted="10", subordinate_scores=["80", "70"])
    assert (outcome["own_score"], outcome["final_score"], outcome["grade"],
            outcome["refund_ratio"]) == ("90.00", "85.50", "良", "91.00")


def test_jl11_composite_uses_the_exact_own_score() -> None:
    """JL-11, JL-12 order of rounding: own 100 − 14.445 = 85.555 (exact), one subordinate
    at 60.01: 0.7 × 85.555 + 0.3 × 60.01 = 59.8885 + 18.003 = 77.8915 → 77.89 (合格).
    Rounding own first (85.56) would give 59.892 + 18.003 = 77.895 → 77.90.
    Refund 100 − 2.5 × 12.11 = 69.725 → 69.73%."""
    outcome = result(deducted="14.445", subordinate_scores=["60.01"])
    assert (outcome["final_score"], outcome["grade"], outcome["refund_ratio"]) == (
        "77.89", "合格", "69.73")


# ---------------------------------------------------------------- JL-13, 14, 15: not assessed

def test_jl13_tenure_exactly_six_months_is_assessed() -> None:
    """JL-13: start 2026-07-01 + 6 months = 2027-01-01 ≤ 1 January 2027 → assessed."""
    assert result(agreement_start="2026-07-01")["status"] == "assessed"


def test_jl13_tenure_one_day_short_is_deferred() -> None:
    """JL-13, JL-N: start 2026-07-02 + 6 months = 2027-01-02 > 1 January 2027 → deferred:
    no score, grade, ratio or renewal; not publicised."""
    outcome = result(agreement_start="2026-07-02")
    assert (outcome["status"], outcome["total"], outcome["grade"], outcome["refund_ratio"],
            outcome["renewal"], outcome["publicize"]) == (
        "deferred", None, None, None, None, False)


def test_jl14_terminated_for_violations_forfeits_the_deposit() -> None:
    """JL-14, JL-N: terminated: ratio 0, nothing refunded, no renewal, not assessed; settled
    before tenure is looked at (a start 2026-10-01 would otherwise defer it)."""
    outcome = result(status="terminated", agreement_start="2026-10-01")
    assert (outcome["status"], outcome["grade"], outcome["refund_ratio"],
            outcome["refund_amount"], outcome["renewal"]) == (
        "terminated", None, "0.00", "0.00", "none")


@pytest.mark.parametrize(("violations", "ratio", "amount"), [
    (True, "50.00", "100000.00"),    # 合格's lowest ratio: at 70, 100 − 2.5 × 20 = 50%
    (False, "100.00", "200000.00"),  # no violations: full refund
])
def test_jl15_voluntary_exit(violations: bool, ratio: str, amount: str) -> None:
    """JL-15: voluntary exit, with or without violations found; no renewal."""
    outcome = result(status="voluntary_exit", violations_found=violations)
    assert (outcome["status"], outcome["refund_ratio"], outcome["refund_amount"],
            outcome["renewal"], outcome["grade"]) == (
        "voluntary_exit", ratio, amount, "none", None)


# ---------------------------------------------------------------- JL-17, JL-6

def test_jl17_fraud_clues_are_flagged_for_referral() -> None:
    assert result(fraud_clues=True)["referral"] is True
    assert result()["referral"] is False


def test_jl6_deduction_without_evidence_is_rejected() -> None:
    """JL-6: every deduction rests on viewable evidence; an entry without it is an error."""
    record = institution(deductions=[{"item": "1", "points": "2"}])
    outcome = score_one(PACK, record)
    assert outcome["total"] is None and outcome["grade"] is None
    assert "deductions[0].evidence: is missing" in outcome["error"]
    blank = score_one(PACK, institution(deductions=[{"item": "1", "points": "2",
                                                     "evidence": "  "}]))
    assert "deductions[0].evidence: is missing" in blank["error"]


def test_jl6_entry_for_an_unknown_item_is_rejected() -> None:
    """Entries are checked against the item catalogue: the model's deductions go to item 1."""
    outcome = score_one(PACK, institution(deductions=[{"item": "7", "points": "2",
                                                       "evidence": "x"}]))
    assert "deductions[0].item: item '7' takes no deductions; the items that do: 1" in \
        outcome["error"]


@pytest.mark.parametrize("pack", ["jilin/medical-outpatient-2026", "jilin/pharmacy-2026"])
def test_every_model_standard_applies_the_framework(pack: str) -> None:
    """The other two classes: 良 at 85.55 refunds 91.10% under the same framework."""
    outcome = score_one(pack, institution(deducted="14.45"))
    assert (outcome["final_score"], outcome["grade"], outcome["refund_ratio"]) == (
        "85.55", "良", "91.10")
