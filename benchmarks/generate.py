"""A seeded generator of synthetic institutions for every pack, in every input format.

Synthetic data for benchmarks and coverage, not policy data. Most institutions do well, as
in a real batch; the rest are spread over every branch of every rule of the pack's rule file
and over the edges of every threshold (the value exactly at it, one unit under, one over),
every member of every enum, optional facts present and absent as `required when` allows,
lists empty and not. Jilin packs also get the framework's inputs: statuses, tenure around
six months, deposits, subordinates, public-opinion events, veto, previous grade, other
breach, fraud clues, and deduction totals at the edge of every grade band.

    python benchmarks/generate.py --pack suzhou/inpatient-2023 --count 10000 -o batch.jsonl
    python benchmarks/generate.py --pack jilin/pharmacy-2026 --count 500 \
        --format csv-gb18030 -o b.csv

Formats (by `--format`, else the extension): jsonl, json (an array), csv (UTF-8 with BOM),
csv-gb18030, xlsx (Chinese headers, percent cells formatted as %), parquet (decimal128,
int64, bool, date and string columns). `--bad-share 0.05` makes that share of records wrong
in one field (their ids start with X), default none.

The same seed gives the same records in every format; `records(pack, count, seed)` gives them
as Python values (Decimal, int, bool, str, date, lists) for in-process use.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"

Record = dict[str, Any]
D = Decimal


def _pct(rng: random.Random, low: float, high: float, places: int = 2) -> Decimal:
    """A realistic percent with `places` decimals, uniform in low..high."""
    scale: int = 10 ** places
    return D(rng.randint(int(low * scale), int(high * scale))) / scale


CENT = D("0.01")


def _edge(rng: random.Random, threshold: Decimal, unit: Decimal = CENT) -> Decimal:
    """A value exactly at a threshold, one unit under it or one unit over it."""
    return threshold + rng.choice((-unit, D(0), unit))


def _pick(rng: random.Random, share: float, edge: Callable[[], Any],
          usual: Callable[[], Any]) -> Any:
    return edge() if rng.random() < share else usual()


# ---------------------------------------------------------------- Suzhou (附件1, 附件2)

LEVEL_THRESHOLD = {"tertiary": D(80), "secondary": D(90), "primary": D(95)}  # SZ-1
DOCUMENTS = ("correction_notice", "loss_penalty", "loss_return_only", "fraud_penalty",
             "fraud_return_only", "judicial_referral")
CHANNELS = ("e_screen", "poster", "leaflet", "other")
REGION_EXPENDITURE = D(1_500_000_000)  # SZ-6: 0.1% of it is 1,500,000.00 yuan


def _suzhou_common(rng: random.Random, index: int, catalogue_threshold: Decimal | None
                   ) -> Record:
    """The facts 附件1 and 附件2 share (items 1, 2, 3, 5/6, 7, 8, 9, 10, 11, 13, 14)."""
    public = rng.random() < 0.7
    dual = rng.random() < 0.35
    connected = rng.random() < 0.6
    pay_later = rng.random() < 0.6
    level = rng.choice(("tertiary", "secondary", "primary"))
    threshold = catalogue_threshold or LEVEL_THRESHOLD[level]
    row: Record = {
        "id": f"B{index:07d}",
        "name": f"示例医院{index:07d}",
        "level": level,
        "ownership": "public" if public else "private",
        "catalogue_updated_on_time": rng.random() < 0.92,
        "catalogue_maintained_correctly": rng.random() < 0.92,
        # SZ-1: at, 0.01 under, 0.01 over the level's threshold; exactly 1 step under; far
        # under (the 1-point cap); usually above it
        "catalogue_drug_share": _pick(
            rng, 0.3,
            lambda: rng.choice((_edge(rng, threshold), threshold - 1, threshold - D("1.01"),
                                max(D(0), threshold - rng.randint(5, 30)))),
            lambda: _pct(rng, float(threshold), 100)),
        # SZ-2: one, two, three or more problems (the pooled cap of 3 or 5)
        "price_violations": rng.choice((0, 0, 0, 0, 0, 1, 2, 4, 6)),
        "fee_disclosure_failures": rng.choice((0, 0, 0, 0, 1, 2)),
        "late_self_pricing_notices": rng.choice((0, 0, 0, 0, 1)),
        "violations": [{"documents": sorted(rng.sample(DOCUMENTS, rng.randint(1, 3)))}
                       for _ in range(rng.choice((0, 0, 0, 0, 0, 1, 1, 2, 4)))],
        "refused_to_correct": rng.random() < 0.02,
        "serious_social_harm": rng.random() < 0.02,
        "financial_system_in_place": rng.random() < 0.93,
        "cooperates_with_fund_management": rng.random() < 0.93,
        "no_new_receivables": rng.random() < 0.93,
        "cooperation_incidents": rng.choice((0, 0, 0, 0, 0, 1, 2, 9)),
        "coding_full_coverage": rng.random() < 0.92,
        # SZ-8: strictly below 1%
        "nonstandard_code_rate": _pick(rng, 0.25, lambda: _edge(rng, D(1)),
                                       lambda: _pct(rng, 0, 2)),
        "all_settlements": 10_000,
        "mobile_payment_connected": rng.random() < 0.85,
        "dual_channel": dual,
        "systems_integration_done": rng.random() < 0.92,
        "care_violations": rng.choice((0, 0, 0, 0, 0, 1, 2, 5, 7)),
        "agreement_violations": rng.choice((0, 0, 0, 0, 0, 0, 1, 2)),
        "complaints": [{"deduction": rng.choice((D(0), D("0.5"), D("0.7"), D(1)))}
                       for _ in range(rng.choice((0, 0, 0, 0, 1, 1, 2, 3)))],
        "pay_later_connected": pay_later,
        "policies_forwarded": rng.choice((0, 1, 2, 3, 3, 4, 5, 6)),
        "display_channels": sorted(rng.sample(CHANNELS, rng.randint(0, 4))),
    }
    # SZ-9: the e-voucher rate at, under and over 30%, 40%, 50% of 10,000 settlements
    row["evoucher_settlements"] = _pick(
        rng, 0.35, lambda: rng.choice((2999, 3000, 3001, 3999, 4000, 4001, 4999, 5000, 5001)),
        lambda: rng.randint(0, 9_000))
    # SZ-6: the loss at, under and over 0.1% of the region's expenditure; either absent
    if rng.random() < 0.7:
        row["region_fund_expenditure_last_year"] = REGION_EXPENDITURE
    if rng.random() < 0.7:
        row["fund_loss_amount"] = _pick(
            rng, 0.1, lambda: _edge(rng, D(1_500_000)),
            lambda: D(rng.randint(0, 100_000_000)) / 100)
    # SZ-3: public institutions give the procurement score (0, 100 and between); private ones
    # sometimes give it too (checked, not used)
    if public or rng.random() < 0.05:
        row["procurement_score"] = _pick(rng, 0.1, lambda: rng.choice((D(0), D(100))),
                                         lambda: _pct(rng, 60, 100, 1))
    # SZ-9, G7: the connection only from dual-channel hospitals; the flow rate when connected,
    # at, under and over 50% and 80% (strict: 高于)
    if dual or rng.random() < 0.05:
        row["eprescription_connected"] = connected
        if connected:
            row["eprescription_flow_rate"] = _pick(
                rng, 0.4, lambda: rng.choice((_edge(rng, D(50)), _edge(rng, D(80)))),
                lambda: _pct(rng, 30, 100, 1))
    # SZ-13: the shares at, under and over 5% and 10%, given when connected
    if pay_later or rng.random() < 0.05:
        row["pay_later_share_dec_2023"] = _pick(rng, 0.4, lambda: _edge(rng, D(5)),
                                                lambda: _pct(rng, 0, 10, 1))
        row["pay_later_share_2024"] = _pick(rng, 0.4, lambda: _edge(rng, D(10)),
                                            lambda: _pct(rng, 0, 15, 1))
    return row


def suzhou_inpatient(rng: random.Random, index: int, count: int) -> Record:
    """附件1 (regions/suzhou/inpatient-2023.policy)."""
    row = _suzhou_common(rng, index, None)
    in_drg = rng.random() < 0.6
    row["in_drg"] = in_drg
    if in_drg or rng.random() < 0.05:  # SZ-4
        row["drg_score"] = _pick(rng, 0.1, lambda: rng.choice((D(0), D(100))),
                                 lambda: _pct(rng, 60, 100, 1))
    # SZ-5: this year's rate equal to, just under and above last year's
    last = _pct(rng, 50, 90, 1)
    row["negotiated_drug_rate_last_year"] = last
    row["negotiated_drug_rate"] = _pick(rng, 0.3, lambda: _edge(rng, last, D("0.1")),
                                        lambda: min(D(100), last + _pct(rng, 0, 8, 1)))
    row["negotiated_drug_meeting_held"] = rng.random() < 0.85
    row["unstocked_products"] = [{"cases": rng.choice((1, 1, 2, 3))}
                                 for _ in range(rng.choice((0, 0, 0, 0, 0, 1, 2)))]
    # SZ-7: the upload rate at, under and over 96/98% (DRG) or 80/90% (others)
    tiers = (D(96), D(98)) if in_drg else (D(80), D(90))
    row["settlement_list_upload_rate"] = _pick(
        rng, 0.35, lambda: _edge(rng, rng.choice(tiers)), lambda: _pct(rng, 75, 100))
    # SZ-12: most give a survey score (ranked over the batch); a few give an adjustment
    # directly, a few neither
    if rng.random() < 0.9:
        row["satisfaction_score"] = _pct(rng, 60, 100, 1)
    elif rng.random() < 0.5:
        row["direct_survey_adjustment"] = rng.choice((D(-1), D("-0.5"), D(0), D("0.3"), D(1)))
    return row


def suzhou_outpatient(rng: random.Random, index: int, count: int) -> Record:
    """附件2 (regions/suzhou/outpatient-2023.policy; the Kunshan plugin's pack drops item
    13's facts)."""
    row = _suzhou_common(rng, index, D(95))  # SZ2-1: a single threshold
    del row["level"]
    row["settlement_data_accurate"] = rng.random() < 0.92
    # SZ2-4: peer groups of two or more records (index mod groups), growth rates around the
    # group's mean; some records give the group's averages, and then the growth is put at,
    # under and over whole steps of 5 points above them
    groups = max(1, min(8, count // 2))
    row["peer_group"] = f"第{index % groups + 1}组"
    given = count < 2 or rng.random() < 0.3
    cost_last = D(rng.randint(10, 40) * 10)  # whole tens: growth × cost is exact to the cent
    persons_last = 1_000
    visits_last = 2_000
    if given:
        peer_cost, peer_visits = _pct(rng, -5, 10, 1), _pct(rng, -5, 10, 1)
        row["peer_cost_growth_given"] = peer_cost
        row["peer_visits_growth_given"] = peer_visits
        cost_growth = peer_cost + rng.choice((D(-1), D(0), D(5), D("4.9"), D("5.1"), D(10),
                                              D(25)))
        visits_growth = peer_visits + rng.choice((D(0), D("-0.5"), D(5), D("4.95"),
                                                  D("5.05"), D(15), D(30)))
    else:
        cost_growth = _pct(rng, -10, 25, 1)
        visits_growth = rng.choice((D(-5), D(0), D(5), D(10), D("12.5"), D(20)))
    # cost per visit: last × (1 + growth%), exact to the cent (last in whole tens, growth
    # with one decimal)
    row["cost_per_visit_last_year"] = cost_last
    row["cost_per_visit"] = max(D(0), cost_last + cost_last * cost_growth / 100)
    row["persons_last_year"] = persons_last
    row["visits_last_year"] = visits_last
    row["persons"] = persons_last
    # visits / persons against 2.0 last year: growth g% needs visits = 2,000 × (1 + g%),
    # whole for g a multiple of 0.05
    row["visits"] = int(visits_last + visits_last * visits_growth / 100)
    return row


# ---------------------------------------------------------------- Jilin (framework 2025)

# Deduction totals that put the own score (100 − deductions + bonus) at and around each
# grade's floor (JL-10): 89.995 rounds to 90.00 (优), 89.994 to 89.99 (良), and so on.
GRADE_EDGES = (D(0), D(10), D("10.005"), D("10.006"), D("10.01"), D(20), D("20.01"), D(30),
               D("30.01"), D(40), D("40.01"), D(55), D(75))


def _entries(rng: random.Random, items: dict[str, Decimal], total: Decimal, prefix: str
             ) -> list[Record]:
    """Panel entries adding up to `total` over the items that take them (each within its
    item's points), each with its evidence (JL-6)."""
    entries: list[Record] = []
    left = total
    codes = sorted(items)
    while left > 0:
        code = rng.choice(codes)
        room = items[code]
        part = min(left, room, D(rng.randint(1, 20)))
        if rng.random() < 0.3 or part == left:
            part = min(left, room)
        if part <= 0:
            break
        entries.append({"item": code, "points": part,
                        "evidence": f"{prefix}-{len(entries) + 1:02d}"})
        left -= part
    return entries


def jilin(catalogue_deductions: dict[str, Decimal], catalogue_bonuses: dict[str, Decimal]
          ) -> Callable[[random.Random, int, int], Record]:
    """A generator for a Jilin pack whose items take panel entries as given (its
    `deductions` and `bonuses` catalogues: item number → the item's points)."""
    deductions_room = sum(catalogue_deductions.values(), D(0))

    def generate(rng: random.Random, index: int, count: int) -> Record:
        deducted = min(deductions_room, _pick(
            rng, 0.5, lambda: rng.choice(GRADE_EDGES),
            lambda: D(rng.randint(0, 2_500)) / 100))
        bonus = rng.choice((D(0), D(0), D(0), D("0.5"), D(2), D(5), D(10), D(14)))
        row: Record = {
            "id": f"J{index:07d}",
            "name": f"示例机构{index:07d}",
            "deductions": _entries(rng, catalogue_deductions, deducted, "考核记录"),
            "bonuses": _entries(rng, catalogue_bonuses, bonus, "截图"),
            "assessment_year": 2026,
            "deposit": D(rng.choice((50_000, 100_000, 200_000, 300_000))) +
            rng.choice((D(0), D("0.5"), D("1234.56"))),
        }
        status = rng.choices(("assessed", "terminated", "voluntary_exit"), (92, 3, 5))[0]
        if status != "assessed" or rng.random() < 0.2:
            row["status"] = status
        # JL-13: start + 6 months ≤ 1 January next year: 2026-07-01 is the last start served
        # long enough, 2026-07-02 the first deferred
        start = _pick(rng, 0.15,
                      lambda: rng.choice((dt.date(2026, 7, 1), dt.date(2026, 7, 2),
                                          dt.date(2026, 6, 30), dt.date(2026, 11, 15))),
                      lambda: dt.date(rng.randint(2005, 2025), rng.randint(1, 12),
                                      rng.randint(1, 28)))
        if status == "assessed" or rng.random() < 0.5:
            row["agreement_start"] = start
        if status == "voluntary_exit":  # JL-15: must be stated
            row["violations_found"] = rng.random() < 0.5
        if rng.random() < 0.15:  # JL-11: subordinates' scores on the 0..110 scale
            row["subordinate_scores"] = [
                rng.choice((D(0), D(60), D("89.99"), D(100), D(110), _pct(rng, 50, 105)))
                for _ in range(rng.randint(0, 4))]
        if rng.random() < 0.1:  # JL-12: national (down 2), provincial (down 1), several
            row["opinion_events"] = rng.sample(["national", "provincial", "provincial"],
                                               rng.randint(0, 3))
        if rng.random() < 0.04:
            row["veto"] = True
        elif rng.random() < 0.1:
            row["veto"] = False
        if rng.random() < 0.3:
            row["previous_grade"] = rng.choice(("优", "良", "合格", "基本合格", "基本合格",
                                                "不合格"))
        if rng.random() < 0.1:
            row["other_breach"] = rng.random() < 0.7
        if rng.random() < 0.05:
            row["fraud_clues"] = True
        return row

    return generate


GENERATORS: dict[str, Callable[[random.Random, int, int], Record]] = {
    "suzhou/inpatient-2023": suzhou_inpatient,
    "suzhou/outpatient-2023": suzhou_outpatient,
    "suzhou/kunshan-outpatient-2023": suzhou_outpatient,
    "jilin/medical-inpatient-2026": jilin({"1": D(100)}, {"2": D(10)}),
    "jilin/medical-outpatient-2026": jilin({"1": D(100)}, {"2": D(10)}),
    "jilin/pharmacy-2026": jilin({"1": D(100)}, {"2": D(10)}),
    # the example city plugin: item 1 keeps 90 points, its item 3 takes 10 (its deductions
    # capped at 6), its bonus item 2 has 12
    "jilin/changchun-medical-inpatient-2026": jilin({"1": D(90), "3": D(10)}, {"2": D(12)}),
}


# ---------------------------------------------------------------- bad records


def _spoil(rng: random.Random, row: Record, facts: Sequence[Any]) -> None:
    """Make one field wrong, as people get them wrong: a required fact left out, a word in a
    number, a value out of bounds, an unknown enum member, an unknown column."""
    row["id"] = "X" + str(row["id"])[1:]
    required = [f for f in facts if f.presence == "required" and f.name in row]
    bounded = [f for f in facts if f.high is not None or f.low is not None]
    enums = [f for f in facts if f.members]
    choice = rng.randrange(5)
    if choice == 0 and required:
        del row[rng.choice(required).name]
    elif choice == 1 and bounded:
        fact = rng.choice(bounded)
        row[fact.name] = (fact.high + 1) if fact.high is not None else fact.low - 1
    elif choice == 2 and enums:
        row[rng.choice(enums).name] = "未知"
    elif choice == 3:
        row["unknown_column"] = 1
    else:
        number = [f for f in facts if f.type in {"percent", "count", "money", "score",
                                                  "number", "points"}]
        row[rng.choice(number).name if number else "id"] = "n/a"


# ---------------------------------------------------------------- records


def load(pack: str) -> Any:
    from policy_dsl.runtime import load_pack
    return load_pack(pack, packs_dir=GENERATED)


def fact_infos(pack_module: Any) -> tuple[Any, ...]:
    from policy_dsl.template import facts_of
    return facts_of(pack_module)


def records(pack: str, count: int, seed: int = 2023, bad_share: float = 0.0,
            pack_module: Any = None) -> Iterator[Record]:
    """`count` records for `pack`, the same for the same seed; only the pack's own facts
    (a city pack that removes an item loses its facts)."""
    generate = GENERATORS[pack]
    module = pack_module or load(pack)
    facts = fact_infos(module)
    known = {f.name for f in facts} | {"id", "name"}
    rng = random.Random(f"{pack}:{seed}")
    spoil = random.Random(f"{pack}:{seed}:bad")
    for index in range(count):
        row = {key: value for key, value in generate(rng, index, count).items()
               if key in known}
        if bad_share and spoil.random() < bad_share:
            _spoil(spoil, row, facts)
        yield row


# ---------------------------------------------------------------- writing


def json_text(value: Any) -> str:
    """JSON with exact decimals: a Decimal is written as the number it is, never through a
    binary float; dates as ISO text."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text
    if isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date):
        return f'"{value.isoformat()}"'
    if isinstance(value, list):
        return "[" + ", ".join(json_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json_text(k)}: {json_text(v)}"
                               for k, v in value.items()) + "}"
    raise TypeError(f"no JSON for {type(value).__name__}")


class Table:
    """The pack's columns as an agency's sheet heads them: id and name, then each fact's
    Chinese label; values as a person types them (enum labels, 是/否, lists as JSON)."""

    def __init__(self, pack_module: Any) -> None:
        from policy_dsl.reading import ID_LABELS, NAME_LABELS
        self.facts = fact_infos(pack_module)
        self.keys = ["id", "name", *(f.name for f in self.facts)]
        self.labels = [ID_LABELS[0], NAME_LABELS[0], *(f.label or f.name for f in self.facts)]
        self.by_name = {f.name: f for f in self.facts}

    def cell(self, key: str, value: Any) -> Any:
        fact = self.by_name.get(key)
        if value is None or fact is None:
            return value
        if isinstance(value, bool):
            return "是" if value else "否"
        if fact.members and isinstance(value, str):
            return dict(fact.members).get(value, value) or value
        if isinstance(value, list):
            if fact.members:  # a set of an enum: its labels
                labels = dict(fact.members)
                value = [labels.get(v, v) or v for v in value]
            return json_text(value)
        return value

    def rows(self, batch: Sequence[Record]) -> Iterator[list[Any]]:
        for row in batch:
            yield [self.cell(key, row.get(key)) for key in self.keys]


def write_csv(batch: Sequence[Record], pack_module: Any, encoding: str) -> bytes:
    table = Table(pack_module)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(table.labels)
    for cells in table.rows(batch):
        writer.writerow(["" if c is None else (c.isoformat() if isinstance(c, dt.date)
                                               else format(c, "f") if isinstance(c, Decimal)
                                               else c) for c in cells])
    if encoding == "gb18030":
        return text.getvalue().encode("gb18030")
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def write_xlsx(batch: Sequence[Record], pack_module: Any, path: Path) -> None:
    """Chinese headers; a percent fact's cells hold the fraction formatted as 0.00%, as
    Excel keeps 85.5% (0.855); dates as date cells."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    table = Table(pack_module)
    percent = {i for i, key in enumerate(table.keys)
               if key in table.by_name and table.by_name[key].type == "percent"}
    book = Workbook(write_only=True)
    sheet = book.create_sheet("自评表")
    sheet.append(table.labels)
    for cells in table.rows(batch):
        out: list[Any] = []
        for index, value in enumerate(cells):
            if index in percent and isinstance(value, Decimal):
                cell = WriteOnlyCell(sheet, value=value / 100)  # type: ignore[arg-type]
                cell.number_format = "0.00%"
                out.append(cell)
            elif isinstance(value, dt.date):
                cell = WriteOnlyCell(sheet, value=value)  # type: ignore[arg-type]
                cell.number_format = "yyyy-mm-dd"
                out.append(cell)
            else:
                out.append(value)
        sheet.append(out)
    book.save(path)


def write_parquet(batch: Sequence[Record], pack_module: Any, path: Path) -> None:
    """Typed columns: decimal128 at the column's largest scale, int64, bool, date32; enums
    and lists as text (lists as JSON, as in a CSV cell)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = Table(pack_module)
    columns: dict[str, Any] = {}
    for key in table.keys:
        values = [row.get(key) for row in batch]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, bool) for v in present):
            columns[key] = pa.array(values, pa.bool_())
        elif present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            columns[key] = pa.array(values, pa.int64())
        elif present and all(isinstance(v, Decimal | int) for v in present):
            scale = max(max(0, -int(D(v).as_tuple().exponent)) for v in present)
            exact = [None if v is None else D(v).quantize(D(1).scaleb(-scale))
                     for v in values]
            digits = max(len(v.as_tuple().digits) for v in exact if v is not None)
            columns[key] = pa.array(exact, pa.decimal128(max(digits, scale + 1), scale))
        elif present and all(isinstance(v, dt.date) for v in present):
            columns[key] = pa.array(values, pa.date32())
        else:
            columns[key] = pa.array([None if v is None else
                                     json_text(v) if isinstance(v, list) else str(v)
                                     for v in values], pa.string())
    pq.write_table(pa.table(columns), path)


FORMATS = ("jsonl", "json", "csv", "csv-gb18030", "xlsx", "parquet")


def write(batch: Sequence[Record], pack: str, fmt: str, path: Path,
          pack_module: Any = None) -> None:
    module = pack_module or load(pack)
    if fmt == "jsonl":
        path.write_text("".join(json_text(row) + "\n" for row in batch), encoding="utf-8")
    elif fmt == "json":
        path.write_text("[\n" + ",\n".join(json_text(row) for row in batch) + "\n]\n",
                        encoding="utf-8")
    elif fmt in {"csv", "csv-gb18030"}:
        path.write_bytes(write_csv(batch, module, "gb18030" if fmt == "csv-gb18030"
                                   else "utf-8"))
    elif fmt == "xlsx":
        write_xlsx(batch, module, path)
    elif fmt == "parquet":
        write_parquet(batch, module, path)
    else:
        raise ValueError(f"unknown format {fmt}; one of {', '.join(FORMATS)}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", default="suzhou/inpatient-2023", choices=sorted(GENERATORS))
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--bad-share", type=float, default=0.0,
                        help="share of records made wrong in one field (ids X...)")
    parser.add_argument("--format", choices=FORMATS, help="default: by -o's extension")
    parser.add_argument("-o", "--output", type=Path, help="default: JSON Lines on stdout")
    args = parser.parse_args(argv)
    module = load(args.pack)
    batch = list(records(args.pack, args.count, args.seed, args.bad_share, module))
    if args.output is None:
        for row in batch:
            sys.stdout.write(json_text(row) + "\n")
        return
    fmt = args.format or {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".xlsx": "xlsx",
                          ".parquet": "parquet"}.get(args.output.suffix, "jsonl")
    write(batch, args.pack, fmt, args.output, module)


if __name__ == "__main__":
    main()
