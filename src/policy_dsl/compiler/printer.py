"""Expressions back to rule-language source, in one normal form.

`source(expr)` writes an expression the way a rule file would: numbers without trailing zeros
(`0.10` and `0.1` print alike), one space around operators, parentheses only where the
grammar needs them. Two expressions that print alike mean the same thing, so comparing
versions (`policyc diff`) compares printed expressions rather than raw text, and shows the
same printed form for both sides.
"""

from __future__ import annotations

from decimal import Decimal

from . import ast

# Binding strength, loosest first, as in grammar/policy.lark (if < or < and < not <
# comparison < sum < product < unary < atom).
_IF, _OR, _AND, _NOT, _COMPARE, _SUM, _PRODUCT, _UNARY, _ATOM = range(9)


def number(value: Decimal) -> str:
    """A decimal as a rule file writes it: `80`, `0.1`, never `8E+1` or `0.10`."""
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", "0"} else text


def source(expr: ast.Expr) -> str:
    """The expression in normal rule-language form."""
    return _printed(expr)[0]


def _at(expr: ast.Expr, level: int) -> str:
    """`expr` where the grammar expects at least `level`: in parentheses if it binds looser."""
    text, own = _printed(expr)
    return f"({text})" if own < level else text


def _printed(expr: ast.Expr) -> tuple[str, int]:
    """The text and the binding strength of its outermost construct."""
    match expr:
        case ast.Number(value=value):
            return number(value), _ATOM
        case ast.Percent(value=value):
            return f"{number(value)}%", _ATOM
        case ast.Boolean(value=value):
            return ("true" if value else "false"), _ATOM
        case ast.Name(name=name):
            return name, _ATOM
        case ast.Field(record=record, field=field):
            return f"{record}.{field}", _ATOM
        case ast.Negate(operand=operand):
            return f"-{_at(operand, _UNARY)}", _UNARY
        case ast.Arithmetic(op=op, left=left, right=right):
            level = _SUM if op in {"+", "-"} else _PRODUCT
            return f"{_at(left, level)} {op} {_at(right, level + 1)}", level
        case ast.Compare(op=op, left=left, right=right):
            return f"{_at(left, _SUM)} {op} {_at(right, _SUM)}", _COMPARE
        case ast.Logical(op=op, left=left, right=right):
            level = _OR if op == "or" else _AND
            return f"{_at(left, level)} {op} {_at(right, level + 1)}", level
        case ast.Not(operand=operand):
            return f"not {_at(operand, _NOT)}", _NOT
        case ast.IsMember(subject=subject, member=member, negated=negated):
            return f"{_at(subject, _SUM)} is {'not ' if negated else ''}{member}", _COMPARE
        case ast.HasMember(subject=subject, member=member):
            return f"{_at(subject, _SUM)} has {member}", _COMPARE
        case ast.Given(name=name):
            return f"given {name}", _COMPARE
        case ast.Call(function=function, args=args):
            return f"{function}({', '.join(source(a) for a in args)})", _ATOM
        case ast.Aggregate(function=function, variable=variable, source=over, body=body):
            return f"{function}({variable} in {source(over)}: {source(body)})", _ATOM
        case ast.IfThenElse(condition=condition, then=then, otherwise=otherwise):
            return (f"if {source(condition)} then {source(then)} else {source(otherwise)}",
                    _IF)
        case ast.Tiers(subject=subject, tiers=tiers, otherwise=otherwise):
            entries = [tier(t) for t in tiers]
            if otherwise is not None:
                entries.append(f"else: {_at(otherwise, _SUM)}")
            return f"tiers {_at(subject, _SUM)} {{ {', '.join(entries)} }}", _ATOM
        case ast.Lookup(subject=subject, cases=cases):
            entries = [f"{case.member}: {_at(case.result, _SUM)}" for case in cases]
            return f"lookup {_at(subject, _SUM)} {{ {', '.join(entries)} }}", _ATOM
    raise TypeError(f"not an expression: {expr!r}")


def tier(node: ast.Tier) -> str:
    """One tier as written inside `tiers … { … }`: `>= 50%: 2`."""
    return f"{node.op} {_at(node.threshold, _SUM)}: {_at(node.result, _SUM)}"
