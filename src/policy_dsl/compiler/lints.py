"""Lints: mistakes that type-check and build, found on a standard the checker passed.

Each lint is a small function raising its own code (the table below: code, severity, one
line). Most rest on an interval analysis (`Analysis`): every fact ranges over its declared
bounds (a count from 0 up, a score 0..100, a percent or number in its `in a..b`, unbounded
where nothing is declared; a list may be empty or as long as you like), and every expression
over the range its parts allow. A bound carries the input that reaches it (`Witness`) when
that input is known exactly, so a finding shows a concrete input; where the analysis cannot
tell (a ratio of two facts, a cohort value, the same fact twice with different values) it
reports nothing rather than something it cannot show.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from . import ast
from .checker import Checked, is_weight
from .codes import CODES as REGISTRY
from .codes import Severity
from .diagnostics import Diagnostic

# code: (severity, what it catches), from the registry of codes (codes.py)
CODES: dict[str, tuple[Severity, str]] = {
    code: (entry.severity, entry.summary) for code, entry in REGISTRY.items()
    if code.startswith("L")}

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def _finding(code: str, message: str, span: ast.Span, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, span, hint=hint, severity=CODES[code][0])


# ================================================================ interval analysis

Witness = tuple[tuple[str, str], ...]  # (fact, value) pairs: an input that reaches a bound


def _merge(*witnesses: Witness | None) -> Witness | None:
    """One input made of several: None when one is unknown or two disagree on a fact."""
    merged: dict[str, str] = {}
    for witness in witnesses:
        if witness is None:
            return None
        for name, value in witness:
            if merged.setdefault(name, value) != value:
                return None
    return tuple(sorted(merged.items()))


def shown(witness: Witness) -> str:
    return ", ".join(f"{name} = {value}" for name, value in witness) or "any input"


@dataclass(frozen=True, slots=True)
class Bound:
    value: Decimal | None  # None: unbounded
    at: Witness | None = None  # the input reaching it, when known


@dataclass(frozen=True, slots=True)
class Range:
    low: Bound
    high: Bound

    @staticmethod
    def exactly(value: Decimal) -> Range:
        return Range(Bound(value, ()), Bound(value, ()))

    @staticmethod
    def unknown() -> Range:
        return Range(Bound(None), Bound(None))

    @property
    def lo(self) -> Decimal | None:
        return self.low.value

    @property
    def hi(self) -> Decimal | None:
        return self.high.value


UNKNOWN = Range.unknown()


def _hull(ranges: Sequence[Range]) -> Range:
    if not ranges:
        return UNKNOWN
    low = ranges[0].low
    high = ranges[0].high
    for other in ranges[1:]:
        if low.value is not None and (other.lo is None or other.lo < low.value):
            low = other.low
        if high.value is not None and (other.hi is None or other.hi > high.value):
            high = other.high
    return Range(low, high)


def _add(a: Range, b: Range) -> Range:
    def both(x: Bound, y: Bound) -> Bound:
        if x.value is None or y.value is None:
            return Bound(None)
        return Bound(x.value + y.value, _merge(x.at, y.at))
    return Range(both(a.low, b.low), both(a.high, b.high))


def _negate(a: Range) -> Range:
    return Range(Bound(None if a.hi is None else -a.hi, a.high.at),
                 Bound(None if a.lo is None else -a.lo, a.low.at))


def _scale(a: Range, factor: Decimal) -> Range:
    def times(x: Bound) -> Bound:
        return Bound(None if x.value is None else x.value * factor, x.at)
    if factor >= 0:
        return Range(times(a.low), times(a.high))
    return Range(times(a.high), times(a.low))


def _multiply(a: Range, b: Range) -> Range:
    if a.lo is not None and a.lo == a.hi:
        return _with(_scale(b, a.lo), a.low.at)
    if b.lo is not None and b.lo == b.hi:
        return _with(_scale(a, b.lo), b.low.at)
    if None in (a.lo, a.hi, b.lo, b.hi):
        if a.lo is not None and b.lo is not None and a.lo >= 0 and b.lo >= 0:
            return Range(Bound(a.lo * b.lo, _merge(a.low.at, b.low.at)), Bound(None))
        return UNKNOWN
    corners = [Bound(x.value * y.value, _merge(x.at, y.at))  # type: ignore[operator]
               for x in (a.low, a.high) for y in (b.low, b.high)]
    return Range(min(corners, key=lambda c: c.value or ZERO),
                 max(corners, key=lambda c: c.value or ZERO))


def _with(a: Range, at: Witness | None) -> Range:
    return Range(Bound(a.lo, _merge(a.low.at, at)), Bound(a.hi, _merge(a.high.at, at)))


def _at_most(a: Range, cap: Decimal) -> Range:
    high = a.high if a.hi is not None and a.hi <= cap else Bound(cap, None)
    low = a.low if a.lo is None or a.lo <= cap else Bound(cap, None)
    return Range(low, high)


@dataclass(frozen=True, slots=True)
class Interval:
    """A set of reals: lo..hi, each end open or closed, None for unbounded (for tiers)."""

    lo: Decimal | None
    hi: Decimal | None
    lo_open: bool = False
    hi_open: bool = False

    @property
    def empty(self) -> bool:
        if self.lo is None or self.hi is None:
            return False
        return self.lo > self.hi or (self.lo == self.hi and (self.lo_open or self.hi_open))

    def meets(self, op: ast.CompareOp, t: Decimal) -> bool:
        """Some value of the set satisfies `value op t`."""
        if self.empty:
            return False
        if op in {">=", ">"}:
            return self.hi is None or self.hi > t or (
                self.hi == t and op == ">=" and not self.hi_open)
        if op in {"<=", "<"}:
            return self.lo is None or self.lo < t or (
                self.lo == t and op == "<=" and not self.lo_open)
        if op == "==":
            return self.meets(">=", t) and self.meets("<=", t)
        return not (self.lo == self.hi == t)

    def pick(self, op: ast.CompareOp, t: Decimal) -> Decimal | None:
        """A value of the set satisfying `value op t` (None when unsure)."""
        ends = [v for v in (self.lo, self.hi) if v is not None]
        for value in (t, *ends, t + 1, t - 1, t + Decimal("0.1"), t - Decimal("0.1")):
            inside = Interval(value, value)
            if self.meets_value(value) and inside.meets(op, t):
                return value
        return None

    def meets_value(self, value: Decimal) -> bool:
        return self.meets(">=", value) and self.meets("<=", value)

    def without(self, op: ast.CompareOp, t: Decimal) -> Interval:
        """The set less the values satisfying `value op t` (kept whole for == and !=)."""
        if op in {">=", ">"} and (self.hi is None or self.hi >= t):
            return Interval(self.lo, t, self.lo_open, op == ">=")
        if op in {"<=", "<"} and (self.lo is None or self.lo <= t):
            return Interval(t, self.hi, op == "<=", self.hi_open)
        return self


class Analysis:
    """The range of every expression of one standard, from the facts' declared bounds."""

    def __init__(self, standard: ast.Standard, checked: Checked) -> None:
        self.checked = checked
        self.facts = {fact.name: fact for fact in standard.facts}
        self.records = {record.name: record for record in standard.records}
        self.enums = {enum.name: enum for enum in standard.enums}
        self.lets = {let.name: let for let in standard.lets}
        self.cohorts = {cohort.name: cohort for cohort in standard.cohorts}
        self.let_ranges: dict[str, Range] = {}
        self.full_points = ZERO
        self.variables: dict[str, ast.RecordDecl | ast.EnumDecl | None] = {}

    # ------------------------------------------------------------ facts
    def fact_range(self, fact: ast.FactDecl, shown_as: str) -> Range:
        base = fact.type.name
        low, high = fact.low, fact.high
        if base == "count" and low is None:
            low = ZERO
        if base == "score" and low is None and high is None:
            low, high = ZERO, HUNDRED
        if base not in {"count", "score", "number", "points", "money", "percent"}:
            return UNKNOWN
        return Range(Bound(low, None if low is None else ((shown_as, _plain(low, base)),)),
                     Bound(high, None if high is None else ((shown_as, _plain(high, base)),)))

    # ------------------------------------------------------------ expressions
    def range(self, expr: ast.Expr) -> Range:
        match expr:
            case ast.Number(value=value) | ast.Percent(value=value):
                return Range.exactly(value)
            case ast.Name(name=name):
                return self.name_range(name)
            case ast.Field(record=variable, field=field_name):
                record = self.variables.get(variable)
                if isinstance(record, ast.RecordDecl):
                    for decl in record.fields:
                        if decl.name == field_name:
                            return self.fact_range(decl, f"an entry's {field_name}")
                return UNKNOWN
            case ast.Negate(operand=operand):
                return _negate(self.range(operand))
            case ast.Arithmetic(op="+", left=left, right=right):
                return _add(self.range(left), self.range(right))
            case ast.Arithmetic(op="-", left=left, right=right):
                return _add(self.range(left), _negate(self.range(right)))
            case ast.Arithmetic(op="*", left=left, right=right):
                product = _multiply(self.range(left), self.range(right))
                return _scale(product, Decimal("0.01")) if is_weight(expr) else product
            case ast.Arithmetic(op="/", left=left, right=right):
                divisor = self.range(right)
                if divisor.lo is not None and divisor.lo == divisor.hi and divisor.lo != 0:
                    return _scale(self.range(left), 1 / divisor.lo)
                return UNKNOWN
            case ast.Call(function=function, args=args):
                return self.call_range(function, args)
            case ast.Aggregate():
                return self.aggregate_range(expr)
            case ast.IfThenElse(then=then, otherwise=otherwise):
                both = _hull([self.range(then), self.range(otherwise)])
                return _with(both, None)  # the condition's inputs are not tracked
            case ast.Tiers():
                return self.tiers_range(expr)
            case ast.Lookup(subject=subject, cases=cases):
                ranges = [_with(self.range(case.result), self.member_witness(subject, case.member))
                          for case in cases]
                return _hull(ranges)
        return UNKNOWN

    def name_range(self, name: str) -> Range:
        if name == "full_points":
            return Range.exactly(self.full_points)
        if name in self.facts:
            fact = self.facts[name]
            return self.fact_range(fact, name) if fact.type.container is None else UNKNOWN
        if name in self.lets:
            if name not in self.let_ranges:
                self.let_ranges[name] = UNKNOWN  # no cycles (the checker saw to it)
                self.let_ranges[name] = self.range(self.lets[name].expr)
            return self.let_ranges[name]
        cohort = self.cohorts.get(name)
        if isinstance(cohort, ast.CohortRank):
            values = [Range.exactly(band.start + band.step * n)
                      for band in (cohort.top, cohort.bottom) for n in (0, band.size - 1)
                      if band.size > 0]
            if cohort.unranked is not None:
                values.append(self.range(cohort.unranked))
            return _with(_hull(values), None)
        return UNKNOWN

    def member_witness(self, subject: ast.Expr, member: str) -> Witness | None:
        return ((subject.name, member),) if isinstance(subject, ast.Name) else None

    def count_range(self, source: ast.Expr) -> Range:
        """How many entries a list (0 or more) or a set of enum members (0 to all) has."""
        type_ = self.checked.types.get(id(source))
        enum = self.enums.get(type_.name or "") if type_ is not None else None
        if type_ is not None and type_.kind == "set" and enum is not None:
            members = enum.members
            return Range(Bound(ZERO, None), Bound(Decimal(len(members)), None))
        return Range(Bound(ZERO, None), Bound(None))

    def call_range(self, function: str, args: tuple[ast.Expr, ...]) -> Range:
        if function == "count":
            return self.count_range(args[0])
        ranges = [self.range(arg) for arg in args]
        if function in {"min", "max"} and all(r.lo is not None and r.hi is not None
                                               for r in ranges):
            pick = min if function == "min" else max
            low = pick((r.low for r in ranges), key=lambda b: b.value or ZERO)
            high = pick((r.high for r in ranges), key=lambda b: b.value or ZERO)
            return Range(Bound(low.value, None), Bound(high.value, None))
        if function == "clamp" and ranges[1].lo is not None and ranges[2].hi is not None:
            return Range(Bound(ranges[1].lo, None), Bound(ranges[2].hi, None))
        return UNKNOWN  # growth, share, ratio: a quotient of two facts, unbounded

    def aggregate_range(self, expr: ast.Aggregate) -> Range:
        if expr.function == "count":
            return self.count_range(expr.source)
        type_ = self.checked.types.get(id(expr.source))
        element: ast.RecordDecl | ast.EnumDecl | None = None
        if type_ is not None and type_.name is not None:
            element = (self.records if type_.kind == "list" else self.enums).get(type_.name)
        self.variables[expr.variable] = element
        body = self.range(expr.body)
        if expr.function in {"max", "min"}:
            return _hull([_with(body, None), Range.exactly(ZERO)])  # an empty list gives 0
        if expr.function == "sum":
            if body.lo is not None and body.lo >= 0:
                return Range(Bound(ZERO, None), Bound(None if body.hi != 0 else ZERO))
            return UNKNOWN
        return UNKNOWN

    def tiers_range(self, expr: ast.Tiers) -> Range:
        reachable = []
        for tier, (reached, value) in zip(expr.tiers, self.tiers_walk(expr), strict=True):
            if reached:
                reachable.append(_with(self.range(tier.result), self.value_witness(
                    expr.subject, value)))
        otherwise = expr.otherwise or ast.Number(ZERO, expr.span)
        remaining = self.tiers_left(expr)
        if not remaining.empty:
            value = remaining.pick(">=", remaining.lo) if remaining.lo is not None \
                else remaining.pick("<=", remaining.hi) if remaining.hi is not None else None
            reachable.append(_with(self.range(otherwise),
                                   self.value_witness(expr.subject, value)))
        return _hull(reachable) if reachable else UNKNOWN

    def value_witness(self, subject: ast.Expr, value: Decimal | None) -> Witness | None:
        if value is None or not isinstance(subject, ast.Name) or subject.name not in self.facts:
            return None
        return ((subject.name, _plain(value, self.facts[subject.name].type.name)),)

    def tiers_reached(self, expr: ast.Tiers) -> list[bool]:
        """For each tier: can some input reach it (its comparison hold, no earlier one)?"""
        return [reached for reached, _ in self.tiers_walk(expr)]

    def tiers_left(self, expr: ast.Tiers) -> Interval:
        left = self.subject_interval(expr)
        for tier in expr.tiers:
            threshold = self.range(tier.threshold)
            if threshold.lo is None or threshold.lo != threshold.hi:
                return Interval(None, None)
            left = left.without(tier.op, threshold.lo)
        return left

    def subject_interval(self, expr: ast.Tiers) -> Interval:
        subject = self.range(expr.subject)
        return Interval(subject.lo, subject.hi)

    def tiers_walk(self, expr: ast.Tiers) -> list[tuple[bool, Decimal | None]]:
        """Each tier: reachable, and a subject value reaching it (None when unsure)."""
        left = self.subject_interval(expr)
        walked: list[tuple[bool, Decimal | None]] = []
        for tier in expr.tiers:
            threshold = self.range(tier.threshold)
            if threshold.lo is None or threshold.lo != threshold.hi:
                walked.append((True, None))
                left = Interval(None, None)  # a computed threshold: assume anything
                continue
            reached = left.meets(tier.op, threshold.lo)
            walked.append((reached, left.pick(tier.op, threshold.lo) if reached else None))
            left = left.without(tier.op, threshold.lo)
        return walked

    def satisfying(self, condition: ast.Expr) -> Witness | None:
        """An input that makes a condition true, when one is easy to name."""
        match condition:
            case ast.Name(name=name) if name in self.facts:
                return ((name, "true"),)
            case ast.Not(operand=ast.Name(name=name)) if name in self.facts:
                return ((name, "false"),)
            case ast.IsMember(subject=ast.Name(name=name), member=member, negated=False):
                return ((name, member),)
            case ast.Logical(op="and", left=left, right=right):
                return _merge(self.satisfying(left), self.satisfying(right))
            case ast.Logical(op="or", left=left, right=right):
                return self.satisfying(left) or self.satisfying(right)
            case ast.Compare(op=op, left=ast.Name() as subject, right=right):
                bound = self.range(right)
                if bound.lo is None or bound.lo != bound.hi:
                    return None
                own = self.range(subject)
                return self.value_witness(subject, Interval(own.lo, own.hi).pick(op, bound.lo))
        return None

    def never_true(self, compare: ast.Compare) -> bool:
        left, right = self.range(compare.left), self.range(compare.right)
        if right.lo is not None and right.lo == right.hi:
            return not Interval(left.lo, left.hi).meets(compare.op, right.lo)
        if left.lo is not None and left.lo == left.hi:
            flipped = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "!=": "!="}
            op: ast.CompareOp = flipped[compare.op]  # type: ignore[assignment]
            return not Interval(right.lo, right.hi).meets(op, left.lo)
        return False

    # ------------------------------------------------------------ rules
    def condition_possible(self, condition: ast.Expr | None) -> bool:
        """False only when the condition is one comparison no input can make true."""
        return not (isinstance(condition, ast.Compare) and self.never_true(condition))

    def amount(self, rule: ast.Rule) -> Range:
        """What one application of a rule gives or takes (per unit, before `per`)."""
        if isinstance(rule, ast.EachRule):
            self.variables[rule.variable] = self.element_of(rule.source)
        if isinstance(rule, ast.AmountRule | ast.StepRule | ast.EachRule):
            return self.range(rule.amount)
        return UNKNOWN

    def element_of(self, source: ast.Expr) -> ast.RecordDecl | ast.EnumDecl | None:
        type_ = self.checked.types.get(id(source))
        if type_ is None or type_.name is None:
            return None
        return (self.records if type_.kind == "list" else self.enums).get(type_.name)

    def delta(self, rule: ast.Rule) -> Range:
        """What a rule gives (award) or takes (deduct) in all, before any cap: a range of
        non-negative magnitudes where the amount is non-negative."""
        if isinstance(rule, ast.ZeroRule):
            return Range.exactly(ZERO)
        if isinstance(rule, ast.EntriesRule):
            total = Range(Bound(ZERO, ()), Bound(None))
        elif isinstance(rule, ast.AmountRule):
            total = self.amount(rule)
            if rule.per is not None:
                total = _multiply(total, self.range(rule.per))
            if rule.condition is not None:
                if not self.condition_possible(rule.condition):
                    return Range.exactly(ZERO)
                if total.lo is not None and total.lo >= 0:
                    total = Range(Bound(ZERO, None), Bound(
                        total.hi, _merge(total.high.at, self.satisfying(rule.condition))))
        elif isinstance(rule, ast.StepRule):
            total = _multiply(self.amount(rule), self.steps(rule))
        else:
            amount = self.amount(rule)
            total = _multiply(amount, Range(Bound(ZERO, ()), Bound(None))) \
                if amount.lo is not None and amount.lo >= 0 else UNKNOWN
        if rule.cap is not None:
            total = _at_most(total, rule.cap)
        return total

    def steps(self, rule: ast.StepRule) -> Range:
        value, threshold, step = (self.range(rule.value), self.range(rule.threshold),
                                  self.range(rule.step))
        if step.lo is None or step.lo != step.hi or step.lo <= 0:
            return UNKNOWN
        gap = (_add(threshold, _negate(value)) if rule.direction == "below"
               else _add(value, _negate(threshold)))
        if gap.hi is None:
            return Range(Bound(ZERO, None), Bound(None))
        most = max(gap.hi, ZERO) / step.lo
        most = most.to_integral_value("ROUND_FLOOR" if rule.rounding == "floor"
                                      else "ROUND_CEILING") if rule.rounding != "exact" else most
        return Range(Bound(ZERO, None), Bound(most, gap.high.at))


def _plain(value: Decimal, base: str) -> str:
    text = format(value.normalize(), "f") if value == value.to_integral_value() \
        else format(value, "f")
    return f"{text}%" if base == "percent" else text


def _number(value: Decimal) -> str:
    normal = value.normalize()
    return format(normal, "f") if normal == normal.to_integral_value() else str(normal)


# ================================================================ the lints


def lint(standard: ast.Standard, checked: Checked, text: str) -> list[Diagnostic]:
    """Every lint finding of a standard the checker passed (`text`: its rule file's text)."""
    analysis = Analysis(standard, checked)
    findings: list[Diagnostic] = []
    texts = {base.path: base.text for base in standard.bases} | {standard.path: text}
    for category in standard.categories:
        for item in category.items:
            findings.extend(text_numbers(item, category, analysis, texts.get(item.span.file)))
    for item in standard.items:
        findings.extend(awards_beyond_points(item, analysis))
        findings.extend(points_out_of_reach(item, analysis))
        findings.extend(caps_never_binding(item, analysis))
    findings.extend(unreachable_comparisons(standard, analysis))
    return findings


def _containers(item: ast.Item) -> Iterator[tuple[str, Decimal, ast.Rule]]:
    """Each rule of an item with what it is in: ("part 名称" or "item 3", its points)."""
    for entry in item.body:
        if isinstance(entry, ast.Part):
            for rule in entry.rules:
                yield f"part {entry.label}", entry.points, rule
        else:
            yield f"item {item.number}", item.points, entry


# ---------------------------------------------------------------- L402 an award too large
def awards_beyond_points(item: ast.Item, analysis: Analysis) -> Iterator[Diagnostic]:
    for owner, points, rule in _containers(item):
        if not isinstance(rule, ast.AmountRule | ast.EachRule) or rule.sign != "award":
            continue
        analysis.full_points = points
        amount = analysis.amount(rule)
        if amount.hi is None or amount.hi <= points or amount.high.at is None:
            continue
        when = f" (when {shown(amount.high.at)})" if amount.high.at else ""
        yield _finding("L402", f"this award can give {_number(amount.hi)}{when}, more than the "
                       f"{_number(points)} points of {owner}", rule.amount.span,
                       hint="the part or item is capped at its points, so the excess is lost: "
                       "check the amount (or the weight) against the table")


# ---------------------------------------------------------------- L403, L404, L405 points
def _best(rules: Iterable[ast.Rule], analysis: Analysis) -> Range:
    """What a list of rules gives together: awards minus deductions, before clamping."""
    total = Range.exactly(ZERO)
    for rule in rules:
        if isinstance(rule, ast.ZeroRule):
            if analysis.condition_possible(rule.condition):
                total = Range(Bound(None), total.high)  # it can take everything
            continue
        delta = analysis.delta(rule)
        total = _add(total, delta if getattr(rule, "sign", "") == "award" else _negate(delta))
    return total


def part_within_points(part: ast.Part, analysis: Analysis) -> bool:
    """Whether a part's rules together give between 0 and the part's points for every input
    the facts' declared bounds allow (the readers refuse any other), so that clamping them
    (close_part) can change nothing: code generation leaves the clamp out of `score` then.
    Only what the bounds settle is proven; False for a part that could escape them: a
    `zero when` rule, a rule over a list's entries, a negative amount (a conditional one
    gives 0 too, which the range does not count), a division or an exact step count (a
    rounded quotient at build time), a cohort value (a snapshot gives it), directly or
    through a `let`."""
    analysis.full_points = part.points
    lets = analysis.lets
    seen: set[str] = set()

    def bounded(expr: ast.Expr | None) -> bool:
        for sub in _walk(expr) if expr is not None else ():
            match sub:
                case ast.Arithmetic(op="/") | ast.Aggregate() | ast.Field():
                    return False
                case ast.Name(name=name) if name in analysis.cohorts:
                    return False
                case ast.Name(name=name) if name in lets and name not in seen:
                    seen.add(name)
                    if not bounded(lets[name].expr):
                        return False
        return True

    for rule in part.rules:
        if not isinstance(rule, ast.AmountRule | ast.StepRule):
            return False
        if isinstance(rule, ast.StepRule) and rule.rounding == "exact":
            return False
        if not all(bounded(expr) for expr in _rule_exprs(rule)):
            return False
        amount = analysis.amount(rule)
        if amount.lo is None or amount.lo < 0:
            return False
    total = _best(part.rules, analysis)
    return (total.lo is not None and total.hi is not None
            and total.lo >= ZERO and total.hi <= part.points)


def points_out_of_reach(item: ast.Item, analysis: Analysis) -> Iterator[Diagnostic]:
    parts = [entry for entry in item.body if isinstance(entry, ast.Part)]
    direct = [entry for entry in item.body if not isinstance(entry, ast.Part)]
    parts_sum = sum((p.points for p in parts), ZERO)
    awards_directly = any(getattr(rule, "sign", "") == "award" for rule in direct)
    if parts and not awards_directly and parts_sum < item.points:
        yield _finding("L403", f"the parts of item {item.number} add up to "
                       f"{_number(parts_sum)}, less than its {_number(item.points)} points, "
                       "and no rule of the item awards the rest", item.span,
                       hint="fix a part's points or the item's, or award the rest in the item")
        return
    total = Range.exactly(ZERO)
    for part in parts:
        analysis.full_points = part.points
        best = _best(part.rules, analysis)
        if part.not_applicable is None and best.hi is not None and best.hi < part.points \
                and best.high.at is not None:
            yield _finding("L404", f"part {part.label} can earn at most {_number(best.hi)} of "
                           f"its {_number(part.points)} points (best case: "
                           f"{shown(best.high.at)})", part.span,
                           hint="an award is missing or too small, or the part's points "
                           "are too high")
        clamped_high = (Bound(part.points, best.high.at)
                        if best.hi is None or best.hi >= part.points else best.high)
        if part.not_applicable is not None:
            clamped_high = Bound(part.points, None)
        low = Bound(ZERO, None) if best.lo is None or best.lo <= 0 else best.low
        total = _add(total, Range(low, clamped_high))
    analysis.full_points = item.points
    total = _add(total, _best(direct, analysis))
    # A bonus item's points are a limit on what it adds (加分以N分为限), not what a compliant
    # institution earns, so only regular items are held to reaching theirs.
    if total.hi is not None and total.hi < item.points and total.high.at is not None \
            and parts_sum <= total.hi and not item.bonus:
        yield _finding("L404", f"item {item.number} can earn at most {_number(total.hi)} of "
                       f"its {_number(item.points)} points (best case: "
                       f"{shown(total.high.at)})", item.span,
                       hint="an award is missing or too small, or the item's points are too "
                       "high")
    takes = [rule for rule in item.body if not isinstance(rule, ast.Part)
             and (isinstance(rule, ast.ZeroRule) or rule.sign == "deduct")]
    # An item with no deduction at all says so plainly in the file; the mistake is an item
    # whose deductions (or zero rules) are there but can never take anything.
    if takes and item.not_applicable is None and total.lo is not None \
            and total.lo >= item.points and not item.bonus:
        yield _finding("L405", f"item {item.number} earns its full "
                       f"{_number(item.points)} points whatever the input: none of its "
                       "deductions can ever take anything", takes[0].span,
                       hint="check the deductions' amounts and conditions against the facts' "
                       "bounds and the table's 评分办法")


# ---------------------------------------------------------------- L406, L407 unreachable
def _walk(expr: ast.Expr) -> Iterator[ast.Expr]:
    yield expr
    for child in _children(expr):
        yield from _walk(child)


def _children(expr: ast.Expr) -> tuple[ast.Expr, ...]:
    match expr:
        case ast.Negate(operand=a) | ast.Not(operand=a):
            return (a,)
        case ast.Arithmetic(left=a, right=b) | ast.Compare(left=a, right=b) | \
                ast.Logical(left=a, right=b):
            return (a, b)
        case ast.IsMember(subject=a) | ast.HasMember(subject=a):
            return (a,)
        case ast.Call(args=args):
            return args
        case ast.Aggregate(source=a, body=b):
            return (a, b)
        case ast.IfThenElse(condition=a, then=b, otherwise=c):
            return (a, b, c)
        case ast.Tiers(subject=a, tiers=tiers, otherwise=c):
            rest = tuple(e for t in tiers for e in (t.threshold, t.result))
            return (a, *rest, *((c,) if c is not None else ()))
        case ast.Lookup(subject=a, cases=cases):
            return (a, *(case.result for case in cases))
    return ()


def _rule_exprs(rule: ast.Rule) -> tuple[ast.Expr | None, ...]:
    match rule:
        case ast.AmountRule():
            return (rule.amount, rule.per, rule.condition)
        case ast.StepRule():
            return (rule.amount, rule.step, rule.value, rule.threshold)
        case ast.EachRule():
            return (rule.source, rule.amount, rule.condition)
        case ast.ZeroRule():
            return (rule.condition,)
    return ()


def _standard_exprs(standard: ast.Standard, analysis: Analysis
                    ) -> Iterator[tuple[ast.Expr, Decimal]]:
    """Every expression of the standard, with the points `full_points` stands for there."""
    for let in standard.lets:
        yield let.expr, ZERO
    for item in standard.items:
        if item.not_applicable is not None:
            yield item.not_applicable.condition, item.points
        for entry in item.body:
            if isinstance(entry, ast.Part) and entry.not_applicable is not None:
                yield entry.not_applicable.condition, entry.points
        for _, points, rule in _containers(item):
            if isinstance(rule, ast.EachRule):
                analysis.variables[rule.variable] = analysis.element_of(rule.source)
            for expr in _rule_exprs(rule):
                if expr is not None:
                    yield expr, points


def _subject_text(analysis: Analysis, subject: ast.Expr) -> str:
    found = analysis.range(subject)
    type_ = analysis.checked.types.get(id(subject))
    unit = "%" if type_ is not None and type_.kind == "percent" else ""
    low = "−∞" if found.lo is None else f"{_number(found.lo)}{unit}"
    high = "∞" if found.hi is None else f"{_number(found.hi)}{unit}"
    return low if low == high else f"{low}..{high}"


def unreachable_comparisons(standard: ast.Standard, analysis: Analysis) -> Iterator[Diagnostic]:
    for root, points in _standard_exprs(standard, analysis):
        analysis.full_points = points
        for expr in _walk(root):
            if isinstance(expr, ast.Aggregate):
                analysis.variables[expr.variable] = analysis.element_of(expr.source)
            if isinstance(expr, ast.Tiers):
                for tier, reached in zip(expr.tiers, analysis.tiers_reached(expr), strict=True):
                    if not reached:
                        yield _finding(
                            "L406", f"no input reaches this tier: its subject is "
                            f"{_subject_text(analysis, expr.subject)} by the facts' declared "
                            "bounds, and earlier tiers take the rest", tier.span,
                            hint="check the threshold against the fact's bounds (a percent "
                            "in 0..100 never reaches 120%), or remove the tier")
            elif isinstance(expr, ast.Compare) and analysis.never_true(expr):
                yield _finding("L407", "no input makes this comparison true: the left side "
                               f"is {_subject_text(analysis, expr.left)}, the right "
                               f"{_subject_text(analysis, expr.right)}", expr.span,
                               hint="check the number against the fact's declared bounds")


# ---------------------------------------------------------------- L408 caps
def caps_never_binding(item: ast.Item, analysis: Analysis) -> Iterator[Diagnostic]:
    for _, points, rule in _containers(item):
        cap = getattr(rule, "cap", None)
        if cap is None:
            continue
        analysis.full_points = points
        uncapped = analysis.delta(_uncapped(rule))
        if uncapped.hi is not None and uncapped.hi < cap and uncapped.high.at is not None:
            yield _finding("L408", f"the cap {_number(cap)} never binds: the rule gives or "
                           f"takes at most {_number(uncapped.hi)} (at "
                           f"{shown(uncapped.high.at)})", rule.span,
                           hint="check the cap and the amounts against the table, or remove "
                           "the cap")
    if item.deduction_cap is not None:
        analysis.full_points = item.points
        total = Range.exactly(ZERO)
        for _, points, rule in _containers(item):
            if getattr(rule, "sign", "") == "deduct":
                analysis.full_points = points
                total = _add(total, analysis.delta(rule))
        cap = item.deduction_cap.points
        if total.hi is not None and total.hi < cap and total.high.at is not None:
            yield _finding("L408", f"the deduction cap {_number(cap)} never binds: the "
                           f"item's deductions together take at most {_number(total.hi)} "
                           f"(at {shown(total.high.at)})", item.deduction_cap.span,
                           hint="check the cap and the deductions against the table, or "
                           "remove the cap")


def _uncapped(rule: ast.Rule) -> ast.Rule:
    if isinstance(rule, ast.ZeroRule):
        return rule
    return dataclasses.replace(rule, cap=None)


# ---------------------------------------------------------------- L401 numbers in texts
# A number counts when a unit follows it at once: 分 (points; not 分钟, 分之, 分别, 分类,
# 分期, 分级, 分析, 分配, 分开, 分为 after a plain count), %, ％, 元, 次 (not 次均), 个百分点.
# The numbers a text may state: those of the item's rules (literals, points, caps, the bounds
# of the facts they read, cohort bands) and its category's points ("总分100分").
# Where an item has both, its 评分办法 (method) is read for percents only: the rules take their
# points from 操作方法 (procedure) where the two differ (G1), but the thresholds are the same.
# Ranges ("0.5-1分", "1-2倍") state a discretionary band the rules take as input, and are
# passed over; so are dates and durations (2023年12月, 5个工作日, 1个月): no unit of ours.
NUMBER_WITH_UNIT = re.compile(
    r"(?<![\d.\-－~～至—])(\d+(?:\.\d+)?)\s*(个百分点|%|％|元|次(?!均)|分(?![钟之别类期级析配开]))"
    r"(?!\s*[\-－~～至—]\s*\d)")
PERCENT_UNITS = frozenset({"%", "％", "个百分点"})


@dataclass(frozen=True, slots=True)
class _RuleNumber:
    value: Decimal
    percent: bool
    span: ast.Span


def _rule_numbers(item: ast.Item, analysis: Analysis) -> list[_RuleNumber]:
    """The numbers an item's rules use: literals, points, caps, and the bounds of the facts
    (and record fields, derived values and cohort bands) they read."""
    found: list[_RuleNumber] = [_RuleNumber(item.points, False, item.span)]
    if item.deduction_cap is not None:
        found.append(_RuleNumber(item.deduction_cap.points, False, item.deduction_cap.span))
    seen: set[str] = set()

    def numbers_of(expr: ast.Expr, span: ast.Span) -> None:
        for node in _walk(expr):
            if isinstance(node, ast.Number):
                found.append(_RuleNumber(node.value, False, span))
            elif isinstance(node, ast.Percent):
                found.append(_RuleNumber(node.value, True, span))
            elif isinstance(node, ast.Name) and node.name not in seen:
                seen.add(node.name)
                declared(node.name, span)
            elif isinstance(node, ast.Field):
                for record in analysis.records.values():
                    for decl in record.fields:
                        if decl.name == node.field:
                            bounds(decl, span)

    def bounds(fact: ast.FactDecl, span: ast.Span) -> None:
        for value in (fact.low, fact.high):
            if value is not None:
                found.append(_RuleNumber(value, fact.type.name == "percent", span))

    def declared(name: str, span: ast.Span) -> None:
        if name in analysis.facts:
            bounds(analysis.facts[name], span)
        elif name in analysis.lets:
            numbers_of(analysis.lets[name].expr, span)
        elif isinstance(analysis.cohorts.get(name), ast.CohortRank):
            cohort = analysis.cohorts[name]
            assert isinstance(cohort, ast.CohortRank)
            for band in (cohort.top, cohort.bottom):
                found.append(_RuleNumber(Decimal(band.size), False, span))
                for n in range(band.size):
                    found.append(_RuleNumber(abs(band.start + band.step * n), False, span))

    for entry in item.body:
        rules = entry.rules if isinstance(entry, ast.Part) else (entry,)
        if isinstance(entry, ast.Part):
            found.append(_RuleNumber(entry.points, False, entry.span))
        for rule in rules:
            cap: Decimal | None = getattr(rule, "cap", None)
            if cap is not None:
                found.append(_RuleNumber(cap, False, rule.span))
            for expr in _rule_exprs(rule):
                if expr is not None:
                    numbers_of(expr, rule.span)
            if isinstance(rule, ast.StepRule) and isinstance(rule.step, ast.Percent):
                found.append(_RuleNumber(rule.step.value, True, rule.span))
    return found


def _text_places(item: ast.Item, source: str | None
                 ) -> Iterator[tuple[str, str, ast.Span | None]]:
    """Each piece of text to read: (what it is, its text, where its first character is)."""
    lines = source.splitlines() if source is not None else []
    start, end = item.span.line - 1, item.span.end_line
    for kind in ("method", "procedure"):
        text = getattr(item.texts, kind)
        if not text:
            continue
        for piece in text.split("\n"):
            place = None
            for number in range(start, min(end, len(lines))):
                column = lines[number].find(f'"{piece}"')
                if column >= 0:
                    place = ast.Span(item.span.file, number + 1, column + 2, number + 1,
                                     column + 2)
                    break
            yield kind, piece, place
    for entry in item.body:
        for rule in (entry.rules if isinstance(entry, ast.Part) else (entry,)):
            reason = rule.reason
            yield "reason", reason.text, ast.Span(
                reason.span.file, reason.span.line, reason.span.column + 1,
                reason.span.line, reason.span.column + 1)


def text_numbers(item: ast.Item, category: ast.Category, analysis: Analysis,
                 source: str | None) -> Iterator[Diagnostic]:
    numbers = _rule_numbers(item, analysis)
    numbers.append(_RuleNumber(category.points, False, category.span))
    for kind, text, place in _text_places(item, source):
        for match in NUMBER_WITH_UNIT.finditer(text):
            value, unit = Decimal(match.group(1)), match.group(2)
            percent = unit in PERCENT_UNITS
            if kind == "method" and item.texts.procedure and not percent:
                continue  # G1: the points follow 操作方法; 评分办法's thresholds still hold
            same_kind = [n for n in numbers if n.percent == percent]
            if any(n.value == value for n in same_kind):
                continue
            where = place or item.span
            span = ast.Span(where.file, where.line, where.column + match.start(), where.line,
                            where.column + match.end()) if place else where
            nearest = min(same_kind, key=lambda n: abs(n.value - value), default=None)
            said = f"{match.group(1)}{unit}"
            if nearest is None:
                message = (f"the {kind} text says {said}, but no rule of item {item.number} "
                           f"uses a {'percent' if percent else 'number'} at all")
            else:
                message = (f"the {kind} text says {said}, but no rule of item {item.number} "
                           f"uses {_number(value)}; the nearest is {_number(nearest.value)}"
                           f"{'%' if percent else ''} "
                           f"at line {nearest.span.line}")
            yield _finding("L401", message, span,
                           hint="make the text and the rule agree (the rule decides the "
                           "score; the text is what the agency publishes)")


# ---------------------------------------------------------------- L409 periods
@dataclass(frozen=True, slots=True)
class Period:
    """One standard's version and its effective period, with where its `effective` is."""

    region: str
    name: str
    version: int
    start: dt.date
    end: dt.date | None  # None: open
    span: ast.Span


def effective_span(standard: ast.Standard, text: str) -> ast.Span:
    """The `effective` line of a standard's header (the header itself when not found)."""
    header = standard.header.span
    lines = text.splitlines()
    for number in range(header.line - 1, min(header.end_line, len(lines))):
        column = lines[number].find("effective")
        if column >= 0 and not lines[number].lstrip().startswith("#"):
            return ast.Span(header.file, number + 1, column + 1, number + 1,
                            len(lines[number]) + 1)
    return header


def overlapping_periods(periods: Sequence[Period]) -> list[Diagnostic]:
    """L409: two versions of one standard whose effective periods overlap (an assessment year
    in both would be scored by whichever `--year` found first)."""
    findings = []
    ordered = sorted(periods, key=lambda p: (p.region, p.name, p.version))
    for index, later in enumerate(ordered):
        for earlier in ordered[:index]:
            if (earlier.region, earlier.name) != (later.region, later.name) \
                    or earlier.version == later.version:
                continue
            if (earlier.end is None or later.start <= earlier.end) and \
                    (later.end is None or earlier.start <= later.end):
                end = "open" if earlier.end is None else earlier.end
                findings.append(_finding(
                    "L409", f"{later.region}/{later.name} version {later.version} is in force "
                    f"from {later.start}, but version {earlier.version} ({earlier.span.file}:"
                    f"{earlier.span.line}) is in force {earlier.start} to {end}: the periods "
                    "overlap", later.span,
                    hint=f"end version {earlier.version} the day before {later.start}, or "
                    "start this one later"))
    return findings


def periods_of(standards: Iterable[tuple[ast.Standard, ast.Span]]) -> list[Period]:
    return [Period(s.header.region or "", s.header.name, s.header.version or 0, start,
                   s.header.effective_to, span)
            for s, span in standards if (start := s.header.effective_from) is not None]
