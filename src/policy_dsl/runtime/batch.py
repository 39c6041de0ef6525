"""Scoring a batch: validate every record, compute cohort values over the valid ones, score.

The output keeps the input's order and length: one outcome per input record, a score or an
error naming the record and its fields (POLICY-NOTES G7, SZ-C).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import localcontext
from typing import TYPE_CHECKING, Any

from .arithmetic import DIVISION, Undefined, plain
from .framework import (
    SETTLEMENT_FIELDS,
    FrameworkRules,
    Lang,
    Settlement,
    settle,
    settlement_explanation,
    settlement_json,
)
from .inputs import InputRecord, shown_id
from .packs import Pack, Provenance
from .results import Score
from .strict_json import safe_text
from .values import RecordInvalid

if TYPE_CHECKING:
    from .snapshot import CohortSnapshot

_log = logging.getLogger(__name__)  # a record's fault with its traceback (POLICYC_DEBUG=1)


@dataclass(frozen=True, slots=True)
class Outcome:
    record: InputRecord
    score: Score | None
    error: str | None
    settlement: Settlement | None = None  # for a pack under a framework
    framework: bool = False  # the pack is under a framework: its output has those fields
    fault: bool = False  # the error is an internal fault of policy_dsl, not of the input
    provenance: Provenance = field(kw_only=True)  # the pack that made it, in every line


def score_batch(pack: Pack, records: Sequence[InputRecord], explain: bool = True,
                cohorts: CohortSnapshot | None = None) -> list[Outcome]:
    return list(iter_outcomes(pack, records, explain, cohorts))


@dataclass(frozen=True, slots=True)
class ValidatedBatch:
    """A batch validated, with the cohort values of its valid records.

    problems: what is wrong with each record that cannot be scored, by index (unreadable,
    invalid, its id repeated, a fault); faults: which of those are internal faults; valid:
    the valid records (index, facts) in order; cohorts: for each valid record its `Cohorts`
    or the exception saying why it has none.
    """

    problems: dict[int, str]
    faults: set[int]
    valid: list[tuple[int, Any]]
    cohorts: list[Any]


def validated_batch(pack: Pack, records: Sequence[InputRecord],
                    cohorts: CohortSnapshot | None = None) -> ValidatedBatch:
    """Every record validated, and the cohort values of the valid ones, computed over them or
    taken from a snapshot when one is given. A record whose id repeats another's is not
    valid, nor is the other (their errors name each other), so neither takes part in cohort
    values (nor in a snapshot made from the batch). An unexpected exception while reading one
    record is that record's error, marked as a fault. A snapshot made with another pack
    raises SnapshotInvalid."""
    repeated = repeated_ids(records)
    problems: dict[int, str] = {}
    faults: set[int] = set()
    valid: list[tuple[int, Any]] = []
    with localcontext(DIVISION):  # exact arithmetic whatever the caller's decimal context
        for index, record in enumerate(records):
            if index in repeated or record.raw is None:
                own = record.error or ("unreadable record" if record.raw is None else None)
                found = [text for text in (repeated.get(index), own) if text]
                problems[index] = f"{record.where}: {'; '.join(found)}"
                continue
            try:
                valid.append((index, pack.read_record(record.raw)))
            except (RecordInvalid, Undefined) as invalid:
                problems[index] = f"{record.where}: {invalid}"
            except Exception as fault:
                problems[index] = _fault(record, fault)
                faults.add(index)
        if cohorts is not None:
            values = cohorts.cohorts_for(pack, [(records[i], facts) for i, facts in valid])
            return ValidatedBatch(problems, faults, valid, values)
        try:
            values = pack.compute_cohorts([facts for _, facts in valid])
        except Exception as fault:  # no record can be scored without its cohort values
            for index, _ in valid:
                problems[index] = _fault(records[index], fault)
                faults.add(index)
            valid, values = [], []
    return ValidatedBatch(problems, faults, valid, values)


def iter_outcomes(pack: Pack, records: Sequence[InputRecord], explain: bool = True,
                  cohorts: CohortSnapshot | None = None) -> Iterator[Outcome]:
    """Outcomes in input order, one per record; every record is validated (and the cohort
    values computed, or taken from the `cohorts` snapshot) before the first is scored, and
    each score is made only when asked for, so a caller writing results as they come holds
    one score at a time. Without `explain` the scores carry no reason lines, and scoring
    takes about 40% less time. A snapshot made with another pack raises SnapshotInvalid
    before any outcome.

    A record whose id repeats another's is not scored, nor is the other (their errors name
    each other), and neither takes part in cohort values. An unexpected exception while
    reading or scoring one record is that record's error, marked `fault`, and the others
    are still scored."""
    rules: FrameworkRules | None = pack.FRAMEWORK
    provenance = pack.provenance
    framework = rules is not None
    batch = validated_batch(pack, records, cohorts)
    problems, faults, valid, values = batch.problems, batch.faults, batch.valid, batch.cohorts
    scorable: dict[int, tuple[Any, Any]] = {}
    for (index, facts), cohort in zip(valid, values, strict=True):
        if isinstance(cohort, Exception):  # RecordInvalid, or not in the snapshot
            problems[index] = f"{records[index].where}: {cohort}"
        else:
            scorable[index] = (facts, cohort)
    for index, record in enumerate(records):
        if index in problems:
            yield Outcome(record, None, problems[index], None, framework, index in faults,
                          provenance=provenance)
            continue
        facts, cohort = scorable.pop(index)
        try:
            with localcontext(DIVISION):
                score = pack.evaluate(facts, cohort, explain)
                settlement = (settle(rules, facts.settlement, score.exact, explain)
                              if rules is not None else None)
        except Undefined as problem:
            yield Outcome(record, None, f"{record.where}: {problem}", None, framework,
                          provenance=provenance)
        except Exception as fault:
            yield Outcome(record, None, _fault(record, fault), None, framework, True,
                          provenance=provenance)
        else:
            yield Outcome(record, score, None, settlement, framework, provenance=provenance)


def _fault(record: InputRecord, fault: Exception) -> str:
    _log.error("internal fault while scoring %s", record.where, exc_info=fault)
    detail = safe_text(str(fault))
    detail = detail if len(detail) <= 200 else detail[:197] + "..."
    return (f"{record.where}: internal fault while scoring this record: "
            f"{type(fault).__name__}: {detail}; please report it")


def repeated_ids(records: Sequence[InputRecord]) -> dict[int, str]:
    """What is wrong with each record whose id is used more than once, by index. Ids are
    compared as text without surrounding spaces: 7 and "7" are the same institution."""
    by_id: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        if record.id is not None:
            by_id.setdefault(str(record.id).strip(), []).append(index)
    found: dict[int, str] = {}
    for indexes in by_id.values():
        if len(indexes) < 2:
            continue
        first, *again = indexes
        found[first] = (f"id {shown_id(records[first].id)} appears more than once (also at "
                        f"{_places(records, again)})")
        for index in again:
            found[index] = (f"id {shown_id(records[index].id)} is used again; first at "
                            f"{_places(records, [first])}")
    return found


def _places(records: Sequence[InputRecord], indexes: list[int]) -> str:
    """`line 7`, `lines 7 and 9`, `lines 7, 9, 12, 15, 20 and 3 more`."""
    unit = records[indexes[0]].unit
    numbers = [str(records[index].position) for index in indexes[:5]]
    if len(indexes) == 1:
        return f"{unit} {numbers[0]}"
    more = len(indexes) - len(numbers)
    listed = (", ".join(numbers) + f" and {more} more" if more
              else ", ".join(numbers[:-1]) + f" and {numbers[-1]}")
    return f"{unit}s {listed}"


def outcome_json(outcome: Outcome, explain: bool = False,
                 lang: Lang = "zh") -> dict[str, object]:
    """The stable output shape: id, total, earned, applicable_max, items, error; under a
    framework also status, own_score, final_score, grades, adjustments, refund, renewal,
    publicize and referral; last the pack's name and the SHA-256 of its file (`pack`,
    `pack_sha256`), so every line says what made it. An institution that is not assessed this
    year (deferred, terminated, exited) has no score. With `explain`, each item's reason lines
    (`explanation`) and the settlement's steps (`settlement_explanation`, their `detail` in
    `lang`)."""
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
        line["settlement_explanation"] = settlement_explanation(settlement, lang)
    return line
