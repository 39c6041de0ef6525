"""Values computed across the institutions scored together (POLICY-NOTES SZ-C, SZ-12, SZ2-4).

Only valid records are passed in: an invalid record gets its own error and changes nobody
else's value.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .arithmetic import DIVISION, ZERO


@dataclass(frozen=True, slots=True)
class Band:
    """`top 10 from 1.0 step -0.1`: places 1..size get start, start+step, ..."""

    size: int
    start: Decimal
    step: Decimal

    def value(self, place: int) -> Decimal | None:
        return self.start + (place - 1) * self.step if 1 <= place <= self.size else None


def competition_ranks(values: Sequence[Decimal | None], descending: bool,
                      ties_best: bool) -> list[int | None]:
    """Rank 1 is the best; tied values share a rank (1, 2, 2, 4 with ties_best)."""
    present = sorted(v for v in values if v is not None)
    count = len(present)
    ranks: list[int | None] = []
    for value in values:
        if value is None:
            ranks.append(None)
            continue
        below, not_above = bisect_left(present, value), bisect_right(present, value)
        better = count - not_above if descending else below
        tied = not_above - below
        ranks.append(better + 1 if ties_best else better + tied)
    return ranks


def rank_adjustments(values: Sequence[Decimal | None], descending: bool, ties_best: bool,
                     top: Band, bottom: Band) -> list[Decimal | None]:
    """Top band by rank; else bottom band by place from the bottom, N − rank + 1 (SZ-12).

    A record in the top band is never also in the bottom band (fewer than 20 ranked); a
    record in neither gets 0; a record without a value gets None (unranked).
    """
    return adjustments_for_ranks(competition_ranks(values, descending, ties_best), top, bottom)


def adjustments_for_ranks(ranks: Sequence[int | None], top: Band,
                          bottom: Band) -> list[Decimal | None]:
    """rank_adjustments from ranks already computed (a pack keeps them for explanations)."""
    ranked = sum(1 for rank in ranks if rank is not None)
    adjustments: list[Decimal | None] = []
    for rank in ranks:
        if rank is None:
            adjustments.append(None)
            continue
        adjustment = top.value(rank)
        if adjustment is None:
            adjustment = bottom.value(ranked - rank + 1)
        adjustments.append(ZERO if adjustment is None else adjustment)
    return adjustments


@dataclass(frozen=True, slots=True)
class GroupMean:
    mean: Decimal
    size: int


def group_means(values: Sequence[Decimal], groups: Sequence[Hashable]) -> list[GroupMean]:
    """For each record, the plain mean of `values` over its group (itself included)."""
    totals: dict[Hashable, Decimal] = {}
    sizes: Counter[Hashable] = Counter()
    for value, group in zip(values, groups, strict=True):
        totals[group] = totals.get(group, ZERO) + value
        sizes[group] += 1
    means = {g: DIVISION.divide(totals[g], Decimal(sizes[g])) for g in totals}
    return [GroupMean(means[g], sizes[g]) for g in groups]
