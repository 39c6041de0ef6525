"""Values computed across the institutions scored together (POLICY-NOTES SZ-C, SZ-12, SZ2-4).

Only valid records are passed in: an invalid record gets its own error and changes nobody
else's value.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .arithmetic import DIVISION, ZERO


@dataclass(frozen=True, slots=True)
class CohortInfo:
    """A pack's cohort value as its rule file declares it, for snapshots and describe.

    kind "rank": an adjustment by rank of `of` (a fact); kind "mean": the mean of `of` (an
    expression) over the records sharing `group`. `own`: what a record's value is without a
    rank (`unranked ...`) or instead of the mean (`unless given ...`), if anything.
    """

    name: str
    label: str
    kind: str
    of: str
    group: str | None
    own: str | None
    line: int


@dataclass(frozen=True, slots=True)
class CohortBasis:
    """What one record's cohort value is computed from: the value it ranks or averages
    (None: unranked), for a mean the record's group, and the record's own value where it
    takes one (unranked, or a mean given in the record)."""

    value: Decimal | None
    group: str | None
    own: Decimal | None = None


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


# What a snapshot keeps per institution beside its cohort values, for explanations: a
# ranking's `{name}_rank` (None: unranked) and `{name}_ranked`, a mean's `{name}_group` and
# `{name}_group_size` (the fields of a pack's `Cohorts`).
SnapshotDetail = int | str | None


class SnapshotInvalid(ValueError):
    """The snapshot cannot be used: not a snapshot, malformed, or made with another pack."""


def snapshot_count(details: Mapping[str, SnapshotDetail], name: str) -> int:
    """A whole number (0 or more) of a snapshot entry's details (`rebuild_cohorts`)."""
    value = details.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise SnapshotInvalid(f"details.{name}: expected a whole number, 0 or more")
    return value


def snapshot_rank(details: Mapping[str, SnapshotDetail], name: str) -> int | None:
    """A rank (1 or more) of a snapshot entry's details, or None: unranked."""
    if name in details and details[name] is None:
        return None
    value = details.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SnapshotInvalid(f"details.{name}: expected a rank (1 or more) or null")
    return value


def snapshot_text(details: Mapping[str, SnapshotDetail], name: str) -> str:
    """A text (a group) of a snapshot entry's details."""
    value = details.get(name)
    if not isinstance(value, str):
        raise SnapshotInvalid(f"details.{name}: expected text")
    return value
