"""What scoring gives back: per item the earned points and one reason line per rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from .arithmetic import ZERO, divide, round_points


@dataclass(frozen=True, slots=True)
class Reason:
    """A rule's text as the rule file wrote it, the reading ids it cites, and its line."""

    text: str
    citations: tuple[str, ...]
    line: int


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


@dataclass(frozen=True, slots=True)
class Line:
    """One step of an item's explanation: what a rule did, in signed points."""

    reason: Reason
    delta: Decimal


@dataclass(frozen=True, slots=True)
class ItemScore:
    number: int
    points: Decimal
    earned: Decimal | None  # None: the item does not apply to this institution (G5)
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Score:
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


def close_part(score: Decimal, points: Decimal, lines: Lines) -> Decimal:
    """A part's score, kept within [0, its points] (G3)."""
    if score < ZERO:
        note(lines, PART_FLOOR, -score)
        return ZERO
    if score > points:
        note(lines, PART_CEILING, points - score)
        return points
    return score


def close_item(number: int, points: Decimal, awards: Decimal, deductions: Decimal,
               deduction_cap: Reason | None, cap: Decimal,
               zero_rules: Sequence[tuple[Reason, bool]], lines: Lines) -> ItemScore:
    """An item's score: awards minus capped deductions, zeroed or clamped to [0, points].

    Every `zero when` rule gets its line: the points it took, or 0 when it did not hold.
    """
    if deduction_cap is not None and deductions > cap:
        note(lines, deduction_cap, deductions - cap)
        deductions = cap
    score = awards - deductions
    zeroed = False
    for reason, holds in zero_rules:
        if holds and not zeroed:
            note(lines, reason, -score)
            zeroed = True
        else:
            note(lines, reason, ZERO)
    if zeroed:
        score = ZERO
    elif score < ZERO:
        note(lines, FLOOR, -score)
        score = ZERO
    elif score > points:
        note(lines, CEILING, points - score)
        score = points
    return ItemScore(number, points, score, () if lines is None else tuple(lines))


def not_applicable(number: int, points: Decimal, reason: Reason,
                   explain: bool = True) -> ItemScore:
    return ItemScore(number, points, None, (Line(reason, ZERO),) if explain else ())


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
    if rescale is None or applicable_max == rescale:
        rescaled = earned
    elif applicable_max == ZERO:
        rescaled = ZERO
    else:
        rescaled = divide(earned * rescale, applicable_max, "the applicable maximum")
    return Score(round_points(rescaled), earned, applicable_max, tuple(items), rescaled)
