"""Scoring a batch: validate every record, compute cohort values over the valid ones, score.

The output keeps the input's order and length: one outcome per input record, a score or an
error naming the record and its fields (POLICY-NOTES G7, SZ-C).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .arithmetic import Undefined, plain
from .inputs import InputRecord
from .packs import Pack
from .results import Score
from .values import RecordInvalid


@dataclass(frozen=True, slots=True)
class Outcome:
    record: InputRecord
    score: Score | None
    error: str | None


def score_batch(pack: Pack, records: Sequence[InputRecord]) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(records)
    valid: list[tuple[int, Any]] = []
    for index, record in enumerate(records):
        if record.raw is None:
            outcomes[index] = Outcome(record, None, record.error or "unreadable record")
            continue
        try:
            valid.append((index, pack.read_record(record.raw)))
        except (RecordInvalid, Undefined) as invalid:
            outcomes[index] = Outcome(record, None, f"{record.where}: {invalid}")
    cohorts = pack.compute_cohorts([facts for _, facts in valid])
    for (index, facts), cohort in zip(valid, cohorts, strict=True):
        record = records[index]
        if isinstance(cohort, RecordInvalid):
            outcomes[index] = Outcome(record, None, f"{record.where}: {cohort}")
            continue
        try:
            outcomes[index] = Outcome(record, pack.evaluate(facts, cohort), None)
        except Undefined as problem:
            outcomes[index] = Outcome(record, None, f"{record.where}: {problem}")
    return [outcome for outcome in outcomes if outcome is not None]


def outcome_json(outcome: Outcome, explain: bool = False) -> dict[str, object]:
    """The stable output shape: id, total, earned, applicable_max, items, error."""
    score = outcome.score
    line: dict[str, object] = {
        "id": outcome.record.id,
        "total": None if score is None else str(score.total),
        "earned": None if score is None else plain(score.earned),
        "applicable_max": None if score is None else plain(score.applicable_max),
        "items": None if score is None else {
            str(item.number): None if item.earned is None else plain(item.earned)
            for item in score.items},
        "error": outcome.error,
    }
    if explain and score is not None:
        line["explanation"] = {
            str(item.number): [
                {"reason": entry.reason.text, "points": plain(entry.delta),
                 "cites": list(entry.reason.citations), "line": entry.reason.line}
                for entry in item.lines]
            for item in score.items}
    return line
