"""The annual report's numbers, computed from result lines and from nothing else.

`read_result_lines` reads a results file (JSON Lines as `policyc score` writes them) and
refuses one made with another pack (`ForeignResults`) or a line that is not a result line
(`BadResults`, naming the line). `compute_report` turns the lines into a `Report`: plain
data that the HTML page (`report_html`) and the workbook (`report_xlsx`) both lay out, so the
two cannot disagree, and neither re-derives a figure. Nothing is re-scored here: a grade, a
refund or a publicity flag is the line's own.

Every sum is exact (`Decimal`); a mean or a share is rounded to 2 decimals half-up where it is
made (`MEAN`), the only rounding here, and named so.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ..runtime import Pack
from ..runtime.framework import FrameworkRules

MEAN = Decimal("0.01")  # means and shares: 2 decimals, half-up (G2's rounding)
NEAR_BOUNDARY = Decimal("0.5")  # points either side of a grade's floor: a likely dispute
NOT_ASSESSED = ("deferred", "terminated", "voluntary_exit")
RENEWALS = ("direct", "review", "with_suspension", "none")
ADJUSTMENT_WORDS = {"veto": "一票否决", "downgrade": "降档"}
MAX_LINE_BYTES = 1_000_000  # a result line is a few kilobytes; a longer one is not ours


class BadResults(ValueError):
    """A results file that is not result lines (the message names the line and field)."""


class ForeignResults(ValueError):
    """Result lines made with another pack (or another build of it) than the one given."""


@dataclass(frozen=True, slots=True)
class ResultLine:
    """The fields of one result line the report uses, as exact values."""

    line: int
    id: str
    total: Decimal | None
    items: dict[int, Decimal | None] | None
    error: str | None
    status: str | None = None
    final_score: Decimal | None = None
    grade_before_adjustment: str | None = None
    grade: str | None = None
    adjustments: tuple[str, ...] = ()  # "veto", "downgrade": those applied
    refund_ratio: Decimal | None = None
    refund_amount: Decimal | None = None
    withheld: Decimal | None = None  # deposit − refund_amount (result lines since schema v2)
    renewal: str | None = None
    publicize: bool = False
    referral: bool = False

    @property
    def score(self) -> Decimal | None:
        """The score the grade rests on: the composite under a framework, else the total."""
        return self.final_score if self.final_score is not None else self.total


def _decimal(value: object, line: int, name: str) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadResults(f"line {line}: {name}: expected a decimal string, got "
                         f"{type(value).__name__}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise BadResults(f"line {line}: {name}: {value[:40]!r} is not a decimal") from None
    if not number.is_finite():
        raise BadResults(f"line {line}: {name}: {value[:40]!r} is not finite")
    return number


def _text(value: object, line: int, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise BadResults(f"line {line}: {name}: expected text, got {type(value).__name__}")


def _line(data: object, line: int, pack: Pack) -> ResultLine:
    if not isinstance(data, dict):
        raise BadResults(f"line {line}: not a result line (a JSON object)")
    if "pack_sha256" not in data or "pack" not in data:
        raise BadResults(f"line {line}: no pack and pack_sha256: not a line of policyc score")
    if data["pack"] != pack.INFO.name or data["pack_sha256"] != pack.sha256:
        raise ForeignResults(
            f"line {line}: made with {data['pack']!s:.80} (sha256 {data['pack_sha256']!s:.64}), "
            f"not {pack.INFO.name} (sha256 {pack.sha256}); score the input again with this "
            "pack, or give the pack that made these results")
    raw_items = data.get("items")
    items: dict[int, Decimal | None] | None = None
    if raw_items is not None:
        if not isinstance(raw_items, dict):
            raise BadResults(f"line {line}: items: expected an object")
        items = {}
        known = {item.number for item in pack.INFO.items}
        for key, value in raw_items.items():
            if not key.isdigit() or int(key) not in known:
                raise BadResults(f"line {line}: items: {key[:20]!r} is not an item of "
                                 f"{pack.INFO.name}")
            items[int(key)] = _decimal(value, line, f"items.{key}")
    applied = []
    for adjustment in data.get("adjustments") or ():
        if not isinstance(adjustment, dict) or adjustment.get("kind") not in ("veto",
                                                                              "downgrade"):
            raise BadResults(f"line {line}: adjustments: not an adjustment")
        if adjustment.get("applied") is True:
            applied.append(str(adjustment["kind"]))
    identifier = data.get("id")
    return ResultLine(
        line=line, id="" if identifier is None else str(identifier),
        total=_decimal(data.get("total"), line, "total"), items=items,
        error=_text(data.get("error"), line, "error"),
        status=_text(data.get("status"), line, "status"),
        final_score=_decimal(data.get("final_score"), line, "final_score"),
        grade_before_adjustment=_text(data.get("grade_before_adjustment"), line,
                                      "grade_before_adjustment"),
        grade=_text(data.get("grade"), line, "grade"), adjustments=tuple(applied),
        refund_ratio=_decimal(data.get("refund_ratio"), line, "refund_ratio"),
        refund_amount=_decimal(data.get("refund_amount"), line, "refund_amount"),
        withheld=_decimal(data.get("withheld"), line, "withheld"),
        renewal=_text(data.get("renewal"), line, "renewal"),
        publicize=data.get("publicize") is True, referral=data.get("referral") is True)


def _refuse_constant(name: str) -> object:
    raise BadResults(f"{name} is not a number a result line holds")


def parse_result_lines(lines: Iterable[str], pack: Pack) -> list[ResultLine]:
    """Result lines (JSON text, one per line; blank lines passed over), checked against
    `pack`. Numbers are read from their digits (no binary float on the way in)."""
    parsed = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        if len(text) > MAX_LINE_BYTES:
            raise BadResults(f"line {number}: longer than {MAX_LINE_BYTES} characters")
        try:
            data = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
        except (json.JSONDecodeError, RecursionError) as error:
            raise BadResults(f"line {number}: not JSON ({error})") from None
        parsed.append(_line(data, number, pack))
    return parsed


def result_lines_of(lines: Iterable[dict[str, object]], pack: Pack) -> list[ResultLine]:
    """Result lines as `outcome_json` makes them (an input file scored for the report)."""
    return [_line(data, number, pack) for number, data in enumerate(lines, start=1)]


def looks_like_results(text: str) -> bool:
    """Whether `text` is result lines (its first line a JSON object with `pack_sha256`)
    rather than input records."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        data = json.loads(first, parse_float=Decimal)
    except (json.JSONDecodeError, RecursionError):
        return False
    return isinstance(data, dict) and "pack_sha256" in data


# ---------------------------------------------------------------- the report's numbers


@dataclass(frozen=True, slots=True)
class Band:
    """A range of scores: a grade's (from its floor to the next one's) or 10 points."""

    label: str
    low: Decimal
    high: Decimal | None  # None: no upper end (the top grade)
    count: int


@dataclass(frozen=True, slots=True)
class GradeRow:
    grade: str
    institutions: int
    refunds: Decimal
    withheld: Decimal | None  # None: some line of the grade does not say (an older file)


@dataclass(frozen=True, slots=True)
class ItemRow:
    number: int
    label: str
    maximum: Decimal
    bonus: bool
    applicable: int  # institutions the item applied to
    mean: Decimal | None  # mean points over them, 2 decimals
    share: Decimal | None  # mean as a percent of the maximum, 2 decimals
    lost: Decimal  # points lost in all (maximum − points, summed exactly)
    mean_lost: Decimal | None  # per institution, 2 decimals


@dataclass(frozen=True, slots=True)
class Listed:
    """An institution in one of the report's lists."""

    id: str
    score: Decimal | None
    grade: str | None
    note: str = ""


@dataclass
class Report:
    pack: str
    title: str
    pack_sha256: str
    framework: str | None
    records: int = 0
    scored: int = 0
    errors: int = 0
    not_assessed: dict[str, int] = field(default_factory=dict)
    grade_order: tuple[str, ...] = ()
    grades: list[GradeRow] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    scores: list[Decimal] = field(default_factory=list)  # for the histogram
    items: list[ItemRow] = field(default_factory=list)
    refunds_total: Decimal = Decimal(0)
    refunds_not_assessed: Decimal = Decimal(0)
    withheld_full: int = 0  # refund ratio 0%
    withheld_part: int = 0  # 0% < ratio < 100%
    # The deposits withheld (each line's `withheld`, summed exactly): in all, and from the
    # institutions not assessed (a terminated agreement, an exit). None when a line with a
    # refund does not say what it withheld (results written before schema v2).
    withheld_total: Decimal | None = Decimal(0)
    withheld_not_assessed: Decimal | None = Decimal(0)
    adjusted: list[Listed] = field(default_factory=list)
    renewals: dict[str, int] = field(default_factory=dict)
    referrals: list[Listed] = field(default_factory=list)
    near_boundary: list[Listed] = field(default_factory=list)
    publicize: list[Listed] = field(default_factory=list)
    errors_listed: list[Listed] = field(default_factory=list)
    previous: Previous | None = None


@dataclass
class Previous:
    """Against last year's results, by id."""

    matched: int
    transitions: list[tuple[str, str, int]]  # from, to, institutions
    fell_two: list[Listed]
    repeated: list[Listed]  # the same low grade twice (a renewal with suspension)
    repeated_grade: str | None


def _mean(total: Decimal, count: int) -> Decimal | None:
    return None if count == 0 else (total / count).quantize(MEAN, rounding=ROUND_HALF_UP)


def _grade_bands(rules: FrameworkRules, scores: Sequence[Decimal]) -> list[Band]:
    """Each grade's band, highest first: from its floor up to the next grade's (the lowest
    grade takes every score below the next)."""
    bands = []
    upper: Decimal | None = None
    for grade in rules.grades:
        lowest = grade is rules.grades[-1]
        count = sum(1 for s in scores
                    if (lowest or s >= grade.floor) and (upper is None or s < upper))
        bands.append(Band(grade.label, grade.floor, upper, count))
        upper = grade.floor
    return bands


def _ten_point_bands(scores: Sequence[Decimal]) -> list[Band]:
    bands = []
    for low in range(90, -1, -10):
        high = None if low == 90 else Decimal(low + 10)
        count = sum(1 for s in scores if (low == 0 or s >= low) and (high is None or s < high))
        bands.append(Band(f"{low}–{low + 10}", Decimal(low), high, count))
    return bands


def compute_report(pack: Pack, lines: Sequence[ResultLine],
                   previous: Sequence[ResultLine] | None = None) -> Report:
    rules = pack.FRAMEWORK
    report = Report(pack=pack.INFO.name, title=pack.INFO.title, pack_sha256=pack.sha256,
                    framework=None if rules is None else rules.title)
    report.records = len(lines)
    statuses: Counter[str] = Counter()
    grade_counts: Counter[str] = Counter()
    refunds: dict[str, Decimal] = {}
    withheld: dict[str, Decimal | None] = {}
    renewals: Counter[str] = Counter()
    graded: list[ResultLine] = []
    for line in lines:
        if line.error is not None:
            report.errors += 1
            report.errors_listed.append(Listed(line.id, None, None, line.error))
            continue
        report.scored += 1
        if line.status in NOT_ASSESSED:
            statuses[line.status] += 1
            if line.refund_amount is not None:
                report.refunds_not_assessed += line.refund_amount
                report.withheld_not_assessed = _add(report.withheld_not_assessed,
                                                    line.withheld)
        if line.score is not None:
            report.scores.append(line.score)
            graded.append(line)
        if line.grade is not None:
            grade_counts[line.grade] += 1
            refunds[line.grade] = refunds.get(line.grade, Decimal(0)) + \
                (line.refund_amount or Decimal(0))
            if line.refund_amount is not None:
                withheld[line.grade] = _add(withheld.get(line.grade, Decimal(0)), line.withheld)
        if line.refund_amount is not None:
            report.refunds_total += line.refund_amount
            report.withheld_total = _add(report.withheld_total, line.withheld)
        if line.refund_ratio is not None:
            if line.refund_ratio == 0:
                report.withheld_full += 1
            elif line.refund_ratio < 100:
                report.withheld_part += 1
        if line.renewal is not None:
            renewals[line.renewal] += 1
        if line.adjustments:
            moved = f"{line.grade_before_adjustment} → {line.grade}"
            kinds = "、".join(ADJUSTMENT_WORDS[kind] for kind in line.adjustments)
            report.adjusted.append(Listed(line.id, line.score, line.grade, f"{kinds}：{moved}"))
        if line.referral:
            report.referrals.append(Listed(line.id, line.score, line.grade))
        if line.publicize:
            report.publicize.append(Listed(line.id, line.score, line.grade))
    report.not_assessed = {status: statuses[status] for status in NOT_ASSESSED}
    if rules is not None:
        report.grade_order = tuple(grade.label for grade in rules.grades)
        report.grades = [GradeRow(g, grade_counts[g], refunds.get(g, Decimal(0)),
                                  withheld.get(g, Decimal(0)))
                         for g in report.grade_order]
        report.bands = _grade_bands(rules, report.scores)
        report.renewals = {kind: renewals[kind] for kind in RENEWALS}
        floors = [grade.floor for grade in rules.grades[:-1]]
        for line in graded:
            score = line.score
            assert score is not None
            near = [floor for floor in floors if abs(score - floor) <= NEAR_BOUNDARY]
            if near:
                report.near_boundary.append(Listed(
                    line.id, score, line.grade,
                    "、".join(f"{_signed(score - floor)}（分界 {floor}）" for floor in near)))
        report.near_boundary.sort(key=lambda listed: (abs(_gap(listed)), listed.id))
    else:
        report.bands = _ten_point_bands(report.scores)
    report.items = _item_rows(pack, graded)
    if previous is not None and rules is not None:
        report.previous = _previous(rules, graded, lines, previous)
    return report


def _add(total: Decimal | None, withheld: Decimal | None) -> Decimal | None:
    """A running sum of withheld deposits; unknown once one line with a refund lacks it."""
    return None if total is None or withheld is None else total + withheld


def _signed(value: Decimal) -> str:
    return f"+{value}" if value > 0 else str(value)


def _gap(listed: Listed) -> Decimal:
    return Decimal(listed.note.split("（")[0])


def _item_rows(pack: Pack, graded: Sequence[ResultLine]) -> list[ItemRow]:
    rows = []
    for item in pack.INFO.items:
        points = [line.items.get(item.number) for line in graded if line.items is not None]
        earned = [p for p in points if p is not None]
        total = sum(earned, Decimal(0))
        lost = sum((item.points - p for p in earned), Decimal(0))
        mean = _mean(total, len(earned))
        share = None if not earned or item.points == 0 else \
            (total * 100 / (item.points * len(earned))).quantize(MEAN, rounding=ROUND_HALF_UP)
        rows.append(ItemRow(item.number, item.label, item.points, item.bonus, len(earned), mean,
                            share, lost, _mean(lost, len(earned))))
    return rows


def most_lost(report: Report, count: int = 5) -> list[ItemRow]:
    """The deduction items where institutions lose most points per institution (bonus items
    are not losses), largest first."""
    rows = [row for row in report.items if not row.bonus and row.mean_lost]
    return sorted(rows, key=lambda row: (-(row.mean_lost or 0), row.number))[:count]


def _previous(rules: FrameworkRules, graded: Sequence[ResultLine], lines: Sequence[ResultLine],
              previous: Sequence[ResultLine]) -> Previous:
    before = {line.id: line.grade for line in previous if line.grade is not None}
    order = [grade.label for grade in rules.grades]
    transitions: Counter[tuple[str, str]] = Counter()
    fell_two: list[Listed] = []
    repeated: list[Listed] = []
    repeat_grades = {g.label: g.repeat_grade for g in rules.grades if g.repeat_grade}
    matched = 0
    for line in lines:
        if line.error is not None or line.grade is None or line.id not in before:
            continue
        last = before[line.id]
        assert last is not None
        matched += 1
        transitions[(last, line.grade)] += 1
        if last in order and order.index(line.grade) - order.index(last) >= 2:
            fell_two.append(Listed(line.id, line.score, line.grade, f"{last} → {line.grade}"))
        if repeat_grades.get(line.grade) == last:
            repeated.append(Listed(line.id, line.score, line.grade,
                                   f"{last} → {line.grade}"))
    rank = {grade: index for index, grade in enumerate(order)}
    table = sorted(((a, b, n) for (a, b), n in transitions.items()),
                   key=lambda row: (rank.get(row[0], len(order)), rank.get(row[1], len(order)),
                                    row[0], row[1]))
    return Previous(matched, table, fell_two, repeated,
                    next(iter(repeat_grades.values()), None))
