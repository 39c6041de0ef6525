"""The column form of packs (runtime/columns.py, compiler/columngen.py): every record the
lane vouches for is one the record path accepts and scores exactly as `score_columns` does,
item by item; values the lane cannot prove are not vouched, and the record path refuses or
scores them; a pack whose arithmetic cannot be proven exact gets no column form."""

from __future__ import annotations

import io
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.json as pj
import pytest
from helpers import ROOT, full_marks_inpatient, pack
from test_compiler import MINIMAL

from policy_dsl.casebook.cases import find_case_files, load_cases
from policy_dsl.compiler import checker, codegen, parser
from policy_dsl.runtime import Pack, RecordInvalid, Score, Undefined
from policy_dsl.runtime.columns import (
    SCALE,
    ColumnBlock,
    ColumnScores,
    arrow_schema,
    fixed_cohorts,
    read_columns,
    score_block,
)
from policy_dsl.runtime.packs import FactInfo

sys.path.insert(0, str(ROOT / "benchmarks"))

import generate

INPATIENT = "suzhou/inpatient-2023"
WITH_COLUMNS = [INPATIENT]
WITHOUT_COLUMNS = ["suzhou/outpatient-2023", "suzhou/kunshan-outpatient-2023",
                   "jilin/medical-inpatient-2026", "jilin/pharmacy-2026"]


# ---------------------------------------------------------------- both paths


def canonical(facts: Sequence[FactInfo], record: Mapping[str, Any]) -> dict[str, Any]:
    """The record with every enum label (三级) spelt as its code (tertiary): the same facts
    for the record path, and the only spelling the lane vouches for."""
    out = dict(record)
    for fact in facts:
        value = out.get(fact.name)
        if fact.members and value is not None:
            codes = {label: code for code, label in fact.members}
            if isinstance(value, list):
                out[fact.name] = [codes.get(v, v) for v in value]
            else:
                out[fact.name] = codes.get(value, value)
        elif fact.fields and isinstance(value, list):
            out[fact.name] = [canonical(fact.fields, entry) if isinstance(entry, dict)
                              else entry for entry in value]
    return out


def lines_of(records: Sequence[Mapping[str, Any]]) -> bytes:
    return "".join(generate.json_text(dict(record)) + "\n" for record in records).encode()


def read_block(p: Pack, data: bytes) -> ColumnBlock:
    plan = p.COLUMNS
    assert plan is not None
    options = pj.ParseOptions(explicit_schema=arrow_schema(plan),
                              unexpected_field_behavior="error")
    table = pj.read_json(io.BytesIO(data), parse_options=options)
    return read_columns(p, table)


def record_path(p: Pack, records: Sequence[Mapping[str, Any]]
                ) -> tuple[list[Score | Exception], dict[str, list[Decimal | None]]]:
    """Each record's score by the record path (or its error), and the cohort values of
    every record (None for a record the record path refuses)."""
    facts: list[Any] = []
    read: list[Any] = []
    for record in records:
        try:
            read.append(p.read_record(record))
            facts.append(read[-1])
        except RecordInvalid as problem:
            read.append(problem)
    cohorts = iter(p.compute_cohorts(facts))
    results: list[Score | Exception] = []
    values: dict[str, list[Decimal | None]] = {c.name: [] for c in p.COHORTS}
    for entry in read:
        if isinstance(entry, RecordInvalid):
            results.append(entry)
            for name in values:
                values[name].append(None)
            continue
        cohort = next(cohorts)
        for name in values:
            values[name].append(None if isinstance(cohort, RecordInvalid)
                                else getattr(cohort, name))
        try:
            results.append(p.evaluate(entry, cohort, explain=False))
        except Undefined as problem:
            results.append(problem)
    return results, values


def at_scale(value: Any) -> Decimal:
    return Decimal(int(value)) / SCALE


def assert_same(scores: ColumnScores, index: int, expected: Score) -> None:
    items = {number: (at_scale(scores.items[k, index]) if scores.applicable[k, index]
                      else None)
             for k, number in enumerate(scores.item_numbers)}
    assert items == {str(i.number): i.earned for i in expected.items}
    assert at_scale(scores.earned[index]) == expected.earned
    assert at_scale(scores.applicable_max[index]) == expected.applicable_max
    assert at_scale(scores.total[index]) == expected.total


def compare_paths(p: Pack, records: Sequence[Mapping[str, Any]]) -> np.ndarray[Any, Any]:
    """Score `records` both ways; every vouched record must agree exactly. Returns the
    vouched mask (with exact cohort values); none when Arrow refuses the block (the lane
    sends it to the record path)."""
    try:
        block = read_block(p, lines_of(records))
    except pa.ArrowInvalid:
        return np.zeros(len(records), dtype=np.bool_)
    results, values = record_path(p, records)
    plan = p.COLUMNS
    assert plan is not None
    cohorts, exact = fixed_cohorts(plan, values, len(records))
    scores = score_block(p, block, cohorts)
    vouched = block.vouched & exact
    for index in np.flatnonzero(vouched):
        expected = results[index]
        assert isinstance(expected, tuple), (
            f"record {index} vouched, but the record path says {expected}")
        assert_same(scores, int(index), expected)
    return vouched


# ---------------------------------------------------------------- (a) regression cases


def _regression_cases() -> list[Any]:
    cases = []
    for path in find_case_files(ROOT):
        for case in load_cases(path, ROOT, ROOT / "generated"):
            if case.pack in WITH_COLUMNS:
                cases.append(pytest.param(case, id=f"{case.pack}:{case.name}"))
    return cases


@pytest.mark.parametrize("case", _regression_cases())
def test_every_regression_case_scores_the_same_in_columns(case: Any) -> None:
    p = pack(case.pack)
    records = [canonical(p.INFO.facts, r) for r in case.records]
    vouched = compare_paths(p, records)
    results, _ = record_path(p, records)
    scored = [isinstance(r, tuple) for r in results]
    assert not any(v and not s for v, s in zip(vouched, scored, strict=True))
    # every record the record path scores is vouched, unless a value is written as a text
    # (a bool as 是, a number as "85%": Arrow refuses the block, the record path reads it)
    # or has more than 4 decimals
    if all(_json_native(p, r) for r in records):
        assert list(vouched) == scored, case.name


def _json_native(p: Pack, record: Mapping[str, Any]) -> bool:
    """Whether every value is written as its JSON type (a number as a number, a bool as
    true or false) with at most 4 decimals: what Arrow's schema reads."""
    enums = {fact.name for fact in p.INFO.facts if fact.members}
    for name, value in record.items():
        if isinstance(value, str) and name not in enums and name not in ("id", "name"):
            return False
        if isinstance(value, Decimal) and -value.as_tuple().exponent > 4:  # type: ignore[operator]
            return False
    return True


# ---------------------------------------------------------------- (b) generated batches


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", WITH_COLUMNS)
def test_generated_batches_score_the_same_in_columns(name: str, seed: int) -> None:
    p = pack(name)
    records = list(generate.records(name, 3000, seed=seed))
    vouched = compare_paths(p, records)
    results, _ = record_path(p, records)
    scored = np.array([isinstance(r, tuple) for r in results])
    assert not (vouched & ~scored).any()
    # the generator writes valid records: every one is vouched (none has a sixth decimal,
    # a label instead of a code, or a value beyond the lane's limits)
    assert vouched.sum() == scored.sum() == len(records)


# ---------------------------------------------------------------- (c) hostile values


def _one(p: Pack, record: Mapping[str, Any]) -> tuple[bool, Score | Exception]:
    block = read_block(p, lines_of([record]))
    results, _ = record_path(p, [record])
    return bool(block.vouched[0]), results[0]


HOSTILE = [
    ("a percent one unit of the last decimal above its bound",
     {"catalogue_drug_share": Decimal("100.0001")}),
    ("a percent one unit below 0", {"nonstandard_code_rate": Decimal("-0.0001")}),
    ("an unknown enum code", {"level": "quaternary"}),
    ("an enum label, not its code", {"level": "三级"}),
    ("a required-when fact missing (public: procurement score)", {"procurement_score": None}),
    ("a required-when fact missing (DRG: drg score)", {"drg_score": None}),
    ("a zero share denominator", {"evoucher_settlements": 0, "all_settlements": 0}),
    ("a count of 10**9 + 1", {"price_violations": 10**9 + 1}),
    ("a negative count", {"care_violations": -1}),
    ("an entry's count below its bound (cases ≥ 1)", {"unstocked_products": [{"cases": 0}]}),
    ("an unknown document in a violation", {"violations": [{"documents": ["fine"]}]}),
    ("a null document in a violation", {"violations": [{"documents": [None]}]}),
    ("a null entry in a list", {"complaints": [None]}),
    ("a complaint deduction above 1", {"complaints": [{"deduction": Decimal("1.0001")}]}),
    ("a required list given as null", {"violations": None}),
    ("a required bool missing", {"in_drg": None}),
    ("money beyond the lane's 10**12", {"fund_loss_amount": Decimal("1000000000000.0001")}),
    ("a direct survey adjustment beyond -1", {"satisfaction_score": None,
                                              "direct_survey_adjustment": Decimal("-1.0001")}),
    ("an id with a space around it", {"id": " H"}),
    ("an empty id", {"id": ""}),
    ("an id with a quote", {"id": 'H"1'}),
    ("an id with a control character", {"id": "H\u00071"}),
    ("no id", {"id": None}),
]


@pytest.mark.parametrize(("what", "changes"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_value_the_lane_cannot_vouch_for_goes_to_the_record_path(
        what: str, changes: dict[str, Any]) -> None:
    p = pack(INPATIENT)
    record = {key: value for key, value in {**full_marks_inpatient(), **changes}.items()
              if value is not None}
    vouched, result = _one(p, record)
    assert not vouched, what
    # the record path refuses it, or scores it (an id, a label: read there, not here)
    assert isinstance(result, tuple | Exception)


def test_the_full_marks_record_is_vouched_and_scores_100() -> None:
    p = pack(INPATIENT)
    vouched, result = _one(p, full_marks_inpatient())
    assert vouched and isinstance(result, tuple) and result.total == Decimal("100.00")


def test_a_need_outside_its_condition_is_not_vouched() -> None:
    """Dual channel, connected, no flow rate: `score` needs it (item 9), the reader does
    too (required when ... eprescription_connected); not connected: neither needs it."""
    p = pack(INPATIENT)
    missing = {**full_marks_inpatient(), "eprescription_flow_rate": None}
    missing = {k: v for k, v in missing.items() if v is not None}
    assert _one(p, missing)[0] is False
    vouched, result = _one(p, {**missing, "eprescription_connected": False})
    assert vouched and isinstance(result, tuple)


# ---------------------------------------------------------------- (d) by hand


def _scored(changes: Mapping[str, Any], records: int = 1) -> ColumnScores:
    p = pack(INPATIENT)
    record = {**full_marks_inpatient(), **changes}
    block = read_block(p, lines_of([record] * records))
    assert block.vouched.all()
    # alone in its batch the survey ranks it first: +1.0 (SZ-12, SZ-C)
    cohorts = {"survey_adjustment": np.full(records, 1 * SCALE, dtype=np.int64)}
    return score_block(p, block, cohorts)


def test_item_1_at_a_share_of_77_75_for_a_tertiary_hospital() -> None:
    """SZ-1, G4: 80 − 77.75 = 2.25 percentage points short, 2 complete steps of 1 point,
    0.1 each: the part gives 1 − 0.2 = 0.8, the item 1 + 1 + 0.8 = 2.8; the total
    100 − 0.2 = 99.8 of 100."""
    scores = _scored({"catalogue_drug_share": Decimal("77.75")})
    assert at_scale(scores.items[0, 0]) == Decimal("2.8")
    assert at_scale(scores.earned[0]) == Decimal("99.8")
    assert at_scale(scores.total[0]) == Decimal("99.80")


def test_a_private_hospital_outside_drg_rescaled_from_60() -> None:
    """SZ-3, SZ-4, G5, G2: private and not in DRG, items 3 and 4 do not apply; the maximum
    is 100 − 20 − 20 = 60. With 2 price violations (item 2: 3 − 2 = 1) the items earn
    60 − 2 = 58; the total 58 × 100 / 60 = 96.666… → 96.67 (half-up)."""
    scores = _scored({"ownership": "private", "in_drg": False, "procurement_score": None,
                      "drg_score": None, "price_violations": 2})
    assert not scores.applicable[2, 0] and not scores.applicable[3, 0]
    assert at_scale(scores.applicable_max[0]) == 60
    assert at_scale(scores.earned[0]) == 58
    assert at_scale(scores.total[0]) == Decimal("96.67")


def test_item_6_serious_consequences_at_the_thousandth() -> None:
    """SZ-6: a loss of exactly 0.1% of the region's expenditure (1000.0001 of
    1000000.1: 1000000.1 × 0.1% = 1000.0001) zeroes item 6; one unit less does not, and
    item 6 keeps 15 − 3 (one loss penalty) = 12."""
    violations = [{"documents": ["loss_penalty", "correction_notice"]}]
    at = _scored({"fund_loss_amount": Decimal("1000.0001"), "violations": violations,
                  "region_fund_expenditure_last_year": Decimal("1000000.1")})
    assert at_scale(at.items[5, 0]) == 0
    under = _scored({"fund_loss_amount": Decimal("1000.0000"), "violations": violations,
                     "region_fund_expenditure_last_year": Decimal("1000000.1")})
    assert at_scale(under.items[5, 0]) == 12


def test_take_keeps_the_chosen_records_in_order() -> None:
    p = pack(INPATIENT)
    records = [{**full_marks_inpatient(), "id": f"H{i}", "care_violations": i}
               for i in range(5)]
    block = read_block(p, lines_of(records))
    taken = block.take(np.array([False, True, False, True, True]))
    assert taken.ids == ["H1", "H3", "H4"] and taken.count == 3
    assert list(taken.columns.numbers["care_violations"]) == [1, 3, 4]
    assert block.take([4, 0]).ids == ["H4", "H0"]


def test_cohort_facts_are_exact() -> None:
    p = pack(INPATIENT)
    records = [{**full_marks_inpatient(), "satisfaction_score": Decimal("85.25")},
               {**full_marks_inpatient(), "satisfaction_score": 90}]
    block = read_block(p, lines_of(records))
    assert block.cohort_facts("satisfaction_score") == [Decimal("85.25"), Decimal("90")]


# ---------------------------------------------------------------- packs without a form


@pytest.mark.parametrize("name", WITHOUT_COLUMNS)
def test_packs_without_a_proven_form_say_so(name: str) -> None:
    p = pack(name)
    assert p.COLUMNS is None
    source = (ROOT / "generated" / f"{name.replace('/', '_').replace('-', '_')}.py").read_text()
    assert "# No column form: " in source


def _generated(text: str) -> str:
    standard = parser.parse_text(text, "demo.policy")
    checked = checker.check(standard)
    assert checked.ok, [d.render(text) for d in checked.diagnostics]
    return codegen.generate(standard, checked, text).source


def test_an_expression_that_cannot_be_proven_gets_no_column_form() -> None:
    """Money (up to 10**12 yuan, held at 10**6) times a count (up to 10**9) could reach
    10**27 at the lane's scale, beyond int64: the pack is compiled without a column form,
    and says why; the same file with the count alone has one."""
    assert "COLUMNS: ColumnPlan | None = ColumnPlan(" in _generated(MINIMAL)
    text = MINIMAL.replace('fact flagged "标记": bool',
                           'fact flagged "标记": bool\nfact amount "金额": money') \
        .replace("deduct 1 per incidents cap 3", "deduct 1 when amount * incidents > 5")
    generated = _generated(text)
    assert "COLUMNS: ColumnPlan | None = None" in generated
    assert "# No column form: a product may reach 1.000e+27" in generated


# ---------------------------------------------------------------- the runtime's helpers


def test_half_up_cents_at_a_tie_and_just_under_it() -> None:
    """G2 over a maximum of 80: earned 9.876 → 9.876 × 100 / 80 = 12.345, a tie, up to
    12.35; earned 9.875999 → 12.34499875 → 12.34; earned 80 of 100 → 80.00 (no
    division); a maximum of 0 → 0."""
    from policy_dsl.runtime.columns import half_up_cents

    earned = np.array([9_876_000, 9_875_999, 80_000_000, 0], dtype=np.int64)
    maximum = np.array([80, 80, 100, 0], dtype=np.int64) * SCALE
    assert [at_scale(v) for v in half_up_cents(earned, maximum, 100)] == [
        Decimal("12.35"), Decimal("12.34"), Decimal("80.00"), Decimal(0)]


def test_a_bound_finer_than_an_input_is_the_nearest_input_inside_it() -> None:
    """An input has at most 4 decimals: 0.00005..99.99995 vouches 0.0001..99.9999."""
    from policy_dsl.runtime.columns import ColumnFact

    fact = ColumnFact("x", "decimal", low=Decimal("0.00005"), high=Decimal("99.99995"))
    assert fact.limits() == (Decimal("0.0001"), Decimal("99.9999"))


def test_segment_sums_and_extremes_over_list_offsets() -> None:
    """Records of 2, 0, 3 and 0 entries (values 3 1 | - | 7 2 5 | -): sums 4, 0, 14, 0;
    largest 3, empty, 7, empty; smallest 1, empty, 2, empty."""
    from policy_dsl.runtime.columns import segment_max, segment_min, segment_sum

    values = np.array([3, 1, 7, 2, 5], dtype=np.int64)
    offsets = np.array([0, 2, 2, 5, 5], dtype=np.int64)
    assert list(segment_sum(values, offsets)) == [4, 0, 14, 0]
    assert list(segment_max(values, offsets)) == [3, 0, 7, 0]
    assert list(segment_min(values, offsets, empty=-1)) == [1, -1, 2, -1]


# ---------------------------------------------------------------- mutations


def _edges(fact: FactInfo) -> list[Any]:
    """Values at and around a fact's edges: its bounds, one unit of the 4th decimal
    beyond them, the lane's limits and one beyond, nulls, wrong shapes of list."""
    unit = Decimal("0.0001")
    values: list[Any] = [None]
    if fact.type == "count":
        low = int(fact.low) if fact.low is not None else 0
        values += [low, low - 1, low + 1, 10**9, 10**9 + 1, 10**12]
    elif fact.type in ("percent", "number", "score", "points", "money"):
        for bound in (fact.low, fact.high):
            if bound is not None:
                values += [bound, bound - unit, bound + unit]
        values += [Decimal(0), Decimal("12.3456"), Decimal(10**12), Decimal(10**12) + unit,
                   -Decimal(10**12) - unit]
    elif fact.type == "bool":
        values += [True, False]
    elif fact.members:
        codes = [code for code, _ in fact.members]
        labels = [label for _, label in fact.members]
        if fact.type.startswith(("set of", "list of")):
            values += [[], codes[:2], codes[:1] * 2, [labels[0]], ["nonsense"], [None]]
        else:
            values += codes + labels[:1] + ["nonsense"]
    elif fact.fields:
        entry = {f.name: _edges(f)[1] for f in fact.fields}
        values += [[], [entry], [entry, entry], [None]]
        values += [[{**entry, f.name: value}] for f in fact.fields for value in _edges(f)]
    return values


@pytest.mark.parametrize("seed", [7, 8])
def test_mutated_batches_agree_wherever_vouched(seed: int) -> None:
    """Generated records with 1 to 3 facts each set to an edge value (seeded): every record
    the lane vouches for scores as the record path scores it; a record with a value at an
    edge inside the bounds is still vouched (the test counts them)."""
    import random

    p = pack(INPATIENT)
    facts = list(p.INFO.facts)
    rng = random.Random(seed)
    records = []
    for record in generate.records(INPATIENT, 2000, seed=seed):
        record = dict(record)
        for fact in rng.sample(facts, rng.randint(1, 3)):
            value = rng.choice(_edges(fact))
            if value is None:
                record.pop(fact.name, None)
            else:
                record[fact.name] = value
        records.append(record)
    vouched = compare_paths(p, records)
    results, _ = record_path(p, records)
    scored = np.array([isinstance(r, tuple) for r in results])
    assert vouched.sum() > len(records) // 3
    assert (scored & ~vouched).sum() > 0  # some values the lane leaves to the record path


# ---------------------------------------------------------------- every construct


CONSTRUCTS = ROOT / "tests" / "fixtures" / "column-constructs.policy"


def _constructs_pack() -> Pack:
    from policy_dsl.runtime.packs import compile_pack

    source = _generated(CONSTRUCTS.read_text(encoding="utf-8"))
    assert "COLUMNS: ColumnPlan | None = ColumnPlan(" in source
    return compile_pack(source, str(CONSTRUCTS))


def _construct_records(seed: int, count: int) -> list[dict[str, Any]]:
    """Records of the example standard: values at and around every threshold and bound of
    its rules, optional facts given and not, lists of 0 to 4 entries."""
    import random

    rng = random.Random(seed)

    def percent() -> Decimal:
        return rng.choice([Decimal(0), Decimal("9.9999"), Decimal(10), Decimal("79.9999"),
                           Decimal(80), Decimal(90), Decimal("95.0001"), Decimal("97.5"),
                           Decimal("94.9999"), Decimal(100), Decimal("12.5"),
                           Decimal(rng.randint(0, 1_000_000)) / 10_000])

    def number(high: int) -> Decimal:
        return rng.choice([Decimal(0), Decimal(high), Decimal(1), Decimal("0.9999"),
                           Decimal(rng.randint(0, high * 10_000)) / 10_000])

    records = []
    for index in range(count):
        record: dict[str, Any] = {
            "id": f"R{index}", "level": rng.choice(["high", "mid", "low"]),
            "rate": percent(), "other_rate": percent(),
            "score_a": number(100), "score_b": number(100),
            "incidents": rng.choice([0, 1, 4, 5, 6, 10**9]),
            "done": rng.randint(0, 120), "planned": rng.choice([1, 60, 100, 10**9]),
            "flagged": rng.random() < 0.5,
            "channels": rng.sample(["web", "phone", "mail"], rng.randint(0, 3)),
            "visits": [{"findings": rng.choice([0, 3, 4, 10**9]), "weight": number(10),
                        "kind": rng.choice(["web", "phone", "mail"])}
                       for _ in range(rng.randint(0, 4))],
        }
        if rng.random() < 0.6:
            record["extra"] = rng.choice([Decimal(-2), Decimal("-1.5"), Decimal("-0.0001"),
                                          Decimal(0), Decimal(2), Decimal("1.2345")])
        if record["flagged"] or rng.random() < 0.3:
            record["bonus_rate"] = percent()
        records.append(record)
    return records


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_construct_scores_the_same_in_columns(seed: int) -> None:
    """Tiers, lookups (constant and computed), shares, steps (ceil), caps, parts with
    `zero when` and `not applicable`, sums, maxima, counts, any and all over entries, sets
    (has, count), min and max, if-then-else on a given fact, divisions by 4, 25, 50: every
    vouched record as the record path scores it, and nearly every record vouched."""
    p = _constructs_pack()
    records = _construct_records(seed, 1500)
    vouched = compare_paths(p, records)
    results, _ = record_path(p, records)
    scored = np.array([isinstance(r, tuple) for r in results])
    assert not (vouched & ~scored).any()
    assert vouched.sum() == scored.sum() > len(records) * 0.9


# ---------------------------------------------------------------- a property


def _value(fact: FactInfo) -> Any:
    """A hypothesis strategy for one fact: any value of its JSON type, often at an edge."""
    from hypothesis import strategies as st

    if fact.type == "count":
        low = int(fact.low) if fact.low is not None else 0
        return st.one_of(st.integers(low - 1, low + 5), st.integers(0, 2 * 10**9))
    if fact.type in ("percent", "number", "score", "points", "money"):
        low = fact.low if fact.low is not None else Decimal(-10**13)
        high = fact.high if fact.high is not None else Decimal(10**13)
        edges = [v + d for v in (low, high) for d in (Decimal("-0.0001"), 0, Decimal("0.0001"))]
        return st.one_of(st.sampled_from(edges),
                         st.decimals(low - 1, high + 1, places=4, allow_nan=False,
                                     allow_infinity=False))
    if fact.type == "bool":
        return st.booleans()
    if fact.members:
        codes = [code for code, _ in fact.members]
        spellings = st.sampled_from([*codes, fact.members[0][1], "x"])
        if fact.type.startswith(("set of", "list of")):
            return st.lists(spellings, max_size=4)
        return spellings
    if fact.fields:
        return st.lists(st.fixed_dictionaries({f.name: _value(f) for f in fact.fields}),
                        max_size=3)
    raise AssertionError(fact.type)


def test_property_vouched_records_score_as_the_record_path() -> None:
    """hypothesis: batches of 1 to 6 records of 附件1, each fact drawn from its type (bounds
    and the lane's limits ± one unit, labels, unknown codes), some facts left out: every
    vouched record scores as the record path scores it, to the last decimal."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    p = pack(INPATIENT)
    facts = list(p.INFO.facts)
    record = st.fixed_dictionaries({}, optional={f.name: _value(f) for f in facts})
    base = full_marks_inpatient()

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(record, min_size=1, max_size=6))
    def check(changes: list[dict[str, Any]]) -> None:
        records = [{**base, **change, "id": f"P{i}"} for i, change in enumerate(changes)]
        compare_paths(p, records)

    check()


def test_reading_does_not_depend_on_the_callers_decimal_context() -> None:
    """A host with a 3-digit decimal context: cohort values and cohort facts stay exact
    (0.1234 is 123,400 at SCALE, not 123,000)."""
    from decimal import localcontext

    p = pack(INPATIENT)
    plan = p.COLUMNS
    assert plan is not None
    block = read_block(p, lines_of([{**full_marks_inpatient(),
                                     "satisfaction_score": Decimal("85.1234")}]))
    with localcontext() as context:
        context.prec = 3
        columns, exact = fixed_cohorts(plan, {"survey_adjustment": [Decimal("0.1234")]}, 1)
        facts = block.cohort_facts("satisfaction_score")
    assert list(columns["survey_adjustment"]) == [123_400] and exact.all()
    assert facts == [Decimal("85.1234")]
