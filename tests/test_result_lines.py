"""`result_line` writes the same characters as `json.dumps(outcome_json(...),
ensure_ascii=False) + "\\n"`: on every pack's golden batch (hostile records, frameworks'
settlements, errors), with and without explanations, and on hostile ids, errors and points."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
import golden_records

from policy_dsl.runtime import (
    InputRecord,
    ItemScore,
    Outcome,
    Provenance,
    Score,
    load_pack,
    outcome_json,
    result_line,
    score_batch,
    write_result_lines,
)
from policy_dsl.runtime.framework import Lang


def dumped(outcome: Outcome, explain: bool = False, lang: Lang = "zh") -> str:
    return json.dumps(outcome_json(outcome, explain, lang), ensure_ascii=False) + "\n"


@pytest.mark.parametrize("explain", [False, True], ids=["scores", "explained"])
@pytest.mark.parametrize("name", golden_records.packs())
def test_every_pack_golden_batch(name: str, explain: bool) -> None:
    pack = load_pack(name, packs_dir=golden_records.GENERATED)
    records = golden_records.case_records(pack) + golden_records.hostile_records(
        pack, 200, seed=7)
    inputs = [InputRecord(i + 1, r.get("id"), r) for i, r in enumerate(records)]
    outcomes = score_batch(pack, inputs, explain=explain)
    assert any(o.error is None for o in outcomes) and any(o.error for o in outcomes)
    for outcome in outcomes:
        assert result_line(outcome, explain) == dumped(outcome, explain)
    if pack.FRAMEWORK is not None:  # every settlement's fields, and a line in English
        assert any(o.settlement is not None for o in outcomes)
        for outcome in outcomes[:20]:
            assert result_line(outcome, explain, "en") == dumped(outcome, explain, "en")


def test_a_known_line() -> None:
    """The text itself, written out by hand: item 2 does not apply, -0 and 1.50 are plain."""
    score = Score(Decimal("2.50"), Decimal("1.50"), Decimal("60.0"),
                  (ItemScore(1, Decimal(3), Decimal("-0"), ()),
                   ItemScore(2, Decimal(20), None, ()),
                   ItemScore(10, Decimal(3), Decimal("1.50"), ())), Decimal("2.5"))
    outcome = Outcome(InputRecord(1, 'a"b\t', None), score, None,
                      provenance=Provenance("x/y-1", "ab"))
    assert result_line(outcome) == (
        '{"id": "a\\"b\\t", "total": "2.50", "earned": "1.5", "applicable_max": "60", '
        '"items": {"1": "0", "2": null, "10": "1.5"}, "error": null, '
        '"pack": "x/y-1", "pack_sha256": "ab"}\n')


# any text: control characters, quotes, backslashes, CJK, unpaired surrogates
texts = st.text(st.characters(exclude_categories=()))
ids = st.one_of(st.none(), st.integers(), texts, st.booleans())
points = st.decimals(allow_nan=False, allow_infinity=False, places=None,
                     min_value=-10**30, max_value=10**30)


@settings(max_examples=300, deadline=None)
@given(record_id=ids, error=st.one_of(st.none(), texts), framework=st.booleans(),
       earned=st.lists(st.one_of(st.none(), points), max_size=16), total=points,
       sums=st.tuples(points, points), pack=texts, sha=texts)
def test_hostile_ids_errors_and_points(record_id: object, error: str | None, framework: bool,
                                       earned: list[Decimal | None], total: Decimal,
                                       sums: tuple[Decimal, Decimal], pack: str,
                                       sha: str) -> None:
    items = tuple(ItemScore(number, Decimal(1), value, ())
                  for number, value in enumerate(earned, start=1))
    score = None if error is not None else Score(total, sums[0], sums[1], items, total)
    outcome = Outcome(InputRecord(3, record_id, None), score, error, None, framework,
                      provenance=Provenance(pack, sha))
    assert result_line(outcome) == dumped(outcome)


def test_written_a_few_hundred_lines_at_a_time() -> None:
    """600 outcomes: three writes (256, 256 and the last 88 lines), every line once, in
    order; no outcome, no write."""
    score = Score(Decimal("1.00"), Decimal(1), Decimal(1),
                  (ItemScore(1, Decimal(1), Decimal(1), ()),), Decimal(1))
    outcomes = [Outcome(InputRecord(n, f"id{n}", None), score if n % 3 else None,
                        None if n % 3 else f"line {n}: wrong", provenance=Provenance("p", "h"))
                for n in range(1, 601)]
    writes: list[str] = []
    write_result_lines(iter(outcomes), writes.append)
    assert [text.count("\n") for text in writes] == [256, 256, 88]
    assert "".join(writes) == "".join(dumped(outcome) for outcome in outcomes)
    write_result_lines(iter([]), writes.append)
    assert len(writes) == 3


@pytest.mark.parametrize("name", ["suzhou/inpatient-2023", "jilin/pharmacy-2026"])
def test_the_encode_benchmark_runs_and_checks_its_lines(name: str) -> None:
    """benchmarks/encode.py (a speed figure of issue 10) compares result_line with dumps on
    every record before it times anything; run small here so that it cannot rot."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, str(root / "benchmarks/encode.py"), "--pack", name,
                           "--count", "200", "--runs", "1"], capture_output=True, text=True,
                          cwd=root, check=False)
    assert done.returncode == 0, done.stderr
    assert "facts → bytes" in done.stdout


def test_full_caches_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a cache is full, what is not in it is made each time: the same text."""
    from policy_dsl.runtime import result_lines

    monkeypatch.setattr(result_lines, "_LIMIT", 0)
    caches: tuple[dict[Any, str], ...] = (
        result_lines._quoted, result_lines._item_texts, result_lines._TAILS)
    saved = [dict(cache) for cache in caches]
    for cache in caches:
        cache.clear()
    result_lines._quoted["None"] = "null"  # no decimal's text: there from the start
    try:
        pack = load_pack("suzhou/inpatient-2023", packs_dir=golden_records.GENERATED)
        records = golden_records.hostile_records(pack, 100, seed=3)
        inputs = [InputRecord(i + 1, r.get("id"), r) for i, r in enumerate(records)]
        for outcome in score_batch(pack, inputs, explain=False):
            assert result_line(outcome) == dumped(outcome)
        assert len(result_lines._quoted) == 1
        assert not result_lines._item_texts and not result_lines._TAILS
    finally:
        for cache, entries in zip(caches, saved, strict=True):
            cache.update(entries)
