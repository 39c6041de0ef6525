"""The inherit stage, between parse and check: `standard X based on Y { ... }` -> X's AST.

A derived standard starts from its base's header, declarations and items and applies its own
changes (`replace item`, `remove item`, `item N points`, `item N cap deductions at`, `text item
N`, `add to category "..." { item ... }`, `replace fact`, `remove fact`, new declarations, header
fields). Every change is checked here: it names an item or fact the base has (B503, B504),
at most once (B506); a new declaration does not take a name the base uses (B509); a removed
fact is no longer used (B505). The result is checked by the checker like any standard.

The base is a standard of the same region by its name (`based on medical_inpatient`), or any
pack by its pack name (`based on suzhou/inpatient-2023`): naming the region is what makes a
base in another region explicit. A base may itself be derived; a cycle is an error naming the
chain (B502). The derived standard names every rule file it was made from (`bases`), so its
pack's provenance covers them.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from . import ast
from .checker import used_names
from .diagnostics import Diagnostic
from .overrides import ItemTable, without_unused_facts

# A chain of bases longer than this is surely a mistake (and bounds the resolution's passes).
MAX_CHAIN = 16


def resolve(standards: Sequence[ast.Standard], texts: Mapping[str, str],
            ) -> tuple[dict[str, ast.Standard], list[Diagnostic]]:
    """Every standard by its path, derived ones resolved against their bases (`texts`: each
    rule file's text by path). A derived standard that cannot be resolved is left out, with
    its errors in the diagnostics."""
    resolved = {s.path: s for s in standards if s.based_on is None}
    failed: list[ast.Standard] = []  # derived standards with errors of their own
    waiting = [s for s in standards if s.based_on is not None]
    found: list[Diagnostic] = []
    for _ in range(MAX_CHAIN + 1):  # each pass resolves every standard whose base is ready
        still = []
        for standard in waiting:
            base, problem = _find_base(standard, list(resolved.values()),
                                       [s for s in standards if s not in failed])
            if problem is not None:
                found.append(problem)
                failed.append(standard)
            elif base is None:
                still.append(standard)  # its base is derived and not resolved yet
            else:
                derived, problems = derive(standard, base, texts.get(base.path, ""))
                found.extend(problems)
                if derived is None:
                    failed.append(standard)
                else:
                    resolved[standard.path] = derived
        if len(still) == len(waiting):
            break
        waiting = still
    # What still waits names a base that waits too: a cycle, or a chain over MAX_CHAIN
    found.extend(_cycle(standard, waiting) for standard in waiting)
    return resolved, found


def region_of(standard: ast.Standard) -> str:
    """The region a standard's bare base names are looked up in: its own, or (a derived
    standard may inherit it) the folder of its rule file (regions/<region>/...)."""
    return standard.header.region or PurePosixPath(standard.path).parent.name


def _pack_name(standard: ast.Standard) -> str:
    header = standard.header
    return f"{header.region}/{header.name.replace('_', '-')}-{header.version}"


def _matches(reference: str, standard: ast.Standard, region: str) -> bool:
    if "/" in reference:
        return _pack_name(standard) == reference
    return standard.header.name == reference and region_of(standard) == region


def _find_base(standard: ast.Standard, ready: Sequence[ast.Standard],
               every: Sequence[ast.Standard]) -> tuple[ast.Standard | None, Diagnostic | None]:
    """The base a derived standard names, among the standards resolved so far; (None, None)
    when it is a derived standard not resolved yet; an error when none or several match."""
    assert standard.based_on is not None
    reference, span = standard.based_on.name, standard.based_on.span
    region = region_of(standard)
    if _matches(reference, standard, region) or _could_match(reference, standard, region):
        return None, Diagnostic("B502", f"standard {standard.header.name} is based on itself",
                                span, hint="name another standard, or remove `based on`")
    candidates = [s for s in ready if s.path != standard.path and _matches(reference, s, region)]
    if len(candidates) > 1:
        names = ", ".join(sorted(_pack_name(s) for s in candidates))
        return None, Diagnostic("B508", f"'{reference}' names several standards: {names}",
                                span, hint=f"name one by its pack name, e.g. `based on "
                                f"{sorted(_pack_name(s) for s in candidates)[0]}`")
    if candidates:
        return candidates[0], None
    if any(s.based_on is not None and s.path != standard.path
           and _could_match(reference, s, region) for s in every):
        return None, None  # a derived standard not resolved yet (or never: a cycle)
    others = [s for s in ready if s.header.name == reference.split("/")[-1].rsplit("-", 1)[0]
              .replace("-", "_") or s.header.name == reference]
    hint = None
    if "/" not in reference and others:
        hint = ("a base in another region is named with its region: `based on "
                f"{_pack_name(others[0])}`")
    else:
        known = sorted({_pack_name(s) for s in ready} | {s.header.name for s in ready
                                                         if region_of(s) == region})
        close = difflib.get_close_matches(reference, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else \
            "bases: " + ", ".join(known) if known else None
    return None, Diagnostic("B501", f"no standard '{reference}' to base {standard.header.name} "
                            "on" + ("" if "/" in reference else f" in region {region}"),
                            span, hint=hint)


def _could_match(reference: str, standard: ast.Standard, region: str) -> bool:
    """A derived standard not resolved yet that may turn out to be the base named (its
    region and version may come from its own base)."""
    name = standard.header.name
    if "/" in reference:
        return reference.split("/", 1)[1].startswith(name.replace("_", "-") + "-")
    return name == reference and region_of(standard) == region


def _cycle(standard: ast.Standard, waiting: Sequence[ast.Standard]) -> Diagnostic:
    """B502 for a derived standard whose base is never resolved: the chain back to itself."""
    chain = [standard]
    while len(chain) <= len(waiting):
        current = chain[-1]
        assert current.based_on is not None
        following = next((s for s in waiting if s.path != current.path and _could_match(
            current.based_on.name, s, region_of(current))), None)
        if following is None or following in chain:
            if following is not None:
                chain.append(following)
            break
        chain.append(following)
    names = " -> ".join(f"{s.header.name} ({s.path})" for s in chain)
    assert standard.based_on is not None
    return Diagnostic("B502", f"standard {standard.header.name} is based on itself through "
                      f"its bases: {names}", standard.based_on.span,
                      hint="one standard of the chain must stand on its own (no `based on`)")


# ---------------------------------------------------------------- one derived standard


def derive(standard: ast.Standard, base: ast.Standard, base_text: str,
           ) -> tuple[ast.Standard | None, list[Diagnostic]]:
    """`standard` (its header, declarations and overrides) over `base` (resolved), or None
    with the errors."""
    found: list[Diagnostic] = []
    base_name = base.header.name

    def error(code: str, message: str, span: ast.Span, hint: str | None = None) -> None:
        found.append(Diagnostic(code, message, span, hint))

    declarations: dict[str, list[Any]] = {}
    for kind in ("enums", "records", "lets", "cohorts", "facts"):
        mine = getattr(standard, kind)
        theirs = {d.name for d in getattr(base, kind)}
        for declaration in mine:
            if declaration.name in theirs:
                kind_word = "fact" if kind == "facts" else kind[:-1]
                error("B509", f"{base_name} declares {kind_word} '{declaration.name}' already",
                      declaration.span, hint=f"`replace fact {declaration.name} ...` changes "
                      "it" if kind == "facts" else "give the new one a name of its own")
        declarations[kind] = [*getattr(base, kind), *mine]

    facts = {f.name: f for f in base.facts}
    table = ItemTable(base.categories)
    for category in standard.categories:
        if category.label in table.items:
            error("B509", f"{base_name} has a category {category.label!r} already",
                  category.span, hint=f'add items to it with `add to category "{category.label}" '
                  "{ item ... }`")
        else:
            taken = [i.number for i in category.items if table.get(i.number) is not None]
            for number in taken:
                error("B509", f"{base_name} has an item {number} already", category.span,
                      hint=f"`replace item {number} ...` changes it")
            if not taken:
                table.add_category(category)

    seen: dict[tuple[int, str], ast.Span] = {}
    removed_facts: list[tuple[ast.RemoveFact, ast.FactDecl]] = []
    for override in standard.overrides:
        if isinstance(override, ast.ReplaceFact | ast.RemoveFact):
            name = override.fact.name if isinstance(override, ast.ReplaceFact) else override.name
            if name not in facts:
                error("B504", f"{base_name} has no fact '{name}'", override.span,
                      hint=_hint(name, list(facts), "facts"))
            elif _once(seen, (-1, name), override.span, f"fact '{name}'", error):
                if isinstance(override, ast.RemoveFact):
                    removed_facts.append((override, facts.pop(name)))
                else:
                    facts[name] = override.fact
            continue
        if isinstance(override, ast.AddItems):
            if override.category not in table.items:
                error("B503", f"{base_name} has no category {override.category!r}",
                      override.span, hint=_hint(override.category, list(table.items),
                                                "categories"))
                continue
            for item in override.items:
                if table.get(item.number) is not None:
                    error("B509", f"{base_name} has an item {item.number} already", item.span,
                          hint=f"`replace item {item.number} ...` changes it")
                else:
                    table.add(override.category, item)
            continue
        number = override.item.number if isinstance(override, ast.ReplaceItem) \
            else override.number
        aspect = _aspect(override)
        whole = seen.get((number, "whole"))
        if whole is None and table.get(number) is None:
            error("B503", f"{base_name} has no item {number}", override.span,
                  hint="items: " + ", ".join(str(n) for n in table.numbers))
            continue
        if whole is not None or (aspect == "whole" and any(
                key[0] == number for key in seen)):
            earlier = whole or next(s for k, s in seen.items() if k[0] == number)
            error("B506", f"item {number} is changed twice (also on line {earlier.line}); "
                  "replacing or removing it excludes any other change",
                  override.span, hint="keep one: a replacing item says everything itself")
            continue
        if not _once(seen, (number, aspect), override.span, f"item {number}'s {aspect}",
                     error):
            continue
        if isinstance(override, ast.ReplaceItem):
            table.put(override.item)
        elif isinstance(override, ast.RemoveItem):
            table.remove(number)
        elif isinstance(override, ast.ItemPoints):
            table.set_points(number, override.points, override.span)
        elif isinstance(override, ast.ItemCap):
            table.set_cap(number, override.cap)
        else:
            table.set_text(number, override.kind, override.text, override.span)

    header = _header(standard.header, base.header)
    derived = dataclasses.replace(
        base, header=header, categories=table.result(),
        enums=tuple(declarations["enums"]), records=tuple(declarations["records"]),
        lets=tuple(declarations["lets"]), cohorts=tuple(declarations["cohorts"]),
        facts=tuple(facts.values()) + standard.facts,
        path=standard.path, source_sha256=standard.source_sha256, based_on=standard.based_on,
        overrides=(), bases=(ast.BaseSource(base.path, base.source_sha256, base_text),
                             *base.bases))
    if not found and removed_facts:
        # what would use the removed facts, were they still declared
        probe = dataclasses.replace(derived, facts=derived.facts + tuple(
            fact for _, fact in removed_facts))
        used = used_names(probe)
        for removal, _ in removed_facts:
            if removal.name in used:
                users = [str(i.number) for i in probe.items
                         if removal.name in _used_by(probe, i)]
                where = f"item {', '.join(users)}" if users else "a declaration"
                error("B505", f"fact '{removal.name}' is removed but {where} still uses it",
                      removal.span, hint="remove or replace what uses it too, or keep the "
                      "fact")
    if found:
        return None, found
    # Facts that only removed or replaced items used go with them, as for city plugins;
    # the new standard's own facts stay (the checker reports one that nothing uses).
    own = {f.name for f in standard.facts}
    trimmed = without_unused_facts(derived)
    kept = {f.name for f in trimmed.facts} | own
    return dataclasses.replace(derived, facts=tuple(f for f in derived.facts
                                                    if f.name in kept)), []


def _used_by(standard: ast.Standard, item: ast.Item) -> set[str]:
    """The names one item's rules use (the standard reduced to that item alone)."""
    alone = dataclasses.replace(standard.categories[0], items=(item,))
    return used_names(dataclasses.replace(standard, categories=(alone,), lets=(),
                                          cohorts=()))


def _aspect(override: ast.Override) -> str:
    if isinstance(override, ast.ReplaceItem | ast.RemoveItem):
        return "whole"
    if isinstance(override, ast.ItemPoints):
        return "points"
    if isinstance(override, ast.ItemCap):
        return "deduction cap"
    assert isinstance(override, ast.ItemText)
    return f"{override.kind} text"


def _once(seen: dict[tuple[int, str], ast.Span], key: tuple[int, str], span: ast.Span,
          what: str, error: Callable[..., None]) -> bool:
    earlier = seen.get(key)
    if earlier is not None:
        error("B506", f"{what} is changed twice (also on line {earlier.line})", span,
              "keep one of the two")
        return False
    seen[key] = span
    return True


def _hint(name: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"did you mean '{close[0]}'?" if close else f"{what}: " + ", ".join(known)


def _header(mine: ast.Header, base: ast.Header) -> ast.Header:
    """The derived standard's header: each field it gives, else the base's."""
    values: dict[str, Any] = {}
    for item in dataclasses.fields(ast.Header):
        given = getattr(mine, item.name)
        values[item.name] = given if given is not None else getattr(base, item.name)
    values["name"], values["span"] = mine.name, mine.span
    values["bonus_included"] = mine.bonus_included or base.bonus_included
    if mine.effective_from is not None:  # `effective A to B|open` is one field: `open` too
        values["effective_to"] = mine.effective_to
    if mine.bonus_limit is not None:
        values["bonus_limit_reason"] = mine.bonus_limit_reason
    return ast.Header(**values)
