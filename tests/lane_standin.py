"""A stand-in for `policy_dsl.runtime.columns` and the generated `COLUMNS` of
suzhou/inpatient-2023 alone, made from `benchmarks/columnar_probe.py`, so that the column
lane's engine (`runtime.lane`) can be tested before the column backend lands. Tests install
it with `install(monkeypatch)`; nothing in `src/` knows of it.

It keeps the interface the lane calls: `SCALE`, `arrow_schema(plan)`, `read_columns(pack,
table)` → a block (`count`, `ids`, `vouched`, `cohort_facts(name)`, `take(mask)`), and
`score_block(pack, block, cohort_values)` → scores (`items`, `applicable`, `earned`,
`applicable_max`, `total`, `item_numbers`), every number an int64 at SCALE. It vouches for a
record conservatively (every bound, enum, required-when of the rule file as the generated
`read_record` checks them, lists without nulls or repeated set members, a nonzero
settlement count); it scores as the probe does (which agrees with the lean scorer and with
`policyc score` on 100,000 records), the SZ-12 survey adjustment taken from the cohort
values the lane passes in.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import columnar_probe as probe

PACK = "suzhou/inpatient-2023"
SCALE = 10**6
IN = probe.IN  # inputs are read at 4 decimals
UP = SCALE // IN
P = SCALE  # one point
PLAN = types.SimpleNamespace(pack=PACK)  # the stand-in's plan: only its identity matters

PERCENT_BOUNDS = {  # facts bounded 0..100 (percent and scores)
    "catalogue_drug_share", "procurement_score", "drg_score", "negotiated_drug_rate",
    "negotiated_drug_rate_last_year", "settlement_list_upload_rate", "nonstandard_code_rate",
    "eprescription_flow_rate", "pay_later_share_dec_2023", "pay_later_share_2024"}
CHANNELS = ("e_screen", "poster", "leaflet", "other")
COUNT_LIMIT = 10**9
MONEY_LIMIT = 10**12 * IN
OTHER_LIMIT = 1000 * IN


def arrow_schema(plan: Any) -> pa.Schema:
    assert plan is PLAN
    return probe.SCHEMA


@dataclass
class Block:
    count: int
    ids: list[str]
    vouched: np.ndarray
    values: dict[str, np.ndarray]  # per record: numbers at IN, counts, flags, codes, sums
    present: dict[str, np.ndarray]
    cohort_inputs: dict[str, list[Decimal | None]]

    def cohort_facts(self, name: str) -> list[Decimal | None]:
        return self.cohort_inputs[name]

    def take(self, mask: Any) -> Block:
        chosen = np.flatnonzero(np.asarray(mask)) if np.asarray(mask).dtype == np.bool_ \
            else np.asarray(mask, dtype=np.int64)
        listed = chosen.tolist()
        return Block(len(chosen), [self.ids[n] for n in listed], self.vouched[chosen],
                     {k: v[chosen] for k, v in self.values.items()},
                     {k: v[chosen] for k, v in self.present.items()},
                     {k: [v[n] for n in listed] for k, v in self.cohort_inputs.items()})


def _codes(values: Any, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each value's index in `names` (-1 when unknown or null) and whether it is known."""
    index = pc.index_in(values, value_set=pa.array(names))
    known = np.asarray(index.is_valid(), dtype=np.bool_)
    return np.asarray(index.fill_null(-1), dtype=np.int64), known


def _sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    return probe.segment_sums(values.astype(np.int64), offsets)


def _decimal_column(array: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values at IN (nulls 0), present, and fits (a value beyond int64 at IN does not)."""
    array = probe._whole(array)
    present = np.asarray(array.is_valid(), dtype=np.bool_)
    limit = pa.scalar(Decimal(10**13), array.type)
    fits = np.asarray(pc.less_equal(pc.abs(array.fill_null(0)), limit), dtype=np.bool_)
    safe = pc.if_else(pa.array(fits), array.fill_null(0), pa.scalar(Decimal(0), array.type))
    return probe.fixed(safe), present, fits


def read_columns(pack: Any, table: pa.Table) -> Block:
    n = table.num_rows
    ok = np.ones(n, dtype=np.bool_)
    values: dict[str, np.ndarray] = {}
    present: dict[str, np.ndarray] = {}
    for name in probe.DECIMALS:
        fixed, given, fits = _decimal_column(table.column(name))
        ok &= fits
        values[name], present[name] = fixed, given
        if name not in probe.OPTIONAL:
            ok &= given
        if name in PERCENT_BOUNDS:
            ok &= (fixed >= 0) & (fixed <= 100 * IN)
        elif name in probe.MONEY:
            ok &= (fixed >= 0) & (fixed <= MONEY_LIMIT)
        elif name == "direct_survey_adjustment":
            ok &= (fixed >= -IN) & (fixed <= IN)
        else:
            ok &= np.abs(fixed) <= OTHER_LIMIT
    for name in probe.COUNTS:
        column = probe._whole(table.column(name))
        ok &= np.asarray(column.is_valid(), dtype=np.bool_)
        counts = np.asarray(column.fill_null(0), dtype=np.int64)
        ok &= (counts >= 0) & (counts <= COUNT_LIMIT)
        values[name] = counts
    for name in probe.FLAGS:
        column = probe._whole(table.column(name))
        present[name] = np.asarray(column.is_valid(), dtype=np.bool_)
        if name != "eprescription_connected":
            ok &= present[name]
        values[name] = np.asarray(column.fill_null(False), dtype=np.bool_)
    level, known = _codes(probe._whole(table.column("level")), probe.LEVELS)
    ok &= known
    ownership, known = _codes(probe._whole(table.column("ownership")), probe.OWNERSHIPS)
    ok &= known
    values["level"], values["public"] = np.maximum(level, 0), ownership == 0
    # required when (the rule file's `required when`)
    ok &= present["procurement_score"] | ~values["public"]
    ok &= present["drg_score"] | ~values["in_drg"]
    ok &= present["eprescription_connected"] | ~values["dual_channel"]
    ok &= present["eprescription_flow_rate"] | ~(values["dual_channel"] & present[
        "eprescription_connected"] & values["eprescription_connected"])
    ok &= (present["pay_later_share_dec_2023"] & present["pay_later_share_2024"]) | \
        ~values["pay_later_connected"]
    ok &= values["all_settlements"] > 0  # evoucher_rate's share is undefined at 0
    # the lists: no null, known codes, no member given twice, bounds
    for name in ("violations", "unstocked_products", "complaints", "display_channels"):
        ok &= np.asarray(table.column(name).is_valid(), dtype=np.bool_)
    violations = probe._whole(table.column("violations")).fill_null([])
    documents = violations.flatten().field("documents")
    violation_offsets = probe._offsets(violations)
    document_offsets = probe._offsets(documents.fill_null([]))
    codes, known = _codes(documents.flatten(), probe.DOCUMENTS)
    per_violation_bad = _sums(~known, document_offsets) + (np.diff(document_offsets) == 0) \
        + np.asarray(documents.is_null(), dtype=np.int64)
    document_parent = np.repeat(np.arange(len(document_offsets) - 1), np.diff(document_offsets))
    twice = np.zeros(len(document_offsets) - 1, dtype=np.int64)
    for code in range(len(probe.DOCUMENTS)):
        twice += _sums(codes == code, document_offsets) > 1
    ok &= _sums(per_violation_bad + twice, violation_offsets) == 0
    heaviest = np.zeros(len(document_offsets) - 1, dtype=np.int64)
    np.maximum.at(heaviest, document_parent, probe.DOCUMENT_POINTS[np.maximum(codes, 0)]
                  // probe.POINT)
    values["documents_heaviest"] = _sums(heaviest, violation_offsets)  # whole points
    unstocked = probe._whole(table.column("unstocked_products")).fill_null([])
    cases_array = unstocked.flatten().field("cases")
    cases = np.asarray(cases_array.fill_null(0), dtype=np.int64)
    unstocked_offsets = probe._offsets(unstocked)
    ok &= _sums(~np.asarray(cases_array.is_valid(), dtype=np.bool_) | (cases < 1)
                | (cases > COUNT_LIMIT), unstocked_offsets) == 0
    values["unstocked_points"] = _sums(np.where(cases >= 2, 3, 1), unstocked_offsets)
    complaints = probe._whole(table.column("complaints")).fill_null([])
    deduction, given, fits = _decimal_column(complaints.flatten().field("deduction"))
    complaint_offsets = probe._offsets(complaints)
    ok &= _sums(~given | ~fits | (deduction < 0) | (deduction > IN), complaint_offsets) == 0
    values["complaint_sum"] = _sums(deduction, complaint_offsets)  # at IN
    channels = probe._whole(table.column("display_channels")).fill_null([])
    channel_offsets = probe._offsets(channels)
    channel_codes, known = _codes(channels.flatten(), CHANNELS)
    ok &= _sums(~known, channel_offsets) == 0
    distinct = np.zeros(n, dtype=np.int64)
    for code in range(len(CHANNELS)):
        times = _sums(channel_codes == code, channel_offsets)
        ok &= times <= 1
        distinct += times > 0
    values["channels"] = distinct
    cohort_inputs = {name: table.column(name).to_pylist()
                     for name in ("satisfaction_score", "direct_survey_adjustment")}
    ids = table.column("id").fill_null("").to_pylist()
    return Block(n, ids, ok, values, present, cohort_inputs)


def _clamp(value: np.ndarray, high: int) -> np.ndarray:
    return np.clip(value, 0, high)


@dataclass
class Scores:
    items: np.ndarray
    applicable: np.ndarray
    earned: np.ndarray
    applicable_max: np.ndarray
    total: np.ndarray
    item_numbers: tuple[str, ...]


def score_block(pack: Any, b: Block, cohort_values: dict[str, np.ndarray]) -> Scores:
    """The probe's `score_columns` at SCALE, the survey adjustment from `cohort_values`."""
    n, d, f = b.count, b.values, b.values
    one = np.int64(P)
    tenth = P // 10
    gap = probe.SHARE_THRESHOLD[d["level"]] - d["catalogue_drug_share"]
    whole_gap = np.where(gap > 0, gap // IN, 0)
    i1 = (f["catalogue_updated_on_time"] * one + f["catalogue_maintained_correctly"] * one
          + one - np.minimum(tenth * whole_gap, one))
    i2 = 3 * P - P * np.minimum(d["price_violations"] + d["fee_disclosure_failures"]
                                + d["late_self_pricing_notices"], 3)
    i3 = _clamp(d["procurement_score"] * (UP // 5), 20 * P)  # × 20%, IN → SCALE
    i4 = _clamp(d["drg_score"] * (UP // 5), 20 * P)
    i5 = _clamp((d["negotiated_drug_rate"] >= d["negotiated_drug_rate_last_year"]) * one
                + f["negotiated_drug_meeting_held"] * (2 * one) - P * d["unstocked_points"],
                3 * P)
    loss, region = d["fund_loss_amount"], d["region_fund_expenditure_last_year"]
    serious = (b.present["fund_loss_amount"] & b.present["region_fund_expenditure_last_year"]
               & (loss >= -(-region // 1000)))
    zero6 = f["refused_to_correct"] | f["serious_social_harm"] | serious
    i6 = np.where(zero6, 0, _clamp(15 * P - P * d["documents_heaviest"], 15 * P))
    rate, drg = d["settlement_list_upload_rate"], f["in_drg"]
    upload = np.where(drg, np.where(rate >= 98 * IN, 2, np.where(rate >= 96 * IN, 1, 0)),
                      np.where(rate >= 90 * IN, 2, np.where(rate >= 80 * IN, 1, 0)))
    i7 = _clamp(P * (f["financial_system_in_place"].astype(np.int64)
                     + f["cooperates_with_fund_management"] + f["no_new_receivables"]
                     + upload - np.minimum(d["cooperation_incidents"], 5)), 5 * P)
    i8 = f["coding_full_coverage"] * (2 * one) + (d["nonstandard_code_rate"] < IN) * (3 * one)
    vouchers, settlements = d["evoucher_settlements"] * 100, d["all_settlements"]
    i9 = np.where(vouchers >= 50 * settlements, 2 * P,
                  np.where(vouchers >= 40 * settlements, 3 * P // 2,
                           np.where(vouchers >= 30 * settlements, P, 0)))
    flow = d["eprescription_flow_rate"]
    prescription = np.where(flow > 80 * IN, 2 * P, np.where(flow > 50 * IN, 3 * P // 2, P))
    i9 = (i9 + f["mobile_payment_connected"] * (2 * one)
          + np.where(~f["dual_channel"], 2 * P,
                     np.where(f["eprescription_connected"], prescription, 0))
          + f["systems_integration_done"] * (2 * one))
    i10 = _clamp(4 * P - P * np.minimum(d["care_violations"], 4), 4 * P)
    i11 = np.where(d["agreement_violations"] > 0, 0, 2 * P)
    survey = np.asarray(cohort_values["survey_adjustment"], dtype=np.int64)
    i12 = _clamp(2 * P + survey - d["complaint_sum"] * UP, 2 * P)
    i13 = np.where(f["pay_later_connected"],
                   np.minimum(3 * P + (d["pay_later_share_dec_2023"] >= 5 * IN) * (2 * one)
                              + (d["pay_later_share_2024"] >= 10 * IN) * (2 * one), 5 * P), 0)
    i14 = np.minimum(P * np.minimum(d["policies_forwarded"], 5) + (P // 2) * d["channels"],
                     5 * P)
    items = np.stack([np.broadcast_to(np.asarray(i, dtype=np.int64), (n,))
                      for i in (i1, i2, i3, i4, i5, i6, i7, i8, i9, i10, i11, i12, i13, i14)])
    applicable = np.ones((14, n), dtype=np.bool_)
    applicable[2] = d["public"]
    applicable[3] = drg
    items = np.where(applicable, items, 0)
    earned = items.sum(axis=0, dtype=np.int64)
    maximum = 100 - 20 * (~d["public"]).astype(np.int64) - 20 * (~drg).astype(np.int64)
    numerator = earned * 100 * 100
    denominator = maximum * P
    cents = (2 * numerator + denominator) // (2 * denominator)
    return Scores(items, applicable, earned, maximum * P, cents * (P // 100),
                  tuple(str(number) for number in range(1, 15)))


def install(monkeypatch: Any) -> None:
    """The stand-in as `policy_dsl.runtime.columns`, and its plan as suzhou/inpatient-2023's
    `COLUMNS` (every other pack: none)."""
    from policy_dsl.runtime import lane
    from policy_dsl.runtime.packs import Pack

    module = sys.modules[__name__]
    monkeypatch.setattr(lane, "column_backend", lambda: module)
    monkeypatch.setattr(Pack, "COLUMNS", property(
        lambda pack: PLAN if pack.NAME == PACK else None), raising=False)
