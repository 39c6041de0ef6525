"""A pack's `score` (no explanation: every item in one function, written with fewer steps
where the build proves them the same) gives exactly the numbers of its explaining functions,
digits and exponents (`str`), not only equal values: 1.0 and 1 are equal but read apart by
whoever takes a Score's numbers as they are. On every pack's golden batch."""

from __future__ import annotations

import sys
from decimal import localcontext
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import golden_records

from policy_dsl.runtime import RecordInvalid, Score, Undefined, load_pack
from policy_dsl.runtime.arithmetic import DIVISION


def numbers(score: Score) -> list[str]:
    shown = [str(score.total), str(score.earned), str(score.applicable_max), str(score.exact)]
    return shown + [f"{item.number}:{item.points!s}:{item.earned!s}" for item in score.items]


@pytest.mark.parametrize("name", golden_records.packs())
def test_score_is_the_explained_numbers_exactly(name: str) -> None:
    pack = load_pack(name, packs_dir=golden_records.GENERATED)
    records = golden_records.case_records(pack) + golden_records.hostile_records(
        pack, 600, seed=11)
    compared = 0
    with localcontext(DIVISION):
        facts = []
        for record in records:
            try:
                facts.append(pack.read_record(record))
            except (RecordInvalid, Undefined):
                continue
        for fact, cohort in zip(facts, pack.compute_cohorts(facts), strict=True):
            if isinstance(cohort, Exception):
                continue
            try:
                quick = pack.evaluate(fact, cohort, False)
            except Undefined:
                with pytest.raises(Undefined):
                    pack.evaluate(fact, cohort, True)
                continue
            assert numbers(quick) == numbers(pack.evaluate(fact, cohort, True))
            assert all(item.lines == () for item in quick.items)
            compared += 1
    assert compared >= 100
