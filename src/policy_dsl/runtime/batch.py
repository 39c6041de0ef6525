"""Scoring a batch: validate every record, compute cohort values over the valid ones, score.

The output keeps the input's order and length: one outcome per input record, a score or an
error naming the record and its fields (POLICY-NOTES G7, SZ-C).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import localcontext
from typing import TYPE_CHECKING, Any

from .arithmetic import DIVISION, Undefined, plain
from .framework import (
    SETTLEMENT_FIELDS,
    FrameworkRules,
    Settlement,
    settle,
    settlement_explanation,
    settlement_json,
)
from .inputs import InputRecord
from .packs import Pack, Provenance
from .results import Score
from .values import RecordInvalid

if TYPE_CHECKING:
    from .snapshot import CohortSnapshot


@dataclass(frozen=True, slots=True)
class Outcome:
    record: InputRecord
    score: Score | None
    error: str | None
    settlement: Settlement | None = None  # for a pack under a framework
    framework: bool = False  # the pack is under a framework: its output has those fields
    provenance: Provenance = field(kw_only=True)  # the pack that made it, in every line


def score_batch(pack: Pack, records: Sequence[InputRecord], explain: bool = True,
                cohorts: CohortSnapshot | None = None) -> list[Outcome]:
    return list(iter_outcomes(pack, records, explain, cohorts))


def validated_batch(pack: Pack, records: Sequence[InputRecord],
                    cohorts: CohortSnapshot | None = None
                    ) -> tuple[dict[int, str], list[tuple[int, Any]], list[Any]]:
    """Every record validated, and the cohort values of the valid ones: the problems by
    record index, the valid records (index, facts) in order, and for each its `Cohorts` or
    the exception saying why it has none. The cohort values are computed over the valid
    records, or taken from a snapshot when one is given."""
    problems: dict[int, str] = {}
    valid: list[tuple[int, Any]] = []
    with localcontext(DIVISION):  # exact arithmetic whatever the caller's decimal context
        for index, record in enumerate(records):
            if record.raw is None:
                problems[index] = record.error or f"{record.where}: unreadable record"
                continue
            try:
                valid.append((index, pack.read_record(record.raw)))
            except (RecordInvalid, Undefined) as invalid:
                problems[index] = f"{record.where}: {invalid}"
        if cohorts is None:
            values = pack.compute_cohorts([facts for _, facts in valid])
        else:
            values = cohorts.cohorts_for(pack, [(records[i], facts) for i, facts in valid])
    return problems, valid, values


def iter_outcomes(pack: Pack, records: Sequence[InputRecord], explain: bool = True,
                  cohorts: CohortSnapshot | None = None) -> Iterator[Outcome]:
    """Outcomes in input order, one per record; every record is validated (and the cohort
    values computed, or taken from the `cohorts` snapshot) before the first is scored, and
    each score is made only when asked for, so a caller writing results as they come holds
    one score at a time. Without `explain` the scores carry no reason lines, and scoring
    takes about 40% less time. A snapshot made with another pack raises SnapshotInvalid
    before any outcome."""
    rules: FrameworkRules | None = pack.FRAMEWORK
    provenance = pack.provenance
    problems, valid, values = validated_batch(pack, records, cohorts)
    scorable: dict[int, tuple[Any, Any]] = {}
    for (index, facts), cohort in zip(valid, values, strict=True):
        if isinstance(cohort, Exception):  # RecordInvalid, or not in the snapshot
            problems[index] = f"{records[index].where}: {cohort}"
        else:
            scorable[index] = (facts, cohort)
    for index, record in enumerate(records):
        if index in problems:
            yield Outcome(record, None, problems[index], None, rules is not None,
                          provenance=provenance)
            continue
        facts, cohort = scorable.pop(index)
        try:
            with localcontext(DIVISION):
                score = pack.evaluate(facts, cohort, explain)
                settlement = (settle(rules, facts.settlement, score.exact, explain)
                              if rules is not None else None)
        except Undefined as problem:
            yield Outcome(record, None, f"{record.where}: {problem}", None, rules is not None,
                          provenance=provenance)
        else:
            yield Outcome(record, score, None, settlement, rules is not None,
                          provenance=provenance)


def outcome_json(outcome: Outcome, explain: bool = False) -> dict[str, object]:
    """The stable output shape: id, total, earned, applicable_max, items, error; under a
    framework also status, own_score, final_score, grades, adjustments, refund, renewal,
    publicize and referral; last the pack's name and the SHA-256 of its file (`pack`,
    `pack_sha256`), so every line says what made it. An institution that is not assessed this
    year (deferred, terminated, exited) has no score. With `explain`, each item's reason lines
    (`explanation`) and the settlement's steps (`settlement_explanation`)."""
    settlement = outcome.settlement
    assessed = settlement is None or settlement.status == "assessed"
    score = outcome.score if assessed else None
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
    if settlement is not None:
        line.update(settlement_json(settlement))
    elif outcome.framework:
        line.update(dict.fromkeys(SETTLEMENT_FIELDS))
    line.update(outcome.provenance.fields())
    if explain and score is not None:
        line["explanation"] = {
            str(item.number): [
                {"reason": entry.reason.text, "points": plain(entry.delta),
                 "cites": list(entry.reason.citations), "line": entry.reason.line}
                for entry in item.lines]
            for item in score.items}
    if explain and settlement is not None:
        line["settlement_explanation"] = settlement_explanation(settlement)
    return line
