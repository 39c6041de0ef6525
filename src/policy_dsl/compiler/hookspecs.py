"""Hook specifications for city plugins: how a city refines a provincial or city standard.

A plugin is a module (in `plugins/`, or an installed package registered under the entry
point group `policy_dsl.plugins`) whose functions are marked with `policy_dsl.plugin.hookimpl`
and named after the hooks below. At build time each plugin first says which city standards it
builds (`policyc_city_standards`); then, for each city standard, every other hook is asked for
its overrides. An override names its target: an unknown item is an error, and two plugins
overriding the same item conflict unless exactly one declares `precedence=True`.

Every hook returns a list (or None for "nothing") of its own type, each field of the type it
says (item numbers whole numbers, points a Decimal, an int or a text, never a float; texts
non-empty; citations a list of reading ids). A plugin that raises anything (SystemExit and
KeyboardInterrupt included), takes longer than a few seconds (`plugins.HOOK_TIME_LIMIT`), or
returns anything else gets an error naming the plugin file, the hook and the line, and the
build fails.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pluggy

PROJECT = "policy_dsl"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class CityStandard:
    """A city's standard, built from a base pack (`jilin/medical-inpatient-2026`).

    The city pack keeps the base's region and framework and is named
    `<region>/<name with - for _>-<version>`, e.g. `jilin/changchun-medical-inpatient-2026`.
    """

    base: str
    name: str
    title: str
    version: int
    effective_from: dt.date
    effective_to: dt.date | None = None
    applies_to: str | None = None  # default: the base's institution class


@dataclass(frozen=True)
class AddItem:
    """A new item, written in the rule language (`item 3 "label" 10 { basis ... rules }`),
    added to the category with this label."""

    category: str
    text: str
    precedence: bool = False


@dataclass(frozen=True)
class ReplaceItem:
    """Item `number` replaced by an item written in the rule language (same number)."""

    number: int
    text: str
    precedence: bool = False


@dataclass(frozen=True)
class RemoveItem:
    number: int
    precedence: bool = False


@dataclass(frozen=True)
class ItemPoints:
    """Item `number` gets `points` (its rules and caps stay as they are)."""

    number: int
    points: Decimal | int | str
    precedence: bool = False


@dataclass(frozen=True)
class DeductionCap:
    """Item `number`'s deductions together take at most `points` (`reason` is shown)."""

    number: int
    points: Decimal | int | str
    reason: str
    citations: tuple[str, ...] = ()
    precedence: bool = False


@dataclass(frozen=True)
class BonusLimit:
    """The bonus items together count for at most `points` (a framework may warn above its
    own limit, e.g. JL-8's 10 "in principle")."""

    points: Decimal | int | str
    precedence: bool = False


@hookspec
def policyc_city_standards() -> list[CityStandard] | None:
    """The city standards this plugin builds.

    :return: one `CityStandard` per city pack; the other hooks are then called with each.
    """


@hookspec
def policyc_add_items(city: CityStandard) -> list[AddItem] | None:
    """Items to add to the city standard.

    :param city: the city standard being built (compare `city.name` to act on your own).
    """


@hookspec
def policyc_replace_items(city: CityStandard) -> list[ReplaceItem] | None:
    """Items of the base standard to replace, each by a whole new item of the same number.

    :param city: the city standard being built.
    """


@hookspec
def policyc_remove_items(city: CityStandard) -> list[RemoveItem] | None:
    """Items of the base standard to remove (facts only they used are dropped with them).

    :param city: the city standard being built.
    """


@hookspec
def policyc_item_points(city: CityStandard) -> list[ItemPoints] | None:
    """New points for items of the base standard.

    :param city: the city standard being built.
    """


@hookspec
def policyc_deduction_caps(city: CityStandard) -> list[DeductionCap] | None:
    """New caps on items' deductions.

    :param city: the city standard being built.
    """


@hookspec
def policyc_bonus_limit(city: CityStandard) -> list[BonusLimit] | None:
    """A new limit on the bonus items together (at most one plugin may set it).

    :param city: the city standard being built.
    """
