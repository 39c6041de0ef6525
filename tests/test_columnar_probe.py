"""The columnar probe (benchmarks/columnar_probe.py): numbers reach its fixed-point columns
exactly or not at all, and its scores equal the lean scorer's, record by record, item by item,
or it would measure nothing."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import columnar_probe as probe  # noqa: E402
import generate  # noqa: E402
import lean_suzhou_inpatient as lean  # noqa: E402

INPATIENT = "suzhou/inpatient-2023"


def _batch_bytes(rows: list[dict[str, Any]]) -> bytes:
    return "".join(generate.json_text(row) + "\n" for row in rows).encode()


def _number_read(text: str) -> Decimal:
    """One JSON number through the probe's route: arrow's decimal256 parse, then the checked
    cast to the int64 fixed point, back to a Decimal."""
    row = {**next(generate.records(INPATIENT, 1, seed=1)), "fund_loss_amount": "@@"}
    line = generate.json_text(row).replace('"@@"', text)
    columns = probe.columns(probe.read_table((line + "\n").encode()))
    return Decimal(int(columns.number["fund_loss_amount"][0])).scaleb(-probe.IN_DIGITS)


@pytest.mark.parametrize(("text", "exact"), [
    ("0.1", "0.1"), ("85.35", "85.35"), ("99.995", "99.995"), ("1e2", "100"),
    ("1E-2", "0.01"), ("1.5e1", "15"), ("0.0001", "0.0001"), ("-0", "0"),
    ("12345678901234.1234", "12345678901234.1234"),
])
def test_arrow_reads_json_numbers_into_the_fixed_point_exactly(text: str, exact: str) -> None:
    assert _number_read(text) == Decimal(exact)


@pytest.mark.parametrize("text", [
    "0.00001",  # a fifth decimal: refused, not rounded to 0
    "85.35000001",
    "0.30000000000000004",  # a float's shortest text
    "1234567890123456",  # 16 + 4 digits: beyond decimal128(18, 4)
    "9" * 38,  # decimal128(38, s) itself would wrap this one silently: hence decimal256
    "9" * 72, "9" * 73, "9" * 76, "9" * 80, "1e400",
])
def test_a_number_the_columns_cannot_hold_fails_the_batch(text: str) -> None:
    with pytest.raises(Exception, match=r"(?i)scale|precision|fit|too big|invalid"):
        _number_read(text)


def test_what_the_probe_does_not_validate_is_refused_not_misread() -> None:
    row = next(generate.records(INPATIENT, 1, seed=1))
    for bad in ({**row, "level": "三级"},  # an alias the pack accepts: the probe knows none
                {k: v for k, v in row.items() if k != "all_settlements"}):
        with pytest.raises(ValueError):
            probe.columns(probe.read_table(_batch_bytes([bad])))


def test_magnitudes_the_int64_arithmetic_cannot_hold_are_refused_or_capped() -> None:
    """int64 wraps silently: a number (not money) beyond ±100,000 is refused; a count far
    past its item's cap (4 − that many care violations is 0 after the floor) is capped before
    it is multiplied by a point, so item 10 is 0, not a wrapped value. 138,350,580,552,822
    × 10⁵ is 1.5 × 2⁶³: uncapped it would wrap and item 10 would be 4."""
    base = next(generate.records(INPATIENT, 1, seed=1))
    with pytest.raises(ValueError, match="satisfaction_score"):
        probe.columns(probe.read_table(_batch_bytes(
            [{**base, "satisfaction_score": Decimal("100000.0001")}])))
    past = 138_350_580_552_822
    rows = [{**base, "care_violations": past, "policies_forwarded": past,
             "cooperation_incidents": past}]
    data = _batch_bytes(rows)
    _, scored, _ = probe.score_file(data)
    assert [int(scored.items[n][0]) for n in (6, 9, 13)] == [0, 0, 5 * probe.POINT]
    assert probe.disagreements(scored, lean.score_batch(probe.lean_rows(data))) == []


def test_the_survey_ranks_by_hand() -> None:
    """SZ-12: scores 90, 95, 95, 80 rank 3, 1, 1, 4 (ties share the better rank); four
    ranked, all within the top ten: +1.0 − 0.1 × (rank − 1) = 0.8, 1.0, 1.0, 0.7; an unranked
    record takes its direct adjustment (−0.5), else 0."""
    score = np.array([90, 95, 95, 80, 0, 0], dtype=np.int64) * probe.IN
    scored = np.array([True, True, True, True, False, False])
    direct = np.array([0, 0, 0, 0, -5000, 0], dtype=np.int64)
    given = np.array([False, False, False, False, True, False])
    out = probe.survey_adjustments(score, scored, direct, given)
    assert [Decimal(int(v)).scaleb(-probe.POINT_DIGITS) for v in out] == \
        [Decimal("0.8"), 1, 1, Decimal("0.7"), Decimal("-0.5"), 0]


def test_the_probe_by_hand() -> None:
    """The lean scorer's hand case (tests/test_benchmarks.py): a private hospital outside DRG
    (maximum 60, G5), item 1 = 1 + 1 + (1 − 0.1 × 2) = 2.8, item 2 = 3 − 2 = 1, the rest
    full: 57.8 of 60 → 57.8 × 100 / 60 = 96.333… → 96.33; no channels, five policies: 5."""
    row = next(generate.records(INPATIENT, 1, seed=1))
    row.update(id="H1", level="secondary", ownership="private", in_drg=False,
               catalogue_updated_on_time=True, catalogue_maintained_correctly=True,
               catalogue_drug_share=Decimal("87.5"), price_violations=2,
               fee_disclosure_failures=0, late_self_pricing_notices=0,
               negotiated_drug_rate=Decimal(70), negotiated_drug_rate_last_year=Decimal(70),
               negotiated_drug_meeting_held=True, unstocked_products=[], violations=[],
               refused_to_correct=False, serious_social_harm=False,
               financial_system_in_place=True, cooperates_with_fund_management=True,
               no_new_receivables=True, settlement_list_upload_rate=Decimal(90),
               cooperation_incidents=0, coding_full_coverage=True,
               nonstandard_code_rate=Decimal("0.5"), evoucher_settlements=5000,
               all_settlements=10000, mobile_payment_connected=True, dual_channel=False,
               systems_integration_done=True, care_violations=0, agreement_violations=0,
               complaints=[], pay_later_connected=True,
               pay_later_share_dec_2023=Decimal(5), pay_later_share_2024=Decimal(10),
               policies_forwarded=5, display_channels=[])
    for name in ("procurement_score", "drg_score", "satisfaction_score",
                 "direct_survey_adjustment", "eprescription_connected",
                 "eprescription_flow_rate", "fund_loss_amount"):
        row.pop(name, None)
    _, _, written = probe.score_file(_batch_bytes([row]))
    assert written.decode() == (
        '{"id": "H1", "total": "96.33", "earned": "57.8", "applicable_max": "60", "items": '
        '{"1": "2.8", "2": "1", "3": null, "4": null, "5": "3", "6": "15", "7": "5", "8": "5", '
        '"9": "8", "10": "4", "11": "2", "12": "2", "13": "5", "14": "5"}, "error": null, '
        f'"pack": "{INPATIENT}", "pack_sha256": "{probe.pack_sha256()}"}}\n')


def test_the_probe_agrees_with_the_lean_scorer_record_by_record() -> None:
    rows = list(generate.records(INPATIENT, 3_000, seed=2026))
    data = _batch_bytes(rows)
    _, scored, written = probe.score_file(data)
    lean_scores = lean.score_batch(probe.lean_rows(data))
    assert probe.disagreements(scored, lean_scores) == []
    # the batch is not all alike: totals spread, items 3 and 4 not applicable somewhere,
    # item 1's tenths, item 6's documents, item 12's survey bands and complaints reached
    assert len({s.total for s in lean_scores}) > 200
    assert any(s.items[2] is None for s in lean_scores)
    assert any(s.items[3] is None for s in lean_scores)
    assert {s.items[0] for s in lean_scores} >= {Decimal("2.9"), Decimal("2.5")}
    assert len({s.items[5] for s in lean_scores}) > 5
    assert {s.items[11] for s in lean_scores} >= {Decimal(0), Decimal(2), Decimal("1.5")}
    # every record out once, in order, its total and items as the lean scorer's Decimals
    lines = [json.loads(line) for line in written.splitlines()]
    assert [line["id"] for line in lines] == [row["id"] for row in rows]
    for line, theirs in zip(lines, lean_scores, strict=True):
        assert Decimal(line["total"]) == theirs.total
        assert tuple(None if v is None else Decimal(v) for v in line["items"].values()) == \
            theirs.items


def test_the_probe_writes_what_policyc_writes(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_bytes(_batch_bytes(list(generate.records(INPATIENT, 1_000, seed=11))))
    assert probe.score_file(path.read_bytes())[2] == probe.policyc_lines(path)


def test_a_disagreement_is_seen() -> None:
    rows = list(generate.records(INPATIENT, 50, seed=7))
    data = _batch_bytes(rows)
    _, scored, _ = probe.score_file(data)
    lean_scores = lean.score_batch(probe.lean_rows(data))
    scored.items[5][17] += 1  # one point-hundred-thousandth on record 17's item 6
    assert [d.split(":")[0] for d in probe.disagreements(scored, lean_scores)] == ["record 17"]


def test_serious_loss_at_the_thousandth_by_hand() -> None:
    """SZ-6: a loss of at least 0.1% of the region's expenditure zeroes item 6. Expenditure
    1,234,567.8901 → 0.1% = 1,234.5678901: a loss of 1,234.5678 is under it (15 points, no
    violations), 1,234.5679 reaches it (0): compared in integers, not at the thousandth's
    floor."""
    base = next(generate.records(INPATIENT, 1, seed=1))
    rows = [{**base, "id": f"L{n}", "violations": [], "refused_to_correct": False,
             "serious_social_harm": False, "fund_loss_amount": Decimal(loss),
             "region_fund_expenditure_last_year": Decimal("1234567.8901")}
            for n, loss in enumerate(("1234.5678", "1234.5679"))]
    data = _batch_bytes(rows)
    _, scored, _ = probe.score_file(data)
    assert [int(v) for v in scored.items[5]] == [15 * probe.POINT, 0]
    assert probe.disagreements(scored, lean.score_batch(probe.lean_rows(data))) == []


def test_the_bottom_ten_and_a_repeated_channel_by_hand() -> None:
    """SZ-12: twelve distinct scores 100, 99, …, 89 rank 1..12; ranks 1..10 take the top ten
    (+1.0 … +0.1), rank 11 is second lowest: −1.0 + 0.1 = −0.9, rank 12 the lowest: −1.0.
    SZ-14: channels are a set: poster, poster, leaflet is two channels; 3 policies + 0.5 × 2
    = 4."""
    score = np.arange(100, 88, -1, dtype=np.int64) * probe.IN
    out = probe.survey_adjustments(score, np.ones(12, dtype=np.bool_),
                                   np.zeros(12, dtype=np.int64), np.zeros(12, dtype=np.bool_))
    assert [Decimal(int(v)).scaleb(-probe.POINT_DIGITS) for v in out] == \
        [Decimal(10 - n) / 10 for n in range(10)] + [Decimal("-0.9"), Decimal("-1.0")]
    base = next(generate.records(INPATIENT, 1, seed=1))
    rows = [{**base, "policies_forwarded": 3, "display_channels": ["poster", "poster", "leaflet"]}]
    data = _batch_bytes(rows)
    _, scored, _ = probe.score_file(data)
    assert int(scored.items[13][0]) == 4 * probe.POINT
    assert probe.disagreements(scored, lean.score_batch(probe.lean_rows(data))) == []
