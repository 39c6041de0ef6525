"""What changed between two checked standards, item by item (`policyc diff`).

Not a text diff: the two trees are walked side by side. Items are paired by number (an item
whose number changed but whose label did not is paired by its label), parts by label then
position, and the rules of one item or part by what they are: first a rule identical in both,
then one with the same reason text and kind, then the same kind in the same order, so a rule
that moved, or whose number and reason text changed together, is still one change and not a
removal and an addition. Expressions are compared in their printed normal form
(`printer.source`); a lookup is compared member by member and a tiers table tier by tier, and
where only one part of an expression changed, only that part is shown.

Each `Change` has both values and both source positions; `render_text` groups them by item for
the author, and `change_json` gives them to tools.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from . import ast, checker, printer
from .ast import Span

# What a Change is about; tools filter on these (README: Comparing versions).
KINDS = (
    "header", "total", "bonus_limit", "rescale",
    "category_added", "category_removed", "category_renamed", "category_points",
    "item_added", "item_removed", "item_renamed", "item_renumbered", "item_moved",
    "points", "bonus", "text", "applicability", "deduction_cap",
    "part_added", "part_removed", "part_renamed",
    "rule_added", "rule_removed", "reason", "sign", "amount", "per", "condition", "cap",
    "threshold", "step", "rounding", "direction", "value", "source",
    "lookup", "tier", "weight",
    "fact_added", "fact_removed", "fact_type", "fact_bounds", "fact_presence", "fact_default",
    "fact_label", "enum", "record", "derived", "cohort",
)

# A lookup or tiers table inside a step rule's threshold or step, or in a condition of
# applicability, is reported under that role (the threshold changed for 三级); elsewhere (an
# amount, say) as a "lookup" or "tier" change.
ROLES_FIRST = frozenset({"threshold", "step", "applicability"})
VALUE_WIDTH = 60  # display columns: longer values put their source line below them
TEXT_EXCERPT = 36  # characters of a changed text shown around its first difference


_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: what (`kind`), where (`item`, `path`), both values and both places.

    `before` is None for something added, `after` for something removed; `item` is None for
    what belongs to the standard as a whole (header, categories, facts, derived values).
    """

    kind: str
    item: int | None
    path: str
    before: str | None
    after: str | None
    before_span: Span | None
    after_span: Span | None


@dataclass(frozen=True)
class Side:
    """One of the two standards compared, with what the checker learnt about it."""

    standard: ast.Standard
    checked: checker.Checked | None = None


def compare(a: Side, b: Side) -> list[Change]:
    """Every difference from `a` to `b`: the standard's own first, then item by item."""
    comparer = _Comparer(a, b)
    comparer.header()
    comparer.categories()
    comparer.declarations()
    comparer.items()
    return comparer.changes


def in_plugin_files(standard: ast.Standard,
                    plugins: Sequence[tuple[str, str]]) -> ast.Standard:
    """A city plugin's item is parsed from a string in the plugin, so its positions count
    lines of that string (`plugins/x.py (policyc_add_items)`, line 2). Where the item's first
    line is found in the plugin file (path, text), its positions become the file's own lines;
    otherwise they stay as they are."""
    categories = []
    for category in standard.categories:
        items = []
        for item in category.items:
            for path, text in plugins:
                if item.span.file.startswith(f"{path} ("):
                    item = _moved(item, item.span.file, path, _offset(item, text))
            items.append(item)
        categories.append(dataclasses.replace(category, items=tuple(items)))
    return dataclasses.replace(standard, categories=tuple(categories))


def _offset(item: ast.Item, text: str) -> int | None:
    header = f'item {item.number} "{item.label}"'
    found = [i for i, line in enumerate(text.splitlines(), start=1)
             if line[item.span.column - 1:].startswith(header)
             or line[item.span.column - 1:].startswith(f"bonus {header}")]
    return found[0] - item.span.line if len(found) == 1 else None


def _moved(node: _T, file: str, path: str, offset: int | None) -> _T:
    """`node` with every position in `file` moved `offset` lines down into `path`."""
    if offset is None:
        return node
    if isinstance(node, Span):
        if node.file != file:
            return node
        moved: object = Span(path, node.line + offset, node.column, node.end_line + offset,
                             node.end_column)
        return moved  # type: ignore[return-value]
    if isinstance(node, tuple):
        return tuple(_moved(child, file, path, offset) for child in node)  # type: ignore[return-value]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return dataclasses.replace(node, **{
            f.name: _moved(getattr(node, f.name), file, path, offset)
            for f in dataclasses.fields(node)})
    return node


# ---------------------------------------------------------------- the walk

def pair(before: Sequence[_T], after: Sequence[_T], *keys: Callable[[_T, int], object]
         ) -> tuple[list[tuple[_T, _T]], list[_T], list[_T]]:
    """Pair the elements of two sequences, trying each key in turn on those still unpaired
    (a key sees an element and its position in its own sequence; each element of `before`
    takes the first unpaired element of `after` with an equal key). Returns the pairs, in
    `after`'s order, and what stayed unpaired on each side, in their order."""
    left = dict(enumerate(before))
    right = dict(enumerate(after))
    paired: list[tuple[int, _T, _T]] = []
    for key in keys:
        for i, element in list(left.items()):
            wanted = key(element, i)
            j = next((j for j, other in right.items() if key(other, j) == wanted), None)
            if j is not None:
                paired.append((j, element, right.pop(j)))
                del left[i]
    paired.sort(key=lambda entry: entry[0])
    return [(x, y) for _, x, y in paired], list(left.values()), list(right.values())


def _shape(node: object) -> object:
    """A node without its positions, to tell equal nodes (`==` on dataclasses compares spans)."""
    if isinstance(node, Span):
        return None
    if isinstance(node, tuple):
        return tuple(_shape(child) for child in node)
    slots = getattr(node, "__slots__", None)
    if slots and hasattr(node, "span"):
        return (type(node).__name__, *(_shape(getattr(node, s)) for s in slots))
    return node


def _rule_kind(rule: ast.Rule) -> str:
    sign = getattr(rule, "sign", "")
    return f"{type(rule).__name__}:{sign}"


def _excerpt(text: str, width: int = 24) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= width else one_line[:width - 1] + "…"


def _rule_name(rule: ast.Rule) -> str:
    what = {"ZeroRule": "zero when", "EntriesRule": f"{getattr(rule, 'sign', '')} entries",
            "EachRule": f"{getattr(rule, 'sign', '')} for each"}.get(
        type(rule).__name__, getattr(rule, "sign", ""))
    return f"{what} “{_excerpt(rule.reason.text)}”"


class _Comparer:
    def __init__(self, a: Side, b: Side) -> None:
        self.a, self.b = a, b
        self.changes: list[Change] = []

    def add(self, kind: str, item: int | None, path: str, before: str | None,
            after: str | None, before_span: Span | None, after_span: Span | None) -> None:
        assert kind in KINDS, kind
        self.changes.append(Change(kind, item, path, before, after, before_span, after_span))

    # ------------------------------------------------------------ the standard as a whole
    def header(self) -> None:
        x, y = self.a.standard.header, self.b.standard.header
        fields: list[tuple[str, str, object, object]] = [
            ("header", "standard", x.name, y.name),
            ("header", "region", x.region, y.region),
            ("header", "title", x.title, y.title),
            ("header", "version", x.version, y.version),
            ("header", "effective",
             f"{x.effective_from} to {x.effective_to or 'open'}",
             f"{y.effective_from} to {y.effective_to or 'open'}"),
            ("header", "applies to", x.applies_to, y.applies_to),
            ("header", "framework", x.framework, y.framework),
            ("total", "total", x.total, y.total),
            ("header", "bonus included", x.bonus_included, y.bonus_included),
            ("bonus_limit", "bonus limit", x.bonus_limit, y.bonus_limit),
            ("rescale", "rescale to", x.rescale, y.rescale),
            ("header", "source", x.source, y.source),
        ]
        for kind, path, before, after in fields:
            if before != after:
                self.add(kind, None, path, _value(before), _value(after), x.span, y.span)

    def categories(self) -> None:
        pairs, removed, added = pair(self.a.standard.categories, self.b.standard.categories,
                                     lambda c, _: c.label, lambda _, position: position)
        for x, y in pairs:
            if x.label != y.label:
                self.add("category_renamed", None, f"category {y.label}", x.label, y.label,
                         x.span, y.span)
            if x.points != y.points:
                self.add("category_points", None, f"category {y.label} › points",
                         printer.number(x.points), printer.number(y.points), x.span, y.span)
        for x in removed:
            self.add("category_removed", None, f"category {x.label}",
                     f"{x.label}（{printer.number(x.points)}分）", None, x.span, None)
        for y in added:
            self.add("category_added", None, f"category {y.label}", None,
                     f"{y.label}（{printer.number(y.points)}分）", None, y.span)

    def declarations(self) -> None:
        x, y = self.a.standard, self.b.standard
        self.enums(x.enums, y.enums)
        for record_x, record_y in pair(x.records, y.records, lambda r, _: r.name)[0]:
            self.facts(record_x.fields, record_y.fields, f"record {record_y.name} › field ",
                       "record")
        for record in pair(x.records, y.records, lambda r, _: r.name)[1]:
            self.add("record", None, f"record {record.name}（{record.label}）",
                     _record(record), None, record.span, None)
        for record in pair(x.records, y.records, lambda r, _: r.name)[2]:
            self.add("record", None, f"record {record.name}（{record.label}）", None,
                     _record(record), None, record.span)
        self.facts(x.facts, y.facts, "fact ", None)
        pairs, removed, added = pair(x.lets, y.lets, lambda d, _: d.name)
        for let_x, let_y in pairs:
            for before, after in ((let_x.label, let_y.label),
                                  (printer.source(let_x.expr), printer.source(let_y.expr))):
                if before != after:
                    self.add("derived", None, f"let {let_y.name}（{let_y.label}）", before,
                             after, let_x.span, let_y.span)
        for let in removed:
            self.add("derived", None, f"let {let.name}（{let.label}）",
                     printer.source(let.expr), None, let.span, None)
        for let in added:
            self.add("derived", None, f"let {let.name}（{let.label}）", None,
                     printer.source(let.expr), None, let.span)
        cohorts, gone, new = pair(x.cohorts, y.cohorts, lambda d, _: d.name)
        for cohort_x, cohort_y in cohorts:
            for before, after in ((cohort_x.label, cohort_y.label),
                                  (_cohort(cohort_x), _cohort(cohort_y))):
                if before != after:
                    self.add("cohort", None, f"cohort {cohort_y.name}（{cohort_y.label}）",
                             before, after, cohort_x.span, cohort_y.span)
        for cohort in gone:
            self.add("cohort", None, f"cohort {cohort.name}（{cohort.label}）",
                     _cohort(cohort), None, cohort.span, None)
        for cohort in new:
            self.add("cohort", None, f"cohort {cohort.name}（{cohort.label}）", None,
                     _cohort(cohort), None, cohort.span)

    def enums(self, before: Sequence[ast.EnumDecl], after: Sequence[ast.EnumDecl]) -> None:
        pairs, removed, added = pair(before, after, lambda e, _: e.name)
        for x, y in pairs:
            members, gone, new = pair(x.members, y.members, lambda m, _: m.name)
            for m, n in members:
                if m.label != n.label:
                    self.add("enum", None, f"enum {y.name} › {n.name}", m.label, n.label,
                             m.span, n.span)
            for m in gone:
                self.add("enum", None, f"enum {y.name} › {m.name}", m.label, None, m.span,
                         None)
            for n in new:
                self.add("enum", None, f"enum {y.name} › {n.name}", None, n.label, None,
                         n.span)
        for x in removed:
            self.add("enum", None, f"enum {x.name}（{x.label}）", _enum(x), None, x.span, None)
        for y in added:
            self.add("enum", None, f"enum {y.name}（{y.label}）", None, _enum(y), None, y.span)

    def facts(self, before: Sequence[ast.FactDecl], after: Sequence[ast.FactDecl],
              prefix: str, kind: str | None) -> None:
        pairs, removed, added = pair(before, after, lambda f, _: f.name)
        for x, y in pairs:
            where = f"{prefix}{y.name}（{y.label}）"
            aspects = (
                ("fact_label", "label", x.label, y.label),
                ("fact_type", "type", _type(x.type), _type(y.type)),
                ("fact_bounds", "bounds", _bounds(x), _bounds(y)),
                ("fact_presence", "presence", _presence(x), _presence(y)),
                ("fact_default", "default", x.default and printer.source(x.default),
                 y.default and printer.source(y.default)),
            )
            for aspect_kind, aspect, old, new in aspects:
                if old != new:
                    self.add(kind or aspect_kind, None, f"{where} › {aspect}", old or "none",
                             new or "none", x.span, y.span)
        for x in removed:
            self.add(kind or "fact_removed", None, f"{prefix}{x.name}（{x.label}）",
                     _fact(x), None, x.span, None)
        for y in added:
            self.add(kind or "fact_added", None, f"{prefix}{y.name}（{y.label}）", None,
                     _fact(y), None, y.span)

    # ------------------------------------------------------------ items
    def items(self) -> None:
        def category_of(standard: ast.Standard) -> dict[int, ast.Category]:
            return {i.number: c for c in standard.categories for i in c.items}

        before = {i.number: i for i in self.a.standard.items}
        after = {i.number: i for i in self.b.standard.items}
        categories_a, categories_b = category_of(self.a.standard), category_of(self.b.standard)
        pairs = [(before[n], after[n]) for n in sorted(before.keys() & after.keys())]
        renumbered, removed, added = pair(
            [before[n] for n in sorted(before.keys() - after.keys())],
            [after[n] for n in sorted(after.keys() - before.keys())], lambda i, _: i.label)
        for x, y in sorted(pairs + renumbered, key=lambda p: p[1].number):
            if x.number != y.number:
                self.add("item_renumbered", y.number, "number", str(x.number), str(y.number),
                         x.span, y.span)
            category_x, category_y = categories_a[x.number], categories_b[y.number]
            if category_x.label != category_y.label:
                self.add("item_moved", y.number, "category", category_x.label,
                         category_y.label, category_x.span, category_y.span)
            self.item(x, y)
        for x in removed:
            self.add("item_removed", x.number, "item", _item(x), None, x.span, None)
        for y in added:
            self.add("item_added", y.number, "item", None, _item(y), None, y.span)

    def item(self, x: ast.Item, y: ast.Item) -> None:
        number = y.number
        if x.label != y.label:
            self.add("item_renamed", number, "label", x.label, y.label, x.span, y.span)
        if x.points != y.points:
            self.add("points", number, "points", printer.number(x.points),
                     printer.number(y.points), x.where("points"), y.where("points"))
        if x.bonus != y.bonus:
            self.add("bonus", number, "bonus item", _value(x.bonus), _value(y.bonus),
                     x.span, y.span)
        for text in ("content", "method", "procedure", "basis"):
            old, new = getattr(x.texts, text), getattr(y.texts, text)
            if old != new:
                shown_old, shown_new = _briefly(old, new)
                self.add("text", number, text, shown_old, shown_new, x.where(text),
                         y.where(text))
        self.not_applicable(number, "", x.not_applicable, y.not_applicable, x.span, y.span)
        self.deduction_cap(number, x.deduction_cap, y.deduction_cap, x.span, y.span)
        parts_x = [p for p in x.body if isinstance(p, ast.Part)]
        parts_y = [p for p in y.body if isinstance(p, ast.Part)]
        pairs, removed, added = pair(parts_x, parts_y, lambda p, _: p.label,
                                     lambda _, position: position)
        for part_x, part_y in pairs:
            self.part(number, part_x, part_y)
        for part in removed:
            self.add("part_removed", number, f"part {part.label}",
                     f"{part.label}（{printer.number(part.points)}分）", None, part.span, None)
        for part in added:
            self.add("part_added", number, f"part {part.label}", None,
                     f"{part.label}（{printer.number(part.points)}分）", None, part.span)
        self.rules(number, "", [r for r in x.body if not isinstance(r, ast.Part)],
                   [r for r in y.body if not isinstance(r, ast.Part)])

    def part(self, number: int, x: ast.Part, y: ast.Part) -> None:
        where = f"part {y.label} › "
        if x.label != y.label:
            self.add("part_renamed", number, f"part {y.label}", x.label, y.label, x.span,
                     y.span)
        if x.points != y.points:
            self.add("points", number, f"{where}points", printer.number(x.points),
                     printer.number(y.points), x.span, y.span)
        self.not_applicable(number, where, x.not_applicable, y.not_applicable, x.span, y.span)
        self.rules(number, where, x.rules, y.rules)

    def not_applicable(self, number: int, where: str, x: ast.NotApplicable | None,
                       y: ast.NotApplicable | None, x_owner: Span, y_owner: Span) -> None:
        path = f"{where}not applicable when"
        if x is None and y is None:
            return
        if x is None or y is None:
            self.add("applicability", number, path,
                     None if x is None else f"{printer.source(x.condition)} “{x.reason.text}”",
                     None if y is None else f"{printer.source(y.condition)} “{y.reason.text}”",
                     None if x is None else x.span, None if y is None else y.span)
            return
        self.expr("applicability", number, path, x.condition, y.condition)
        self.reason(number, path, x.reason, y.reason)

    def deduction_cap(self, number: int, x: ast.DeductionCap | None,
                      y: ast.DeductionCap | None, x_owner: Span, y_owner: Span) -> None:
        if x is None and y is None:
            return
        if x is None or y is None or x.points != y.points:
            self.add("deduction_cap", number, "cap deductions at",
                     None if x is None else printer.number(x.points),
                     None if y is None else printer.number(y.points),
                     x_owner if x is None else x.span, y_owner if y is None else y.span)
        if x is not None and y is not None:
            self.reason(number, "cap deductions › ", x.reason, y.reason)

    def reason(self, number: int, where: str, x: ast.Reason, y: ast.Reason) -> None:
        path = where if where.endswith(" › ") else f"{where} › "
        if x.text != y.text:
            self.add("reason", number, f"{path}reason", x.text, y.text, x.span, y.span)
        if x.citations != y.citations:
            self.add("reason", number, f"{path}reading ids", ", ".join(x.citations) or "none",
                     ", ".join(y.citations) or "none", x.span, y.span)

    # ------------------------------------------------------------ rules
    def rules(self, number: int, where: str, before: Sequence[ast.Rule],
              after: Sequence[ast.Rule]) -> None:
        def ordinals(rules: Sequence[ast.Rule]) -> list[int]:
            """Each rule's place among the rules of its kind (the 2nd `deduct` ...)."""
            seen: dict[str, int] = {}
            places = []
            for rule in rules:
                places.append(seen.get(_rule_kind(rule), 0))
                seen[_rule_kind(rule)] = places[-1] + 1
            return places

        # (a rule object can be in both versions, a city's unchanged item: paired first)
        place = {id(r): (_rule_kind(r), o) for rules in (before, after)
                 for r, o in zip(rules, ordinals(rules), strict=True)}
        pairs, removed, added = pair(
            before, after, lambda r, _: _shape(r), lambda r, _: (_rule_kind(r), r.reason.text),
            lambda r, _: place[id(r)])
        for x, y in pairs:
            self.rule(number, f"{where}{_rule_name(y)}", x, y)
        for x in removed:
            self.add("rule_removed", number, f"{where}{_rule_name(x)}", _rule(x), None,
                     x.span, None)
        for y in added:
            self.add("rule_added", number, f"{where}{_rule_name(y)}", None, _rule(y), None,
                     y.span)

    def rule(self, number: int, path: str, x: ast.Rule, y: ast.Rule) -> None:
        if _shape(x) == _shape(y):
            return
        expressions: list[tuple[str, str, ast.Expr | None, ast.Expr | None]] = []
        values: list[tuple[str, str, object, object]] = []
        match x, y:
            case ast.AmountRule(), ast.AmountRule():
                expressions = [("amount", "amount", x.amount, y.amount),
                               ("per", "per", x.per, y.per),
                               ("condition", "when", x.condition, y.condition)]
                values = [("cap", "cap", x.cap, y.cap)]
            case ast.StepRule(), ast.StepRule():
                expressions = [("amount", "amount", x.amount, y.amount),
                               ("step", "step", x.step, y.step),
                               ("value", "of", x.value, y.value),
                               ("threshold", "threshold", x.threshold, y.threshold)]
                values = [("direction", "direction", x.direction, y.direction),
                          ("rounding", "steps", x.rounding, y.rounding),
                          ("cap", "cap", x.cap, y.cap)]
            case ast.EachRule(), ast.EachRule():
                expressions = [("source", "in", x.source, y.source),
                               ("amount", "amount", x.amount, y.amount),
                               ("condition", "when", x.condition, y.condition)]
                values = [("value", "for each", x.variable, y.variable),
                          ("cap", "cap", x.cap, y.cap)]
            case ast.ZeroRule(), ast.ZeroRule():
                expressions = [("applicability", "when", x.condition, y.condition)]
            case ast.EntriesRule(), ast.EntriesRule():
                values = [("source", "from", x.source, y.source), ("cap", "cap", x.cap, y.cap)]
        for kind, aspect, old, new in expressions:
            if old is None or new is None:
                if old is not new:
                    self.add(kind, number, f"{path} › {aspect}",
                             None if old is None else printer.source(old),
                             None if new is None else printer.source(new),
                             x.span if old is None else old.span,
                             y.span if new is None else new.span)
            else:
                self.expr(kind, number, f"{path} › {aspect}", old, new)
        for kind, aspect, before, after in values:
            if before != after:
                self.add(kind, number, f"{path} › {aspect}", _value(before), _value(after),
                         x.span, y.span)
        self.reason(number, path, x.reason, y.reason)

    # ------------------------------------------------------------ expressions
    def expr(self, kind: str, number: int, path: str, x: ast.Expr, y: ast.Expr) -> None:
        """The smallest part of two expressions that differs, shown in normal form."""
        if printer.source(x) == printer.source(y):
            return
        match x, y:
            case ast.Lookup(), ast.Lookup() if _same(x.subject, y.subject):
                self.lookup(kind, number, path, x, y)
                return
            case ast.Tiers(), ast.Tiers() if _same(x.subject, y.subject) and \
                    len(x.tiers) == len(y.tiers):
                self.tiers(kind, number, path, x, y)
                return
            case ast.Arithmetic(), ast.Arithmetic() if checker.is_weight(x) and \
                    checker.is_weight(y):
                kind = "weight"
            case ast.IfThenElse(), ast.IfThenElse():
                branches = [(name, m, n) for name, m, n in (
                    ("if", x.condition, y.condition), ("then", x.then, y.then),
                    ("else", x.otherwise, y.otherwise)) if not _same(m, n)]
                if len(branches) == 1:
                    name, m, n = branches[0]
                    self.expr(kind, number, f"{path} › {name}", m, n)
                    return
            case _ if type(x) is type(y):
                differing = _differing_children(x, y)
                if differing is not None:
                    self.expr(kind, number, path, *differing)
                    return
        self.add(kind, number, path, printer.source(x), printer.source(y), x.span, y.span)

    def lookup(self, role: str, number: int, path: str, x: ast.Lookup, y: ast.Lookup) -> None:
        kind = role if role in ROLES_FIRST else "lookup"
        subject = printer.source(y.subject)
        pairs, removed, added = pair(x.cases, y.cases, lambda c, _: c.member)
        for m, n in pairs:
            where = f"{path} › lookup {subject} = {self.member(y.subject, n.member)}"
            if not _same(m.result, n.result):
                before, after = printer.source(m.result), printer.source(n.result)
                if isinstance(m.result, ast.Number | ast.Percent) and \
                        isinstance(n.result, ast.Number | ast.Percent):
                    self.add(kind, number, where, before, after, m.span, n.span)
                else:
                    self.expr(kind, number, where, m.result, n.result)
        for m in removed:
            self.add(kind, number, f"{path} › lookup {subject} = "
                     f"{self.member(x.subject, m.member, self.a)}",
                     printer.source(m.result), None, m.span, None)
        for n in added:
            self.add(kind, number, f"{path} › lookup {subject} = "
                     f"{self.member(y.subject, n.member)}", None, printer.source(n.result),
                     None, n.span)

    def tiers(self, role: str, number: int, path: str, x: ast.Tiers, y: ast.Tiers) -> None:
        kind = role if role in ROLES_FIRST else "tier"
        for index, (m, n) in enumerate(zip(x.tiers, y.tiers, strict=True), start=1):
            if printer.tier(m) != printer.tier(n):
                self.add(kind, number, f"{path} › tiers {printer.source(y.subject)}: "
                         f"tier {index}", printer.tier(m), printer.tier(n), m.span, n.span)
        if (x.otherwise is None) != (y.otherwise is None) or (
                x.otherwise is not None and y.otherwise is not None
                and not _same(x.otherwise, y.otherwise)):
            self.add(kind, number, f"{path} › tiers {printer.source(y.subject)}: else",
                     None if x.otherwise is None else printer.source(x.otherwise),
                     None if y.otherwise is None else printer.source(y.otherwise),
                     x.span if x.otherwise is None else x.otherwise.span,
                     y.span if y.otherwise is None else y.otherwise.span)

    def member(self, subject: ast.Expr, member: str, side: Side | None = None) -> str:
        """`tertiary（三级）`: an enum member with its label."""
        side = side or self.b
        enum_name = None
        if side.checked is not None and id(subject) in side.checked.types:
            enum_name = side.checked.type_of(subject).name
        labels = [m.label for e in side.standard.enums for m in e.members
                  if m.name == member and (enum_name is None or e.name == enum_name)]
        return f"{member}（{labels[0]}）" if len(set(labels)) == 1 else member


def _same(x: ast.Expr, y: ast.Expr) -> bool:
    return printer.source(x) == printer.source(y)


def _differing_children(x: ast.Expr, y: ast.Expr) -> tuple[ast.Expr, ast.Expr] | None:
    """The one child expression in which two nodes of one kind differ, when all else is equal
    (`max(d in v.documents: lookup …)` with one lookup value changed)."""
    found: list[tuple[ast.Expr, ast.Expr]] = []
    for slot in x.__slots__:
        if slot == "span":
            continue
        m, n = getattr(x, slot), getattr(y, slot)
        if isinstance(m, tuple) and isinstance(n, tuple):
            if len(m) != len(n):
                return None
            children = list(zip(m, n, strict=True))
        else:
            children = [(m, n)]
        for c, d in children:
            if hasattr(c, "span") and hasattr(d, "span") and not isinstance(c, Span):
                if not isinstance(c, ast.Tier | ast.LookupCase) and not _same(c, d):
                    found.append((c, d))
                elif isinstance(c, ast.Tier | ast.LookupCase) and _shape(c) != _shape(d):
                    return None
            elif c != d:
                return None
    return found[0] if len(found) == 1 else None


# ---------------------------------------------------------------- values as shown


def _value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return printer.number(value)
    return str(value)


def _briefly(before: str | None, after: str | None) -> tuple[str | None, str | None]:
    """Two versions of a long text, each cut to an excerpt starting a little before their
    first difference (`…` marks what was left out)."""
    if before is None or after is None:
        return (None if before is None else _excerpt(before, TEXT_EXCERPT),
                None if after is None else _excerpt(after, TEXT_EXCERPT))
    start = next((i for i, (m, n) in enumerate(zip(before, after, strict=False)) if m != n),
                 min(len(before), len(after)))
    start = max(0, start - 8)

    def cut(text: str) -> str:
        shown = ("…" if start else "") + text[start:]
        return _excerpt(shown, TEXT_EXCERPT)

    return cut(before), cut(after)


def _type(type_ref: ast.TypeRef) -> str:
    return f"{type_ref.container} of {type_ref.name}" if type_ref.container else type_ref.name


def _bounds(fact: ast.FactDecl) -> str | None:
    if fact.low is None and fact.high is None:
        return None
    low = "" if fact.low is None else printer.number(fact.low)
    high = "" if fact.high is None else printer.number(fact.high)
    return f"in {low}..{high}"


def _presence(fact: ast.FactDecl) -> str:
    if fact.presence == "conditional" and fact.required_when is not None:
        return f"required when {printer.source(fact.required_when)}"
    if fact.default is not None:
        return f"optional (default {printer.source(fact.default)})"
    return fact.presence


def _fact(fact: ast.FactDecl) -> str:
    bounds = _bounds(fact)
    return " ".join(p for p in (_type(fact.type), bounds, _presence(fact)) if p)


def _enum(enum: ast.EnumDecl) -> str:
    return ", ".join(f"{m.name}（{m.label}）" for m in enum.members)


def _record(record: ast.RecordDecl) -> str:
    return "; ".join(f"{f.name}: {_fact(f)}" for f in record.fields)


def _cohort(cohort: ast.CohortDecl) -> str:
    if isinstance(cohort, ast.CohortMean):
        text = f"mean {printer.source(cohort.value)} by {printer.source(cohort.group)}"
        if cohort.min_size:
            text += f" at least {cohort.min_size}"
        if cohort.override:
            text += f" unless given {cohort.override}"
        return text
    bands = " ".join(
        f"{name} {band.size} from {printer.number(band.start)} step {printer.number(band.step)}"
        for name, band in (("top", cohort.top), ("bottom", cohort.bottom)))
    text = f"rank {printer.source(cohort.value)} {cohort.order} ties {cohort.ties} {bands}"
    if cohort.unranked is not None:
        text += f" unranked {printer.source(cohort.unranked)}"
    return text


def _item(item: ast.Item) -> str:
    """An item added or removed, in brief: label, points, what else it has."""
    text = f"{'bonus ' if item.bonus else ''}item {item.number} {item.label}（" \
           f"{printer.number(item.points)}分）"
    parts = sum(1 for p in item.body if isinstance(p, ast.Part))
    rules = sum(len(p.rules) if isinstance(p, ast.Part) else 1 for p in item.body)
    if item.not_applicable is not None:
        text += f", not applicable when {printer.source(item.not_applicable.condition)}"
    if item.deduction_cap is not None:
        text += f", cap deductions at {printer.number(item.deduction_cap.points)}"
    return text + (f", {parts} part(s)" if parts else "") + f", {rules} rule(s)"


def _rule(rule: ast.Rule) -> str:
    """A rule in normal rule-language form, without its reason (shown in the path)."""
    limit: Decimal | None = getattr(rule, "cap", None)
    cap = "" if limit is None else f" cap {printer.number(limit)}"
    match rule:
        case ast.AmountRule():
            text = f"{rule.sign} {printer.source(rule.amount)}"
            if rule.per is not None:
                text += f" per {printer.source(rule.per)}"
            if rule.condition is not None:
                text += f" when {printer.source(rule.condition)}"
            return text + cap
        case ast.StepRule():
            return (f"{rule.sign} {printer.source(rule.amount)} per {printer.source(rule.step)}"
                    f" of {printer.source(rule.value)} {rule.direction} "
                    f"{printer.source(rule.threshold)} steps {rule.rounding}{cap}")
        case ast.EachRule():
            text = (f"{rule.sign} for each {rule.variable} in {printer.source(rule.source)}: "
                    f"{printer.source(rule.amount)}")
            if rule.condition is not None:
                text += f" when {printer.source(rule.condition)}"
            return text + cap
        case ast.ZeroRule():
            return f"zero when {printer.source(rule.condition)}"
        case ast.EntriesRule():
            return f"{rule.sign} entries from {rule.source}{cap}"
    raise TypeError(f"not a rule: {rule!r}")


# ---------------------------------------------------------------- reports


def span_json(span: Span | None) -> dict[str, object] | None:
    if span is None:
        return None
    return {"file": span.file, "line": span.line, "column": span.column}


def change_json(change: Change) -> dict[str, object]:
    return {"kind": change.kind, "item": change.item, "path": change.path,
            "before": change.before, "after": change.after,
            "before_span": span_json(change.before_span),
            "after_span": span_json(change.after_span)}


@dataclass
class _Group:
    title: str
    changes: list[Change] = field(default_factory=list)


def _where(span: Span | None) -> str:
    return "—" if span is None else f"{span.file}:{span.line}"


def printable(text: str) -> str:
    """A value from a rule file as one line on a terminal: control characters (a line break,
    an escape sequence) are shown escaped, never acted on."""
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"}
                   else c for c in text)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def render_text(changes: Sequence[Change], a: ast.Standard, b: ast.Standard) -> str:
    """The changes as a policy author reads them: grouped by item (the standard's own first),
    each with both values and both source lines."""
    if not changes:
        return "no differences"
    labels = {i.number: i.label for i in a.items} | {i.number: i.label for i in b.items}
    groups: dict[tuple[str, object], _Group] = {}
    for change in changes:
        key: tuple[str, object] = ("item", change.item) if change.item is not None else (
            "standard", _section(change.kind))
        title = (f"item {change.item} {labels.get(change.item, '')}".rstrip()
                 if change.item is not None else _section(change.kind))
        groups.setdefault(key, _Group(title)).changes.append(change)
    order = ["standard", "categories", "facts and records", "derived and cohort values"]
    keys = sorted(groups, key=lambda k: (0, order.index(str(k[1]))) if k[0] == "standard"
                  else (1, int(str(k[1]))))
    out: list[str] = []
    for key in keys:
        group = groups[key]
        out.append(printable(group.title))
        for change in group.changes:
            out.append(f"  {change.kind}: {printable(change.path)}")
            before = "—" if change.before is None else printable(change.before)
            after = "—" if change.after is None else printable(change.after)
            width = max(_width(before), _width(after))
            for side, value, span in (("A", before, change.before_span),
                                      ("B", after, change.after_span)):
                if width <= VALUE_WIDTH:
                    out.append(f"    {side}  {value}{' ' * (width - _width(value) + 3)}"
                               f"{_where(span)}")
                else:  # a long value: its place on a line of its own
                    out.append(f"    {side}  {value}")
                    if span is not None:
                        out.append(f"         at {_where(span)}")
        out.append("")
    items = {c.item for c in changes if c.item is not None}
    out.append(f"{len(changes)} change(s)"
               + (f" in {len(items)} item(s)" if items else "")
               + (" and in the standard as a whole" if any(c.item is None for c in changes)
                  else ""))
    return "\n".join(out)


def _section(kind: str) -> str:
    if kind.startswith("category"):
        return "categories"
    if kind.startswith("fact") or kind in {"enum", "record"}:
        return "facts and records"
    if kind in {"derived", "cohort"}:
        return "derived and cohort values"
    return "standard"


def changed_items(changes: Iterable[Change]) -> list[int]:
    return sorted({c.item for c in changes if c.item is not None})
