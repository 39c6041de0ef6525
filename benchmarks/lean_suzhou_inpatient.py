"""A lean hand-written Decimal scorer of Suzhou 附件1 (with inpatient services): the reference
the benchmark measures `policyc` against (issue 10).

Written from the table (shared/sources/003_408aefbd14c23be5.txt) and the readings of
shared/POLICY-NOTES.md (SZ-1..SZ-14, SZ-C, SZ-T, G1..G7), not from the pack, as an expert
would write it to be fast but honest: exact Decimal arithmetic, the rounding named (G2),
scoring alone in-process. No validation and no I/O: the records come pre-parsed (`prepare`,
not timed), every value already a Decimal, int, bool or enum code, every record valid.

    scores = score_batch(prepare(records))   # one LeanScore per record, in order

Its results must equal the pack's, item by item, on every generated batch and on the
regression cases' records (tests/test_benchmarks.py): a reference that disagrees measures
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from typing import Any, NamedTuple

# Divisions (rescaling) carried to 28 significant digits, half-even, whatever the thread's
# context says; the reported total rounded to 2 decimals, half-up (G2).
DIVISION = Context(prec=28, rounding=ROUND_HALF_EVEN)
CENT = Decimal("0.01")

Z = Decimal(0)
ONE = Decimal(1)
TWO = Decimal(2)
THREE = Decimal(3)
FOUR = Decimal(4)
FIVE = Decimal(5)
EIGHT = Decimal(8)
FIFTEEN = Decimal(15)
TWENTY = Decimal(20)
HALF = Decimal("0.5")
TENTH = Decimal("0.1")
ONE_HALF = Decimal("1.5")
HUNDRED = Decimal(100)
FIFTY = Decimal(50)
EIGHTY = Decimal(80)
NINETY = Decimal(90)
NINETY_SIX = Decimal(96)
NINETY_EIGHT = Decimal(98)
THOUSANDTH = Decimal("0.001")  # SZ-6: 千分之一

# SZ-1: the catalogue share each level must reach
SHARE_THRESHOLD = {"tertiary": Decimal(80), "secondary": Decimal(90), "primary": Decimal(95)}
# SZ-6: each document's deduction; one violation counts at its heaviest (从一重)
DOCUMENT_POINTS = {"correction_notice": ONE, "loss_penalty": THREE, "loss_return_only": TWO,
                   "fraud_penalty": FIVE, "fraud_return_only": FOUR, "judicial_referral": FIVE}
# SZ-12: ranks 1..10 get +1.0 .. +0.1; the ten lowest −1.0 (lowest) .. −0.1
TOP = tuple(ONE - TENTH * n for n in range(10))
BOTTOM = tuple(-ONE + TENTH * n for n in range(10))


class LeanScore(NamedTuple):
    total: Decimal  # rescaled to 100, 2 decimals half-up
    earned: Decimal
    applicable_max: Decimal
    items: tuple[Decimal | None, ...]  # items 1..14; None: not applicable (G5)


def prepare(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as the generator gives it (or a pack's facts as a dict), pre-parsed for the
    scorer: lists of entries reduced to what scoring reads. Not timed."""
    row = dict(record)
    row["unstocked_products"] = tuple(int(p["cases"]) for p in record["unstocked_products"])
    row["violations"] = tuple(frozenset(v["documents"]) for v in record["violations"])
    row["complaints"] = tuple(Decimal(c["deduction"]) for c in record["complaints"])
    row["display_channels"] = frozenset(record["display_channels"])
    for name in ("procurement_score", "drg_score", "fund_loss_amount",
                 "region_fund_expenditure_last_year", "eprescription_connected",
                 "eprescription_flow_rate", "satisfaction_score", "direct_survey_adjustment",
                 "pay_later_share_dec_2023", "pay_later_share_2024"):
        row.setdefault(name, None)
    return row


def survey_adjustments(rows: Sequence[Mapping[str, Any]]) -> list[Decimal]:
    """SZ-12, SZ-C: competition ranks by satisfaction score, best first, ties sharing the
    better rank; top ten by rank, else bottom ten by N − rank + 1; unranked: the direct
    adjustment, else 0."""
    scores = [r["satisfaction_score"] for r in rows]
    ranked = sorted((s for s in scores if s is not None), reverse=True)
    count = len(ranked)
    rank_of: dict[Decimal, int] = {}
    for place, value in enumerate(ranked, start=1):
        rank_of.setdefault(value, place)  # the first place a value takes: ties best
    out: list[Decimal] = []
    for row, score in zip(rows, scores, strict=True):
        if score is None:
            direct = row["direct_survey_adjustment"]
            out.append(Z if direct is None else direct)
            continue
        rank = rank_of[score]
        if rank <= 10:
            out.append(TOP[rank - 1])
        elif count - rank + 1 <= 10:
            out.append(BOTTOM[count - rank])
        else:
            out.append(Z)
    return out


def _clamp(value: Decimal, high: Decimal) -> Decimal:
    return Z if value < Z else high if value > high else value


def score(r: Mapping[str, Any], survey: Decimal) -> LeanScore:
    """One institution, items 1..14 (SZ-1..SZ-14), then the total (SZ-T, G5)."""
    # 1 目录 (SZ-1, G4): 1 + 1 + (1 − 0.1 per complete point under the level's share, ≤ 1)
    gap = SHARE_THRESHOLD[r["level"]] - r["catalogue_drug_share"]
    i1 = (ONE if r["catalogue_updated_on_time"] else Z) + \
        (ONE if r["catalogue_maintained_correctly"] else Z) + \
        (ONE if gap <= 0 else ONE - min(TENTH * int(gap), ONE))
    # 2 价格 (SZ-2, G1): 3 − 1 per problem, the deductions capped at 3
    i2 = THREE - min(r["price_violations"] + r["fee_disclosure_failures"]
                     + r["late_self_pricing_notices"], 3)
    # 3 招采 (SZ-3): public only, score × 20%
    public = r["ownership"] == "public"
    i3 = _clamp(DIVISION.divide(r["procurement_score"] * TWENTY, HUNDRED), TWENTY) \
        if public else None
    # 4 DRG (SZ-4): in DRG payment only, score × 20%
    in_drg = r["in_drg"]
    i4 = _clamp(DIVISION.divide(r["drg_score"] * TWENTY, HUNDRED), TWENTY) if in_drg else None
    # 5 国谈药 (SZ-5): 1 + 2, minus 1 per product with one case, 3 with two or more
    i5 = (ONE if r["negotiated_drug_rate"] >= r["negotiated_drug_rate_last_year"] else Z) + \
        (TWO if r["negotiated_drug_meeting_held"] else Z)
    for cases in r["unstocked_products"]:
        i5 -= THREE if cases >= 2 else ONE
    i5 = _clamp(i5, THREE)
    # 6 基金 (SZ-6): 15 minus each violation's heaviest document; 0 when refused to correct
    # or serious consequences (a loss ≥ 0.1% of the region's expenditure, both given)
    loss, region = r["fund_loss_amount"], r["region_fund_expenditure_last_year"]
    if r["refused_to_correct"] or r["serious_social_harm"] or (
            loss is not None and region is not None and loss >= region * THOUSANDTH):
        i6 = Z
    else:
        i6 = FIFTEEN
        for documents in r["violations"]:
            i6 -= max(DOCUMENT_POINTS[d] for d in documents) if documents else Z
        i6 = _clamp(i6, FIFTEEN)
    # 7 基金管理 (SZ-7): 1 + 1 + 1 + the upload tier (DRG ≥98/≥96, others ≥90/≥80), minus
    # 1 per incident
    rate = r["settlement_list_upload_rate"]
    if in_drg:
        upload = TWO if rate >= NINETY_EIGHT else ONE if rate >= NINETY_SIX else Z
    else:
        upload = TWO if rate >= NINETY else ONE if rate >= EIGHTY else Z
    i7 = _clamp((ONE if r["financial_system_in_place"] else Z)
                + (ONE if r["cooperates_with_fund_management"] else Z)
                + (ONE if r["no_new_receivables"] else Z) + upload
                - r["cooperation_incidents"], FIVE)
    # 8 编码 (SZ-8): 2 for full coverage, 3 for a non-standard rate below 1%
    i8 = (TWO if r["coding_full_coverage"] else Z) + \
        (THREE if r["nonstandard_code_rate"] < ONE else Z)
    # 9 信息化 (SZ-9): the e-voucher share (≥50/40/30%, compared in whole numbers), mobile
    # payment, e-prescription (dual channel only: else awarded in full, G5), integration
    vouchers, settlements = r["evoucher_settlements"] * 100, r["all_settlements"]
    i9 = TWO if vouchers >= 50 * settlements else ONE_HALF if vouchers >= 40 * settlements \
        else ONE if vouchers >= 30 * settlements else Z
    if r["mobile_payment_connected"]:
        i9 += TWO
    if not r["dual_channel"]:
        i9 += TWO
    elif r["eprescription_connected"]:
        flow = r["eprescription_flow_rate"]
        i9 += TWO if flow > EIGHTY else ONE_HALF if flow > FIFTY else ONE
    if r["systems_integration_done"]:
        i9 += TWO
    # 10 诊疗 (SZ-10): 4 − 1 per case, floor 0
    i10 = _clamp(FOUR - r["care_violations"], FOUR)
    # 11 协议 (SZ-11): 2, or 0 on any violation
    i11 = Z if r["agreement_violations"] > 0 else TWO
    # 12 满意度 (SZ-12): 2 − complaints + the survey adjustment, within [0, 2]
    i12 = TWO + survey
    for deduction in r["complaints"]:
        i12 -= deduction
    i12 = _clamp(i12, TWO)
    # 13 先诊疗后付费 (SZ-13, bonus): 3 + 2 + 2 with the connection, at most 5
    if r["pay_later_connected"]:
        i13 = THREE + (TWO if r["pay_later_share_dec_2023"] >= FIVE else Z) + \
            (TWO if r["pay_later_share_2024"] >= 10 else Z)
        i13 = min(i13, FIVE)
    else:
        i13 = Z
    # 14 宣传 (SZ-14, bonus): 1 per policy forwarded + 0.5 per channel, at most 5
    i14 = min(r["policies_forwarded"] + HALF * len(r["display_channels"]), FIVE)
    # SZ-T, G5: applicable items over the applicable maximum, rescaled to 100
    earned = i1 + i2 + i5 + i6 + i7 + i8 + i9 + i10 + i11 + i12 + i13 + i14
    maximum = HUNDRED
    if i3 is None:
        maximum -= TWENTY
    else:
        earned += i3
    if i4 is None:
        maximum -= TWENTY
    else:
        earned += i4
    exact = earned if maximum == HUNDRED else DIVISION.divide(earned * HUNDRED, maximum)
    total = exact.quantize(CENT, rounding=ROUND_HALF_UP, context=DIVISION)
    return LeanScore(total, earned, maximum,
                     (i1, i2, i3, i4, i5, i6, i7, i8, i9, i10, i11, i12, i13, i14))


def score_batch(rows: Sequence[Mapping[str, Any]]) -> list[LeanScore]:
    """Every record of a batch, the survey adjustment computed over the batch (SZ-C)."""
    return [score(row, survey) for row, survey in zip(rows, survey_adjustments(rows),
                                                       strict=True)]


def prepared(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [prepare(record) for record in records]
