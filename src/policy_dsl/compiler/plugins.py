"""The plugin stage: a base standard's AST and the city plugins' overrides -> a city's AST.

Plugins come from `plugins/*.py` and from installed packages (entry point group
`policy_dsl.plugins`), loaded the same way into one pluggy manager. `CityPlugins` is the
typed facade over it: it calls each plugin's hook on its own, so that a plugin that raises or
returns nonsense is named, with its hook, in the error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import ast, hookspecs
from .checker import used_names
from .diagnostics import CompileError, Diagnostic
from .parser import parse_item

ENTRY_POINT_GROUP = "policy_dsl.plugins"

Override = (hookspecs.AddItem | hookspecs.ReplaceItem | hookspecs.RemoveItem
            | hookspecs.ItemPoints | hookspecs.DeductionCap | hookspecs.BonusLimit)
ITEM_HOOKS: dict[str, type[Any]] = {
    "policyc_add_items": hookspecs.AddItem,
    "policyc_replace_items": hookspecs.ReplaceItem,
    "policyc_remove_items": hookspecs.RemoveItem,
    "policyc_item_points": hookspecs.ItemPoints,
    "policyc_deduction_caps": hookspecs.DeductionCap,
    "policyc_bonus_limit": hookspecs.BonusLimit,
}


@dataclass(frozen=True)
class PluginSource:
    """Where a plugin came from: its file (for messages and pack headers) and hash."""

    name: str
    path: str
    sha256: str
    text: str


@dataclass
class Findings:
    diagnostics: list[tuple[Diagnostic, str]] = field(default_factory=list)  # with source text

    def error(self, code: str, message: str, span: ast.Span, text: str = "",
              hint: str | None = None) -> None:
        self.diagnostics.append((Diagnostic(code, message, span, hint), text))

    def warn(self, code: str, message: str, span: ast.Span, text: str = "",
             hint: str | None = None) -> None:
        self.diagnostics.append((Diagnostic(code, message, span, hint, "warning"), text))


def plugin_manager(plugin_dirs: Sequence[Path] = (), root: Path | None = None,
                   entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh manager with the hook specs, the plugins of `plugin_dirs` and, optionally,
    those of installed packages. Raises CompileError for a plugin that cannot be loaded."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    problems: list[Diagnostic] = []
    for directory in plugin_dirs:
        for path in sorted(directory.glob("*.py")):
            if path.name.startswith("_"):
                continue
            display = _display(path, root)
            try:
                module = _load_module(path)
            except Exception as error:  # a plugin's own fault, reported as such
                problems.append(Diagnostic("X300", f"plugin {display} cannot be loaded: "
                                           f"{type(error).__name__}: {error}",
                                           ast.Span(display, 1, 1, 1, 1)))
                continue
            manager.register(module, name=display)
    if entry_points:
        try:
            manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as error:
            problems.append(Diagnostic("X300", f"a plugin installed under the entry point "
                                       f"group {ENTRY_POINT_GROUP} cannot be loaded: "
                                       f"{type(error).__name__}: {error}",
                                       ast.Span(ENTRY_POINT_GROUP, 1, 1, 1, 1)))
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as error:
        name = manager.get_name(error.plugin) or "?"
        problems.append(Diagnostic("X301", f"plugin {name}: {error}",
                                   ast.Span(name, 1, 1, 1, 1),
                                   hint="hooks are named policyc_*; see the README's list"))
    if problems:
        raise CompileError(problems)
    return manager


def _display(path: Path, root: Path | None) -> str:
    resolved = path.resolve()
    if root is not None and resolved.is_relative_to(root.resolve()):
        return resolved.relative_to(root.resolve()).as_posix()
    return str(path)


def _load_module(path: Path) -> ModuleType:
    name = f"policy_dsl_plugins.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class CityPlugins:
    """The typed facade over the plugin manager: the rest of the compiler calls this."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager

    def source(self, plugin_name: str) -> PluginSource:
        plugin = self.manager.get_plugin(plugin_name)
        path = getattr(plugin, "__file__", None) or plugin_name
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError:
            text = ""
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return PluginSource(plugin_name, plugin_name, digest, text)

    def _calls(self, hook: str, kwargs: dict[str, object],
               findings: Findings) -> Iterable[tuple[str, list[Any], ast.Span]]:
        """Each plugin's answer to `hook`, checked to be a list of the hook's type."""
        wanted = ITEM_HOOKS.get(hook, hookspecs.CityStandard)
        caller: Any = getattr(self.manager.hook, hook)
        for impl in reversed(caller.get_hookimpls()):  # registration order
            plugin = impl.plugin_name
            span = _span_of(impl.function, plugin)
            text = self.source(plugin).text
            try:
                answer = impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
            except Exception as error:
                findings.error("X302", f"plugin {plugin}, hook {hook}, raised "
                               f"{type(error).__name__}: {error}", span, text)
                continue
            if answer is None:
                continue
            if not isinstance(answer, list | tuple) or not all(
                    isinstance(entry, wanted) for entry in answer):
                findings.error("X303", f"plugin {plugin}, hook {hook}, returned "
                               f"{_shown(answer)}; expected a list of {wanted.__name__}",
                               span, text)
                continue
            yield plugin, list(answer), span

    def city_standards(self, findings: Findings
                       ) -> list[tuple[str, hookspecs.CityStandard, ast.Span]]:
        """Each city standard with the plugin declaring it and where (its hook's line)."""
        found: list[tuple[str, hookspecs.CityStandard, ast.Span]] = []
        for plugin, answers, span in self._calls("policyc_city_standards", {}, findings):
            found.extend((plugin, city, span) for city in answers)
        return found

    def overrides(self, city: hookspecs.CityStandard,
                  findings: Findings) -> list[tuple[str, Override, ast.Span]]:
        collected: list[tuple[str, Override, ast.Span]] = []
        for hook in ITEM_HOOKS:
            for plugin, answers, span in self._calls(hook, {"city": city}, findings):
                collected.extend((plugin, answer, span) for answer in answers)
        return collected


def _span_of(function: Callable[..., object], plugin: str) -> ast.Span:
    try:
        line = inspect.getsourcelines(function)[1]
    except (OSError, TypeError):
        line = 1
    return ast.Span(plugin, line, 1, line, 1)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------- applying overrides


def _target(override: Override) -> int | str:
    if isinstance(override, hookspecs.BonusLimit):
        return "bonus limit"
    if isinstance(override, hookspecs.AddItem):
        return _added_number(override)
    return override.number


def _added_number(override: hookspecs.AddItem | hookspecs.ReplaceItem) -> int:
    """The number written in an item's text (`item 3 ...`), read before parsing it."""
    words = override.text.split()
    for index, word in enumerate(words[:-1]):
        if word == "item" and words[index + 1].isdigit():
            return int(words[index + 1])
    return -1


def _decimal(value: Decimal | int | str) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def apply_overrides(base: ast.Standard, city: hookspecs.CityStandard, plugin_of_city: str,
                    overrides: list[tuple[str, Override, ast.Span]], plugins: CityPlugins,
                    findings: Findings) -> ast.Standard | None:
    """The city's standard: the base with its plugins' overrides, or None after errors."""
    errors_before = sum(1 for d, _ in findings.diagnostics if d.severity == "error")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", str(city.name)) or not isinstance(
            city.version, int) or isinstance(city.version, bool) or not isinstance(
            city.effective_from, dt.date) or not isinstance(city.effective_to, dt.date | None):
        findings.error("X305", f"plugin {plugin_of_city}: a city standard's name is lower-case "
                       f"ASCII (letters, digits, _), its version a year and its period dates; "
                       f"got {city.name!r}, {city.version!r}, {city.effective_from!r}",
                       ast.Span(plugin_of_city, 1, 1, 1, 1), plugins.source(plugin_of_city).text)
        return None
    winners = _resolve_conflicts(overrides, plugins, findings)
    numbers = {item.number for item in base.items}
    categories = [c.label for c in base.categories]
    header = dataclasses.replace(
        base.header, name=city.name, title=city.title, version=city.version,
        effective_from=city.effective_from, effective_to=city.effective_to,
        applies_to=city.applies_to or base.header.applies_to)
    items_by_category: dict[str, list[ast.Item]] = {c.label: list(c.items)
                                                     for c in base.categories}
    for plugin, override, span in winners:
        text = plugins.source(plugin).text
        where = f"plugin {plugin}, {type(override).__name__}"
        points = Decimal(0)
        if isinstance(override, hookspecs.BonusLimit | hookspecs.ItemPoints
                      | hookspecs.DeductionCap):
            given = _decimal(override.points)
            if given is None:
                findings.error("X304", f"{where}: {override.points!r} is not a number of "
                               "points (0 or more)", span, text)
                continue
            points = given
        if isinstance(override, hookspecs.BonusLimit):
            header = dataclasses.replace(header, bonus_limit=points, bonus_limit_reason=None)
            continue
        if isinstance(override, hookspecs.AddItem):
            item = _parse(override.text, plugin, "policyc_add_items", findings, text, span)
            if item is None:
                continue
            if item.number in numbers:
                findings.error("X305", f"{where}: item {item.number} exists already in "
                               f"{base.header.name}", span, text,
                               hint="replace it with ReplaceItem, or give a new number")
            elif override.category not in items_by_category:
                findings.error("X305", f"{where}: no category {override.category!r}", span,
                               text, hint="categories: " + ", ".join(categories))
            else:
                items_by_category[override.category].append(item)
                numbers.add(item.number)
            continue
        located = _locate(items_by_category, override.number)
        if located is None:
            findings.error("X305", f"{where}: no item {override.number} in "
                           f"{base.header.name} (an override names an existing item)", span,
                           text, hint="items: " + ", ".join(str(n) for n in sorted(numbers)))
            continue
        label, index = located
        item = items_by_category[label][index]
        if isinstance(override, hookspecs.RemoveItem):
            del items_by_category[label][index]
            numbers.discard(override.number)
        elif isinstance(override, hookspecs.ReplaceItem):
            new = _parse(override.text, plugin, "policyc_replace_items", findings, text, span)
            if new is not None and new.number != override.number:
                findings.error("X305", f"{where}: the replacing item is numbered {new.number},"
                               f" not {override.number}", span, text)
            elif new is not None:
                items_by_category[label][index] = new
        elif isinstance(override, hookspecs.ItemPoints):
            items_by_category[label][index] = dataclasses.replace(item, points=points)
        else:
            reason = ast.Reason(override.reason, tuple(override.citations), span)
            items_by_category[label][index] = dataclasses.replace(
                item, deduction_cap=ast.DeductionCap(points, reason, span))
    if sum(1 for d, _ in findings.diagnostics if d.severity == "error") > errors_before:
        return None
    # A category's points follow its items once a city changed them; the totals that the
    # standard and its framework fix (100 for deduction items, JL-8) are still checked.
    categories_after = tuple(
        c if tuple(items_by_category[c.label]) == c.items else dataclasses.replace(
            c, items=tuple(items_by_category[c.label]),
            points=sum((i.points for i in items_by_category[c.label]), Decimal(0)))
        for c in base.categories)
    city_standard = dataclasses.replace(base, header=header, categories=categories_after)
    return _without_unused_facts(city_standard)


def _locate(items_by_category: dict[str, list[ast.Item]],
            number: int) -> tuple[str, int] | None:
    for label, items in items_by_category.items():
        for index, item in enumerate(items):
            if item.number == number:
                return label, index
    return None


def _parse(text: str, plugin: str, hook: str, findings: Findings, plugin_text: str,
           span: ast.Span) -> ast.Item | None:
    try:
        return parse_item(text, f"{plugin} ({hook})")
    except CompileError as error:
        for diagnostic in error.diagnostics:
            findings.diagnostics.append((diagnostic, text))
        return None


def _resolve_conflicts(overrides: list[tuple[str, Override, ast.Span]], plugins: CityPlugins,
                       findings: Findings) -> list[tuple[str, Override, ast.Span]]:
    """Overrides of one target by several plugins: the one declaring precedence wins;
    none or several declaring it is a conflict (an error)."""
    by_target: dict[int | str, list[tuple[str, Override, ast.Span]]] = {}
    for entry in overrides:
        by_target.setdefault(_target(entry[1]), []).append(entry)
    kept: list[tuple[str, Override, ast.Span]] = []
    for target, entries in by_target.items():
        owners = sorted({plugin for plugin, _, _ in entries})
        if len(owners) == 1:
            kept.extend(entries)
            continue
        first = entries[0]
        what = "the bonus limit" if target == "bonus limit" else f"item {target}"
        with_precedence = sorted({p for p, o, _ in entries if o.precedence})
        if len(with_precedence) != 1:
            findings.error("X306", f"plugins {', '.join(owners)} all override {what}",
                           first[2], plugins.source(first[0]).text,
                           hint="one of them may declare precedence=True to take precedence")
            continue
        winner = with_precedence[0]
        for plugin in owners:
            if plugin != winner:
                findings.warn("W307", f"plugin {winner} takes precedence over plugin {plugin} "
                              f"for {what}", first[2], plugins.source(first[0]).text)
        kept.extend(e for e in entries if e[0] == winner)
    return kept


def _without_unused_facts(standard: ast.Standard) -> ast.Standard:
    """Facts that only removed or replaced items used are dropped with them."""
    used = used_names(standard)
    facts = tuple(f for f in standard.facts if f.name in used)
    if len(facts) == len(standard.facts):
        return standard
    return _without_unused_facts(dataclasses.replace(standard, facts=facts))
