"""Expressions back to rule-language source: the one expression printer.

It lays an expression out as a `layout` document, in one of two styles:
- "normal" (`source(expr)`): numbers without trailing zeros (`0.10` and `0.1` print alike),
  one space around operators, parentheses only where the grammar needs them, on one line.
  Two expressions that print alike mean the same thing, so comparing versions (`policyc
  diff`) compares printed expressions rather than raw text, and shows the same printed form
  for both sides.
- "file" (`layout(expr, style="file")`, used by `policyc fmt`): numbers as written (`1.0`
  stays `1.0`), and an `and` inside an `or` keeps its parentheses for the reader, as the
  shipped rule files write it; where a line is too long, a broken `and`/`or` chain starts each
  line with its operator under the first operand, `then` and `else` go under `if`, and a
  `tiers` or `lookup` puts one case a line, each with a comma.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from . import ast
from .layout import LINE, Align, Doc, Fill, Group, IfBreak, Nest, flat, join

# Binding strength, loosest first, as in grammar/policy.lark (if < or < and < not <
# comparison < sum < product < unary < atom).
IF, OR, AND, NOT, COMPARE, SUM, PRODUCT, UNARY, ATOM = range(9)

Style = Literal["normal", "file"]


def number(value: Decimal) -> str:
    """A decimal as a rule file writes it: `80`, `0.1`, never `8E+1` or `0.10`."""
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", "0"} else text


def source(expr: ast.Expr) -> str:
    """The expression in normal rule-language form, on one line."""
    return flat(layout(expr))


def tier(node: ast.Tier) -> str:
    """One tier as written inside `tiers … { … }`: `>= 50%: 2`."""
    return flat(_Layout("normal").tier(node))


def layout(expr: ast.Expr, level: int = IF, style: Style = "normal") -> Doc:
    """`expr` where the grammar expects at least `level` (in parentheses if it binds
    looser), as a document."""
    return _Layout(style).at(expr, level)


class _Layout:
    def __init__(self, style: Style) -> None:
        self.style = style

    def at(self, expr: ast.Expr, level: int) -> Doc:
        doc, own = self.printed(expr)
        return ["(", doc, ")"] if own < level else doc

    def literal(self, value: Decimal, text: str, suffix: str) -> str:
        if self.style == "file" and text:
            return text
        return f"{number(value)}{suffix}"

    def chain(self, expr: ast.Logical) -> Doc:
        """`a and b and c` (left-nested) as one chain of operands."""
        operands: list[ast.Expr] = []
        node: ast.Expr = expr
        while isinstance(node, ast.Logical) and node.op == expr.op:
            operands.append(node.right)
            node = node.left
        operands.append(node)
        operands.reverse()
        level = OR if expr.op == "or" else AND
        parts: list[Doc] = [self.operand(operands[0], expr.op, level)]
        for operand in operands[1:]:
            parts += [LINE, [expr.op, " ", self.operand(operand, expr.op, level + 1)]]
        return Align(Fill(tuple(parts)))

    def operand(self, expr: ast.Expr, op: str, level: int) -> Doc:
        if (self.style == "file" and op == "or" and isinstance(expr, ast.Logical)
                and expr.op == "and"):
            return ["(", self.at(expr, IF), ")"]
        return self.at(expr, level)

    def cases(self, word: str, subject: ast.Expr, entries: list[Doc]) -> Doc:
        return Group([word, " ", self.at(subject, SUM), " {",
                      Nest(2, [LINE, join([",", LINE], entries), IfBreak(",")]), LINE, "}"])

    def tier(self, node: ast.Tier) -> Doc:
        return [f"{node.op} ", self.at(node.threshold, SUM), ": ", self.at(node.result, SUM)]

    def printed(self, expr: ast.Expr) -> tuple[Doc, int]:
        """The document and the binding strength of its outermost construct."""
        match expr:
            case ast.Number(value=value, text=text):
                return self.literal(value, text, ""), ATOM
            case ast.Percent(value=value, text=text):
                return self.literal(value, text, "%"), ATOM
            case ast.Boolean(value=value):
                return ("true" if value else "false"), ATOM
            case ast.Name(name=name):
                return name, ATOM
            case ast.Field(record=record, field=field):
                return f"{record}.{field}", ATOM
            case ast.Negate(operand=operand):
                return ["-", self.at(operand, UNARY)], UNARY
            case ast.Arithmetic(op=op, left=left, right=right):
                level = SUM if op in {"+", "-"} else PRODUCT
                return [self.at(left, level), f" {op} ", self.at(right, level + 1)], level
            case ast.Compare(op=op, left=left, right=right):
                return [self.at(left, SUM), f" {op} ", self.at(right, SUM)], COMPARE
            case ast.Logical(op=op):
                return self.chain(expr), OR if op == "or" else AND
            case ast.Not(operand=operand):
                return ["not ", self.at(operand, NOT)], NOT
            case ast.IsMember(subject=subject, member=member, negated=negated):
                return [self.at(subject, SUM), f" is {'not ' if negated else ''}{member}"], \
                    COMPARE
            case ast.HasMember(subject=subject, member=member):
                return [self.at(subject, SUM), f" has {member}"], COMPARE
            case ast.Given(name=name):
                return f"given {name}", COMPARE
            case ast.Call(function=function, args=args):
                return [function, "(", join(", ", [self.at(a, IF) for a in args]), ")"], ATOM
            case ast.Aggregate(function=function, variable=variable, source=over, body=body):
                return [f"{function}({variable} in ", self.at(over, IF), ": ",
                        self.at(body, IF), ")"], ATOM
            case ast.IfThenElse(condition=condition, then=then, otherwise=otherwise):
                return Group(Align(["if ", self.at(condition, IF), LINE,
                                    "then ", self.at(then, IF), LINE,
                                    "else ", self.at(otherwise, IF)])), IF
            case ast.Tiers(subject=subject, tiers=tiers, otherwise=otherwise):
                entries = [self.tier(t) for t in tiers]
                if otherwise is not None:
                    entries.append(["else: ", self.at(otherwise, SUM)])
                return self.cases("tiers", subject, entries), ATOM
            case ast.Lookup(subject=subject, cases=cases):
                return self.cases("lookup", subject, [
                    [f"{case.member}: ", self.at(case.result, SUM)] for case in cases]), ATOM
        raise TypeError(f"not an expression: {expr!r}")
