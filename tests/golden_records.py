"""Seeded records for every pack, well-formed and hostile, for comparing outputs before and
after a change to code generation or the runtime (tests/test_golden_outputs.py and
benchmarks/golden.py).

Each record starts from one of the pack's regression-case records (a valid institution) and
changes a few facts at random: to another valid value in another accepted spelling (a text
number, "85.5%", "1,234.5", 是/否, a label), to a value at or beyond a bound, to a wrong type,
or removes it. The generator reads only the pack's `INFO.facts`, so it follows the rule files.
Not policy data: the values are illustrative.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from policy_dsl.casebook.cases import find_case_files, load_cases
from policy_dsl.runtime import InputRecord, Pack, load_pack, outcome_json, score_batch

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "generated"

HOSTILE: list[object] = [
    None, "", "  ", True, False, 0, 1, -1, 2, 10**20, -(10**20), "abc", "NaN", "Infinity",
    Decimal("NaN"), Decimal("-Infinity"), Decimal("1E+30"), Decimal("0.5"), Decimal("-0"),
    Decimal("1E-40"), "1,234.5", "8,5", "85.5%", "１２", "是", "否", "yes", "0", "1", [], [1],
    {}, {"a": 1}, "[]", "[{}]", "not json [", 1.5, "2023-12-31", "2023-02-30",
    dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 8, 0), "  12  ", "+3", "1e3", ".5", "5.",
    "3.0", Decimal("3.000"), Decimal("2.5"), "99.999999999999999999999999999",
]


def _number(rng: random.Random, low: Decimal | None, high: Decimal | None) -> Decimal:
    lo = low if low is not None else Decimal(-50)
    hi = high if high is not None else lo + 200
    pick = rng.random()
    if pick < 0.15:
        return lo
    if pick < 0.3:
        return hi
    if pick < 0.4:
        return lo - Decimal("0.01")
    if pick < 0.5:
        return hi + Decimal("0.01")
    scale = rng.choice([0, 1, 2, 3])
    span = int((hi - lo) * 10**scale)
    return lo + Decimal(rng.randint(0, max(span, 0))).scaleb(-scale)


def _spelled(rng: random.Random, number: Decimal, percent: bool) -> object:
    form = rng.random()
    if form < 0.3:
        return number
    if form < 0.45 and number == number.to_integral_value():
        return int(number)
    text = str(number)
    if form < 0.55 and percent:
        return text + "%"
    if form < 0.6 and abs(number) >= 1000:
        return f"{number:,}"
    return text


def _value(rng: random.Random, fact: Any) -> object:
    """A value for `fact`: mostly plausible, sometimes hostile."""
    if rng.random() < 0.12:
        return rng.choice(HOSTILE)
    kind: str = fact.type
    if fact.members and not kind.startswith("set of "):
        code, label = rng.choice(fact.members)
        return rng.choice([code, label, f" {label} ", code.upper(), "other-member"])
    if kind == "bool":
        return rng.choice([True, False, "是", "否", "true", "NO", 1, 0, "有", "无", "√", "×"])
    if kind == "count":
        return _spelled(rng, _number(rng, fact.low or Decimal(0), fact.high or Decimal(30)),
                        False)
    if kind in ("percent", "money", "points", "score", "number"):
        return _spelled(rng, _number(rng, fact.low, fact.high), kind == "percent")
    if kind == "text":
        return rng.choice(["某某医院", "A-1", "  spaced  ", 12345, "x" * 50])
    if kind == "date":
        return rng.choice(["2023-06-30", "2025-01-01", "0001-01-01", "9999-12-31",
                           dt.date(2020, 2, 29), "2023/06/30"])
    if kind.startswith("set of "):
        codes = [rng.choice(fact.members)[rng.randint(0, 1)]
                 for _ in range(rng.randint(0, len(fact.members)))]
        return rng.choice([codes, codes, json.dumps(codes, ensure_ascii=False)])
    if kind.startswith("list of "):
        entries = []
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            entry = {field.name: _value(rng, field) for field in fact.fields
                     if rng.random() < 0.95}
            if rng.random() < 0.05:
                entry["unknown_field"] = 1
            entries.append(entry)
        return entries
    return rng.choice(HOSTILE)


def case_records(pack: Pack) -> list[dict[str, Any]]:
    """Every record of the pack's regression cases, in file order; for a pack without cases,
    the records of the other packs' cases that give mostly its facts (unknown keys dropped)."""
    by_pack: dict[str, list[dict[str, Any]]] = {}
    for path in find_case_files(ROOT):
        for case in load_cases(path, ROOT, GENERATED):
            by_pack.setdefault(case.pack, []).extend(copy.deepcopy(r) for r in case.records)
    if pack.NAME in by_pack:
        return by_pack[pack.NAME]
    names = {fact.name for fact in pack.INFO.facts} | {"id"}
    borrowed: list[dict[str, Any]] = []
    for records in by_pack.values():
        for record in records:
            if len(names & record.keys()) >= 0.8 * len(names):
                borrowed.append({k: v for k, v in record.items() if k in names})
    return borrowed


def hostile_records(pack: Pack, count: int, seed: int) -> list[dict[str, Any]]:
    """`count` records from the pack's cases with a few facts changed (seeded)."""
    rng = random.Random(f"{pack.NAME}:{seed}")
    bases = case_records(pack) or [{}]
    facts = list(pack.INFO.facts)
    records: list[dict[str, Any]] = []
    for index in range(count):
        record = copy.deepcopy(rng.choice(bases))
        for _ in range(rng.choice([0, 1, 1, 2, 3, 6])):
            fact = rng.choice(facts)
            if rng.random() < 0.1:
                record.pop(fact.name, None)
            else:
                record[fact.name] = _value(rng, fact)
        if rng.random() < 0.02:
            record["misspelt_fact"] = 1
        record["id"] = f"G{index:05d}"
        records.append(record)
    return records


def packs() -> list[str]:
    index = json.loads((GENERATED / "index.json").read_text(encoding="utf-8"))
    names = index["packs"] if isinstance(index, dict) and "packs" in index else index
    return sorted(entry["name"] if isinstance(entry, dict) else entry for entry in names)


def output_lines(pack_name: str, records: list[dict[str, Any]], explain: bool) -> Iterator[str]:
    """The JSON line of each record's outcome, `pack_sha256` masked (it changes with every
    build)."""
    pack = load_pack(pack_name, packs_dir=GENERATED)
    inputs = [InputRecord(i + 1, r.get("id"), r) for i, r in enumerate(records)]
    for outcome in score_batch(pack, inputs, explain=explain):
        line = outcome_json(outcome, explain=explain)
        line["pack_sha256"] = "<masked>"
        yield json.dumps(line, ensure_ascii=False, default=str)


def digest(lines: Iterator[str]) -> str:
    sha = hashlib.sha256()
    for line in lines:
        sha.update(line.encode("utf-8") + b"\n")
    return sha.hexdigest()
