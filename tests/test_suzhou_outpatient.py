"""Suzhou 2023 附件2 (without inpatient services): every SZ2 reading, worked out by hand.

Each case starts from `full_marks_outpatient()` (100 of 100, see tests/helpers.py).
"""

from decimal import Decimal as D

import pytest
from helpers import DROP, full_marks_outpatient, item, score_all, score_one

PACK = "suzhou/outpatient-2023"


def test_full_marks_base_record_scores_100() -> None:
    result = score_one(PACK, full_marks_outpatient())
    assert result["error"] is None
    assert (result["total"], result["earned"], result["applicable_max"]) == ("100.00", "100", "100")
    assert list(result["items"]) == [str(n) for n in range(1, 14)]


@pytest.mark.parametrize(("share", "expected"), [
    ("95", D("6")),      # ≥95% (G6) → 2+2+2
    ("93.5", D("5.9")),  # 1.5 short → 1 complete step (G4) → 2 − 0.1
    ("70", D("4")),      # 25 short → 2.5, "最多扣2分" → 2 − 2 = 0
])
def test_sz2_1_single_threshold_two_point_parts(share: str, expected: D) -> None:
    """SZ2-1: as SZ-1 with 2-point parts, one threshold 95%, at most 2 deducted."""
    assert item(score_one(PACK, full_marks_outpatient(catalogue_drug_share=share)), 1) == expected


def test_sz2_2_deductions_capped_at_5() -> None:
    """SZ2-2: 2 + 2 + 2 = 6 deducted, capped at 5 → 0; 2 deducted → 5 − 2 = 3."""
    six = full_marks_outpatient(price_violations=2, fee_disclosure_failures=2,
                                late_self_pricing_notices=2)
    assert item(score_one(PACK, six), 2) == 0
    assert item(score_one(PACK, full_marks_outpatient(price_violations=2)), 2) == 3


def test_sz2_3_private_rescaled_100_over_80() -> None:
    """SZ2-3: private: item 3 out; 2 price violations: 80 − 2 = 78 of 80 → 97.50."""
    result = score_one(PACK, full_marks_outpatient(ownership="private", procurement_score=DROP,
                                                   price_violations=2))
    assert item(result, 3) is None
    assert (result["earned"], result["applicable_max"], result["total"]) == ("78", "80", "97.50")


def test_sz2_4_peer_means_and_complete_five_point_steps() -> None:
    """SZ2-4: three clinics of one peer group, no averages given, so the batch's mean is used.
    Cost per visit (last year 100 each): 110, 100, 126 → growth 10%, 0%, 26%;
    mean (10 + 0 + 26) / 3 = 12%.
      A: 10% ≤ 12% → 4.   B: 0% → 4.
      C: 26 − 12 = 14 points above → 2 complete 5-point steps (G4) → 4 − 2 = 2.
    Visits per person: A 2200/1000 = 2.2 vs 2.0 → +10%; B 2.0 vs 2.0 → 0%;
    C 2600/1000 = 2.6 vs 2.0 → +30%. Mean (10 + 0 + 30) / 3 = 13.33…%.
      A, B → 4.   C: 30 − 13.33… = 16.66… above → 3 steps → 4 − 3 = 1.
    Item 4: A 8, B 8, C 2 + 1 = 3."""
    no_average = {"peer_cost_growth_given": DROP, "peer_visits_growth_given": DROP}
    records = [
        full_marks_outpatient(id="A", **no_average),
        full_marks_outpatient(id="B", cost_per_visit="100", visits=2000, **no_average),
        full_marks_outpatient(id="C", cost_per_visit="126", visits=2600, **no_average),
    ]
    assert [item(r, 4) for r in score_all(PACK, records)] == [D("8"), D("8"), D("3")]


@pytest.mark.parametrize(("cost", "expected"), [
    ("115", D("7")),     # growth 15% vs given 10%: 5 above → 1 complete step → 4 − 1 = 3
    ("114.99", D("8")),  # 4.99 above → 0 complete steps → 4
    ("140", D("4")),     # 30 above → 6 steps → floor 0 (扣完为止)
])
def test_sz2_4_steps_against_a_given_average(cost: str, expected: D) -> None:
    """SZ2-4, G4: an average given in the record is used instead of the batch's;
    visits-per-person growth 10% vs 10% keeps its 4."""
    assert item(score_one(PACK, full_marks_outpatient(cost_per_visit=cost)), 4) == expected


def test_sz2_4_alone_in_peer_group_without_average_is_an_error() -> None:
    """SZ2-4: the only clinic of its peer group and no average given: a mean over itself
    would always give 4, so the record is an error naming the field to give."""
    lonely = full_marks_outpatient(id="L", peer_group="独家", peer_cost_growth_given=DROP)
    pair = [full_marks_outpatient(id=f"P{i}", peer_cost_growth_given=DROP) for i in (1, 2)]
    results = score_all(PACK, [lonely, *pair])
    assert results[0]["total"] is None
    assert "peer_cost_growth_given: is needed: the batch holds 1 institution(s)" in \
        results[0]["error"]
    # the two of the other group are scored: same growth 10%, mean 10% → 4 + 4 = 8
    assert [item(r, 4) for r in results[1:]] == [D("8"), D("8")]


def test_sz2_4_zero_base_is_an_error() -> None:
    """SZ2-4, G7: last year's cost per visit 0: growth is undefined → error on cost_growth."""
    result = score_one(PACK, full_marks_outpatient(cost_per_visit_last_year="0"))
    assert "cost_growth: cannot be derived: cost_per_visit_last_year is 0" in result["error"]


def test_sz2_5_as_sz6() -> None:
    """SZ2-5 (as SZ-6): a 1–2× penalty with a correction notice (3) and a judicial
    referral (5): 15 − 8 = 7; refusal → 0."""
    violations = [{"documents": ["loss_penalty", "correction_notice"]},
                  {"documents": ["移送司法部门"]}]
    assert item(score_one(PACK, full_marks_outpatient(violations=violations)), 5) == 7
    assert item(score_one(PACK, full_marks_outpatient(refused_to_correct=True)), 5) == 0


def test_sz2_6_four_parts_and_incidents() -> None:
    """SZ2-6: inaccurate upload: 2+2+2+0 = 6; one incident: 6 − 1 = 5; 9 incidents → 0.
    No upload-rate tiers in this table."""
    base = {"settlement_data_accurate": False}
    assert item(score_one(PACK, full_marks_outpatient(**base)), 6) == 6
    assert item(score_one(PACK, full_marks_outpatient(**base, cooperation_incidents=1)), 6) == 5
    assert item(score_one(PACK, full_marks_outpatient(**base, cooperation_incidents=9)), 6) == 0


def test_sz2_7_as_sz8() -> None:
    """SZ2-7 (as SZ-8): no full coverage 0 + rate 1% (not below 1%) 0 → 0."""
    result = score_one(PACK, full_marks_outpatient(coding_full_coverage=False,
                                                   nonstandard_code_rate="1"))
    assert item(result, 7) == 0


def test_sz2_8_as_sz9() -> None:
    """SZ2-8 (as SZ-9): e-voucher 45/100 = 45% → 1.5; dual-channel, connected, flow 60%
    → 1 + 0.5: 1.5 + 2 + 1.5 + 2 = 7."""
    result = score_one(PACK, full_marks_outpatient(
        evoucher_settlements=45, dual_channel=True, eprescription_connected=True,
        eprescription_flow_rate="60"))
    assert item(result, 8) == D("7")


def test_sz2_9_and_sz2_10() -> None:
    """SZ2-9: 6 − 2 = 4. SZ2-10: one situation → 0 of 6."""
    result = score_one(PACK, full_marks_outpatient(care_violations=2, agreement_violations=1))
    assert (item(result, 9), item(result, 10)) == (D("4"), D("0"))


def test_sz2_11_complaints_without_survey_adjustment() -> None:
    """SZ2-11: 3 − (1 + 0.5) = 1.5; 3 − 3.5 → 0. No survey adjustment in this table, so
    a batch does not change the item."""
    one = full_marks_outpatient(complaints=[{"deduction": 1}, {"deduction": "0.5"}])
    assert item(score_one(PACK, one), 11) == D("1.5")
    many = full_marks_outpatient(complaints=[{"deduction": 1}] * 3 + [{"deduction": "0.5"}])
    assert item(score_one(PACK, many), 11) == 0


def test_sz2_12_sz2_13_bonus_items() -> None:
    """SZ2-12 (as SZ-13): connected 3 + Dec share 5% 2 + 2024 share 9% 0 = 5.
    SZ2-13 (as SZ-14): 1 forwarded + 2 channels × 0.5 = 2."""
    result = score_one(PACK, full_marks_outpatient(pay_later_share_2024="9",
                                                   policies_forwarded=1,
                                                   display_channels=["poster", "leaflet"]))
    assert (item(result, 12), item(result, 13)) == (D("5"), D("2"))
