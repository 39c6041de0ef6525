"""A columnar probe of Suzhou 附件1 (with inpatient services): what would the arithmetic and the
I/O cost if a batch were read, scored and written a column at a time (issue 10)?

What it is: a measurement, not a product path. It reads a JSON Lines batch as the generator
writes it (`generate.py --pack suzhou/inpatient-2023`) into Arrow columns with an explicit
schema, turns every number into a fixed-point int64 numpy column (no binary float on the way:
pyarrow parses JSON numbers as decimal text into decimal256, then a checked cast to
decimal128(18, 4) whose unscaled integers are the int64s), scores every item of 附件1 over the
columns exactly as `lean_suzhou_inpatient.py` does (its comments cite the readings), ranks the
SZ-12 survey over the batch, and writes `policyc score`'s own result lines (no explanations),
the numbers formatted by Arrow's decimal-to-string cast, the lines by element-wise joins.

    .venv/bin/python benchmarks/columnar_probe.py --count 100000 --runs 3 --against-policyc

What it is not: no validation. Arrow refuses what it cannot hold (a number with more than 4
decimals, one beyond 18 digits, a wrong JSON type, a key given twice) by failing the whole
batch, never by rounding, but it accepts what the strict path refuses (a number given as a
string, -0 as 0; a missing required key is read as null and an enum alias such as 三级 is
unknown to it: the probe refuses both for the whole batch) and names no record. The pack's
bounds (percent 0..100 ...) are not checked, only the magnitudes the int64 arithmetic needs.
Every record is assumed valid, as the lean scorer assumes.

Fixed point (why the scales are enough): every input number has at most 4 decimals (IN = 10⁴;
the generator writes at most 2), and scoring only adds, subtracts, compares, multiplies by
integers and divides by 5 (items 3, 4: score × 20 / 100), which adds one decimal. So every
item and the earned sum are exact at POINT = 10⁵. Magnitudes (int64 wraps silently, so they
are checked, not assumed): a number at IN has at most 18 digits (the checked cast); money is
only compared; every other number is refused beyond ±10⁵ (10⁹ at IN: the pack's bounds are
±100 at most), counts beyond 0..9.2·10¹⁵, and a count is capped at its item's cap before it
is multiplied by a point; so no product or segment sum comes near 2⁶³. The total: earned ×
100 / maximum (100, 80 or 60), rounded half-up to cents from the exact rational (G2) in
integers; the lean scorer rounds a 28-digit quotient half-up, which is the same thing here
because earned × 100 / 60 has a repeating 3 or 6 after its 5 exact decimals, never a cent tie
that 28 digits create.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
# An Arrow array, chunked array or table: pyarrow-stubs' generics do not follow a list's or a
# struct's flattening, so the probe names them loosely rather than cast at every step.
Arrow = Any

IN_DIGITS = 4
IN = 10**IN_DIGITS  # the scale every input number is read at
POINT_DIGITS = IN_DIGITS + 1
POINT = 10**POINT_DIGITS  # the scale of items and totals
P = POINT  # one point
COUNT_LIMIT = 2**63 // 1000  # counts are multiplied by at most 100 below
NUMBER_LIMIT = 10**5 * IN  # numbers other than money: the packs' bounds are ±100 at most
MONEY = frozenset({"fund_loss_amount", "region_fund_expenditure_last_year"})

NUMBER = pa.decimal256(76, IN_DIGITS)  # parsed from the JSON text, then cast (checked)
FIXED = pa.decimal128(18, IN_DIGITS)  # its unscaled integers fit int64

DECIMALS = ("catalogue_drug_share", "procurement_score", "drg_score", "negotiated_drug_rate",
            "negotiated_drug_rate_last_year", "fund_loss_amount",
            "region_fund_expenditure_last_year", "settlement_list_upload_rate",
            "nonstandard_code_rate", "eprescription_flow_rate", "satisfaction_score",
            "direct_survey_adjustment", "pay_later_share_dec_2023", "pay_later_share_2024")
COUNTS = ("price_violations", "fee_disclosure_failures", "late_self_pricing_notices",
          "cooperation_incidents", "evoucher_settlements", "all_settlements",
          "care_violations", "agreement_violations", "policies_forwarded")
FLAGS = ("in_drg", "catalogue_updated_on_time", "catalogue_maintained_correctly",
         "negotiated_drug_meeting_held", "refused_to_correct", "serious_social_harm",
         "financial_system_in_place", "cooperates_with_fund_management", "no_new_receivables",
         "coding_full_coverage", "mobile_payment_connected", "dual_channel",
         "eprescription_connected", "systems_integration_done", "pay_later_connected")
OPTIONAL = frozenset({"procurement_score", "drg_score", "fund_loss_amount",
                      "region_fund_expenditure_last_year", "eprescription_connected",
                      "eprescription_flow_rate", "satisfaction_score", "direct_survey_adjustment",
                      "pay_later_share_dec_2023", "pay_later_share_2024"})

SCHEMA = pa.schema(
    [("id", pa.string()), ("name", pa.string()), ("level", pa.string()),
     ("ownership", pa.string())]
    + [(name, NUMBER) for name in DECIMALS]
    + [(name, pa.int64()) for name in COUNTS]
    + [(name, pa.bool_()) for name in FLAGS]
    + [("violations", pa.list_(pa.struct([("documents", pa.list_(pa.string()))]))),
       ("unstocked_products", pa.list_(pa.struct([("cases", pa.int64())]))),
       ("complaints", pa.list_(pa.struct([("deduction", NUMBER)]))),
       ("display_channels", pa.list_(pa.string()))])

# SZ-1: the catalogue share each level must reach (at IN)
LEVELS = ("tertiary", "secondary", "primary")
OWNERSHIPS = ("public", "private")
SHARE_THRESHOLD = np.array([80 * IN, 90 * IN, 95 * IN], dtype=np.int64)
# SZ-6: each document's deduction (at POINT); one violation counts at its heaviest (从一重)
DOCUMENTS = ("correction_notice", "loss_penalty", "loss_return_only", "fraud_penalty",
             "fraud_return_only", "judicial_referral")
DOCUMENT_POINTS = np.array([1 * P, 3 * P, 2 * P, 5 * P, 4 * P, 5 * P], dtype=np.int64)
TENTH = P // 10


@dataclass(frozen=True)
class Columns:
    """A batch as fixed-point columns: decimals at IN, counts and flags as they are, each
    optional column with its presence mask, the lists flattened with their offsets."""

    ids: Arrow
    level: Ints  # index into LEVELS
    public: Bools
    number: dict[str, Ints]
    present: dict[str, Bools]
    count: dict[str, Ints]
    flag: dict[str, Bools]
    violation_offsets: Ints  # record i's violations: [offsets[i], offsets[i + 1])
    document_offsets: Ints  # violation j's documents
    document_codes: Ints  # index into DOCUMENTS
    unstocked_offsets: Ints
    unstocked_cases: Ints
    complaint_offsets: Ints
    complaint_deductions: Ints  # at IN
    channel_counts: Ints  # distinct display channels per record


@dataclass(frozen=True)
class Scored:
    items: Ints  # shape (14, n), at POINT
    applicable: Bools  # shape (14, n)
    earned: Ints  # at POINT
    maximum: Ints  # whole points
    total_cents: Ints


# ---------------------------------------------------------------- read


def segment_sums(values: Ints, offsets: Ints) -> Ints:
    """The sum of each segment [offsets[i], offsets[i + 1]) of values, exactly (int64)."""
    running = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(values, dtype=np.int64)))
    sums: Ints = running[offsets[1:]] - running[offsets[:-1]]
    return sums


def read_table(data: bytes, threads: bool = False) -> Arrow:
    """The batch as an Arrow table of SCHEMA (one thread unless told: a process's share of
    the machine is one core when `--jobs` runs one process a core)."""
    options = pj.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="error")
    return pj.read_json(io.BytesIO(data), parse_options=options,
                        read_options=pj.ReadOptions(use_threads=threads, block_size=1 << 24))


def fixed(array: Arrow) -> Ints:
    """The unscaled int64s of a decimal column (nulls as 0), by a checked cast to
    decimal128(18, IN_DIGITS): a value that does not fit raises, nothing rounds."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    small = pc.cast(array.fill_null(0), FIXED)  # safe: raises when a value does not fit
    words = np.frombuffer(small.buffers()[1], dtype=np.int64)
    low = words[2 * small.offset: 2 * (small.offset + len(small)): 2]
    return low.copy()


def _whole(array: Arrow) -> Arrow:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _offsets(array: Arrow) -> Ints:
    return np.asarray(array.offsets, dtype=np.int64)


def _codes(values: Arrow, names: tuple[str, ...]) -> Ints:
    index: Arrow = pc.index_in(values, value_set=pa.array(names))
    if index.null_count:
        raise ValueError(f"a value outside {names}")
    return np.asarray(index, dtype=np.int64)


def columns(table: Arrow) -> Columns:
    for name in table.column_names:
        if name not in OPTIONAL and table.column(name).null_count:
            raise ValueError(f"{name}: missing or null in some record (the probe does not "
                             "validate: it refuses the batch)")
    number = {name: fixed(table.column(name)) for name in DECIMALS}
    deductions = fixed(_whole(table.column("complaints")).flatten().field("deduction"))
    for name, values in [*number.items(), ("complaints.deduction", deductions)]:
        if name not in MONEY and len(values) and np.abs(values).max() > NUMBER_LIMIT:
            raise ValueError(f"{name}: a number beyond ±{NUMBER_LIMIT // IN}")
    present = {name: np.asarray(table.column(name).is_valid(), dtype=np.bool_)
               for name in DECIMALS if name in OPTIONAL}
    count = {name: np.asarray(table.column(name), dtype=np.int64) for name in COUNTS}
    for name, values in count.items():
        if len(values) and (values.min() < 0 or values.max() >= COUNT_LIMIT):
            raise ValueError(f"{name}: a count outside 0..{COUNT_LIMIT}")
    flag = {name: np.asarray(table.column(name).fill_null(False), dtype=np.bool_)
            for name in FLAGS}
    violations = _whole(table.column("violations"))
    documents = violations.flatten().field("documents")
    unstocked = _whole(table.column("unstocked_products"))
    complaints = _whole(table.column("complaints"))
    channels = _whole(table.column("display_channels"))
    channel_codes = np.asarray(pc.dictionary_encode(channels.flatten()).indices,
                               dtype=np.int64)
    channel_offsets = _offsets(channels)
    channel_counts = np.zeros(len(table), dtype=np.int64)
    for code in range(int(channel_codes.max(initial=-1)) + 1):  # distinct: a set, as SZ-14's
        channel_counts += segment_sums((channel_codes == code).astype(np.int64),
                                       channel_offsets) > 0
    return Columns(
        ids=_whole(table.column("id")),
        level=_codes(_whole(table.column("level")), LEVELS),
        public=_codes(_whole(table.column("ownership")), OWNERSHIPS) == 0,
        number=number, present=present, count=count, flag=flag,
        violation_offsets=_offsets(violations),
        document_offsets=_offsets(documents),
        document_codes=_codes(documents.flatten(), DOCUMENTS),
        unstocked_offsets=_offsets(unstocked),
        unstocked_cases=np.asarray(unstocked.flatten().field("cases"), dtype=np.int64),
        complaint_offsets=_offsets(complaints),
        complaint_deductions=deductions,
        channel_counts=channel_counts)


# ---------------------------------------------------------------- score


def survey_adjustments(score: Ints, scored: Bools, direct: Ints, given: Bools) -> Ints:
    """SZ-12, SZ-C at POINT: competition ranks by satisfaction score, best first, ties
    sharing the better rank; top ten +1.0 .. +0.1, else bottom ten −0.1 .. −1.0 (lowest);
    unranked: the direct adjustment, else 0."""
    ranked = np.sort(score[scored])
    count = len(ranked)
    rank = 1 + count - np.searchsorted(ranked, score, side="right")  # 1 + how many better
    from_bottom = count - rank  # 0 for the lowest
    out = np.where(rank <= 10, P - TENTH * (rank - 1),
                   np.where(from_bottom < 10, -P + TENTH * from_bottom, 0))
    unranked = np.where(given, direct * (P // IN), 0)
    result: Ints = np.where(scored, out, unranked).astype(np.int64)
    return result


def _clamp(value: Ints, high: int) -> Ints:
    clamped: Ints = np.clip(value, 0, high)
    return clamped


def score_columns(c: Columns) -> Scored:
    """Every item of 附件1 over the batch (SZ-1..SZ-14), then the total (SZ-T, G5, G2)."""
    n, d, k, f = len(c.level), c.number, c.count, c.flag
    up = P // IN  # from IN to POINT
    one = np.int64(P)
    # 1 目录 (SZ-1, G4): 1 + 1 + (1 − 0.1 per complete point under the level's share, ≤ 1)
    gap = SHARE_THRESHOLD[c.level] - d["catalogue_drug_share"]
    whole_gap = np.where(gap > 0, gap // IN, 0)
    i1 = (f["catalogue_updated_on_time"] * one + f["catalogue_maintained_correctly"] * one
          + one - np.minimum(TENTH * whole_gap, one))
    # 2 价格 (SZ-2, G1): 3 − 1 per problem, the deductions capped at 3
    i2 = 3 * P - P * np.minimum(k["price_violations"] + k["fee_disclosure_failures"]
                                + k["late_self_pricing_notices"], 3)
    # 3, 4 招采, DRG (SZ-3, SZ-4): score × 20% (at IN → POINT: × 20 / 100 × 10 = × 2)
    i3 = _clamp(d["procurement_score"] * 2, 20 * P)
    i4 = _clamp(d["drg_score"] * 2, 20 * P)
    # 5 国谈药 (SZ-5): 1 + 2, minus 1 per product with one case, 3 with two or more
    penalties = segment_sums(np.where(c.unstocked_cases >= 2, 3 * P, P), c.unstocked_offsets)
    i5 = _clamp((d["negotiated_drug_rate"] >= d["negotiated_drug_rate_last_year"]) * one
                + f["negotiated_drug_meeting_held"] * (2 * one) - penalties, 3 * P)
    # 6 基金 (SZ-6): 15 minus each violation's heaviest document; 0 when refused to correct
    # or serious consequences (loss ≥ 0.1% of the region's expenditure, both given)
    heaviest = np.zeros(len(c.document_offsets) - 1, dtype=np.int64)
    document_parent = np.repeat(np.arange(len(heaviest)), np.diff(c.document_offsets))
    np.maximum.at(heaviest, document_parent, DOCUMENT_POINTS[c.document_codes])
    loss, region = d["fund_loss_amount"], d["region_fund_expenditure_last_year"]
    serious = (c.present["fund_loss_amount"] & c.present["region_fund_expenditure_last_year"]
               & (loss >= -(-region // 1000)))  # loss ≥ region / 1000, integers at IN
    zero6 = f["refused_to_correct"] | f["serious_social_harm"] | serious
    i6 = np.where(zero6, 0, _clamp(15 * P - segment_sums(heaviest, c.violation_offsets), 15 * P))
    # 7 基金管理 (SZ-7): 1 + 1 + 1 + the upload tier (DRG ≥98/≥96, others ≥90/≥80), minus
    # 1 per incident
    rate, drg = d["settlement_list_upload_rate"], f["in_drg"]
    upload = np.where(drg, np.where(rate >= 98 * IN, 2, np.where(rate >= 96 * IN, 1, 0)),
                      np.where(rate >= 90 * IN, 2, np.where(rate >= 80 * IN, 1, 0)))
    i7 = _clamp(P * (f["financial_system_in_place"].astype(np.int64)
                     + f["cooperates_with_fund_management"] + f["no_new_receivables"]
                     + upload - np.minimum(k["cooperation_incidents"], 5)), 5 * P)
    # 8 编码 (SZ-8): 2 for full coverage, 3 for a non-standard rate below 1%
    i8 = f["coding_full_coverage"] * (2 * one) + (d["nonstandard_code_rate"] < IN) * (3 * one)
    # 9 信息化 (SZ-9): the e-voucher share (≥50/40/30%), mobile payment, e-prescription (dual
    # channel only: else in full, G5), integration
    vouchers, settlements = k["evoucher_settlements"] * 100, k["all_settlements"]
    i9 = np.where(vouchers >= 50 * settlements, 2 * P,
                  np.where(vouchers >= 40 * settlements, 3 * P // 2,
                           np.where(vouchers >= 30 * settlements, P, 0)))
    flow = d["eprescription_flow_rate"]
    prescription = np.where(flow > 80 * IN, 2 * P, np.where(flow > 50 * IN, 3 * P // 2, P))
    i9 = (i9 + f["mobile_payment_connected"] * (2 * one)
          + np.where(~f["dual_channel"], 2 * P,
                     np.where(f["eprescription_connected"], prescription, 0))
          + f["systems_integration_done"] * (2 * one))
    # 10 诊疗 (SZ-10): 4 − 1 per case, floor 0
    i10 = _clamp(4 * P - P * np.minimum(k["care_violations"], 4), 4 * P)
    # 11 协议 (SZ-11): 2, or 0 on any violation
    i11 = np.where(k["agreement_violations"] > 0, 0, 2 * P)
    # 12 满意度 (SZ-12): 2 − complaints + the survey adjustment, within [0, 2]
    survey = survey_adjustments(d["satisfaction_score"], c.present["satisfaction_score"],
                                d["direct_survey_adjustment"],
                                c.present["direct_survey_adjustment"])
    complaints = segment_sums(c.complaint_deductions, c.complaint_offsets) * up
    i12 = _clamp(2 * P + survey - complaints, 2 * P)
    # 13 先诊疗后付费 (SZ-13, bonus): 3 + 2 + 2 with the connection, at most 5
    i13 = np.where(f["pay_later_connected"],
                   np.minimum(3 * P + (d["pay_later_share_dec_2023"] >= 5 * IN) * (2 * one)
                              + (d["pay_later_share_2024"] >= 10 * IN) * (2 * one), 5 * P), 0)
    # 14 宣传 (SZ-14, bonus): 1 per policy forwarded + 0.5 per channel, at most 5
    i14 = np.minimum(P * np.minimum(k["policies_forwarded"], 5) + (P // 2) * c.channel_counts,
                     5 * P)
    items = np.stack([np.broadcast_to(np.asarray(i, dtype=np.int64), (n,))
                      for i in (i1, i2, i3, i4, i5, i6, i7, i8, i9, i10, i11, i12, i13, i14)])
    applicable = np.ones((14, n), dtype=np.bool_)
    applicable[2] = c.public
    applicable[3] = drg
    items = np.where(applicable, items, 0)
    # SZ-T, G5: applicable items over the applicable maximum, rescaled to 100; G2: the total
    # to cents half-up, from the exact quotient (earned ≥ 0: every item is clamped at 0)
    earned = items.sum(axis=0, dtype=np.int64)
    maximum = 100 - 20 * (~c.public).astype(np.int64) - 20 * (~drg).astype(np.int64)
    numerator = earned * 100 * 100  # cents × POINT
    denominator = maximum * P
    total_cents = (2 * numerator + denominator) // (2 * denominator)
    return Scored(items, applicable, earned, maximum, total_cents)


# ---------------------------------------------------------------- write


def decimal_text(unscaled: Ints, digits: int) -> Arrow:
    """Exact decimal text of fixed-point int64s, by Arrow's decimal-to-string cast."""
    words = np.empty((len(unscaled), 2), dtype=np.int64)
    words[:, 0] = unscaled
    words[:, 1] = unscaled >> 63  # the sign, extended to 128 bits
    array = pa.Array.from_buffers(pa.decimal128(18, digits), len(unscaled),
                                  [None, pa.py_buffer(words.tobytes())])
    return pc.cast(array, pa.string())


def trimmed(text: Arrow) -> Arrow:
    """'19.60000' → '19.6', '2.00000' → '2' (every value here has a decimal point)."""
    return pc.utf8_rtrim(pc.utf8_rtrim(text, characters="0"), characters=".")


PACK = "suzhou/inpatient-2023"


def pack_sha256() -> str:
    """The SHA-256 `policyc` writes in every result line of the pack (its manifest entry)."""
    from policy_dsl.runtime.packs import read_index
    generated = Path(__file__).resolve().parent.parent / "generated"
    (sha,) = [entry.pack_sha256 for entry in read_index(generated) if entry.name == PACK]
    return sha


def result_lines(ids: Arrow, s: Scored, sha256: str) -> bytes:
    """One JSON line a record, as `policyc score` writes it without explanations (numbers as
    their shortest exact text), built column by column: constant text, the ids and the
    numbers' text joined element-wise. The ids must need no JSON escaping and be ASCII
    (checked: the probe does not escape)."""
    if pc.any(pc.match_substring_regex(ids, r'[^\x20-\x7e]|["\\]')).as_py():
        raise ValueError("an id needs JSON escaping: the probe does not escape")
    parts: list[Arrow] = ['{"id": "', ids, '", "total": "', decimal_text(s.total_cents, 2),
                          '", "earned": "', trimmed(decimal_text(s.earned, POINT_DIGITS)),
                          '", "applicable_max": "',
                          pc.cast(pa.array(s.maximum), pa.string()), '", "items": {']
    for number in range(14):
        text = pc.binary_join_element_wise(
            '"', trimmed(decimal_text(s.items[number], POINT_DIGITS)), '"', "")
        if not s.applicable[number].all():
            text = pc.if_else(pa.array(s.applicable[number]), text, "null")
        parts += [f'"{number + 1}": ', text, ", " if number < 13 else "}"]
    parts.append(f', "error": null, "pack": "{PACK}", "pack_sha256": "{sha256}"}}\n')
    lines: Arrow = pc.binary_join_element_wise(*parts, "")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    written: bytes = lines.buffers()[2].slice(start, end - start).to_pybytes()
    return written


def score_file(data: bytes, threads: bool = False) -> tuple[Columns, Scored, bytes]:
    c = columns(read_table(data, threads))
    s = score_columns(c)
    return c, s, result_lines(c.ids, s, pack_sha256())


# ---------------------------------------------------------------- compare with the lean scorer


def lean_rows(data: bytes) -> list[dict[str, Any]]:
    """The batch as the lean scorer takes it: JSON numbers as Decimals (ints stay ints)."""
    import lean_suzhou_inpatient as lean
    return lean.prepared(json.loads(line, parse_float=Decimal)
                         for line in data.splitlines() if line.strip())


def disagreements(s: Scored, lean_scores: list[Any]) -> list[str]:
    """Every record whose items or total differ from the lean scorer's, as Decimals."""
    out: list[str] = []
    if len(lean_scores) != s.items.shape[1]:
        return [f"{s.items.shape[1]} records scored, the lean scorer {len(lean_scores)}"]
    items = s.items.T.tolist()
    applicable = s.applicable.T.tolist()
    for index, theirs in enumerate(lean_scores):
        ours = tuple(Decimal(v).scaleb(-POINT_DIGITS) if a else None
                     for v, a in zip(items[index], applicable[index], strict=True))
        total = Decimal(int(s.total_cents[index])).scaleb(-2)
        if ours != theirs.items or total != theirs.total \
                or Decimal(int(s.earned[index])).scaleb(-POINT_DIGITS) != theirs.earned \
                or Decimal(int(s.maximum[index])) != theirs.applicable_max:
            out.append(f"record {index}: columnar {total} {ours}, lean {theirs.total} "
                       f"{theirs.items}")
    return out


# ---------------------------------------------------------------- timing


def _best(times: list[float]) -> float:
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, help="a Suzhou inpatient JSON Lines batch "
                        "(default: generate --count records, seed 1)")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--whole", metavar="OUT", type=Path,
                        help="score --input to OUT and exit (timed from outside: the whole "
                        "process)")
    parser.add_argument("--arrow-threads", action="store_true",
                        help="let pyarrow's JSON reader use every core (default: one thread)")
    parser.add_argument("--against-policyc", action="store_true",
                        help="also score the batch with `policyc score` and compare the "
                        "output files byte for byte")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    if args.whole:
        args.whole.write_bytes(score_file(args.input.read_bytes(), args.arrow_threads)[2])
        return
    import lean_suzhou_inpatient as lean
    path: Path = args.input or Path(f"/tmp/columnar-probe-{args.count}.jsonl")
    if not args.input:
        subprocess.run([sys.executable, str(Path(__file__).parent / "generate.py"), "--pack",
                        "suzhou/inpatient-2023", "--count", str(args.count), "--seed", "1",
                        "-o", str(path)], check=True)
    data = path.read_bytes()
    rows = lean_rows(data)
    count = len(rows)
    sha256 = pack_sha256()
    gc.collect()
    gc.freeze()
    parts: dict[str, list[float]] = {"parse JSON (arrow)": [], "to fixed-point columns": [],
                                     "score": [], "write lines": [], "lean scorer": []}
    for _ in range(args.runs):
        started = time.perf_counter()
        table = read_table(data, args.arrow_threads)
        parsed = time.perf_counter()
        c = columns(table)
        read = time.perf_counter()
        s = score_columns(c)
        scored = time.perf_counter()
        result_lines(c.ids, s, sha256)
        written = time.perf_counter()
        lean_scores = lean.score_batch(rows)
        leaned = time.perf_counter()
        parts["parse JSON (arrow)"].append(parsed - started)
        parts["to fixed-point columns"].append(read - parsed)
        parts["score"].append(scored - read)
        parts["write lines"].append(written - scored)
        parts["lean scorer"].append(leaned - written)
    wrong = disagreements(s, lean_scores)
    whole: list[float] = []
    out = Path(f"{path}.columnar-out.jsonl")
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--input", str(path), "--whole", str(out)]
                       + ["--arrow-threads"] * args.arrow_threads, check=True)
        whole.append(time.perf_counter() - started)
    threads = "every core" if args.arrow_threads else "one thread"
    print(f"{count:,} records, best of {args.runs}, arrow's JSON reader on {threads}")
    print("| part | µs/record |")
    print("|---|---:|")
    columnar = 0.0
    for name, times in parts.items():
        micro = _best(times) / count * 1e6
        if name != "lean scorer":
            columnar += micro
        print(f"| columnar: {name} |" if name != "lean scorer"
              else "| lean scorer, in-process (pre-parsed) |", f"{micro:.2f} |")
    print(f"| columnar: the parts, in-process | {columnar:.2f} |")
    print(f"| columnar: whole process (python start, imports, read file, write file) | "
          f"{_best(whole) / count * 1e6:.2f} |")
    print(f"agreement with the lean scorer, every item, earned, maximum and total: "
          f"{'all ' + format(count, ',') + ' records' if not wrong else 'NO'}")
    for line in wrong[:10]:
        print(line)
    if args.against_policyc:
        theirs = policyc_lines(path)
        same = theirs == out.read_bytes()
        print(f"`policyc score` output, byte for byte: {'equal' if same else 'DIFFERENT'}")
        wrong += [] if same else ["policyc"]
    if wrong:
        sys.exit(1)


def policyc_lines(path: Path) -> bytes:
    """What `policyc score` writes for the batch (JSON Lines, no explanations)."""
    done = subprocess.run([sys.executable, "-m", "policy_dsl.cli", "score", "--pack", PACK,
                           str(path), "-o", "-", "--quiet"], check=True, capture_output=True)
    return done.stdout


if __name__ == "__main__":
    main()
