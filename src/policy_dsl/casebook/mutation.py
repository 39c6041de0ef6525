"""Mutation check of a region's regression cases: change one number or one comparison at a
time in the region's rule files, rebuild in memory, run the region's cases, and report each
change that no case (and no build-time check) caught.

What is changed: every number in a rule (points, amounts, thresholds, steps, caps, band sizes,
weights; a whole number n becomes n − 1, a decimal loses one unit of its last digit, 0 becomes
1) and every comparison (>= ↔ >, <= ↔ <, == ↔ !=). Left alone: texts and comments, item
numbers, the version and dates, and facts' input bounds (`in 0..100`, which validation cases
check rather than scores). The numbers and comparisons are those of the file's parse
(`parser.constants`: each with its span and the grammar rules it stands in), and a mutant
rewrites exactly that span, so the changed file is still a rule file to read and a report
names it as `file:line:col: 80% → 79%`.

A change no case caught is then tried for equivalence: the original and the changed packs
score the same probe inputs, and a change that moves no result on any of them is labelled
"equivalent" and not counted against the cases. The probes are every case's records, and
each case's first record with one fact at a time set to a probe value: its declared bounds,
and the numbers on the changed line (before and after the change) and a unit, a tenth and a
hundredth either side of them (for a count 0, 1, 2 and those numbers ± 1; for a bool both;
for an enum each member; for a non-empty list of records, every entry's field at once).
This is a sample, not a proof: a change that matters only through a value the probes do not
try (a derived share far from the changed number, a list the cases leave empty) can be
labelled equivalent wrongly, so the equivalent ones are listed by line for a person to read.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..compiler import parser, pipeline
from ..compiler.diagnostics import CompileError
from ..runtime import FactInfo, InputRecord, outcome_json, score_batch
from ..runtime.packs import Pack
from .cases import Case, CaseFileError, load_cases, run_case

FLIPS = {">=": ">", ">": ">=", "<=": "<", "<": "<=", "==": "!=", "!=": "=="}


@dataclass(frozen=True)
class Mutant:
    path: Path
    line: int
    column: int
    original: str
    replacement: str
    text: str  # the whole mutated file

    def __str__(self) -> str:
        return f"{self.path.as_posix()}:{self.line}:{self.column}: {self.original} → " \
               f"{self.replacement}"


@dataclass
class MutationReport:
    mutants: int = 0
    caught_by_cases: int = 0
    caught_by_checks: int = 0
    survivors: list[Mutant] = field(default_factory=list)
    equivalent: list[Mutant] = field(default_factory=list)  # no result moved on any probe
    seconds: float = 0.0

    @property
    def caught(self) -> int:
        return self.caught_by_cases + self.caught_by_checks

    @property
    def counted(self) -> int:
        """The mutants a case could catch: all but the equivalent ones."""
        return self.mutants - len(self.equivalent)

    @property
    def ok(self) -> bool:
        return self.counted > 0 and self.caught * 100 >= 95 * self.counted


# the grammar rules whose own number is a name, not a value: an item's number (where it is
# declared, where a standard takes it from another, and where a standard `based on` another
# names it), the version
NOT_MUTATED = {"item", "taken_item", "remove_item", "item_points", "item_cap", "item_text",
               "version"}
INPUT_BOUNDS = "bound"  # a fact's `in LOW..HIGH`: validation cases check them, not scores


def mutants(path: Path, text: str) -> Iterator[Mutant]:
    """One mutant for each number, percent and comparison of the rule file's parse (see
    `parser.constants`), in the order written, except item numbers, versions and input
    bounds; the mutant's text is the file with that constant's span rewritten."""
    line_starts = [0] + [index + 1 for index, char in enumerate(text) if char == "\n"]
    for constant in parser.constants(text, path.as_posix()):
        if constant.within[0] in NOT_MUTATED or INPUT_BOUNDS in constant.within:
            continue
        replacement = FLIPS[constant.text] if constant.kind == "compare" \
            else _changed_number(constant.text)
        span = constant.span
        start = line_starts[span.line - 1] + span.column - 1
        end = line_starts[span.end_line - 1] + span.end_column - 1
        assert text[start:end] == constant.text, (span, constant.text)
        yield Mutant(path, span.line, span.column, constant.text, replacement,
                     text[:start] + replacement + text[end:])


def _changed_number(token: str) -> str:
    percent = "%" if token.endswith("%") else ""
    digits = token.rstrip("%")
    value = Decimal(digits)
    unit = Decimal(1).scaleb(value.as_tuple().exponent)  # type: ignore[arg-type]
    changed = value - unit if value > 0 else value + unit
    return f"{changed}{percent}"


def run(root: Path, case_files: Sequence[Path], packs_dir: Path | None,
        echo: Callable[[str], None] = print) -> MutationReport:
    """Mutate the rule files of the regions whose case files are given."""
    started = time.perf_counter()
    report = MutationReport()
    by_region: dict[Path, list[Case]] = {}
    for path in case_files:
        if path.parent.name != "tests":
            continue  # a city plugin's cases: its base region is mutated through its own cases
        try:
            cases = load_cases(path, root, packs_dir)
        except CaseFileError as error:
            echo(f"error: {error}")
            report.survivors.clear()
            return report
        by_region.setdefault(path.parent.parent, []).extend(cases)
    for region, cases in sorted(by_region.items()):
        files = sorted(region.glob("*.policy"))
        texts = {path: path.read_text(encoding="utf-8") for path in files}
        echo(f"{region.relative_to(root).as_posix()}: {len(cases)} cases, "
             f"{len(files)} rule files")
        originals: dict[str, Pack] | None = None
        for path in files:
            for mutant in mutants(path.relative_to(root), texts[path]):
                report.mutants += 1
                verdict = _try(mutant, texts, root, cases, packs_dir)
                if verdict == "checks":
                    report.caught_by_checks += 1
                elif verdict == "cases":
                    report.caught_by_cases += 1
                else:
                    originals = originals or _build(None, texts, root)
                    if equivalent(mutant, originals, _build(mutant, texts, root), cases):
                        report.equivalent.append(mutant)
                    else:
                        report.survivors.append(mutant)
    report.seconds = time.perf_counter() - started
    for survivor in report.survivors:
        echo(f"  not caught: {survivor}")
    for same in report.equivalent:
        echo(f"  equivalent (no result moved on any probe input): {same}")
    percent = 100 * report.caught / report.counted if report.counted else 0.0
    echo(f"{report.mutants} mutants: {report.caught_by_cases} caught by cases, "
         f"{report.caught_by_checks} by build-time checks, {len(report.equivalent)} "
         f"equivalent, {len(report.survivors)} not caught ({percent:.1f}% of the "
         f"{report.counted} non-equivalent caught) in {report.seconds:.0f} s")
    return report


# ---------------------------------------------------------------- equivalent mutants
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")


def equivalent(mutant: Mutant, originals: dict[str, Pack], changed: dict[str, Pack],
               cases: Sequence[Case]) -> bool:
    """Whether the changed packs give every probe input the same results as the originals
    (the probes: see the module's docstring)."""
    line = mutant.text.splitlines()[mutant.line - 1] if mutant.text else ""
    original_line = line[:mutant.column - 1] + mutant.original \
        + line[mutant.column - 1 + len(mutant.replacement):]
    numbers = {Decimal(n) for text in (line, original_line) for n in NUMBER.findall(text)}
    for name, pack in originals.items():
        other = changed.get(name)
        if other is None:
            return False
        batches = [case.records for case in cases if case.pack == name]
        for batch in probes(batches, pack.INFO.facts, numbers):
            if _results(pack, batch) != _results(other, batch):
                return False
    return True


def _results(pack: Pack, batch: list[dict[str, object]]) -> list[dict[str, object]]:
    records = [InputRecord(i + 1, r.get("id"), r) for i, r in enumerate(batch)]
    shown = []
    for outcome in score_batch(pack, records, explain=False):
        result = outcome_json(outcome)
        result.pop("pack", None)
        result.pop("pack_sha256", None)
        shown.append(result)
    return shown


def probes(batches: Sequence[list[dict[str, object]]], facts: Sequence[FactInfo],
           numbers: set[Decimal]) -> Iterator[list[dict[str, object]]]:
    """Each batch as it is, then with its first record's facts set, one at a time, to each
    probe value; no batch twice."""
    seen: set[str] = set()
    for batch in batches:
        first = batch[0]
        for candidate in [batch] + [
                [{**first, fact.name: value}, *batch[1:]]
                for fact in facts for value in probe_values(fact, numbers, first)]:
            key = json.dumps(candidate, sort_keys=True, default=str, ensure_ascii=False)
            if key not in seen:
                seen.add(key)
                yield candidate


def probe_values(fact: FactInfo, numbers: set[Decimal], record: dict[str, object]
                 ) -> list[object]:
    entries = record.get(fact.name)
    if fact.fields and isinstance(entries, list) and entries \
            and all(isinstance(e, dict) for e in entries):
        # a list of records: every entry's field set to each of the field's probe values
        return [[{**e, field.name: value} for e in entries] for field in fact.fields
                for value in probe_values(field, numbers, {})]
    if fact.type == "bool":
        return [True, False]
    if fact.members:
        return [code for code, _ in fact.members]
    if fact.type == "count":
        whole = {n + d for n in numbers for d in (-1, 0, 1) if n == n.to_integral_value()}
        values = sorted({Decimal(0), Decimal(1), Decimal(2)} | whole)
        return [int(v) for v in values if _within(v, fact) and v >= 0]
    if fact.type not in {"number", "score", "points", "money", "percent"}:
        return []
    near = {n + d for n in numbers for d in (-1, Decimal("-0.1"), Decimal("-0.01"), 0,
                                             Decimal("0.01"), Decimal("0.1"), 1)}
    bounds = {b for b in (fact.low, fact.high) if b is not None}
    return [str(v) for v in sorted(near | bounds) if _within(v, fact)]


def _within(value: Decimal, fact: FactInfo) -> bool:
    return (fact.low is None or value >= fact.low) and (fact.high is None or value <= fact.high)


def _try(mutant: Mutant, texts: dict[Path, str], root: Path, cases: Sequence[Case],
         packs_dir: Path | None) -> str:
    """'checks' when the mutated rules do not build, 'cases' when a case fails, else ''."""
    try:
        packs = _build(mutant, texts, root)
    except CompileError:
        return "checks"
    for case in cases:
        pack = packs.get(case.pack)
        if pack is None:
            return "cases"  # the case's pack no longer exists
        try:
            if not run_case(case, packs_dir, pack).passed:
                return "cases"
        except Exception:  # a mutant that crashes a pack is a caught mutant
            return "cases"
    return ""


def _build(mutant: Mutant | None, texts: dict[Path, str], root: Path) -> dict[str, Pack]:
    """The region's packs, compiled in memory (with the change, when a mutant is given)."""
    changed = {path.relative_to(root).as_posix(): text for path, text in texts.items()}
    if mutant is not None:
        changed[mutant.path.as_posix()] = mutant.text
    return pipeline.packs_in_memory(changed, f"<mutant {mutant}>" if mutant else "<region>",
                                    lint=False)  # lints are advice: none catches a mutant
