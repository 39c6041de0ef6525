"""What scoring gives back: per item the earned points and one reason line per rule."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import NamedTuple, cast

from .arithmetic import DIVISION, ZERO, round_points


@dataclass(frozen=True, slots=True)
class Reason:
    """A rule's text as the rule file wrote it, the reading ids it cites, and its line; and
    its rule file when that is not the pack's own (a rule inherited with `based on` or taken
    with `item N from`: its line is a line of that file)."""

    text: str
    citations: tuple[str, ...]
    line: int
    file: str | None = None


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule of a pack, for coverage: its reason, its item, and how to see what it did.

    kind "delta": the rule leaves a line on every run (reached: its delta is not 0; not
    reached: 0). kind "shown": a line only when it holds (not applicable, a deduction cap).
    """

    reason: Reason
    item: int
    kind: str
    two_sided: bool


Value = Decimal | int | bool | str | None


class Operand(NamedTuple):
    """A value a rule used, recorded only for explanations.

    role: what it is to the rule. "fact", "derived" (a `let`), "input" (a fact a derived
    or ranked value is computed from), "cohort", "rank" and "ranked" (a rank among how
    many), "group", "group_size" and "source" (a peer group, its size, and whether the mean
    was given or computed over the batch), "threshold" (label: what chose it, e.g. the
    level), "tier" (the tier that held; label the comparison, value None: none held),
    "weight", "amount" (points per step or per count), "step", "direction", "steps" (the
    steps counted; label the rounding), "count" (what a per-count rule multiplied),
    "entries" (a list's length), "entry" (a panel entry: label its evidence, value its
    points), "cap" (a rule's or an item's cap), "uncapped" (the points before a cap),
    "condition", "sign" (award or deduct), "not_applicable" (an item or part that does not
    apply).
    label: the rule file's label (never a field code). unit: the value's kind (percent,
    count, bool, enum, money, number, points, text, date).
    """

    role: str
    label: str
    value: Value
    unit: str


class Line(NamedTuple):
    """One step of an item's explanation: what a rule did, in signed points, and (when an
    explanation is asked for) the values it used. A named tuple, quick to make: a pack makes
    one per rule when explaining."""

    reason: Reason
    delta: Decimal
    uses: tuple[Operand, ...] = ()


class ItemScore(NamedTuple):
    """One item's points. A named tuple, quick to make: a pack makes one per item of every
    institution (a frozen dataclass's __init__ costs about four times as much)."""

    number: int
    points: Decimal
    earned: Decimal | None  # None: the item does not apply to this institution (G5)
    lines: tuple[Line, ...]


# An ItemScore from its four fields in one tuple, made in C: `ItemScore(...)` runs the named
# tuple's __new__, written in Python, which costs a pack's `score` about 0.2 µs an item.
# The value is the same ItemScore (`item_score((1, p, e, ())) == ItemScore(1, p, e, ())`).
# Packs built now call `tuple.__new__(ItemScore, ...)` themselves, at half the cost (a partial
# adds its own call); this stays for packs built before, which import it.
item_score = cast(
    "Callable[[tuple[int, Decimal, Decimal | None, tuple[Line, ...]]], ItemScore]",
    partial(tuple.__new__, ItemScore))


class Score(NamedTuple):
    """An institution's score (a named tuple, as ItemScore)."""

    total: Decimal  # rescaled and rounded to 2 decimals, half-up (G2)
    earned: Decimal  # the exact sum of the applicable items' points (bonus within its limit)
    applicable_max: Decimal  # the sum of the applicable items' maxima
    items: tuple[ItemScore, ...]
    exact: Decimal  # the total before rounding (a framework's composite starts from it)


# Reasons for the adjustments the runtime makes itself (not written in any rule file).
FLOOR = Reason("得分不低于0（扣完为止）", ("G3",), 0)
CEILING = Reason("得分不超过本项分值", ("G3",), 0)
PART_FLOOR = Reason("分项得分不低于0", ("G3",), 0)
PART_CEILING = Reason("分项得分不超过分项分值", ("G3",), 0)


Lines = list[Line] | None  # None: the caller wants scores only, no explanation


def note(lines: Lines, reason: Reason, delta: Decimal) -> Decimal:
    """Record what a rule did (when an explanation is wanted) and hand its delta on."""
    if lines is not None:
        lines.append(Line(reason, delta))
    return delta


def used(lines: list[Line], *operands: Operand | None) -> None:
    """Attach the values a rule used to the line it just noted (explanations only); None
    stands for a part of the rule that was not evaluated for this institution."""
    last = lines[-1]
    uses = tuple(o for o in operands if o is not None) if None in operands else operands
    lines[-1] = Line(last.reason, last.delta, uses)  # type: ignore[arg-type]


def close_part(score: Decimal, points: Decimal, lines: Lines) -> Decimal:
    """A part's score, kept within [0, its points] (G3)."""
    if score < ZERO:
        if lines is not None:
            lines.append(Line(PART_FLOOR, -score, (Operand("uncapped", "分项", score, "points"),)))
        return ZERO
    if score > points:
        if lines is not None:
            lines.append(Line(PART_CEILING, points - score, (
                Operand("uncapped", "分项", score, "points"),
                Operand("cap", "分项分值", points, "points"))))
        return points
    return score


def close_item(number: int, points: Decimal, awards: Decimal, deductions: Decimal,
               deduction_cap: Reason | None, cap: Decimal,
               zero_rules: Sequence[tuple[Reason, bool, tuple[Operand, ...]]],
               lines: Lines) -> ItemScore:
    """An item's score: awards minus capped deductions, zeroed or clamped to [0, points].

    Every `zero when` rule gets its line: the points it took, or 0 when it did not hold,
    with the values its condition used (given only when an explanation is asked for).
    """
    if deduction_cap is not None and deductions > cap:
        if lines is not None:
            lines.append(Line(deduction_cap, deductions - cap, (
                Operand("uncapped", "扣分", deductions, "points"),
                Operand("cap", "扣分上限", cap, "points"))))
        deductions = cap
    score = awards - deductions
    zeroed = False
    for reason, holds, uses in zero_rules:
        delta = ZERO
        if holds and not zeroed:
            delta = -score
            zeroed = True
        if lines is not None:
            lines.append(Line(reason, delta, uses))
    if zeroed:
        score = ZERO
    elif score < ZERO:
        if lines is not None:
            lines.append(Line(FLOOR, -score, (Operand("uncapped", "本项", score, "points"),)))
        score = ZERO
    elif score > points:
        if lines is not None:
            lines.append(Line(CEILING, points - score, (
                Operand("uncapped", "本项", score, "points"),
                Operand("cap", "本项分值", points, "points"))))
        score = points
    return ItemScore(number, points, score, () if lines is None else tuple(lines))


def not_applicable(number: int, points: Decimal, reason: Reason,
                   explain: bool = True, uses: tuple[Operand, ...] = ()) -> ItemScore:
    return ItemScore(number, points, None, (Line(reason, ZERO, uses),) if explain else ())


def total(items: Sequence[ItemScore], rescale: Decimal | None,
          bonus_limit: Decimal | None = None, bonus_items: frozenset[int] = frozenset(),
          bonus_in_maximum: bool = False) -> Score:
    """Sum the applicable items; rescale to `rescale` points over the applicable maximum (G5).

    With a bonus limit, bonus items count apart: their sum is capped at the limit and is not
    part of the applicable maximum (JL-8: deduction items 100, bonus up to 10) unless
    `bonus_in_maximum` (a standard with `bonus included`: its bonus items' points are part of
    the maximum, and what they earn together is capped at the limit).
    """
    earned = ZERO
    bonus = ZERO
    applicable_max = ZERO
    for item in items:
        if item.earned is None:
            continue
        if bonus_limit is not None and item.number in bonus_items:
            bonus += item.earned
            if bonus_in_maximum:
                applicable_max += item.points
        else:
            earned += item.earned
            applicable_max += item.points
    if bonus_limit is not None:
        earned += min(bonus, bonus_limit)
    return close_total(tuple(items), earned, applicable_max, rescale)


def close_total(items: tuple[ItemScore, ...], earned: Decimal, applicable_max: Decimal,
                rescale: Decimal | None) -> Score:
    """The score from the applicable items' sum and maximum: rescaled to `rescale` points
    over the applicable maximum (G5), rounded (G2). `total()` ends here, and so does a
    pack's `score`, which sums its items itself (codegen writes `total()` out per pack)."""
    if rescale is None or applicable_max == rescale:
        rescaled = earned
    elif applicable_max == ZERO:
        rescaled = ZERO
    else:  # not divide(): the maximum is not 0 here, and its check costs every institution
        rescaled = DIVISION.divide(earned * rescale, applicable_max)
    return tuple.__new__(Score, (round_points(rescaled), earned, applicable_max, items,
                                 rescaled))
