"""Scoring a batch: validate every record, compute cohort values over the valid ones, score.

The output keeps the input's order and length: one outcome per input record, a score or an
error naming the record and its fields (POLICY-NOTES G7, SZ-C).
"""

from __future__ import annotations

import copyreg
import dataclasses
import logging
import operator
import pickle
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
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
from .store import Entry, FactStore
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

    count: how many records; problems: what is wrong with each record that cannot be scored,
    by index (unreadable, invalid, its id repeated, a fault); faults: which of those are
    internal faults; valid: the valid records (index, the facts their cohort values are
    computed from: `CohortInputs`) in order, and `valid_ids` their ids; cohorts: for each
    valid record its `Cohorts` or the exception saying why it has none; repeated: what is
    wrong with each record whose id is used more than once, and repeated_ids its id as
    given, by index.
    """

    count: int
    problems: dict[int, str]
    faults: set[int]
    valid: list[tuple[int, Any]]
    valid_ids: list[object]
    cohorts: list[Any]
    repeated: dict[int, str]
    repeated_ids: dict[int, object]


def validated_batch(pack: Pack, records: Iterable[InputRecord]) -> ValidatedBatch:
    """Every record validated, as it comes, and the cohort values of the valid ones computed
    over them. Of each valid record only its id and the facts its cohort values are computed
    from are kept (`CohortInputs`), so a batch of any size is read in little memory. A record
    whose id repeats another's is not valid, nor is the other (their errors name each other),
    so neither takes part in cohort values (nor in a snapshot made from the batch). An
    unexpected exception while reading one record is that record's error, marked as a
    fault."""
    ids = RepeatedIds()
    problems: dict[int, str] = {}
    faults: set[int] = set()
    unreadable: dict[int, str] = {}  # what is wrong with each record that could not be read
    found: list[tuple[int, Any]] = []
    found_ids: list[object] = []
    copy: CohortInputs | None = None
    with localcontext(DIVISION):  # exact arithmetic whatever the caller's decimal context
        for index, record in enumerate(records):
            ids.see(index, record)
            if record.raw is None:
                unreadable[index] = record.error or "unreadable record"
                problems[index] = f"{record.where}: {unreadable[index]}"
                continue
            facts, problem, fault = _validated(pack, record)
            if problem is not None:
                problems[index] = problem
                if fault:
                    faults.add(index)
                continue
            if copy is None:
                copy = CohortInputs(pack, facts)
            found.append((index, copy.of(facts)))
            found_ids.append(record.id)
        repeated = ids.problems()
        for index, problem in repeated.items():  # its own problem only if it was unreadable
            own = [problem, unreadable[index]] if index in unreadable else [problem]
            problems[index] = f"{ids.where(index)}: {'; '.join(own)}"
            faults.discard(index)
        kept = [number for number, (index, _) in enumerate(found) if index not in repeated]
        valid = [found[number] for number in kept]
        valid_ids = [found_ids[number] for number in kept]
        del found, found_ids
        try:
            values = pack.compute_cohorts([facts for _, facts in valid])
        except Exception as fault:  # no record can be scored without its cohort values
            for (index, _), record_id in zip(valid, valid_ids, strict=True):
                record = InputRecord(ids.positions[index], record_id, None, None, ids.unit)
                problems[index] = _fault(record, fault)
                faults.add(index)
            valid, valid_ids, values = [], [], []
    return ValidatedBatch(ids.count, problems, faults, valid, valid_ids, values, repeated,
                          {index: ids.id_of(index) for index in repeated})


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
    plan = plan_batch(pack, records, cohorts)
    return planned_outcomes(pack, plan, records, explain)


# ---------------------------------------------------------------- two passes


@dataclass(slots=True)
class BatchPlan:
    """What the first pass over a batch learnt, for the second to score it record by record.

    count: how many records; repeated: what is wrong with each record whose id is used more
    than once, by index; cohort_of: per index, the record's cohort values (or the exception
    saying why it has none) when the pack computes them over the batch, else None;
    cohort_fault: the exception computing them raised, if any (every valid record's fault);
    snapshot: the cohort snapshot to take them from instead.
    """

    count: int
    repeated: dict[int, str]
    cohort_of: list[Any] | None
    cohort_fault: Exception | None = None
    snapshot: CohortSnapshot | None = None


PROGRESS_STEP = 1024  # records between two calls of a pass's `progress`


def plan_batch(pack: Pack, records: Iterable[InputRecord],
               cohorts: CohortSnapshot | None = None,
               store: FactStore | None = None,
               progress: Callable[[int], None] | None = None) -> BatchPlan:
    """The first pass: every record's id (for repeated ids) and, when the pack computes cohort
    values over the batch, each valid record's cohort inputs (only the few facts
    `compute_cohorts` reads: `CohortInputs`), then the cohort values. Memory grows by a few
    hundred bytes per record, whatever the record's size. A snapshot made with another pack
    raises SnapshotInvalid.

    With a `store`, every record is validated here and kept in it as it is read (where it
    is, its id, its facts or its problem), so that the second pass scores from the store
    (`stored_outcomes`) instead of reading and validating the input again. `progress` is
    told how many more records were read, every `PROGRESS_STEP` and at the end."""
    if cohorts is not None:
        cohorts.check_pack(pack)
    ids = RepeatedIds()
    over_batch = cohorts is None and bool(pack.COHORTS)
    with localcontext(DIVISION):
        found = read_pass(pack, records, ids.see, store, over_batch, progress)
        return planned(pack, ids, found, cohorts)


@dataclass(slots=True)
class CohortInputsFound:
    """The cohort inputs a first pass found: `inputs[n]` are those of the record of index
    `where[n]` (valid records only, in order); None when the pack needs none."""

    inputs: list[Any] = field(default_factory=list)
    where: array[int] = field(default_factory=lambda: array("q"))


def read_pass(pack: Pack, records: Iterable[InputRecord],
              see: Callable[[int, InputRecord], None], store: FactStore | None,
              over_batch: bool,
              progress: Callable[[int], None] | None = None) -> CohortInputsFound | None:
    """Every record shown to `see` (with its index), validated and kept in `store` (when
    there is one), and its cohort inputs gathered when the pack computes cohort values
    over the batch (`over_batch`). The facts of a record the store keeps in memory are
    gathered as they are; a `CohortInputs` copy of the few facts needed otherwise."""
    found = CohortInputsFound() if over_batch else None
    inputs = None if found is None else found.inputs
    where = None if found is None else found.where
    copy: CohortInputs | None = None
    index = -1
    for index, record in enumerate(records):
        see(index, record)
        if progress is not None and index % PROGRESS_STEP == PROGRESS_STEP - 1:
            progress(PROGRESS_STEP)
        if store is None and inputs is None:
            continue
        facts, problem, fault = _validated(pack, record, said=store is not None)
        in_memory = store is not None and store.add(
            (record.position, record.id, record.error, record.unit,
             record.raw is not None, facts, problem, fault))
        if inputs is None or where is None or facts is None:
            continue
        if in_memory:  # the store holds its facts anyway: no copy
            inputs.append(facts)
        else:
            if copy is None:
                copy = CohortInputs(pack, facts)
            inputs.append(copy.of(facts))
        where.append(index)
    if progress is not None and (index + 1) % PROGRESS_STEP:
        progress((index + 1) % PROGRESS_STEP)
    if store is not None:
        store.finish()
    return found


def planned(pack: Pack, ids: RepeatedIds, found: CohortInputsFound | None,
            cohorts: CohortSnapshot | None) -> BatchPlan:
    """The plan from what a first pass found: repeated ids, and the cohort values computed
    over the valid records whose id is not repeated (when the pack computes them)."""
    repeated = ids.problems()
    if found is None:
        return BatchPlan(ids.count, repeated, None, snapshot=cohorts)
    kept = [(index, facts) for index, facts in zip(found.where, found.inputs, strict=True)
            if index not in repeated]
    found.inputs, found.where = [], array("q")
    cohort_of: list[Any] = [None] * ids.count
    try:
        values = pack.compute_cohorts([facts for _, facts in kept])
    except Exception as fault:  # no record can be scored without its cohort values
        return BatchPlan(ids.count, repeated, cohort_of, cohort_fault=fault)
    for (index, _), value in zip(kept, values, strict=True):
        cohort_of[index] = value
    return BatchPlan(ids.count, repeated, cohort_of)


def _validated(pack: Pack, record: InputRecord,
               said: bool = True) -> tuple[Any, str | None, bool]:
    """A record's facts, or what is wrong with it (and whether that is a fault); nothing
    for a record that could not be read. Not `said`: a fault is not logged (the second pass
    finds it again, and logs it)."""
    if record.raw is None:
        return None, None, False
    try:
        return pack.read_record(record.raw), None, False
    except (RecordInvalid, Undefined) as invalid:
        return None, f"{record.where}: {invalid}", False
    except Exception as error:
        return None, _fault(record, error) if said else "", True


def planned_outcomes(pack: Pack, plan: BatchPlan, records: Iterable[InputRecord],
                     explain: bool = True, start: int = 0) -> Iterator[Outcome]:
    """The second pass: each record validated again and scored as it comes, with what the
    first pass learnt. `start`: the index of the first of `records` in the batch (a chunk)."""
    for index, record in enumerate(records, start):
        with localcontext(DIVISION):  # exact arithmetic whatever the caller's decimal context
            if index in plan.repeated or record.raw is None:
                yield _outcome(pack, plan, index, record, record.raw is not None, None, None,
                               False, explain)
            else:
                facts, problem, fault = _validated(pack, record)
                yield _outcome(pack, plan, index, record, True, facts, problem, fault,
                               explain)


def stored_outcomes(pack: Pack, plan: BatchPlan, store: FactStore, explain: bool = True,
                    start: int = 0, stop: int | None = None) -> Iterator[Outcome]:
    """The second pass from the store `plan_batch` filled: records start..stop-1 scored as
    they are taken from it (their facts already validated). The outcomes' records carry
    where they were and their id, not their raw fields. Each score is made in the exact
    decimal context, whatever the caller's; the caller's own context is the one it sees
    between outcomes."""
    for index, entry in enumerate(store.entries(start, stop), start):
        yield entry_outcome(pack, plan, index, entry, explain)


def entry_outcome(pack: Pack, plan: BatchPlan, index: int, entry: Entry,
                  explain: bool = False) -> Outcome:
    """The outcome of the record of batch index `index` from its store entry (`read_pass`),
    scored in the exact decimal context."""
    position, record_id, error, unit, readable, facts, problem, fault = entry
    record = InputRecord(position, record_id, None, error, unit)
    with localcontext(DIVISION):
        return _outcome(pack, plan, index, record, readable, facts, problem, fault, explain)


def validated_entry(pack: Pack, record: InputRecord) -> Entry:
    """A record read and validated as `read_pass` keeps it in a store."""
    with localcontext(DIVISION):
        facts, problem, fault = _validated(pack, record)
    return (record.position, record.id, record.error, record.unit, record.raw is not None,
            facts, problem, fault)


def _outcome(pack: Pack, plan: BatchPlan, index: int, record: InputRecord, readable: bool,
             facts: Any, problem: str | None, fault: bool, explain: bool) -> Outcome:
    """One record's outcome, from its facts (or its problem) and the plan."""
    rules: FrameworkRules | None = pack.FRAMEWORK
    framework = rules is not None
    provenance = pack.provenance
    if index in plan.repeated or not readable:
        own = record.error or ("unreadable record" if not readable else None)
        found = [text for text in (plan.repeated.get(index), own) if text]
        problem, fault = f"{record.where}: {'; '.join(found)}", False
    cohort = None
    if problem is None:
        cohort, problem, fault = _cohort(pack, plan, index, record, facts)
    if problem is not None:
        return Outcome(record, None, problem, None, framework, fault, provenance=provenance)
    try:
        score = pack.evaluate(facts, cohort, explain)
        settlement = (settle(rules, facts.settlement, score.exact, explain)
                      if rules is not None else None)
    except Undefined as undefined:
        return Outcome(record, None, f"{record.where}: {undefined}", None, framework,
                       provenance=provenance)
    except Exception as error:
        return Outcome(record, None, _fault(record, error), None, framework, True,
                       provenance=provenance)
    return Outcome(record, score, None, settlement, framework, provenance=provenance)


def _cohort(pack: Pack, plan: BatchPlan, index: int, record: InputRecord,
            facts: Any) -> tuple[Any, str | None, bool]:
    """A valid record's cohort values, or its problem (and whether it is a fault)."""
    if plan.snapshot is not None:
        value = plan.snapshot.cohorts_for(pack, [(record, facts)])[0]
    elif plan.cohort_of is None:  # the pack computes no value over the batch
        value = pack.compute_cohorts([facts])[0]
    elif plan.cohort_fault is not None:
        return None, _fault(record, plan.cohort_fault), True
    else:
        value = plan.cohort_of[index] if index < len(plan.cohort_of) else None
        if value is None:
            return None, (f"{record.where}: the input changed while it was read (this record "
                          "was not valid when the cohort values were computed); score the "
                          "file again"), False
    if isinstance(value, Exception):  # RecordInvalid, or not in the snapshot
        return None, f"{record.where}: {value}", False
    return value, None, False


class CohortInputs:
    """The facts a pack's cohort values are computed from (its `COHORT_FACTS`, which the
    compiler lists from the cohort declarations), kept apart from the rest of a record's
    facts: a small object of those fields alone, so a batch's first pass holds a few hundred
    bytes per institution, not its whole record. A pack whose facts are not a dataclass keeps
    them whole."""

    def __init__(self, pack: Pack, facts: Any) -> None:
        if not dataclasses.is_dataclass(facts):
            self.of: Callable[[Any], Any] = _same
            return
        names = tuple(pack.COHORT_FACTS)
        kind = cohort_facts_kind(names)
        values: Callable[[Any], Any] = operator.attrgetter(*names) if len(names) > 1 else \
            (lambda facts: tuple([getattr(facts, name) for name in names]))
        self.of = lambda facts: kind(*values(facts))


def _same(facts: Any) -> Any:
    return facts


_COHORT_KINDS: dict[tuple[str, ...], type] = {}


def cohort_facts_kind(names: tuple[str, ...]) -> type:
    """The class of the `CohortInputs` copies of these facts: made once per set of names,
    and pickled by them (copies sent from another process are rebuilt as this class)."""
    kind = _COHORT_KINDS.get(names)
    if kind is None:
        kind = dataclasses.make_dataclass("CohortFacts", names, frozen=True, slots=True)
        copyreg.pickle(kind, _reduced_cohort_facts)
        _COHORT_KINDS[names] = kind
    return kind


def _reduced_cohort_facts(value: Any) -> tuple[Any, tuple[tuple[str, ...], tuple[Any, ...]]]:
    names = tuple(each.name for each in dataclasses.fields(value))
    return _cohort_facts, (names, tuple([getattr(value, name) for name in names]))


def _cohort_facts(names: tuple[str, ...], values: tuple[Any, ...]) -> Any:
    return cohort_facts_kind(names)(*values)


class RepeatedIds:
    """Ids seen so far, record by record, and which are used more than once. Ids are compared
    as text without surrounding spaces: 7 and "7" are the same institution. Holds, per
    record, its position (8 bytes) and its id once."""

    def __init__(self) -> None:
        self.count = 0
        self.first: dict[str, int] = {}  # id → the index of its first record
        self.again: dict[int, list[int]] = {}  # first index → the indexes that repeat it
        self.positions = array("q")
        self.unit = "record"
        self.shown: dict[int, object] = {}  # the ids of repeated records, as given
        self.given: dict[int, object] = {}  # first ids written with spaces around them
        self._keys_of_firsts: dict[int, str] | None = None

    def see(self, index: int, record: InputRecord) -> None:
        self.add(index, record.position, record.id, record.unit)

    def add(self, index: int, position: int, record_id: object, unit: str) -> None:
        """The record of `index` (`see`), by its position, id and unit."""
        self.count = index + 1
        self.positions.append(position)
        if index == 0:
            self.unit = unit
        if record_id is None:
            return
        key = str(record_id).strip()
        first = self.first.setdefault(key, index)
        if first != index:
            self.again.setdefault(first, []).append(index)
            self.shown[index] = record_id
            self._keys_of_firsts = None  # one more id repeated: made again when asked
        elif type(record_id) is str and key is not record_id:  # spaces around it
            self.given[index] = record_id

    def add_many(self, start: int, positions: Sequence[int], record_ids: Sequence[str],
                 unit: str) -> None:
        """The records of indexes start, start+1, ... seen (as `add` sees them one by one),
        each id a text without spaces around it: at the speed of a dict's update when no
        id among them was seen before or repeats."""
        if not record_ids:
            return
        stop = start + len(record_ids)
        fresh = dict(zip(reversed(record_ids), range(stop - 1, start - 1, -1), strict=True))
        if len(fresh) < len(record_ids) or not self.first.keys().isdisjoint(fresh):
            for index, (position, record_id) in enumerate(zip(positions, record_ids,
                                                              strict=True), start):
                self.add(index, position, record_id, unit)
            return
        if start == 0:
            self.unit = unit
        self.first.update(fresh)
        self.positions.extend(positions)
        self.count = stop

    def id_of(self, index: int) -> object:
        """The id of a record whose id repeats, as given: a text as written (spaces and all),
        a whole number as its text (which names it alike, in messages and snapshots)."""
        if index in self.shown:
            return self.shown[index]
        if index in self.given:
            return self.given[index]
        return self._first_keys()[index]

    def _first_keys(self) -> dict[int, str]:
        """The key of each id used more than once, by the index of its first record."""
        if self._keys_of_firsts is None:
            self._keys_of_firsts = {first: key for key, first in self.first.items()
                                    if first in self.again}
        return self._keys_of_firsts

    def where(self, index: int) -> str:
        """Where a person finds a record whose id repeats, as `InputRecord.where` says it."""
        return InputRecord(self.positions[index], self.id_of(index), None, None,
                           self.unit).where

    def problems(self) -> dict[int, str]:
        """What is wrong with each record whose id is used more than once, by index."""
        found: dict[int, str] = {}
        first_ids = self._first_keys()
        for first, again in self.again.items():
            found[first] = (f"id {shown_id(first_ids[first])} appears more than once (also at "
                            f"{self._places(again)})")
            for index in again:
                found[index] = (f"id {shown_id(self.shown[index])} is used again; first at "
                                f"{self._places([first])}")
        return dict(sorted(found.items()))

    def _places(self, indexes: list[int]) -> str:
        """`line 7`, `lines 7 and 9`, `lines 7, 9, 12, 15, 20 and 3 more`."""
        numbers = [str(self.positions[index]) for index in indexes[:5]]
        if len(indexes) == 1:
            return f"{self.unit} {numbers[0]}"
        more = len(indexes) - len(numbers)
        listed = (", ".join(numbers) + f" and {more} more" if more
                  else ", ".join(numbers[:-1]) + f" and {numbers[-1]}")
        return f"{self.unit}s {listed}"


def _fault(record: InputRecord, fault: Exception) -> str:
    _log.error("internal fault while scoring %s", record.where, exc_info=fault)
    detail = safe_text(str(fault))
    detail = detail if len(detail) <= 200 else detail[:197] + "..."
    name = fault.name if isinstance(fault, SentException) else type(fault).__name__
    return (f"{record.where}: internal fault while scoring this record: "
            f"{name}: {detail}; please report it")


class SentException(Exception):
    """An exception from another process, as its outcome shows it: its class's name and
    its message (an exception whose class cannot be pickled travels as this)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(name, message)
        self.name = name
        self.message = message

    def __str__(self) -> str:
        return self.message


def sendable(error: Exception) -> Exception:
    """`error` itself when pickling gives it back (its class and message); else a
    `SentException` of its name and message."""
    try:
        back = pickle.loads(pickle.dumps(error))
        if type(back) is type(error) and str(back) == str(error):
            return error
    except Exception:  # any failure to pickle it: sent by its name and message
        pass
    return SentException(type(error).__name__, str(error))


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
                 "cites": list(entry.reason.citations), "line": entry.reason.line,
                 **({} if entry.reason.file is None else {"file": entry.reason.file})}
                for entry in item.lines]
            for item in score.items}
    if explain and settlement is not None:
        line["settlement_explanation"] = settlement_explanation(settlement, lang)
    return line
