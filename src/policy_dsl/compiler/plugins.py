"""The plugin stage: a base standard's AST and the city plugins' overrides -> a city's AST.

Plugins come from `plugins/*.py` and from installed packages (entry point group
`policy_dsl.plugins`), loaded the same way into one pluggy manager. `CityPlugins` is the
typed facade over it: it calls each plugin's hook on its own, so that a plugin that raises or
returns nonsense is named, with its hook, in the error.

A plugin is someone else's code running inside the build, so every import of a plugin and
every hook call runs in a worker thread bounded by `HOOK_TIME_LIMIT` seconds: whatever it
does (raise, call `sys.exit`, raise `KeyboardInterrupt` or `BaseException`, loop forever)
becomes an error naming the plugin file, the hook and the line, and the build fails (exit 1).
A call past the bound is abandoned (its daemon thread is left to the end of the process) and
reported. What a hook returns is checked field by field before it is used.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import importlib.metadata
import importlib.util
import inspect
import os
import re
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import ast, hookspecs
from .diagnostics import CompileError, Diagnostic
from .overrides import ItemTable, without_unused_facts
from .parser import parse_item

ENTRY_POINT_GROUP = "policy_dsl.plugins"
HOOK_PREFIX = "policyc_"
# Seconds a plugin's import, or one call of one hook, may take before it is abandoned;
# the environment variable POLICYC_HOOK_SECONDS sets another bound (e.g. on a slow machine).
HOOK_TIME_LIMIT = 5.0

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
    those of installed packages. Raises CompileError naming every plugin that cannot be
    loaded or registered (a module-level error, a misnamed parameter, a hook-like function
    without @hookimpl, an unknown hook)."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    problems: list[Diagnostic] = []
    for directory in plugin_dirs:
        for path in sorted(directory.glob("*.py")):
            if path.name.startswith("_"):
                continue
            display = _display(path, root)
            loaded = bounded_call(_load_module, {"path": path})
            if loaded.failed:
                problems.append(_load_problem(loaded, display, path))
                continue
            _register(manager, loaded.value, display, problems)
    if entry_points:
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            display = f"{entry_point.value} (entry point {entry_point.name} in "\
                      f"{ENTRY_POINT_GROUP})"
            loaded = bounded_call(entry_point.load, {})
            if loaded.failed:
                problems.append(_load_problem(loaded, display, None))
                continue
            _register(manager, loaded.value, display, problems)
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
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _load_problem(loaded: Call, display: str, path: Path | None) -> Diagnostic:
    """X300: a plugin's module fails at import (a syntax error, an exception, sys.exit, a
    loop), at the line where it failed."""
    error = loaded.error
    if isinstance(error, SyntaxError) and error.lineno:
        line, column = error.lineno, max(1, error.offset or 1)
        what = f"has a syntax error: {error.msg}"
    else:
        line, column = _line_in(error, path) if error is not None else 1, 1
        what = loaded.describe("importing it")
    return Diagnostic("X300", f"plugin {display} cannot be loaded: {what}",
                      ast.Span(display, line, column, line, column + 1),
                      hint="a plugin module only defines its hooks; do the work inside them")


def _register(manager: pluggy.PluginManager, plugin: object, display: str,
              problems: list[Diagnostic]) -> None:
    """Register a loaded plugin after checking its hook functions (X301, X309)."""
    found = _hook_problems(plugin, display)
    if not found:
        try:
            manager.register(plugin, name=display)
        except Exception as error:  # pluggy's own validation, should ours miss a case
            found.append(Diagnostic("X301", f"plugin {display}: {error}",
                                    ast.Span(display, 1, 1, 1, 1)))
    problems.extend(found)


def _hook_problems(plugin: object, display: str) -> list[Diagnostic]:
    """Hook functions pluggy would refuse or silently ignore: an unknown hook name (X301), a
    parameter the hook does not give (X301), a policyc_* function without @hookimpl (X309)."""
    specs = {name: inspect.signature(getattr(hookspecs, name)).parameters
             for name in dir(hookspecs) if name.startswith(HOOK_PREFIX)}
    marker = f"{hookspecs.PROJECT}_impl"
    found = []
    for name in sorted(dir(plugin)):
        try:
            function = getattr(plugin, name)
        except Exception:  # a property that raises is not a hook
            continue
        if not callable(function):
            continue
        marked = getattr(function, marker, None) is not None
        if not marked:
            if name.startswith(HOOK_PREFIX) and _defined_in(function, plugin):
                found.append(Diagnostic(
                    "X309", f"plugin {display}: function {name} is named like a hook but is "
                    "not marked @hookimpl, so it would never be called", _span_of(function,
                                                                                  display),
                    hint="put @hookimpl (from policy_dsl.plugin import hookimpl) above it, "
                    f"or rename it so it does not start with {HOOK_PREFIX}"))
            continue
        if name not in specs:
            close = difflib.get_close_matches(name, list(specs), n=1)
            found.append(Diagnostic(
                "X301", f"plugin {display}: {name} is marked @hookimpl but there is no such "
                "hook", _span_of(function, display),
                hint=f"did you mean {close[0]}?" if close else
                "hooks: " + ", ".join(sorted(specs))))
            continue
        unknown = [p for p in _parameters(function) if p not in specs[name]]
        if unknown:
            found.append(Diagnostic(
                "X301", f"plugin {display}: hook {name} takes "
                f"{', '.join(repr(p) for p in unknown)}, which the hook does not give",
                _span_of(function, display),
                hint=f"{name} gives: {', '.join(specs[name]) or 'nothing'}"))
    return found


def _defined_in(function: object, plugin: object) -> bool:
    """A function of the plugin itself (a module's own function, an object's method), not
    one it imported."""
    if isinstance(plugin, ModuleType):
        return getattr(function, "__module__", None) == plugin.__name__
    return True


def _parameters(function: Callable[..., object]) -> list[str]:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters
            if p.kind in {p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY}
            and p.default is p.empty]


def hook_time_limit() -> float:
    """HOOK_TIME_LIMIT, or POLICYC_HOOK_SECONDS when it holds a positive number."""
    try:
        given = float(os.environ.get("POLICYC_HOOK_SECONDS", ""))
    except ValueError:
        return HOOK_TIME_LIMIT
    return given if 0 < given < 3600 else HOOK_TIME_LIMIT


@dataclass
class Call:
    """How a bounded call of a plugin's code ended: it returned `value`, raised `error`
    (any BaseException, `SystemExit` included), or was still running at the bound."""

    value: Any = None
    error: BaseException | None = None
    timed_out: bool = False

    @property
    def failed(self) -> bool:
        return self.timed_out or self.error is not None

    def describe(self, doing: str) -> str:
        if self.timed_out:
            return f"did not finish {doing} within {hook_time_limit():g} s (abandoned)"
        error = self.error
        if isinstance(error, SystemExit):
            return f"called sys.exit({error.code!r}) while {doing}"
        try:
            text = str(error)
        except Exception:  # an exception whose str fails
            text = "?"
        text = text if len(text) <= 200 else text[:197] + "..."
        return f"raised {type(error).__name__}: {text}" if text else \
            f"raised {type(error).__name__}"


def bounded_call(function: Callable[..., Any], kwargs: Mapping[str, object],
                 limit: float | None = None) -> Call:
    """Run a plugin's function in a daemon thread and wait at most `limit` seconds
    (HOOK_TIME_LIMIT by default); nothing it raises or does reaches the caller."""
    call = Call(timed_out=True)

    def run() -> None:
        try:
            call.value = function(**kwargs)
        except BaseException as error:  # a plugin may raise anything, SystemExit included
            call.error = error
        call.timed_out = False

    worker = threading.Thread(target=run, name="policyc-plugin", daemon=True)
    worker.start()
    worker.join(hook_time_limit() if limit is None else limit)
    if worker.is_alive():
        return Call(timed_out=True)
    return call


def _line_in(error: BaseException, path: Path | str | None) -> int:
    """The line of `path` (a plugin's file) where `error` was raised, its deepest frame
    there; 1 when it was raised elsewhere."""
    if path is None:
        return 1
    wanted = str(Path(path).resolve())
    line = 1
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename and str(Path(frame.filename).resolve()) == wanted and frame.lineno:
            line = frame.lineno
    return line


class CityPlugins:
    """The typed facade over the plugin manager: the rest of the compiler calls this."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager

    def source(self, plugin_name: str) -> PluginSource:
        plugin = self.manager.get_plugin(plugin_name)
        path = getattr(plugin, "__file__", None) or plugin_name
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, ValueError):  # gone, or not UTF-8 (then it failed to load already)
            text = ""
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return PluginSource(plugin_name, plugin_name, digest, text)

    def _calls(self, hook: str, kwargs: dict[str, object],
               findings: Findings) -> Iterable[tuple[str, list[Any], ast.Span]]:
        """Each plugin's answer to `hook`, each call bounded in time, checked to be a list of
        the hook's type whose fields have the right types."""
        wanted = ITEM_HOOKS.get(hook, hookspecs.CityStandard)
        caller: Any = getattr(self.manager.hook, hook)
        for impl in reversed(caller.get_hookimpls()):  # registration order
            plugin = impl.plugin_name
            span = _span_of(impl.function, plugin)
            source = self.source(plugin)
            call = bounded_call(impl.function,
                                {k: v for k, v in kwargs.items() if k in impl.argnames})
            if call.failed:
                where = span
                if call.error is not None:
                    path = getattr(impl.plugin, "__file__", None)
                    line = _line_in(call.error, path)
                    where = span if line == 1 else _line_span(plugin, line, source.text)
                code = "X308" if call.timed_out else "X302"
                findings.error(code, f"plugin {plugin}, hook {hook}, "
                               f"{call.describe('running')}", where, source.text,
                               hint=_FAILURE_HINTS[code])
                continue
            answer = call.value
            if answer is None:
                continue
            if not isinstance(answer, list | tuple) or not all(
                    isinstance(entry, wanted) for entry in answer):
                findings.error("X303", f"plugin {plugin}, hook {hook}, returned "
                               f"{_shown(answer)}; expected a list of {wanted.__name__}",
                               span, source.text)
                continue
            problems = [p for entry in answer for p in field_problems(entry)]
            for problem in problems:
                findings.error("X303", f"plugin {plugin}, hook {hook}, returned "
                               f"{wanted.__name__} with {problem}", span, source.text,
                               hint=f"see {wanted.__name__} in policy_dsl.plugin for the "
                               "type of each field")
            if not problems:
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


_FAILURE_HINTS = {
    "X302": "a hook returns its overrides (or None); it never ends the build itself",
    "X308": "a hook call may take at most a few seconds (POLICYC_HOOK_SECONDS); look for a "
            "loop that does not end, or work that belongs outside the build",
}


def _span_of(function: Callable[..., object], plugin: str) -> ast.Span:
    try:
        line = inspect.getsourcelines(function)[1]
    except (OSError, TypeError):
        line = 1
    return ast.Span(plugin, line, 1, line, 1)


def _line_span(plugin: str, line: int, text: str) -> ast.Span:
    """A plugin file's line, from its first non-blank character to its end."""
    lines = text.split("\n")
    shown = lines[line - 1].rstrip() if line <= len(lines) else ""
    column = len(shown) - len(shown.lstrip()) + 1
    return ast.Span(plugin, line, column, line, max(column + 1, len(shown) + 1))


def _shown(value: object, limit: int = 60) -> str:
    try:
        text = repr(value)
    except Exception:  # a plugin's object whose repr fails
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


# ---------------------------------------------------------------- what hooks return

_CITE = re.compile(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)?")  # a reading id, as rule files cite them


def _whole(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return None
    return "a whole number (1 or more)"


def _points(value: object) -> str | None:
    if isinstance(value, Decimal | int | str) and not isinstance(value, bool):
        return None
    return "points as a Decimal, an int or a text such as '2.5' (not a float)"


def _text(value: object) -> str | None:
    return None if isinstance(value, str) and value.strip() else "a non-empty text"


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _flag(value: object) -> str | None:
    return None if isinstance(value, bool) else "True or False"


def _date(value: object) -> str | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return None
    return "a datetime.date"


def _optional_date(value: object) -> str | None:
    return None if value is None else _date(value)


def _year(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 9998:
        return None
    return "a year (a whole number)"


def _citations(value: object) -> str | None:
    if isinstance(value, list | tuple) and all(
            isinstance(c, str) and _CITE.fullmatch(c) for c in value):
        return None
    return "a list of reading ids such as ['SZ-1', 'G4'] (not one text)"


FIELD_TYPES: dict[type[Any], dict[str, Callable[[object], str | None]]] = {
    hookspecs.CityStandard: {"base": _text, "name": _text, "title": _text, "version": _year,
                             "effective_from": _date, "effective_to": _optional_date,
                             "applies_to": _optional_text},
    hookspecs.AddItem: {"category": _text, "text": _text, "precedence": _flag},
    hookspecs.ReplaceItem: {"number": _whole, "text": _text, "precedence": _flag},
    hookspecs.RemoveItem: {"number": _whole, "precedence": _flag},
    hookspecs.ItemPoints: {"number": _whole, "points": _points, "precedence": _flag},
    hookspecs.DeductionCap: {"number": _whole, "points": _points, "reason": _text,
                             "citations": _citations, "precedence": _flag},
    hookspecs.BonusLimit: {"points": _points, "precedence": _flag},
}


def field_problems(entry: object) -> list[str]:
    """Each field of a hook's returned object that has the wrong type, as `name=value:
    expected ...` (the dataclasses do not check their fields; a plugin may put anything)."""
    checks = FIELD_TYPES.get(type(entry), {})
    found = []
    for name, check in checks.items():
        value = getattr(entry, name, None)
        expected = check(value)
        if expected is not None:
            found.append(f"{name}={_shown(value)}: expected {expected}")
    return found


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
                    findings: Findings, city_span: ast.Span | None = None,
                    ) -> ast.Standard | None:
    """The city's standard: the base with its plugins' overrides, or None after errors.
    `city_span` is where the plugin declares the city (its hook's line)."""
    errors_before = sum(1 for d, _ in findings.diagnostics if d.severity == "error")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", str(city.name)) or not isinstance(
            city.version, int) or isinstance(city.version, bool) or not isinstance(
            city.effective_from, dt.date) or not isinstance(city.effective_to, dt.date | None):
        findings.error("X311", f"plugin {plugin_of_city}: a city standard's name is lower-case "
                       f"ASCII (letters, digits, _), its version a year and its period dates; "
                       f"got {city.name!r}, {city.version!r}, {city.effective_from!r}",
                       city_span or ast.Span(plugin_of_city, 1, 1, 1, 1),
                       plugins.source(plugin_of_city).text)
        return None
    winners = _resolve_conflicts(overrides, plugins, findings)
    table = ItemTable(base.categories)
    categories = [c.label for c in base.categories]
    header = dataclasses.replace(
        base.header, name=city.name, title=city.title, version=city.version,
        effective_from=city.effective_from, effective_to=city.effective_to,
        applies_to=city.applies_to or base.header.applies_to)
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
            if table.get(item.number) is not None:
                findings.error("X313", f"{where}: item {item.number} exists already in "
                               f"{base.header.name}", span, text,
                               hint="replace it with ReplaceItem, or give a new number")
            elif override.category not in table.items:
                findings.error("X312", f"{where}: no category {override.category!r}", span,
                               text, hint="categories: " + ", ".join(categories))
            else:
                table.add(override.category, item)
            continue
        if table.get(override.number) is None:
            findings.error("X312", f"{where}: no item {override.number} in "
                           f"{base.header.name} (an override names an existing item)", span,
                           text, hint="items: " + ", ".join(str(n) for n in table.numbers))
            continue
        if isinstance(override, hookspecs.RemoveItem):
            table.remove(override.number)
        elif isinstance(override, hookspecs.ReplaceItem):
            new = _parse(override.text, plugin, "policyc_replace_items", findings, text, span)
            if new is not None and new.number != override.number:
                findings.error("X314", f"{where}: the replacing item is numbered {new.number},"
                               f" not {override.number}", span, text)
            elif new is not None:
                table.put(new)
        elif isinstance(override, hookspecs.ItemPoints):
            table.set_points(override.number, points)
        else:
            reason = ast.Reason(override.reason, tuple(override.citations), span)
            table.set_cap(override.number, ast.DeductionCap(points, reason, span))
    if sum(1 for d, _ in findings.diagnostics if d.severity == "error") > errors_before:
        return None
    city_standard = dataclasses.replace(base, header=header, categories=table.result())
    return without_unused_facts(city_standard)


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
