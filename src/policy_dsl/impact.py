"""What a change of rules does to real institutions (`policyc diff A B --population FILE`).

Every record is scored as one batch under each version (each version validates the records
and computes its cohort values over the records valid under it, exactly as `policyc score`
does), and the two results are compared record by record: totals as reported (2 decimals,
G2), grades and refund amounts (to the fen) for packs under a framework. All arithmetic is
exact Decimal.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from .compiler.diff import printable
from .runtime import InputRecord, Outcome, Pack, iter_outcomes

TOP = 10  # institutions listed as moving most
BANDS = (("unchanged", "Δ = 0"), ("up_to_1", "0 < |Δ| ≤ 1"), ("1_to_5", "1 < |Δ| ≤ 5"),
         ("over_5", "|Δ| > 5"))


@dataclass(frozen=True)
class Moved:
    """One institution scored under both versions."""

    id: object
    where: str
    total_a: Decimal
    total_b: Decimal
    grade_a: str | None
    grade_b: str | None

    @property
    def delta(self) -> Decimal:
        return self.total_b - self.total_a


@dataclass
class GradeMove:
    institutions: int = 0
    refund_moved: Decimal = Decimal(0)  # Σ refund B − A, yuan


@dataclass
class Impact:
    records: int = 0
    scored_under_both: int = 0
    errors_under_both: int = 0
    only_a: list[tuple[str, str]] = field(default_factory=list)  # valid under A; B's error
    only_b: list[tuple[str, str]] = field(default_factory=list)  # valid under B; A's error
    not_assessed: int = 0  # framework: scored under both, without a total in one of them
    moved: list[Moved] = field(default_factory=list)  # input order
    framework: bool = False
    grades: dict[tuple[str | None, str | None], GradeMove] = field(default_factory=dict)
    refund_moved: Decimal = Decimal(0)
    refund_institutions: int = 0
    grade_order: tuple[str, ...] = ()  # the framework's grades, highest first

    def grade_rows(self) -> list[tuple[tuple[str | None, str | None], GradeMove]]:
        """The from → to rows, highest grade under A first, then highest under B."""
        def rank(grade: str | None) -> int:
            order = self.grade_order
            return order.index(grade) if grade in order else len(order)

        return sorted(self.grades.items(), key=lambda e: (rank(e[0][0]), rank(e[0][1])))

    @property
    def deltas(self) -> list[Decimal]:
        return [m.delta for m in self.moved]

    def band_counts(self) -> dict[str, tuple[int, int]]:
        """Per band: (institutions whose total went down, went up); unchanged: (n, 0)."""
        counts = {name: [0, 0] for name, _ in BANDS}
        for delta in self.deltas:
            size = abs(delta)
            name = ("unchanged" if size == 0 else "up_to_1" if size <= 1
                    else "1_to_5" if size <= 5 else "over_5")
            counts[name][0 if delta <= 0 else 1] += 1
        return {name: (down, up) for name, (down, up) in counts.items()}

    def summary(self) -> tuple[Decimal, Decimal, Decimal] | None:
        """Min, median and max of the total-score changes (the median of an even count is
        the mean of the two middle values, exact)."""
        ordered = sorted(self.deltas)
        if not ordered:
            return None
        middle = len(ordered) // 2
        median = ordered[middle] if len(ordered) % 2 else (
            (ordered[middle - 1] + ordered[middle]) / 2)
        return ordered[0], median, ordered[-1]

    def moved_most(self) -> list[Moved]:
        changed = [m for m in self.moved if m.delta != 0]
        return sorted(changed, key=lambda m: -abs(m.delta))[:TOP]  # stable: input order


def _total(outcome: Outcome) -> Decimal | None:
    assessed = outcome.settlement is None or outcome.settlement.status == "assessed"
    return outcome.score.total if outcome.score is not None and assessed else None


def measure(pack_a: Pack, pack_b: Pack, records: Sequence[InputRecord]) -> Impact:
    """Score `records` under both packs and compare them record by record."""
    impact = Impact(records=len(records))
    rules = pack_b.FRAMEWORK or pack_a.FRAMEWORK
    if rules is not None:
        impact.grade_order = tuple(grade.label for grade in rules.grades)
    # one outcome of each version at a time (each validates the whole batch first)
    outcomes_a = iter_outcomes(pack_a, records, explain=False)
    outcomes_b = iter_outcomes(pack_b, records, explain=False)
    for record, a, b in zip(records, outcomes_a, outcomes_b, strict=True):
        impact.framework = impact.framework or a.framework or b.framework
        if a.error is not None and b.error is not None:
            impact.errors_under_both += 1
            continue
        if b.error is not None:
            impact.only_a.append((record.where, b.error))
            continue
        if a.error is not None:
            impact.only_b.append((record.where, a.error))
            continue
        impact.scored_under_both += 1
        grade_a = a.settlement.grade if a.settlement else None
        grade_b = b.settlement.grade if b.settlement else None
        total_a, total_b = _total(a), _total(b)
        if total_a is None or total_b is None:
            impact.not_assessed += 1
        else:
            impact.moved.append(Moved(record.id, record.where, total_a, total_b, grade_a,
                                      grade_b))
        if a.settlement is not None and b.settlement is not None:
            move = impact.grades.setdefault((grade_a, grade_b), GradeMove())
            move.institutions += 1
            refund_a, refund_b = a.settlement.refund_amount, b.settlement.refund_amount
            if refund_a is not None and refund_b is not None:
                move.refund_moved += refund_b - refund_a
                impact.refund_moved += refund_b - refund_a
                impact.refund_institutions += 1
    return impact


def _width(text: str) -> int:
    """Display columns: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _signed(value: Decimal) -> str:
    return f"+{value}" if value > 0 else str(value)


def report_text(impact: Impact, population: str) -> str:
    lines = [f"impact on {printable(population)} ({impact.records} record(s))",
             f"  scored under both: {impact.scored_under_both} · errors under both: "
             f"{impact.errors_under_both} · valid only under A: {len(impact.only_a)} · "
             f"valid only under B: {len(impact.only_b)}"]
    for label, entries in (("valid only under A (B's error)", impact.only_a),
                           ("valid only under B (A's error)", impact.only_b)):
        if entries:
            lines.append(f"  {label}:")
            lines.extend(f"    {printable(error)}" for _, error in entries[:TOP])
            if len(entries) > TOP:
                lines.append(f"    ... and {len(entries) - TOP} more")
    if impact.not_assessed:
        lines.append(f"  not assessed this year under A or B (no total): {impact.not_assessed}")
    changed = sum(1 for d in impact.deltas if d != 0)
    lines.append(f"  total score changes (B − A): {changed} of {len(impact.moved)} "
                 "institution(s) change")
    for (name, label), (down, up) in zip(BANDS, impact.band_counts().values(), strict=True):
        split = f"   ({down} down, {up} up)" if name != "unchanged" else ""
        lines.append(f"    {label:<12} {down + up:>6}{split}")
    summary = impact.summary()
    if summary is not None:
        low, median, high = summary
        lines.append(f"    min {_signed(low)} · median {_signed(median)} · max {_signed(high)}")
    if impact.framework:
        moved_grade = sum(m.institutions for (a, b), m in impact.grades.items() if a != b)
        lines.append(f"  grades: {moved_grade} institution(s) change grade")
        lines.append(f"    {'A → B':<16} {'institutions':>12} {'refunds moved (yuan)':>22}")
        for (grade_a, grade_b), move in impact.grade_rows():
            row = f"{grade_a or '—'} → {grade_b or '—'}"
            lines.append(f"    {row}{' ' * (16 - _width(row))} {move.institutions:>12} "
                         f"{_signed(move.refund_moved):>22}")
        lines.append(f"  refunds moved in total (B − A): {_signed(impact.refund_moved)} yuan "
                     f"over {impact.refund_institutions} institution(s)")
    most = impact.moved_most()
    if most:
        lines.append(f"  moved most (top {TOP} by |Δ total|):")
        for moved in most:
            grade = "" if not impact.framework else (
                f"   {moved.grade_a or '—'} → {moved.grade_b or '—'}"
                if moved.grade_a != moved.grade_b else f"   {moved.grade_a or '—'}")
            shown = printable(str(moved.id))
            lines.append(f"    {shown:<14} A {moved.total_a:>7}  B {moved.total_b:>7}  "
                         f"Δ {_signed(moved.delta):>7}{grade}")
    return "\n".join(lines)


def report_json(impact: Impact, population: str) -> dict[str, object]:
    summary = impact.summary()
    bands = impact.band_counts()
    result: dict[str, object] = {
        "population": population,
        "records": impact.records,
        "scored_under_both": impact.scored_under_both,
        "errors_under_both": impact.errors_under_both,
        "valid_only_under_a": [{"record": where, "error_under_b": error}
                               for where, error in impact.only_a],
        "valid_only_under_b": [{"record": where, "error_under_a": error}
                               for where, error in impact.only_b],
        "not_assessed": impact.not_assessed,
        "total_changes": {
            **{name: {"institutions": down + up, "down": down, "up": up}
               for name, (down, up) in bands.items()},
            "min": None if summary is None else str(summary[0]),
            "median": None if summary is None else str(summary[1]),
            "max": None if summary is None else str(summary[2]),
        },
        "moved_most": [{"id": m.id, "a": str(m.total_a), "b": str(m.total_b),
                        "delta": str(m.delta), "grade_a": m.grade_a, "grade_b": m.grade_b}
                       for m in impact.moved_most()],
    }
    if impact.framework:
        result["grades"] = [{"from": a, "to": b, "institutions": move.institutions,
                             "refund_moved": str(move.refund_moved)}
                            for (a, b), move in impact.grade_rows()]
        result["grade_changes"] = sum(m.institutions for (a, b), m in impact.grades.items()
                                      if a != b)
        result["refund_moved"] = str(impact.refund_moved)
    return result
