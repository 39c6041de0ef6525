"""The column backend of codegen: a pack's `COLUMNS` plan, `check_columns` and
`score_columns`, the same rules as `score` written over fixed-point numpy columns
(runtime/columns.py; issue 10).

One method per kind of node, `col_<Node>`, as the record backend's `visit_<Node>`. Each
expression becomes a `Col`: its code and, for a number, the scale it is held at (`digits`:
the int64 is value·10**digits), the decimals its value can have, and its range. Every
operation checks that its result stays exact and below 2**62 at that scale; where it
cannot prove so, or meets a construct it has no column form for, it raises `NoColumnForm`
and the pack gets `COLUMNS = None` with the reason in a comment (the record path scores it).

A rule that needs an optional fact (`need()` in `score`) fails the record when the fact is
missing: each such use is kept with the condition under which `score` evaluates it (an
over-approximation: the item applies, the part applies, the `if` branch, the left side of
`and`), and `check_columns` refuses to vouch for a record where the fact is missing and
that condition holds.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from ..runtime.columns import (
    COUNT_LIMIT,
    LIST_LIMIT,
    NUMBER_LIMIT,
    PRODUCT_LIMIT,
    SCALE_DIGITS,
)
from . import ast
from .checker import FULL_POINTS, is_weight
from .lints import part_within_points

if TYPE_CHECKING:
    from .codegen import _PackBuilder

# the runtime.columns functions generated code may call (imported when it does)
COLUMN_HELPERS = ("ceil_div", "clamped", "floor_div", "half_up_cents", "segment_all",
                  "segment_any", "segment_max", "segment_min", "segment_sum", "steps_count")
NUMBER_KINDS = frozenset({"number", "score", "points", "money", "percent"})


class NoColumnForm(Exception):
    """The pack (or one expression of it) has no proven column form; the message says why."""


@dataclass(frozen=True, slots=True)
class Col:
    """An expression over columns: `code` is numpy code (an int64 array or int, a bool
    array or bool). Numbers: value = code / 10**digits, with at most `decimals` decimals,
    within [low, high]. A ratio (share): `code` / `denominator`, both numbers."""

    code: str
    kind: Literal["number", "bool", "enum", "set", "list", "ratio"]
    digits: int = 0
    decimals: int = 0
    low: Decimal = Decimal(0)
    high: Decimal = Decimal(0)
    enum: str | None = None  # the enum of an enum or set
    level: str = "t"  # the columns it is read from: "t" (records) or a list's entries
    denominator: Col | None = None  # a ratio's
    offsets: str | None = None  # a list's offsets
    record: str | None = None  # a list's record type

    @property
    def magnitude(self) -> Decimal:
        """The largest |int64| the code can hold."""
        return max(abs(self.low), abs(self.high)) * (Decimal(10) ** self.digits)


def _digits_of(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def _int_code(value: int) -> str:
    return f"{value:_}" if abs(value) >= 10_000 else str(value)


def _checked(col: Col, what: str) -> Col:
    if col.kind == "number" and col.magnitude >= PRODUCT_LIMIT:
        raise NoColumnForm(f"{what} may reach {col.magnitude:.3e} at its scale, beyond "
                           "2**62 in int64")
    return col


def constant(value: Decimal) -> Col:
    digits = _digits_of(value)
    raw = int(value.scaleb(digits))
    return Col(_int_code(raw), "number", digits, digits, value, value)


def rescaled(col: Col, digits: int) -> Col:
    """`col` at a larger scale (exact: a multiplication)."""
    if digits == col.digits:
        return col
    if digits < col.digits:  # exact only when the value has no digit beyond `digits`
        if col.decimals > digits:
            raise NoColumnForm(f"a value with {col.decimals} decimals held at {digits}")
        factor = 10 ** (col.digits - digits)
        return Col(f"({col.code}) // {_int_code(factor)}", "number", digits, col.decimals,
                   col.low, col.high, level=col.level)
    factor = 10 ** (digits - col.digits)
    code = _int_code(int(col.code) * factor) if _is_int(col.code) else \
        f"{_wrapped(col.code)} * {_int_code(factor)}"
    return _checked(Col(code, "number", digits, col.decimals, col.low, col.high,
                        level=col.level), "a value brought to a common scale")


def _is_int(code: str) -> bool:
    return code.replace("_", "").lstrip("-").isdigit()


def _wrapped(code: str) -> str:
    """`code` as an operand: parenthesized unless it is one atom (a name, a number, a
    call, a subscript or a parenthesized group)."""
    depth = 0
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline)
              if t.type not in {tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER}]
    for token in tokens:
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        elif depth == 0 and token.type == tokenize.OP and token.string != ".":
            return f"({code})"
    return code


class ColumnBackend:
    """Writes one pack's column form, from the record backend's builder (its facts, enums,
    analysis and constants)."""

    def __init__(self, builder: _PackBuilder) -> None:
        self.b = builder
        self.standard = builder.standard
        self.enums = {e.name: e for e in self.standard.enums}
        self.records = builder.records
        self.facts = builder.facts
        self.lets = {x.name: x for x in self.standard.lets}
        self.cohorts = {c.name: c for c in self.standard.cohorts}
        self.guard: list[str] = []  # the conditions under which the code written is run
        self.needs: list[tuple[str, str]] = []  # (optional fact, condition of its use)
        self.undefined: list[tuple[str, str]] = []  # (check, what it covers) for lets
        self.scope: dict[str, Col] = {}  # loop variables
        self.part_points = Decimal(0)

    # ------------------------------------------------------------ the plan
    def fact_plan(self, fact: ast.FactDecl, indent: str) -> str:
        ref = fact.type
        required = fact.presence == "required"
        if fact.default is not None:
            raise NoColumnForm(f"{fact.name} has a default value")
        args = [repr(fact.name)]
        if ref.container == "list":
            if ref.name in self.enums:
                kind = "enum_list"
            else:
                record = self.records[ref.name]
                inner = indent + "    "
                fields = "".join(f"\n{inner}    {self.fact_plan(f, inner)}," for f in
                                 record.fields)
                args += ["'records'", f"fields=({fields}\n{inner})"]
                return f"ColumnFact({', '.join(args)}" + \
                    ("" if required else ", required=False") + ")"
        elif ref.container == "set":
            kind = "enum_set"
        elif ref.name == "bool":
            kind = "bool"
        elif ref.name == "count":
            kind = "count"
        elif ref.name in NUMBER_KINDS:
            kind = "decimal"
        elif ref.name in self.enums:
            kind = "enum"
        else:
            raise NoColumnForm(f"{fact.name} is a {ref.name}, which has no column form")
        args.append(repr(kind))
        if not required:
            args.append("required=False")
        low, high = self.b.bounds(fact)
        if kind in ("decimal", "count"):
            if low is not None:
                args.append(f"low=Decimal({str(low)!r})")
            if high is not None:
                args.append(f"high=Decimal({str(high)!r})")
        if ref.name in self.enums:
            args.append(f"codes={tuple(m.name for m in self.enums[ref.name].members)!r}")
        return f"ColumnFact({', '.join(args)})"

    def fact_range(self, fact: ast.FactDecl) -> tuple[Decimal, Decimal]:
        """The values the lane vouches for (runtime.columns.ColumnFact.limits)."""
        low, high = self.b.bounds(fact)
        if fact.type.name == "count":
            lo, hi = Decimal(0), Decimal(COUNT_LIMIT)
        else:
            lo, hi = Decimal(-NUMBER_LIMIT), Decimal(NUMBER_LIMIT)
        return (max(lo, low) if low is not None else lo, min(hi, high) if high is not None
                else hi)

    # ------------------------------------------------------------ names
    def fact_col(self, fact: ast.FactDecl, level: str, path: str) -> Col:
        ref = fact.type
        name = repr(fact.name)
        if ref.container == "list":
            return Col(f"{path}.lists[{name}][1]", "list", level=level,
                       offsets=f"{path}.lists[{name}][0]", record=ref.name)
        if ref.container == "set":
            return Col(f"{path}.members[{name}]", "set", enum=ref.name, level=level)
        if ref.name == "bool":
            return Col(f"{path}.flags[{name}]", "bool", level=level)
        if ref.name in self.enums:
            return Col(f"{path}.codes[{name}]", "enum", enum=ref.name, level=level)
        low, high = self.fact_range(fact)
        if ref.name == "count":
            return Col(f"{path}.numbers[{name}]", "number", 0, 0, low, high, level=level)
        return Col(f"{path}.numbers[{name}]", "number", SCALE_DIGITS, 4, low, high,
                   level=level)

    def col(self, node: ast.Expr) -> Col:
        method: Callable[[Any], Col] = getattr(self, f"col_{type(node).__name__}",
                                               self.col_unknown)
        return method(node)

    def col_unknown(self, node: ast.Expr) -> Col:
        raise NoColumnForm(f"{type(node).__name__} (line {node.span.line}) has no column form")

    def col_Number(self, node: ast.Number) -> Col:
        return constant(node.value)

    def col_Percent(self, node: ast.Percent) -> Col:
        return constant(node.value)

    def col_Boolean(self, node: ast.Boolean) -> Col:
        return Col("True" if node.value else "False", "bool")

    def col_Name(self, node: ast.Name) -> Col:
        name = node.name
        if name == FULL_POINTS:
            return constant(self.part_points)
        if name in self.scope:
            return self.scope[name]
        if name in self.facts:
            fact = self.facts[name]
            col = self.fact_col(fact, "t", "t")
            if self.b.optional(fact):
                self.needs.append((name, self.guard_code()))
            return col
        if name in self.lets:
            let = self.lets[name]
            if any(isinstance(sub, ast.Name) and sub.name in self.b.maybe_missing
                   for sub in _walk(let.expr)):
                raise NoColumnForm(f"the derived value {name} reads an optional fact")
            saved, self.guard = self.guard, []
            try:
                return self.col(let.expr)
            finally:
                self.guard = saved
        if name in self.cohorts:
            cohort = self.cohorts[name]
            if not isinstance(cohort, ast.CohortRank):
                raise NoColumnForm(f"the cohort value {name} is a group mean (a 28-digit "
                                   "quotient), not exact at the lane's scale")
            values = self.b.analysis.range(node)
            if values.lo is None or values.hi is None:
                raise NoColumnForm(f"the cohort value {name} has no bounds")
            return Col(f"cohorts[{name!r}]", "number", SCALE_DIGITS, SCALE_DIGITS,
                       values.lo, values.hi)
        raise NoColumnForm(f"the name {name} has no column form")

    def col_Field(self, node: ast.Field) -> Col:
        variable = self.scope.get(node.record)
        if variable is None or variable.record is None:
            raise NoColumnForm(f"{node.record}.{node.field} is not a record's field")
        record = self.records[variable.record]
        fact = next(f for f in record.fields if f.name == node.field)
        if self.b.optional(fact):
            raise NoColumnForm(f"the entry field {node.field} is optional")
        return self.fact_col(fact, variable.code, variable.code)

    # ------------------------------------------------------------ arithmetic
    def of_kind(self, node: ast.Expr, kind: str, needed: str) -> Col:
        col = self.col(node)
        if col.kind != kind:
            raise NoColumnForm(f"line {node.span.line}: a {col.kind} where {needed} is "
                               "needed")
        return col

    def number(self, node: ast.Expr) -> Col:
        return self.of_kind(node, "number", "a number")

    def col_Negate(self, node: ast.Negate) -> Col:
        operand = self.number(node.operand)
        return replace(operand, code=f"-{_wrapped(operand.code)}", low=-operand.high,
                       high=-operand.low)

    def add(self, left: Col, right: Col, op: str) -> Col:
        digits = max(left.digits, right.digits)
        left, right = rescaled(left, digits), rescaled(right, digits)
        if op == "+":
            low, high = left.low + right.low, left.high + right.high
        else:
            low, high = left.low - right.high, left.high - right.low
        return _checked(Col(f"{left.code} {op} {_wrapped(right.code)}", "number", digits,
                            max(left.decimals, right.decimals), low, high,
                            level=_level(left, right)), "a sum")

    def multiply(self, left: Col, right: Col) -> Col:
        if _is_int(right.code) and not _is_int(left.code):
            left, right = right, left
        if left.code == "1" and left.digits == 0:  # 1 × x is x
            return right
        corners = [a * b for a in (left.low, left.high) for b in (right.low, right.high)]
        product = _checked(Col(f"{_wrapped(left.code)} * {_wrapped(right.code)}", "number",
                               left.digits + right.digits, left.decimals + right.decimals,
                               min(corners), max(corners), level=_level(left, right)),
                           "a product")
        if product.digits > SCALE_DIGITS and product.decimals <= SCALE_DIGITS:
            return rescaled(product, SCALE_DIGITS)  # exact: no digit beyond SCALE
        return product

    def col_Arithmetic(self, node: ast.Arithmetic) -> Col:
        if is_weight(node):  # x × p% = x · (p/100), a constant of two more decimals
            weighed, percent = (node.right, node.left) if isinstance(node.left, ast.Percent) \
                else (node.left, node.right)
            assert isinstance(percent, ast.Percent)
            return self.multiply(self.number(weighed), constant(percent.value / 100))
        left, right = self.number(node.left), self.number(node.right)
        if node.op in ("+", "-"):
            return self.add(left, right, node.op)
        if node.op == "*":
            return self.multiply(left, right)
        if right.low == right.high and _is_int(right.code) and right.low != 0:
            inverse = Decimal(1) / right.low
            if inverse.scaleb(30) == inverse.scaleb(30).to_integral_value():
                return self.multiply(left, constant(inverse))  # 1/2, 1/4, 1/5 ... exact
        raise NoColumnForm(f"line {node.span.line}: a division by {right.code}, not a "
                           "constant of the form 2^a·5^b")

    # ------------------------------------------------------------ conditions
    def boolean(self, node: ast.Expr) -> Col:
        return self.of_kind(node, "bool", "a condition")

    def col_Compare(self, node: ast.Compare) -> Col:
        left, right = self.col(node.left), self.col(node.right)
        return self.compare(left, node.op, right, node.span.line)

    def compare(self, left: Col, op: str, right: Col, line: int) -> Col:
        if left.kind == "ratio" or right.kind == "ratio":
            return self.compare_ratio(left, op, right, line)
        if left.kind != "number" or right.kind != "number":
            raise NoColumnForm(f"line {line}: a comparison of a {left.kind} and a "
                               f"{right.kind}")
        if left.digits == right.digits:
            return Col(f"({_wrapped(left.code)} {op} {_wrapped(right.code)})", "bool",
                       level=_level(left, right))
        small, large, flipped = (left, right, op) if left.digits < right.digits else \
            (right, left, _FLIPPED[op])
        try:  # the smaller scale brought up, when it fits
            up = rescaled(small, large.digits)
            pair = (up, large) if small is left else (large, up)
            return Col(f"({pair[0].code} {op} {_wrapped(pair[1].code)})", "bool",
                       level=_level(left, right))
        except NoColumnForm:
            pass
        # x op y/10^k for whole x: x >= ⌈y/10^k⌉, x > ⌊y/10^k⌋, x <= ⌊y/10^k⌋, x < ⌈y/10^k⌉
        factor = _int_code(10 ** (large.digits - small.digits))
        if flipped in (">=", "<"):
            bound = f"ceil_div({large.code}, {factor})"
        elif flipped in (">", "<="):
            bound = f"floor_div({large.code}, {factor})"
        else:
            exact = f"({large.code}) % {factor} == 0"
            same = f"(({exact}) & ({small.code} == floor_div({large.code}, {factor})))"
            code = same if flipped == "==" else f"~{same}"
            return Col(code, "bool", level=_level(left, right))
        return Col(f"({small.code} {flipped} {bound})", "bool", level=_level(left, right))

    def compare_ratio(self, left: Col, op: str, right: Col, line: int) -> Col:
        """a/b op c ⟺ a op c·b (b > 0, which check_columns makes sure of): a share compared
        with a constant, exactly. The record path compares the 28-digit quotient: when a/b
        is not c, the two differ by at least 1/(b·10**6) ≥ 10**-15, and rounding a quotient
        near |c| < 10**6 to 28 digits moves it by less than 10**-21."""
        if left.kind != "ratio":
            left, right, op = right, left, _FLIPPED[op]
        if right.kind != "number" or right.low != right.high or not _is_int(right.code):
            raise NoColumnForm(f"line {line}: a share compared with something other than a "
                               "constant")
        if abs(right.low) >= 10**6:  # 28-digit rounding near it stays below 10**-21
            raise NoColumnForm(f"line {line}: a share compared with a constant beyond 10**6")
        assert left.denominator is not None
        scaled = self.multiply(right, left.denominator)
        numerator = replace(left, kind="number", denominator=None)
        return self.compare(numerator, op, scaled, line)

    def col_Logical(self, node: ast.Logical) -> Col:
        left = self.boolean(node.left)
        self.guard.append(left.code if node.op == "and" else _negated(left.code))
        try:
            right = self.boolean(node.right)
        finally:
            self.guard.pop()
        op = "&" if node.op == "and" else "|"
        return Col(f"({_wrapped(left.code)} {op} {_wrapped(right.code)})", "bool",
                   level=_level(left, right))

    def col_Not(self, node: ast.Not) -> Col:
        operand = self.boolean(node.operand)
        return Col(_negated(operand.code), "bool", level=operand.level)

    def col_IsMember(self, node: ast.IsMember) -> Col:
        subject = self.col(node.subject)
        if subject.kind != "enum" or subject.enum is None:
            raise NoColumnForm(f"line {node.span.line}: `is` on a {subject.kind}")
        code = self.member_code(subject.enum, node.member)
        if _is_int(subject.code):  # a set's member, one at a time
            return Col(str((int(subject.code) == code) != node.negated), "bool")
        return Col(f"({subject.code} {'!=' if node.negated else '=='} {code})", "bool",
                   level=subject.level)

    def col_HasMember(self, node: ast.HasMember) -> Col:
        subject = self.col(node.subject)
        if subject.kind != "set" or subject.enum is None:
            raise NoColumnForm(f"line {node.span.line}: `has` on a {subject.kind}")
        code = self.member_code(subject.enum, node.member)
        return Col(f"{subject.code}[:, {code}]", "bool", level=subject.level)

    def member_code(self, enum: str, member: str) -> int:
        return [m.name for m in self.enums[enum].members].index(member)

    def col_Given(self, node: ast.Given) -> Col:
        if node.name not in self.facts or not self.b.optional(self.facts[node.name]):
            raise NoColumnForm(f"line {node.span.line}: `given` of {node.name}")
        return Col(f"t.given[{node.name!r}]", "bool")

    # ------------------------------------------------------------ choices
    def choose(self, condition: Col, then: Col, otherwise: Col) -> Col:
        level = _level(condition, then, otherwise)
        if then.kind == "bool" and otherwise.kind == "bool":
            return Col(f"np.where({condition.code}, {then.code}, {otherwise.code})", "bool",
                       level=level)
        if then.kind != "number" or otherwise.kind != "number":
            raise NoColumnForm("a choice between values that are not numbers")
        digits = max(then.digits, otherwise.digits)
        if _is_int(then.code) and _is_int(otherwise.code):  # constants: at SCALE already
            digits = max(digits, SCALE_DIGITS)
        then, otherwise = rescaled(then, digits), rescaled(otherwise, digits)
        return Col(f"np.where({condition.code}, {then.code}, {otherwise.code})", "number",
                   digits, max(then.decimals, otherwise.decimals),
                   min(then.low, otherwise.low), max(then.high, otherwise.high), level=level)

    def col_IfThenElse(self, node: ast.IfThenElse) -> Col:
        condition = self.boolean(node.condition)
        self.guard.append(condition.code)
        try:
            then = self.col(node.then)
        finally:
            self.guard.pop()
        self.guard.append(_negated(condition.code))
        try:
            otherwise = self.col(node.otherwise)
        finally:
            self.guard.pop()
        return self.choose(condition, then, otherwise)

    def col_Tiers(self, node: ast.Tiers) -> Col:
        subject = self.col(node.subject)
        result = self.col(node.otherwise) if node.otherwise is not None \
            else constant(Decimal(0))
        for tier in reversed(node.tiers):
            holds = self.compare(subject, tier.op, self.col(tier.threshold), tier.span.line)
            result = self.choose(holds, self.col(tier.result), result)
        return result

    def col_Lookup(self, node: ast.Lookup) -> Col:
        subject = self.col(node.subject)
        if subject.kind != "enum" or subject.enum is None:
            raise NoColumnForm(f"line {node.span.line}: a lookup on a {subject.kind}")
        members = [m.name for m in self.enums[subject.enum].members]
        results = {case.member: self.col(case.result) for case in node.cases}
        if set(results) != set(members) or any(r.kind != "number" for r in results.values()):
            raise NoColumnForm(f"line {node.span.line}: a lookup without a number for every "
                               "member")
        if _is_int(subject.code):  # a set's member, one at a time: its value
            return results[members[int(subject.code)]]
        digits = max(r.digits for r in results.values())
        if all(_is_int(r.code) for r in results.values()):  # constants: at SCALE already
            digits = max(digits, SCALE_DIGITS)
        ordered = [rescaled(results[m], digits) for m in members]
        if all(_is_int(r.code) for r in ordered):  # a table indexed by the member's code
            table = f"np.array([{', '.join(r.code for r in ordered)}], dtype=np.int64)"
            code = f"{table}[{subject.code}]"
        else:
            code = ordered[-1].code
            for index in range(len(ordered) - 2, -1, -1):
                code = f"np.where({subject.code} == {index}, {ordered[index].code}, {code})"
        return Col(code, "number", digits, max(r.decimals for r in ordered),
                   min(r.low for r in ordered), max(r.high for r in ordered),
                   level=_level(subject, *ordered))

    # ------------------------------------------------------------ calls and lists
    def col_Call(self, node: ast.Call) -> Col:
        function = node.function
        if function == "count":
            source = self.col(node.args[0])
            if source.kind == "set" and source.enum is not None:
                size = len(self.enums[source.enum].members)
                return Col(f"{source.code}.sum(axis=1)", "number", 0, 0, Decimal(0),
                           Decimal(size), level=source.level)
            if source.kind == "list" and source.offsets is not None:
                return Col(f"np.diff({source.offsets})", "number", 0, 0, Decimal(0),
                           Decimal(LIST_LIMIT), level=source.level)
        if function == "share":
            part, whole = self.number(node.args[0]), self.number(node.args[1])
            if whole.low < 0 or whole.digits != 0:
                raise NoColumnForm(f"line {node.span.line}: share() of a base that is not a "
                                   "count")
            self.undefined.append((f"{whole.code} > 0",
                                   f"{_one_line(self.b.source_of(node))}: its base is not 0"))
            numerator = self.multiply(part, constant(Decimal(100)))
            return replace(numerator, kind="ratio", denominator=whole)
        if function in ("min", "max"):
            args = [self.number(arg) for arg in node.args]
            digits = max(a.digits for a in args)
            args = [rescaled(a, digits) for a in args]
            pick = "np.minimum" if function == "min" else "np.maximum"
            code = args[0].code
            for arg in args[1:]:
                code = f"{pick}({code}, {arg.code})"
            chosen = min if function == "min" else max
            return Col(code, "number", digits, max(a.decimals for a in args),
                       chosen(a.low for a in args), chosen(a.high for a in args),
                       level=_level(*args))
        raise NoColumnForm(f"line {node.span.line}: {function}() has no column form (a "
                           "28-digit quotient)")

    def over_entries(self, variable: str, source: Col, body: ast.Expr,
                     condition: ast.Expr | None = None) -> tuple[Col, Col | None]:
        """The body (and condition) of an aggregate, once per entry of a list of records,
        or once per member of a set (the member as a constant code)."""
        saved = self.scope.get(variable)
        try:
            self.scope[variable] = source
            return self.col(body), self.boolean(condition) if condition is not None else None
        finally:
            if saved is None:
                self.scope.pop(variable, None)
            else:
                self.scope[variable] = saved

    def aggregate(self, function: str, variable: str, source: Col, body: ast.Expr,
                  condition: ast.Expr | None, line: int) -> Col:
        if any(isinstance(sub, ast.Name) and sub.name in self.b.maybe_missing
               for sub in _walk(body)):
            raise NoColumnForm(f"line {line}: an optional fact inside a per-entry expression")
        if source.kind == "list" and source.record is not None:
            entries = replace(source, level=source.code)
            value, holds = self.over_entries(variable, entries, body, condition)
            if value.level != source.code:
                raise NoColumnForm(f"line {line}: a per-entry expression that reads no entry")
            return self.reduce(function, value, holds, source, line)
        if source.kind == "set" and source.enum is not None:
            return self.reduce_members(function, variable, source, body, condition, line)
        raise NoColumnForm(f"line {line}: an aggregate over a {source.kind}")

    def reduce(self, function: str, value: Col, holds: Col | None, source: Col,
               line: int) -> Col:
        offsets = source.offsets
        if function == "count" or (function in ("any", "all") and value.kind == "bool"):
            flags = value.code if holds is None else f"({value.code}) & ({holds.code})"
            if function == "count":
                return Col(f"segment_sum(({flags}).astype(np.int64), {offsets})", "number",
                           0, 0, Decimal(0), Decimal(LIST_LIMIT), level=source.level)
            return Col(f"segment_{function}({flags}, {offsets})", "bool", level=source.level)
        if value.kind != "number":
            raise NoColumnForm(f"line {line}: {function} over entries of a {value.kind}")
        code = value.code if holds is None else f"np.where({holds.code}, {value.code}, 0)"
        if function == "sum":
            entries = Decimal(LIST_LIMIT)  # no more entries than that in a vouched record
            low, high = min(Decimal(0), value.low * entries), max(Decimal(0),
                                                                  value.high * entries)
            return _checked(Col(f"segment_sum({code}, {offsets})", "number", value.digits,
                                value.decimals, low, high, level=source.level), "a sum "
                            "over entries")
        if function in ("max", "min"):
            return Col(f"segment_{function}({code}, {offsets})", "number", value.digits,
                       value.decimals, min(Decimal(0), value.low), max(Decimal(0), value.high),
                       level=source.level)
        raise NoColumnForm(f"line {line}: {function} over entries")

    def reduce_members(self, function: str, variable: str, source: Col, body: ast.Expr,
                       condition: ast.Expr | None, line: int) -> Col:
        assert source.enum is not None
        members = [m.name for m in self.enums[source.enum].members]
        values: list[Col] = []
        for index in range(len(members)):
            member = Col(str(index), "enum", enum=source.enum, level=source.level)
            value, holds = self.over_entries(variable, member, body, condition)
            if holds is not None:
                value = self.choose(holds, value, constant(Decimal(0)))
            values.append(value)
        if function not in ("max", "sum") or any(v.kind != "number"
                                                          for v in values):
            raise NoColumnForm(f"line {line}: {function} over a set's members")
        digits = max(v.digits for v in values)
        values = [rescaled(v, digits) for v in values]
        low = min(Decimal(0), *(v.low for v in values))
        matrix = source.code
        if all(_is_int(v.code) for v in values):  # a value per member: a table
            table = f"np.array([{', '.join(v.code for v in values)}], dtype=np.int64)"
            each = f"np.where({matrix}, {table}, {{}})"
        else:
            each = ""
        if function == "max":  # the largest of the members present, 0 for none
            high = max(Decimal(0), *(v.high for v in values))
            if each:
                largest = f"{each.format('-(2**62)')}.max(axis=1)"
            else:
                largest = _max_code([f"np.where({matrix}[:, {i}], {v.code}, -(2**62))"
                                     for i, v in enumerate(values)])
            code = f"np.where({matrix}.any(axis=1), {largest}, 0)"
        else:
            high = sum((max(Decimal(0), v.high) for v in values), Decimal(0))
            low = sum((min(Decimal(0), v.low) for v in values), Decimal(0))
            code = f"{each.format(0)}.sum(axis=1)" if each else " + ".join(
                f"np.where({matrix}[:, {i}], {v.code}, 0)" for i, v in enumerate(values))
        return _checked(Col(code, "number", digits, max(v.decimals for v in values), low, high,
                            level=source.level), f"{function} over a set")

    def col_Aggregate(self, node: ast.Aggregate) -> Col:
        return self.aggregate(node.function, node.variable, self.col(node.source), node.body,
                              None, node.span.line)

    # ------------------------------------------------------------ rules
    def guard_code(self) -> str:
        if not self.guard:
            return "True"
        if len(self.guard) == 1:
            return self.guard[0]
        return " & ".join(_wrapped(g) for g in self.guard)

    def rule_delta(self, rule: ast.Rule) -> Col:
        """The signed points of a rule (at its own scale), as `rule_delta` in codegen."""
        points = self.rule_points(rule)
        if isinstance(rule, ast.ZeroRule) or rule.sign == "award":
            return points
        return replace(points, code=f"-{_wrapped(points.code)}", low=-points.high,
                       high=-points.low)

    def rule_points(self, rule: ast.Rule) -> Col:
        """The points a rule gives or takes, before its sign (at its own scale), capped."""
        if isinstance(rule, ast.AmountRule):
            condition = self.boolean(rule.condition) if rule.condition is not None else None
            if condition is not None:
                self.guard.append(condition.code)
            try:
                delta = self.number(rule.amount)
                if rule.per is not None:
                    delta = self.multiply(delta, self.number(rule.per))
            finally:
                if condition is not None:
                    self.guard.pop()
            if condition is not None:
                delta = self.choose(condition, delta, constant(Decimal(0)))
        elif isinstance(rule, ast.StepRule):
            delta = self.multiply(self.number(rule.amount), self.steps(rule))
        elif isinstance(rule, ast.EachRule):
            delta = self.aggregate("sum", rule.variable, self.col(rule.source), rule.amount,
                                   rule.condition, rule.span.line)
        else:
            raise NoColumnForm(f"line {rule.span.line}: a {type(rule).__name__} has no "
                               "column form")
        if rule.cap is not None:
            cap = constant(rule.cap)
            digits = max(delta.digits, cap.digits)
            delta, cap = rescaled(delta, digits), rescaled(cap, digits)
            delta = Col(f"np.minimum({delta.code}, {cap.code})", "number", digits,
                        max(delta.decimals, cap.decimals), min(delta.low, cap.low),
                        min(delta.high, cap.high), level=delta.level)
        return delta

    def steps(self, rule: ast.StepRule) -> Col:
        if rule.rounding == "exact":
            raise NoColumnForm(f"line {rule.span.line}: an exact step count is a 28-digit "
                               "quotient")
        value, threshold = self.number(rule.value), self.number(rule.threshold)
        step = self.number(rule.step)
        if step.low != step.high or not _is_int(step.code) or step.low <= 0:
            raise NoColumnForm(f"line {rule.span.line}: a step that is not a positive "
                               "constant")
        if rule.direction == "below":
            gap = self.add(threshold, value, "-")
        else:
            gap = self.add(value, threshold, "-")
        step = rescaled(step, gap.digits)
        if gap.decimals > gap.digits:
            raise NoColumnForm(f"line {rule.span.line}: a gap held below its decimals")
        most = max(Decimal(0), gap.high) / step.low
        return Col(f"steps_count({gap.code}, {step.code}, {rule.rounding!r})", "number", 0, 0,
                   Decimal(0), most.to_integral_value(rounding="ROUND_CEILING"),
                   level=gap.level)

    # ------------------------------------------------------------ items
    def at_scale(self, col: Col) -> Col:
        """A number at SCALE (items and totals are), exactly."""
        if col.decimals > SCALE_DIGITS:
            raise NoColumnForm(f"a score with {col.decimals} decimals, beyond the lane's "
                               f"{SCALE_DIGITS}")
        return rescaled(col, SCALE_DIGITS)

    def write_item(self, item: ast.Item, out: list[str]) -> None:
        """An item's statements, as `score` writes them, leaving its points (at SCALE) in
        `e<n>` and whether it applies in `a<n>`."""
        number = item.number
        not_applicable = None
        if item.not_applicable is not None:
            not_applicable = self.boolean(item.not_applicable.condition)
            self.guard.append(_negated(not_applicable.code))
        try:
            awards = deductions = Col("zeros", "number", SCALE_DIGITS, 0)
            zeros: list[str] = []
            for entry in item.body:
                self.part_points = item.points
                if isinstance(entry, ast.Part):
                    part = self.write_part(entry, out)
                    out.append("awards = awards + part")
                    awards = _named(self.add(awards, part, "+"), "awards")
                elif isinstance(entry, ast.ZeroRule):
                    condition = self.boolean(entry.condition)
                    zeros.append(f"zero_{len(zeros) + 1}")
                    out.append(f"{zeros[-1]} = {condition.code}  # {entry.span.line}: "
                               f"{_one_line(entry.reason.text)}")
                else:
                    points = self.at_scale(self.rule_points(entry))
                    out.append(f"# {entry.span.line}: {_one_line(entry.reason.text)}")
                    if entry.sign == "award":
                        out.append(f"awards = awards + {_wrapped(points.code)}")
                        awards = _named(self.add(awards, points, "+"), "awards")
                    else:
                        out.append(f"deductions = deductions + {_wrapped(points.code)}")
                        deductions = _named(self.add(deductions, points, "+"), "deductions")
            if item.deduction_cap is not None:
                cap = item.deduction_cap.points
                out.append(f"deductions = np.minimum(deductions, "
                           f"{_int_code(int(cap.scaleb(SCALE_DIGITS)))})  "
                           f"# {item.deduction_cap.span.line}: "
                           f"{_one_line(item.deduction_cap.reason.text)}")
                deductions = replace(deductions, high=min(deductions.high, cap),
                                     low=min(deductions.low, cap))
            self.at_scale(self.add(awards, deductions, "-"))  # proven within int64
            most = _int_code(int(item.points.scaleb(SCALE_DIGITS)))
            out.append(f"e{number} = clamped(awards - deductions, 0, {most})")
            for zero in zeros:
                out.append(f"e{number} = np.where({zero}, 0, e{number})")
        finally:
            if not_applicable is not None:
                self.guard.pop()
        if not_applicable is not None:
            out.append(f"a{number} = {_negated(not_applicable.code)}")
            out.append(f"e{number} = np.where(a{number}, e{number}, 0)")
        else:
            out.append(f"a{number} = ones")

    def write_part(self, part: ast.Part, out: list[str]) -> Col:
        """A part's points at SCALE, left in `part`: clamped to [0, its points] unless the
        interval proof (`part_within_points`, as `score`) shows its rules stay within."""
        self.part_points = part.points
        unit = "point" if part.points == 1 else "points"
        out.append(f"# part {_one_line(part.label)} ({part.points} {unit}, line "
                   f"{part.span.line})")
        not_applicable = None
        if part.not_applicable is not None:
            not_applicable = self.boolean(part.not_applicable.condition)
            self.guard.append(_negated(not_applicable.code))
        points = _int_code(int(part.points.scaleb(SCALE_DIGITS)))
        try:
            value = Col("zeros", "number", SCALE_DIGITS, 0)
            out.append("part = zeros")
            for rule in part.rules:
                if isinstance(rule, ast.ZeroRule):
                    condition = self.boolean(rule.condition)
                    out.append(f"part = np.where({condition.code}, 0, part)  "
                               f"# {rule.span.line}: {_one_line(rule.reason.text)}")
                    value = replace(value, low=min(Decimal(0), value.low),
                                    high=max(Decimal(0), value.high))
                    continue
                delta = self.at_scale(self.rule_delta(rule))
                out.append(f"part = part + {_wrapped(delta.code)}  # {rule.span.line}: "
                           f"{_one_line(rule.reason.text)}")
                value = _named(self.add(value, delta, "+"), "part")
            if part_within_points(part, self.b.analysis):
                out.append(f"# within [0, {part.points}] for every input (the facts' "
                           "declared bounds): no clamp")
            else:
                out.append(f"part = clamped(part, 0, {points})")
            value = replace(value, low=max(value.low, Decimal(0)),
                            high=min(value.high, part.points))
        finally:
            if not_applicable is not None:
                self.guard.pop()
        if not_applicable is not None:
            out.append(f"part = np.where({not_applicable.code}, {points}, part)  # not "
                       "applicable: its points in full")
            value = replace(value, low=min(value.low, part.points),
                            high=max(value.high, part.points))
        return _named(value, "part")

    def score_columns_body(self) -> list[str]:
        """`score_columns`' body: each item, then the total as `score` makes it."""
        out: list[str] = []
        items = [item for category in self.standard.categories for item in category.items]
        for item in items:
            unit = "point" if item.points == 1 else "points"
            bonus = " (bonus)" if item.bonus else ""
            not_applicable = " (a<n>: whether it applies)" if item.not_applicable else ""
            out.append(f"# item {item.number} {_one_line(item.label)}: {item.points} {unit}"
                       f"{bonus}, line {item.span.line}{not_applicable}")
            out.append("awards = zeros")
            out.append("deductions = zeros")
            self.write_item(item, out)
        header = self.standard.header
        limit_code = self.b.bonus_limit()
        apart = limit_code != "None"
        if apart:
            raise NoColumnForm("a bonus limit apart from the items (no column form yet)")
        if header.rescale is not None and header.rescale != header.rescale.to_integral_value():
            raise NoColumnForm("a rescale that is not a whole number of points")
        fixed_max = sum((item.points for item in items if item.not_applicable is None),
                        Decimal(0))
        out.append("# the total (SZ-T, G5, G2): the applicable items over the applicable "
                   "maximum, rescaled, half-up cents")
        out.append(f"applicable_max = np.full(n, {_int_code(int(fixed_max.scaleb(6)))}, "
                   "dtype=np.int64)")
        for item in items:
            if item.not_applicable is not None:
                points = _int_code(int(item.points.scaleb(SCALE_DIGITS)))
                out.append(f"applicable_max = applicable_max + np.where(a{item.number}, "
                           f"{points}, 0)")
        total = sum((item.points for item in items), Decimal(0))
        if total * 100 * 100 * 10**SCALE_DIGITS >= PRODUCT_LIMIT:
            raise NoColumnForm("the total's rescaling may leave int64")
        out.append("items = np.stack([np.broadcast_to(e, (n,)) for e in ("
                   + ", ".join(f"e{item.number}" for item in items) + ")]).astype(np.int64)")
        out.append("applicable = np.stack([np.broadcast_to(a, (n,)) for a in ("
                   + ", ".join(f"a{item.number}" for item in items) + ")])")
        out.append("earned = items.sum(axis=0)")
        rescale = "None" if header.rescale is None else str(int(header.rescale))
        out.append(f"total = half_up_cents(earned, applicable_max, {rescale})")
        numbers = tuple(str(item.number) for item in items)
        out.append(f"return ColumnScores(items, applicable, earned, applicable_max, total, "
                   f"{numbers!r})")
        return out

    def check_columns_body(self) -> list[str]:
        """`check_columns`' body: what `read_record` requires or derives and `score` needs
        beyond the values' own checks (read_columns makes those)."""
        out: list[str] = []
        for let in self.standard.lets:  # read_record derives every one, used or not
            self.col(ast.Name(let.name, let.span))
        for fact in self.standard.facts:
            if fact.required_when is None:
                continue
            saved, needs, self.guard = self.guard, list(self.needs), []
            condition = self.boolean(fact.required_when)
            self.guard, self.needs = saved, needs  # read_record's conditions take no need()
            out.append(f"# {fact.name}: required when "
                       f"{_one_line(self.b.source_of(fact.required_when))}")
            out.append(f"ok &= t.given[{fact.name!r}] | {_negated(condition.code)}")
        for check, what in dict.fromkeys(self.undefined):
            out.append(f"ok &= {check}  # {what}: read_record derives it")
        for name, guard in dict.fromkeys(self.needs):
            line = f"ok &= t.given[{name!r}] | {_negated(guard)}"
            if line not in out:  # the same as its required-when check: once
                out.append(f"{line}  # score needs {name} where this holds")
        out.append("return ok")
        return out

    def plan_code(self) -> str:
        items = [str(item.number) for category in self.standard.categories
                 for item in category.items]
        facts = "".join(f"\n        {self.fact_plan(fact, '    ')}," for fact in
                        self.standard.facts)
        cohorts = ""
        for name, cohort in self.cohorts.items():
            values = self.b.analysis.range(ast.Name(name, cohort.span))
            if values.lo is None or values.hi is None or not isinstance(cohort,
                                                                        ast.CohortRank):
                raise NoColumnForm(f"the cohort value {name} has no bounds")
            cohorts += (f"\n        CohortBound({name!r}, Decimal({str(values.lo)!r}), "
                        f"Decimal({str(values.hi)!r})),")
        cohort_facts = tuple(self.b.cohort_facts())
        return (f"ColumnPlan(\n    facts=({facts}\n    ),\n    item_numbers={tuple(items)!r},"
                f"\n    cohort_facts={cohort_facts!r},\n    cohorts=({cohorts}\n    ),\n)")

    def generate(self) -> tuple[str | None, str, str, str]:
        """(the plan's code or None, the reason when None, check_columns' body,
        score_columns' body)."""
        if self.b.framework is not None:
            return None, "a framework pack (its settlement has no column form)", "", ""
        if any(isinstance(entry, ast.EntriesRule) for item in self.standard.items
               for entry in _rules(item)):
            return None, "entries rules (a catalogue of entries) have no column form", "", ""
        try:
            score = self.score_columns_body()
            check = self.check_columns_body()
            plan = self.plan_code()
        except NoColumnForm as reason:
            return None, str(reason), "", ""
        return plan, "", "\n".join("    " + line for line in check), \
            "\n".join("    " + line for line in score)


_FLIPPED = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "!=": "!="}


def _negated(code: str) -> str:
    """`~code`, without a double negation or extra parentheses."""
    while _one_group(code):
        code = code[1:-1]
    if code.startswith("~") and _wrapped(code[1:]) == code[1:]:
        return code[1:]
    return f"~{_wrapped(code)}"


def _one_group(code: str) -> bool:
    """Whether `code` is one parenthesized group as a whole: `(a & b)`, not `(a) & (b)`."""
    if not code.startswith("("):
        return False
    depth = 0
    for index, char in enumerate(code):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index == len(code) - 1
    return False


def _max_code(terms: list[str]) -> str:
    code = terms[0]
    for term in terms[1:]:
        code = f"np.maximum({code}, {term})"
    return code


def _level(*cols: Col) -> str:
    levels = {c.level for c in cols if not _is_int(c.code) and c.code not in ("True", "False")}
    if len(levels) > 1:
        raise NoColumnForm("values of different lists in one expression")
    return levels.pop() if levels else "t"


def _named(col: Col, name: str) -> Col:
    """`col`'s value, now held in the local `name`."""
    return replace(col, code=name)


def _one_line(text: str) -> str:
    """Text safe inside a `#` comment (codegen's one_line: no line break can end it)."""
    from .codegen import one_line

    return one_line(text)


def _rules(item: ast.Item) -> Iterator[ast.Rule]:
    for entry in item.body:
        if isinstance(entry, ast.Part):
            yield from entry.rules
        else:
            yield entry


def _walk(node: ast.Expr) -> Iterator[ast.Expr]:
    from .codegen import _walk as walk

    yield from walk(node)
