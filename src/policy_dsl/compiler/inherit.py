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
from typing import Any, TypeVar

from . import ast, diff, printer
from .checker import used_names
from .diagnostics import Diagnostic, Related
from .formatter import without_spans
from .overrides import ItemTable, without_unused_facts

# A chain of bases longer than this is surely a mistake (and bounds the resolution's passes).
MAX_CHAIN = 16


def resolve(standards: Sequence[ast.Standard], texts: Mapping[str, str],
            ) -> tuple[dict[str, ast.Standard], list[Diagnostic]]:
    """Every standard by its path, derived ones resolved against their bases and items taken
    from other standards put in place (`texts`: each rule file's text by path). A standard
    that cannot be resolved is left out, with its errors in the diagnostics."""
    resolved = {s.path: s for s in standards if not _depends(s)}
    failed: list[ast.Standard] = []  # standards with errors of their own
    waiting = [s for s in standards if _depends(s)]
    found: list[Diagnostic] = []
    for _ in range(MAX_CHAIN + 1):  # each pass resolves every standard whose bases are ready
        still = []
        for standard in waiting:
            every = [s for s in standards if s not in failed]
            sources: list[ast.Standard] = []
            problems: list[Diagnostic] = []
            pending = False
            for reference in _references(standard):
                source, problem = _find_base(standard, reference, list(resolved.values()),
                                             every)
                if problem is not None:
                    problems.append(problem)
                elif source is None:
                    pending = True  # a standard that depends on others, not resolved yet
                else:
                    sources.append(source)
            if problems:
                found.extend(problems)
                failed.append(standard)
            elif pending:
                still.append(standard)
            else:
                made, problems = _resolve_one(standard, sources, texts)
                found.extend(problems)
                if made is None:
                    failed.append(standard)
                else:
                    resolved[standard.path] = made
        if len(still) == len(waiting):
            break
        waiting = still
    # What still waits names a standard that waits too: a cycle, or a chain over MAX_CHAIN
    found.extend(_cycle(standard, waiting) for standard in waiting)
    return resolved, found


def _depends(standard: ast.Standard) -> bool:
    """Whether a standard is made with others: based on one, or taking items from some."""
    return standard.based_on is not None or bool(standard.takes)


def _references(standard: ast.Standard) -> list[ast.BaseRef]:
    """The standards a standard names: its base first, then where its taken items come from."""
    base = [] if standard.based_on is None else [standard.based_on]
    return base + [take.source for take in standard.takes]


def _resolve_one(standard: ast.Standard, sources: Sequence[ast.Standard],
                 texts: Mapping[str, str]) -> tuple[ast.Standard | None, list[Diagnostic]]:
    """One standard whose bases are resolved (`sources`, in `_references` order): its taken
    items put in place, then its changes applied to its base."""
    base = sources[0] if standard.based_on is not None else None
    if standard.takes:
        taken_from = sources[1:] if base is not None else sources
        made, problems = take_items(standard, list(zip(standard.takes, taken_from,
                                                       strict=True)), texts, base)
        if made is None:
            return None, problems
        standard = made
    if base is None:
        return standard, []
    return derive(standard, base, texts.get(base.path, ""))


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


def _find_base(standard: ast.Standard, reference_ref: ast.BaseRef,
               ready: Sequence[ast.Standard], every: Sequence[ast.Standard],
               ) -> tuple[ast.Standard | None, Diagnostic | None]:
    """The standard a reference names (a `based on`, or an `item N from`), among the standards
    resolved so far; (None, None) when it is one that depends on others and is not resolved
    yet; an error when none or several match."""
    reference, span = reference_ref.name, reference_ref.span
    taking = reference_ref is not standard.based_on
    verb = "take items from" if taking else f"base {standard.header.name} on"
    keyword = "from" if taking else "based on"
    region = region_of(standard)
    if _matches(reference, standard, region) or _could_match(reference, standard, region):
        if taking:
            return None, Diagnostic("B502", f"standard {standard.header.name} takes an item "
                                    "from itself", span, hint="name another standard, or "
                                    "write the item out")
        return None, Diagnostic("B502", f"standard {standard.header.name} is based on itself",
                                span, hint="name another standard, or remove `based on`")
    candidates = [s for s in ready if s.path != standard.path and _matches(reference, s, region)]
    if len(candidates) > 1:
        names = ", ".join(sorted(_pack_name(s) for s in candidates))
        return None, Diagnostic("B508", f"'{reference}' names several standards: {names}",
                                span, hint=f"name one by its pack name, e.g. `{keyword} "
                                f"{sorted(_pack_name(s) for s in candidates)[0]}`")
    if candidates:
        return candidates[0], None
    if any(_depends(s) and s.path != standard.path
           and _could_match(reference, s, region) for s in every):
        return None, None  # a standard made with others, not resolved yet (or never: a cycle)
    others = [s for s in ready if s.header.name == reference.split("/")[-1].rsplit("-", 1)[0]
              .replace("-", "_") or s.header.name == reference]
    hint = None
    if "/" not in reference and others:
        hint = (f"a {'standard' if taking else 'base'} in another region is named with "
                f"its region: `{keyword} {_pack_name(others[0])}`")
    else:
        known = sorted({_pack_name(s) for s in ready} | {s.header.name for s in ready
                                                         if region_of(s) == region})
        close = difflib.get_close_matches(reference, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else \
            ("standards: " if taking else "bases: ") + ", ".join(known) if known else None
    return None, Diagnostic("B501", f"no standard '{reference}' to {verb}"
                            + ("" if "/" in reference else f" in region {region}"),
                            span, hint=hint)


def _could_match(reference: str, standard: ast.Standard, region: str) -> bool:
    """A derived standard not resolved yet that may turn out to be the base named (its
    region and version may come from its own base)."""
    name = standard.header.name
    if "/" in reference:
        return reference.split("/", 1)[1].startswith(name.replace("_", "-") + "-")
    return name == reference and region_of(standard) == region


def _cycle(standard: ast.Standard, waiting: Sequence[ast.Standard]) -> Diagnostic:
    """B502 for a standard whose bases are never resolved: the chain back to itself."""
    def following(current: ast.Standard) -> tuple[ast.BaseRef, ast.Standard | None]:
        references = _references(current)
        for reference in references:
            found = next((s for s in waiting if s.path != current.path and _could_match(
                reference.name, s, region_of(current))), None)
            if found is not None:
                return reference, found
        return references[0], None

    first, _ = following(standard)
    chain = [standard]
    while len(chain) <= len(waiting):
        _, after = following(chain[-1])
        if after is None or after in chain:
            if after is not None:
                chain.append(after)
            break
        chain.append(after)
    names = " -> ".join(f"{s.header.name} ({s.path})" for s in chain)
    how = "is based on itself" if first is standard.based_on else "takes an item from itself"
    return Diagnostic("B502", f"standard {standard.header.name} {how} through the standards "
                      f"it names: {names}", first.span,
                      hint="one standard of the chain must stand on its own (no `based on`, "
                      "no taken items)")


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
        overrides=(), bases=_unique_bases(
            (*standard.bases, ast.BaseSource(base.path, base.source_sha256, base_text),
             *base.bases)))
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


def _unique_bases(bases: Sequence[ast.BaseSource]) -> tuple[ast.BaseSource, ...]:
    """Each rule file once, where it first comes (nearest first)."""
    seen: set[str] = set()
    unique = []
    for base in bases:
        if base.path not in seen:
            seen.add(base.path)
            unique.append(base)
    return tuple(unique)


# ---------------------------------------------------------------- items taken from others


def take_items(standard: ast.Standard, takes: Sequence[tuple[ast.TakeItem, ast.Standard]],
               texts: Mapping[str, str], base: ast.Standard | None = None,
               ) -> tuple[ast.Standard | None, list[Diagnostic]]:
    """`standard` with each `item N from S item M` replaced by S's item M (resolved), under
    number N, citing as the take says, with the texts its block gives; or None with the
    errors: an item S does not have (B511), a number the standard has already (B512), a
    fact, derived or cohort value the item uses that the standard (or its `base`) does not
    declare (B513) or declares otherwise (B514), a citation the item does not make (B515)."""
    found: list[Diagnostic] = []
    numbers: dict[int, ast.Span] = {item.number: item.span for item in standard.items}
    taken: dict[int, ast.Item] = {}  # by the take's id
    for take, source in takes:
        item = next((i for i in source.items if i.number == take.source_number), None)
        name = _pack_name(source)
        if item is None:
            found.append(Diagnostic(
                "B511", f"{name} has no item {take.source_number} to take", take.span,
                hint=f"items of {name}: " + ", ".join(str(i.number) for i in source.items)))
            continue
        clash = numbers.get(take.number)
        if clash is not None:
            found.append(Diagnostic(  # an item of this file: the own items, taken ones
                "B512", f"item {take.number} is taken from {name}, but this standard has an "
                f"item {take.number} already (line {clash.line})", take.span,
                hint="give the taken item a number of its own: `item N from ...`",
                related=(Related(clash, f"item {take.number} is here"),)))
            continue
        numbers[take.number] = take.span
        problems = _needs(item, source, standard, base, take, texts.get(source.path, ""))
        problems += _missing_citations(item, take, name)
        if problems:
            found.extend(problems)
            continue
        taken[id(take)] = _renumbered(item, take)
    if found:
        return None, found
    categories = []
    for category in standard.categories:
        items = list(category.items)
        for take in sorted(category.takes, key=lambda t: t.position):
            items.insert(take.position, taken[id(take)])
        categories.append(dataclasses.replace(category, items=tuple(items), takes=()))
    sources = [ast.BaseSource(s.path, s.source_sha256, texts.get(s.path, ""))
               for _, s in takes]
    return dataclasses.replace(standard, categories=tuple(categories), bases=_unique_bases(
        (*standard.bases, *[b for s, (_, t) in zip(sources, takes, strict=True)
                            for b in (s, *t.bases)]))), []


def _renumbered(item: ast.Item, take: ast.TakeItem) -> ast.Item:
    """The taken item under its new number, citing and worded as the take says."""
    mapping = {cite.old: cite.new for cite in take.cites}
    texts = dataclasses.replace(item.texts, **{kind: text for kind, text, _ in take.texts})
    changed = (("number", take.span), *((kind, span) for kind, _, span in take.texts))
    recited = _recited(item, mapping) if mapping else item
    return dataclasses.replace(recited, number=take.number, texts=texts,
                               changed_at=(*item.changed_at, *changed))


_N = TypeVar("_N")


def _recited(node: _N, mapping: Mapping[str, str]) -> _N:
    """`node` with each citation of every reason in it changed by `mapping`."""
    if isinstance(node, ast.Reason):
        return dataclasses.replace(node, citations=tuple(
            mapping.get(c, c) for c in node.citations))
    if isinstance(node, tuple):
        return tuple(_recited(child, mapping) for child in node)  # type: ignore[return-value]
    if dataclasses.is_dataclass(node) and not isinstance(node, type | ast.Span):
        return dataclasses.replace(node, **{
            f.name: _recited(getattr(node, f.name), mapping) for f in dataclasses.fields(node)})
    return node


def _citations(node: object) -> set[str]:
    """Every reading id the reasons in a node cite."""
    if isinstance(node, ast.Reason):
        return set(node.citations)
    if isinstance(node, tuple):
        return set().union(*(_citations(child) for child in node))
    if dataclasses.is_dataclass(node) and not isinstance(node, type | ast.Span):
        return set().union(*(_citations(getattr(node, f.name))
                             for f in dataclasses.fields(node)))
    return set()


def _missing_citations(item: ast.Item, take: ast.TakeItem, name: str) -> list[Diagnostic]:
    cited = _citations(item)
    return [Diagnostic("B515", f"item {take.source_number} of {name} does not cite "
                       f"{cite.old}, so `cite {cite.new} for {cite.old}` changes nothing",
                       cite.span, hint="its rules cite: " + ", ".join(sorted(cited))
                       if cited else "its rules cite nothing")
            for cite in take.cites if cite.old not in cited]


def _names_in(node: object) -> list[str]:
    """The names a node uses (facts, derived and cohort values, loop variables), in order."""
    if isinstance(node, ast.Name | ast.Given):
        return [node.name]
    if isinstance(node, ast.EntriesRule):
        return [node.source]
    if isinstance(node, ast.CohortMean) and node.override is not None:
        return [*_names_in(node.value), *_names_in(node.group), node.override]
    if isinstance(node, tuple):
        return [name for child in node for name in _names_in(child)]
    if dataclasses.is_dataclass(node) and not isinstance(node, type | ast.Span):
        return [name for f in dataclasses.fields(node) for name in _names_in(getattr(node, f.name))]
    return []


def _declarations(standard: ast.Standard) -> dict[str, tuple[str, Any]]:
    """A standard's facts, derived and cohort values by name, each with its kind."""
    return ({f.name: ("fact", f) for f in standard.facts}
            | {x.name: ("derived value", x) for x in standard.lets}
            | {c.name: ("cohort value", c) for c in standard.cohorts})


def _needs(item: ast.Item, source: ast.Standard, standard: ast.Standard,
           base: ast.Standard | None, take: ast.TakeItem, source_text: str,
           ) -> list[Diagnostic]:
    """B513/B514 for each fact, derived or cohort value the taken item uses (directly, or
    through the derived and cohort values it uses) that `standard` (with its `base`) lacks
    or declares otherwise than `source`."""
    theirs = _declarations(source)
    mine = (_declarations(base) if base is not None else {}) | _declarations(standard)
    types = _types(base, standard)
    found: list[Diagnostic] = []
    needed = [n for n in dict.fromkeys(_names_in(item)) if n in theirs]
    seen = set(needed)
    while needed:  # bounded: each name is looked at once
        name = needed.pop(0)
        kind, declaration = theirs[name]
        if kind != "fact":
            for more in _names_in(declaration):
                if more in theirs and more not in seen:
                    seen.add(more)
                    needed.append(more)
        where = f"item {take.source_number} of {_pack_name(source)}"
        if name not in mine:
            found.append(Diagnostic(
                "B513", f"{where} uses {kind} '{name}', which this standard does not declare",
                take.span, hint=f"declare it as {_pack_name(source)} does: "
                f"{_written(declaration, source_text, source)}",
                related=(Related(declaration.span, f"{_pack_name(source)} declares it here"),)))
            continue
        my_kind, my_declaration = mine[name]
        if my_kind != kind or _shape(my_kind, my_declaration, types) \
                != _shape(kind, declaration, _types(source)):
            found.append(Diagnostic(
                "B514", f"{where} uses {kind} '{name}' as "
                f"{_declared(kind, declaration, _types(source))}; this standard declares it as "
                + ("" if my_kind == kind else f"{my_kind} ")
                + _declared(my_kind, my_declaration, types),
                take.span, hint=f"declare '{name}' as {_pack_name(source)} does, or write "
                "the item out",
                related=(Related(declaration.span, f"{_pack_name(source)} declares it here"),
                         Related(my_declaration.span, "this standard declares it here"))))
    return found


Types = dict[str, ast.EnumDecl | ast.RecordDecl]


def _types(*standards: ast.Standard | None) -> Types:
    """The enums and records of standards, by name (a later standard's win)."""
    types: Types = {}
    for standard in standards:
        if standard is not None:
            types |= {e.name: e for e in standard.enums}
            types |= {r.name: r for r in standard.records}
    return types


def _shape(kind: str, declaration: Any, types: Types) -> object:
    """What a declaration means for the rules that use it: everything but its label and
    place; for a fact of an enum or record type, that type's members or fields too."""
    shape = without_spans(dataclasses.replace(declaration, label=""))
    if kind != "fact":
        return shape
    named = types.get(declaration.type.name)
    if isinstance(named, ast.EnumDecl):
        return shape, tuple(m.name for m in named.members)
    if isinstance(named, ast.RecordDecl):
        return shape, tuple(_shape("fact", field, types) for field in named.fields)
    return shape


def _written(declaration: Any, text: str, standard: ast.Standard) -> str:
    """A declaration as its rule file writes it (on one line), with the enum or record its
    type names, to copy."""
    lines = text.splitlines()
    span: ast.Span = declaration.span
    if not 1 <= span.line <= span.end_line <= len(lines):
        return str(declaration.name)  # pragma: no cover - a standard always has its text
    written = " ".join(line.strip() for line in lines[span.line - 1:span.end_line])
    type_ref = getattr(declaration, "type", None)
    named = _types(standard).get(type_ref.name) if type_ref is not None else None
    if named is not None:
        kind = "enum" if isinstance(named, ast.EnumDecl) else "record"
        written += f", and its {kind} {named.name} (line {named.span.line})"
    return written


def _declared(kind: str, declaration: Any, types: Types) -> str:
    """What a declaration says, in brief, for messages (`percent in 0..100 required`)."""
    if kind == "derived value":
        return f"= {printer.source(declaration.expr)}"
    if kind == "cohort value":
        return f"= {diff._cohort(declaration)}"
    text = diff._fact(declaration)  # as `policyc diff` shows a fact
    named = types.get(declaration.type.name)
    if isinstance(named, ast.EnumDecl):
        text += f" (enum {named.name}: {', '.join(m.name for m in named.members)})"
    if isinstance(named, ast.RecordDecl):
        text += f" (record {named.name}: {diff._record(named)})"
    return text
