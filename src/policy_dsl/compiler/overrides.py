"""Changing a standard's items one at a time: what a derived standard (`based on`, inherit.py)
and a city plugin (plugins.py) both do to their base.

`ItemTable` holds the base's items by category; each change names an item by its number.
Whoever uses it reports an unknown number in its own words (a rule file's line, a plugin's
hook), so nothing here raises or reports.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from . import ast
from .checker import used_names


class ItemTable:
    """A standard's items, by category in file order, as its overrides change them."""

    def __init__(self, categories: tuple[ast.Category, ...]) -> None:
        self.categories = list(categories)
        self.items: dict[str, list[ast.Item]] = {c.label: list(c.items) for c in categories}

    @property
    def numbers(self) -> list[int]:
        return sorted(item.number for items in self.items.values() for item in items)

    def _locate(self, number: int) -> tuple[str, int] | None:
        for label, items in self.items.items():
            for index, item in enumerate(items):
                if item.number == number:
                    return label, index
        return None

    def get(self, number: int) -> ast.Item | None:
        located = self._locate(number)
        return None if located is None else self.items[located[0]][located[1]]

    def put(self, item: ast.Item) -> None:
        """The item of the same number, replaced in its place (it must exist)."""
        label, index = self._require(item.number)
        self.items[label][index] = item

    def remove(self, number: int) -> None:
        label, index = self._require(number)
        del self.items[label][index]

    def add(self, category: str, item: ast.Item) -> None:
        """A new item at the end of a category (both checked by the caller)."""
        self.items[category].append(item)

    def add_category(self, category: ast.Category) -> None:
        self.categories.append(category)
        self.items[category.label] = list(category.items)

    def set_points(self, number: int, points: Decimal, at: ast.Span | None = None) -> None:
        item = self._item(number)
        self.put(dataclasses.replace(item, points=points, changed_at=_noted(item, "points", at)))

    def set_cap(self, number: int, cap: ast.DeductionCap) -> None:
        self.put(dataclasses.replace(self._item(number), deduction_cap=cap))

    def set_text(self, number: int, kind: str, text: str, at: ast.Span | None = None) -> None:
        item = self._item(number)
        self.put(dataclasses.replace(item, texts=dataclasses.replace(item.texts, **{kind: text}),
                                     changed_at=_noted(item, kind, at)))

    def _require(self, number: int) -> tuple[str, int]:
        located = self._locate(number)
        if located is None:
            raise KeyError(f"no item {number}")  # callers check first
        return located

    def _item(self, number: int) -> ast.Item:
        label, index = self._require(number)
        return self.items[label][index]

    def result(self) -> tuple[ast.Category, ...]:
        """The categories after the changes. A category whose items changed has their sum as
        its points; the totals that the standard and its framework fix (100 for deduction
        items, JL-8) are still checked, so a change that breaks them is an error there."""
        return tuple(
            c if tuple(self.items[c.label]) == c.items else dataclasses.replace(
                c, items=tuple(self.items[c.label]),
                points=sum((i.points for i in self.items[c.label]), Decimal(0)))
            for c in self.categories)


def _noted(item: ast.Item, what: str, at: ast.Span | None) -> tuple[tuple[str, ast.Span], ...]:
    return item.changed_at if at is None else (*item.changed_at, (what, at))


def without_unused_facts(standard: ast.Standard) -> ast.Standard:
    """Facts that only removed or replaced items used are dropped with them."""
    used = used_names(standard)
    facts = tuple(f for f in standard.facts if f.name in used)
    if len(facts) == len(standard.facts):
        return standard
    return without_unused_facts(dataclasses.replace(standard, facts=facts))
