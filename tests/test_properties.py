"""Property tests of the input contract, with hypothesis, for every shipped pack.

The records are generated from what `policyc describe` shows of each pack (`pack.INFO.facts`
and, under a framework, its inputs): types, bounds, enum members, record fields, and when a
fact is required. Two properties:

- random valid records → one output line per record, in order, no error, and the line
  survives a JSON round trip unchanged (decimals as strings);
- one random bad value (wrong type, out of bounds, NaN text, a huge exponent, a decimal
  comma, the year 9999, an unknown enum member) injected into one field of one record → that
  record's error names the field; every other record of the batch is scored exactly as it is
  without the bad record; never an exception, never a lost or extra line.

The normal run tries a few examples per pack (seconds). A longer run:

    POLICY_DSL_FUZZ_EXAMPLES=2000 .venv/bin/pytest -q tests/test_properties.py \
        --hypothesis-show-statistics
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest
from helpers import GENERATED, pack

from policy_dsl.runtime import FactInfo, InputRecord, outcome_json, score_batch
from policy_dsl.runtime.framework import framework_inputs
from policy_dsl.runtime.packs import Pack, read_index

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EXAMPLES = int(os.environ.get("POLICY_DSL_FUZZ_EXAMPLES", "8"))
PACKS = sorted(entry.name for entry in read_index(GENERATED))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 8,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LARGE = Decimal(10) ** 6  # the range of numbers a fact without an upper bound is given
TRIED: dict[str, int] = {"valid": 0, "bad": 0}


# ---------------------------------------------------------------- what describe shows


def facts_of(p: Pack) -> tuple[FactInfo, ...]:
    rules = getattr(p, "FRAMEWORK", None)
    return p.INFO.facts + (framework_inputs(rules) if rules is not None else ())


def members_of(fact: FactInfo, p: Pack) -> list[str]:
    """Every accepted spelling of an enum-like fact: codes and labels."""
    if fact.members:
        return [spelling for pair in fact.members for spelling in pair]
    if fact.type == "grade":
        return [g.label for g in p.FRAMEWORK.grades]  # type: ignore[attr-defined]
    element = fact.type.removeprefix("list of ").removeprefix("set of ")
    return [m.strip() for m in element.split("|")] if "|" in element else []


def condition_holds(condition: str, truth: Mapping[str, object]) -> bool:
    """`required when` as describe writes it: conjunctions of `x`, `not x`, `given x`,
    `x is member`. Anything else is taken to hold (the fact is then always given)."""
    for part in condition.split(" and "):
        words = part.split()
        if len(words) == 1:
            holds = truth.get(words[0]) is True
        elif len(words) == 2 and words[0] == "not":
            holds = truth.get(words[1]) is False
        elif len(words) == 2 and words[0] == "given":
            holds = words[1] in truth
        elif len(words) == 3 and words[1] == "is":
            holds = truth.get(words[0]) == words[2]
        else:
            return True
        if not holds:
            return False
    return True


# ---------------------------------------------------------------- valid values


def decimals(low: Decimal, high: Decimal) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=low, max_value=high, places=2, allow_nan=False,
                       allow_infinity=False)


def written(number: Decimal, percent: bool = False) -> st.SearchStrategy[object]:
    """A number as a record may hold it: a Decimal (JSON), a text, 1,234.5, 85.5%."""
    forms: list[object] = [number, str(number)]
    if abs(number) >= 1000:
        forms.append(format(number, ","))
    if percent:
        forms.append(f"{number}%")
    if number == number.to_integral_value():
        forms.append(int(number))
    return st.sampled_from(forms)


@st.composite
def valid_value(draw: st.DrawFn, fact: FactInfo, p: Pack, texts: Mapping[str, str]
                ) -> tuple[object, object]:
    """(the value as written in a record, its meaning for `required when`)."""
    kind = fact.type
    members = members_of(fact, p)
    if kind == "bool":
        truth = draw(st.booleans())
        word = draw(st.sampled_from([truth, str(truth).lower(), "是" if truth else "否",
                                     int(truth)]))
        return word, truth
    if kind in {"count", "year"}:
        low, high = (2000, 2030) if kind == "year" else (1, 10 ** 6)  # 1: no zero bases
        number = Decimal(draw(st.integers(low, high)))
        return draw(written(number)), number
    if kind in {"number", "score", "points", "money", "percent"}:
        low = fact.low if fact.low is not None else Decimal(0)
        if kind in {"money", "number"} and low <= 0:
            low = Decimal("0.01")  # a zero base makes a derived value undefined
        high = fact.high if fact.high is not None else LARGE
        number = draw(decimals(low, high))
        return draw(written(number, kind == "percent")), number
    if kind == "date":
        date = draw(st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)))
        return date.isoformat(), date
    if kind == "text":
        return texts[fact.name], texts[fact.name]  # one per batch: texts group institutions
    if kind.startswith("set of"):
        chosen = draw(st.lists(st.sampled_from(members), unique=True, max_size=4))
        return chosen, chosen
    if kind == "list of score":
        high = fact.high if fact.high is not None else Decimal(100)
        scores = draw(st.lists(decimals(Decimal(0), high), max_size=3))
        return [str(s) for s in scores], scores
    if kind.startswith("list of") and members:
        events = draw(st.lists(st.sampled_from(members), max_size=3))
        return events, events
    if kind.startswith("list of"):
        entries = draw(st.lists(valid_entry(fact, p), max_size=3))
        return entries, entries
    if members:
        member = draw(st.sampled_from(members))
        code = next((c for c, label in fact.members if member in (c, label)), member)
        return member, code
    raise AssertionError(f"a fact type the generator does not know: {kind}")


@st.composite
def valid_entry(draw: st.DrawFn, fact: FactInfo, p: Pack) -> dict[str, object]:
    """A list entry: its fields by type; an assessment panel's entry names an item of the
    pack's catalogue for its list, within the item's points (JL-6)."""
    catalogue: Mapping[str, Decimal] | None = getattr(
        p.module, f"_CATALOGUE_{fact.name.upper()}", None)
    if {"item", "points", "evidence"} <= {sub.name for sub in fact.fields}:
        assert catalogue is not None, f"no catalogue for the entries of {fact.name}"
    entry: dict[str, object] = {}
    for sub in fact.fields:
        if catalogue is not None and sub.name == "item":
            entry["item"] = draw(st.sampled_from(sorted(catalogue)))
        elif catalogue is not None and sub.name == "points":
            item = entry["item"]
            assert isinstance(item, str)
            entry["points"] = str(draw(decimals(Decimal(0), catalogue[item])))
        elif sub.type == "text":
            entry[sub.name] = draw(st.sampled_from(["考核记录 2026-01", "截图-02", "e"]))
        else:
            entry[sub.name] = draw(valid_value(sub, p, {}))[0]
    return entry


@st.composite
def valid_record(draw: st.DrawFn, p: Pack, texts: Mapping[str, str],
                 index: int) -> dict[str, object]:
    record: dict[str, object] = {"id": f"R{index}"}
    truth: dict[str, object] = {}
    values: dict[str, object] = {}
    for fact in facts_of(p):
        values[fact.name], truth[fact.name] = draw(valid_value(fact, p, texts))
    for fact in facts_of(p):  # in declaration order: a condition sees earlier omissions
        if fact.presence == "required":
            keep = True
        elif fact.presence.startswith("required when "):
            keep = condition_holds(fact.presence.removeprefix("required when "), truth) or \
                draw(st.booleans())  # checked whenever given (G7)
        else:
            keep = draw(st.booleans())
        if keep:
            record[fact.name] = values[fact.name]
        elif fact.default is not None:  # left out, it takes its declared default
            truth[fact.name] = {"true": True, "false": False}.get(fact.default, fact.default)
        else:
            truth.pop(fact.name)
    return record


@st.composite
def valid_batch(draw: st.DrawFn, p: Pack) -> list[dict[str, object]]:
    texts = {f.name: draw(st.sampled_from(["社区卫生服务中心", "A组"]))
             for f in facts_of(p) if f.type == "text"}
    size = draw(st.integers(2, 4))  # two or more: a cohort's mean needs two of a group
    return [draw(valid_record(p, texts, i)) for i in range(size)]


# ---------------------------------------------------------------- bad values


def bad_values(fact: FactInfo, p: Pack) -> list[object]:
    """Values the fact must refuse, by its type and bounds."""
    kind = fact.type
    wrong_type: list[object] = [[1], {"a": 1}]
    if kind in {"number", "score", "points", "money", "percent", "count", "year",
                "list of score"}:
        bad: list[object] = ["abc", "NaN", "Infinity", "-inf", Decimal("NaN"),
                             "9e999999", Decimal("9E+999999"), "1e-999999", "8,5", "1,23",
                             True, 10 ** 5000, "1" * 40, *wrong_type]
        if fact.high is not None:
            bad.append(str(fact.high + Decimal("0.01")))
        if fact.low is not None:
            bad.append(str(fact.low - Decimal("0.01")))
        if kind in {"count", "year"}:
            bad += ["2.5", -1]
        if kind == "year":
            bad.append(9999)
        if kind == "list of score":
            return [[b] for b in bad if not isinstance(b, list | dict)] + ["[1,", {"a": 1}]
        return bad
    if kind == "bool":
        return ["maybe", 2, "NaN", 10 ** 5000, *wrong_type]
    if kind == "date":
        return ["9999-12-31", "2023-02-30", "20231231", "2023-W01-1", 20231231,
                *wrong_type]
    if kind == "text":
        return [*wrong_type, 10 ** 5000, True]
    if kind.startswith(("list of", "set of")):
        bad = ["not json", "[NaN]", "[" * 50, {"a": 1}, 5, "[1,"]
        members = members_of(fact, p)
        if members or kind.startswith("set of"):
            bad.append(["no-such-member"])
        else:
            bad += [[1], [{"unknown_field": 1}]]
        return bad
    return ["no-such-member", 3, *wrong_type]  # an enum


@st.composite
def batch_with_a_bad_value(draw: st.DrawFn, p: Pack
                           ) -> tuple[list[dict[str, object]], int, str]:
    batch = draw(valid_batch(p))
    index = draw(st.integers(0, len(batch) - 1))
    fact = draw(st.sampled_from(facts_of(p)))
    batch[index] = dict(batch[index], **{fact.name: draw(st.sampled_from(
        bad_values(fact, p)))})
    if fact.name == "violations_found":  # checked whenever given, whatever the status
        batch[index].pop("status", None)
    return batch, index, fact.name


# ---------------------------------------------------------------- the properties


def scored(p: Pack, records: list[dict[str, object]],
           positions: list[int]) -> list[dict[str, Any]]:
    inputs = [InputRecord(pos, r.get("id"), r) for pos, r in zip(positions, records,
                                                                  strict=True)]
    return [outcome_json(o, explain=True) for o in score_batch(p, inputs)]


@pytest.mark.parametrize("pack_name", PACKS)
def test_random_valid_records_each_give_one_scored_line(pack_name: str) -> None:
    p = pack(pack_name)

    @SETTINGS
    @given(batch=valid_batch(p))
    def check(batch: list[dict[str, object]]) -> None:
        TRIED["valid"] += len(batch)
        lines = scored(p, batch, list(range(1, len(batch) + 1)))
        assert [line["id"] for line in lines] == [r["id"] for r in batch]
        for line in lines:
            assert line["error"] is None, line["error"]
            assert json.loads(json.dumps(line)) == line

    check()


@pytest.mark.parametrize("pack_name", PACKS)
def test_a_bad_value_is_its_records_error_and_touches_no_other_record(pack_name: str) -> None:
    p = pack(pack_name)

    @SETTINGS
    @given(case=batch_with_a_bad_value(p))
    def check(case: tuple[list[dict[str, object]], int, str]) -> None:
        batch, bad, field = case
        TRIED["bad"] += 1
        positions = list(range(1, len(batch) + 1))
        lines = scored(p, batch, positions)
        assert [line["id"] for line in lines] == [r["id"] for r in batch]
        error = lines[bad]["error"]
        assert error is not None, (field, batch[bad].get(field))
        assert any(f"{field}{after}" in error for after in (":", "[", ".")), (field, error)
        assert lines[bad]["total"] is None
        others = [i for i in range(len(batch)) if i != bad]
        alone = scored(p, [batch[i] for i in others], [positions[i] for i in others])
        assert [lines[i] for i in others] == alone
        for line in lines:
            assert json.loads(json.dumps(line)) == line

    check()


def test_zz_report_how_many_inputs_were_tried() -> None:
    """Printed with -s (or in the long run's log): how many records the properties tried."""
    sys.stdout.write(f"\nproperty tests tried {TRIED['valid']} valid records and "
                     f"{TRIED['bad']} batches with a bad value\n")
