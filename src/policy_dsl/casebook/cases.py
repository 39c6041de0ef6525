"""Regression case files: a policy author's examples, with the expected result worked out
from the source table, run against the packs.

A case file (YAML, under `regions/<region>/tests/`, or `plugins/<name>.cases.yaml` beside a
city plugin) names its pack, may give `defaults` (the facts every case starts from), and lists
its cases; each case has a name, the reading ids it exercises, the arithmetic (`explain`),
its facts (changes over the defaults; `null` leaves a fact out) or a `batch` of institutions
scored together, and what is expected. Unknown keys and unknown facts are errors with file and
line. Numbers in case files are read as exact decimals.

This module uses the runtime only; `policyc test` and the pytest plugin both run it.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from ..runtime import (
    FRAMEWORK_INPUTS,
    InputRecord,
    Outcome,
    Pack,
    PackNotFound,
    load_pack,
    outcome_json,
    plain,
    score_batch,
)

FILE_KEYS = {"pack", "about", "defaults", "cases"}
CASE_KEYS = {"name", "readings", "explain", "facts", "batch", "expect"}
REQUIRED_CASE_KEYS = ("name", "readings", "explain", "expect")  # and facts or batch
SCORE_KEYS = {"total", "earned", "applicable_max", "items", "error"}
FRAMEWORK_KEYS = {"status", "own_score", "final_score", "grade_before_adjustment", "grade",
                  "refund_ratio", "refund_amount", "renewal", "publicize", "referral"}


class CaseFileError(ValueError):
    """A mistake in a case file, with its file, line and (where known) column."""

    def __init__(self, path: str, line: int, message: str, column: int = 0) -> None:
        self.path, self.line, self.column = path, line, column
        where = f"{path}:{line}:{column}" if column else f"{path}:{line}"
        super().__init__(f"{where}: {message}")


# ---------------------------------------------------------------- YAML with lines, no floats


class _Mapping(dict[Any, Any]):
    """A YAML mapping that remembers the line of itself and of each key."""

    line = 0
    lines: dict[Any, int]
    columns: dict[Any, int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    mapping = _Mapping()
    mapping.line = node.start_mark.line + 1
    mapping.lines, mapping.columns = {}, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = key_node.start_mark.line + 1
        mapping.columns[key] = key_node.start_mark.column + 1
    return mapping


def _construct_decimal(loader: _Loader, node: yaml.ScalarNode) -> Decimal:
    return Decimal(str(node.value).replace("_", ""))


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def _line(mapping: object, key: object = None) -> int:
    if isinstance(mapping, _Mapping):
        return mapping.lines.get(key, mapping.line) if key is not None else mapping.line
    return 0


def _column(mapping: object, key: object) -> int:
    return mapping.columns.get(key, 0) if isinstance(mapping, _Mapping) else 0


# ---------------------------------------------------------------- the model


@dataclass
class Case:
    path: str
    line: int
    pack: str
    name: str
    readings: tuple[str, ...]
    explain: str
    records: list[dict[str, Any]]  # one, or a batch
    expect: dict[str, dict[str, Any]]  # by record id
    batch: bool


@dataclass
class CaseResult:
    case: Case
    differences: list[str]
    report: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.differences


def find_case_files(root: Path, targets: Sequence[str] = ()) -> list[Path]:
    """Case files of the regions (`regions/*/tests/*.yaml`) and plugins
    (`plugins/*.cases.yaml`), limited to `targets` (region names or pack names)."""
    files = sorted((root / "regions").glob("*/tests/*.yaml"))
    files += sorted((root / "plugins").glob("*.cases.yaml"))
    if not targets:
        return files
    chosen = []
    for path in files:
        region = path.parent.parent.name if path.parent.name == "tests" else None
        pack = _peek_pack(path)
        if any(t in {region, pack} or (pack or "").startswith(f"{t}/") for t in targets):
            chosen.append(path)
    return chosen


def peek_pack(path: Path) -> str | None:
    """The pack a case file names, without checking the rest (None when unreadable)."""
    return _peek_pack(path)


def _peek_pack(path: Path) -> str | None:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError:
        return None
    return str(data.get("pack")) if isinstance(data, dict) else None


def load_cases(path: Path, root: Path, packs_dir: Path | None) -> list[Case]:
    """Read and check one case file; raises CaseFileError at the first mistake."""
    cases, errors = load_case_file(path, root, packs_dir)
    if errors:
        raise errors[0]
    return cases


def load_case_file(path: Path, root: Path, packs_dir: Path | None
                   ) -> tuple[list[Case], list[CaseFileError]]:
    """Read and check one case file: its valid cases, and an error for each bad case (a
    mistake in the file's own keys, pack or defaults raises CaseFileError: no case runs)."""
    display = path.resolve().relative_to(root.resolve()).as_posix() \
        if path.resolve().is_relative_to(root.resolve()) else str(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise CaseFileError(display, (mark.line + 1) if mark else 1,
                            f"not valid YAML: {error.problem}") from None
    if not isinstance(data, dict):
        raise CaseFileError(display, 1, "expected keys pack, defaults and cases")
    _known_keys(data, FILE_KEYS, display, "a case file")
    pack_name = data.get("pack")
    if not isinstance(pack_name, str):
        raise CaseFileError(display, _line(data, "pack"), "'pack' names the pack to run, "
                            "e.g. suzhou/inpatient-2023")
    try:
        pack = load_pack(pack_name, packs_dir=packs_dir)
    except PackNotFound as error:
        raise CaseFileError(display, _line(data, "pack"), str(error)) from None
    known_facts = _fact_names(pack)
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise CaseFileError(display, _line(data, "defaults"), "'defaults' holds facts")
    _known_facts(defaults, known_facts, display)
    cases = data.get("cases")
    if not isinstance(cases, list) or not cases:
        raise CaseFileError(display, _line(data, "cases"), "'cases' lists at least one case")
    loaded: list[Case] = []
    errors: list[CaseFileError] = []
    for raw in cases:
        try:
            loaded.append(_case(raw, display, pack_name, pack, defaults, known_facts))
        except CaseFileError as error:
            errors.append(error)
    return loaded, errors


def _fact_names(pack: Pack) -> set[str]:
    names = {fact.name for fact in pack.INFO.facts} | {"id", "name"}
    if pack.FRAMEWORK is not None:
        names |= {fact.name for fact in FRAMEWORK_INPUTS}
    return names


def _known_keys(mapping: Mapping[Any, Any], allowed: set[str], path: str, where: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise CaseFileError(path, _line(mapping, key), f"unknown key {key!r} in {where}; "
                                f"expected {', '.join(sorted(allowed))}", _column(mapping, key))


def _known_facts(facts: Mapping[Any, Any], known: set[str], path: str) -> None:
    for key in facts:
        if key not in known and not str(key).startswith("_"):
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f"did you mean {close[0]!r}?" if close else \
                "see `policyc describe --pack ...`"
            raise CaseFileError(path, _line(facts, key), f"{key!r} is not a fact of this "
                                f"pack; {hint}", _column(facts, key))


def _case(raw: object, path: str, pack_name: str, pack: Pack, defaults: Mapping[str, Any],
          known_facts: set[str]) -> Case:
    line = _line(raw)
    if not isinstance(raw, dict):
        raise CaseFileError(path, line, "each case is a mapping with name, readings, explain")
    _known_keys(raw, CASE_KEYS, path, "a case")
    missing = [key for key in REQUIRED_CASE_KEYS if key not in raw]
    if missing:
        raise CaseFileError(path, line, "the case has no " + ", ".join(
            f"'{key}'" for key in missing) + f" (a case needs {', '.join(REQUIRED_CASE_KEYS)}"
            ", and facts or batch)")
    readings = raw["readings"]
    if isinstance(readings, str):
        readings = [readings]
    if not isinstance(readings, list) or not readings:
        raise CaseFileError(path, _line(raw, "readings"), "'readings' lists reading ids")
    if ("facts" in raw) == ("batch" in raw):
        raise CaseFileError(path, line, "a case gives either 'facts' (one institution) or "
                            "'batch' (several scored together)")
    framework = pack.FRAMEWORK is not None
    expect_keys = SCORE_KEYS | (FRAMEWORK_KEYS if framework else set())
    if "facts" in raw:
        facts = raw["facts"] or {}
        _known_facts(facts, known_facts, path)
        records = [_merged(defaults, facts, "case")]
        expect = raw["expect"]
        if not isinstance(expect, dict):
            raise CaseFileError(path, _line(raw, "expect"), "'expect' maps results to values")
        _known_keys(expect, expect_keys, path, "expect")
        expected = {"case": dict(expect)}
    else:
        batch = raw["batch"]
        if not isinstance(batch, list) or not batch:
            raise CaseFileError(path, _line(raw, "batch"), "'batch' lists institutions")
        records = []
        for index, entry in enumerate(batch):
            if not isinstance(entry, dict) or "id" not in entry:
                raise CaseFileError(path, _line(entry) or _line(raw, "batch"),
                                    "each institution in a batch has an 'id'")
            _known_facts(entry, known_facts, path)
            records.append(_merged(defaults, entry, f"#{index + 1}"))
        ids = {str(r["id"]) for r in records}
        expect = raw["expect"]
        if not isinstance(expect, dict):
            raise CaseFileError(path, _line(raw, "expect"), "'expect' maps each id to values")
        expected = {}
        for key, values in expect.items():
            if str(key) not in ids:
                raise CaseFileError(path, _line(expect, key), f"no institution {key!r} in "
                                    "the batch")
            if not isinstance(values, dict):
                raise CaseFileError(path, _line(expect, key), "expected values by result")
            _known_keys(values, expect_keys, path, f"expect for {key}")
            expected[str(key)] = dict(values)
    return Case(path, line, pack_name, str(raw["name"]), tuple(str(r) for r in readings),
                str(raw["explain"]).strip(), records, expected, "batch" in raw)


def _merged(defaults: Mapping[str, Any], changes: Mapping[str, Any],
            default_id: str) -> dict[str, Any]:
    record = {key: copy.deepcopy(value) for key, value in defaults.items()}
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = copy.deepcopy(value)
    record.setdefault("id", default_id)
    plain_record: dict[str, Any] = _plain(record)
    return plain_record


def _plain(value: Any) -> Any:
    """YAML values as the input readers take them (mappings as plain dicts)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------- running


def run_case(case: Case, packs_dir: Path | None, pack: Pack | None = None) -> CaseResult:
    """Run one case against its pack (or against `pack`, a pack module given directly)."""
    pack = pack or load_pack(case.pack, packs_dir=packs_dir)
    records = [InputRecord(i + 1, r.get("id"), r) for i, r in enumerate(case.records)]
    outcomes = score_batch(pack, records)
    differences: list[str] = []
    # A pack scores with and without explanations through two functions written from the
    # same rules (`_explain_<n>` and `score`): every case checks that they agree.
    for explained, quiet in zip(outcomes, score_batch(pack, records, explain=False),
                                strict=True):
        if outcome_json(explained) != outcome_json(quiet):
            differences.append(f"{explained.record.id}: scored without explanation, the "
                               f"result differs: {outcome_json(quiet)}")
    by_id = {str(o.record.id): o for o in outcomes}
    for record_id, expected in case.expect.items():
        outcome = by_id[record_id]
        differences += [f"{record_id}: {d}" if case.batch else d
                        for d in _compare(expected, outcome_json(outcome))]
    return CaseResult(case, differences, _report(case, differences, outcomes, pack)
                      if differences else "", outcomes)


def _compare(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> Iterator[str]:
    for key, want in expected.items():
        got = actual.get(key)
        if key == "items":
            got_items = got or {}
            for number, value in (want or {}).items():
                have = got_items.get(str(number))
                if not _same(value, have):
                    yield f"item {number}: expected {_shown(value)}, got {_shown(have)}"
        elif key == "error":
            if want is None and got is not None:
                yield f"expected no error, got: {got}"
            elif want is not None and (got is None or str(want) not in str(got)):
                yield f"expected an error containing {want!r}, got {_shown(got)}"
        elif not _same(want, got):
            yield f"{key}: expected {_shown(want)}, got {_shown(got)}"


def _same(want: Any, got: Any) -> bool:
    if want is None or got is None or isinstance(want, bool) or isinstance(got, bool):
        return bool(want == got)
    try:
        return Decimal(str(want)) == Decimal(str(got))
    except InvalidOperation:
        return str(want) == str(got)


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Decimal):
        return plain(value)
    return str(value)


def _report(case: Case, differences: list[str], outcomes: Sequence[Outcome],
            pack: Pack) -> str:
    """A failure as a policy author reads it: what differs, and each item's reason lines."""
    labels = {i.number: i.label for i in pack.INFO.items}
    lines = [f"FAIL {case.path}:{case.line}  {case.name}",
             f"  readings: {', '.join(case.readings)}",
             "  differences:"]
    lines += [f"    {d}" for d in differences]
    wanted_items = {int(n) for e in case.expect.values() for n in (e.get("items") or {})}
    wants_settlement = any(key in FRAMEWORK_KEYS for e in case.expect.values() for key in e)
    for outcome in outcomes:
        prefix = f"{outcome.record.id}: " if case.batch else ""
        if wants_settlement and outcome.settlement is not None:
            lines.append(f"  {prefix}settlement: {outcome.settlement.status}")
            for step in outcome.settlement.lines:
                cites = ", ".join(step.reason.citations)
                lines.append(f"      {step.step:>10}  {step.detail} [{cites}] "
                             f"(framework line {step.reason.line})")
        if outcome.score is None:
            if outcome.error:
                lines.append(f"  {outcome.record.id}: not scored: {outcome.error}")
            continue
        for item in outcome.score.items:
            if item.number not in wanted_items:
                continue
            earned = "does not apply" if item.earned is None else plain(item.earned)
            lines.append(f"  {prefix}item {item.number} {labels.get(item.number, '')}: "
                         f"{earned} of {plain(item.points)}")
            for entry in item.lines:
                cites = f" [{', '.join(entry.reason.citations)}]" if entry.reason.citations \
                    else ""
                where = f" (line {entry.reason.line})" if entry.reason.line else ""
                lines.append(f"      {_signed(entry.delta):>7}  {entry.reason.text}{cites}"
                             f"{where}")
    lines.append("  the case's arithmetic:")
    lines += [f"    {text}" for text in case.explain.splitlines()]
    return "\n".join(lines)


def _signed(value: Decimal) -> str:
    text = plain(value)
    return text if text.startswith("-") or text == "0" else f"+{text}"


def run_files(paths: Iterable[Path], root: Path, packs_dir: Path | None
              ) -> tuple[list[CaseResult], list[CaseFileError]]:
    results: list[CaseResult] = []
    errors: list[CaseFileError] = []
    for path in paths:
        try:
            cases, bad = load_case_file(path, root, packs_dir)
        except CaseFileError as error:
            errors.append(error)
            continue
        errors += bad  # a bad case is an error; the file's other cases still run
        results += [run_case(case, packs_dir) for case in cases]
    return results, errors
