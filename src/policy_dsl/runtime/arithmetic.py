"""Exact arithmetic for scoring: decimals only, every rounding named (POLICY-NOTES G2, G4).

Sums, differences and products of the rule files' values (points, percents, money with few
decimals) are exact. Divisions (shares, growth rates, means, rescaling) are carried to 28
significant digits in `DIVISION`, an explicit context, whatever the caller's thread context
says. Scores are rounded only where they are reported: 2 decimals, half-up.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from typing import Literal, TypeVar

T = TypeVar("T")

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
DIVISION = Context(prec=28, rounding=ROUND_HALF_EVEN)


class Undefined(ArithmeticError):
    """A value cannot be computed for this record (a division by zero: a zero base)."""


def need(value: T | None, name: str) -> T:
    """An optional fact that a rule needs here: missing, the record cannot be scored."""
    if value is None:
        raise Undefined(f"{name} is missing, and a rule needs it for this institution")
    return value


def divide(numerator: Decimal | int, denominator: Decimal | int, what: str) -> Decimal:
    """numerator / denominator; `what` names the denominator for the error message."""
    if denominator == 0:
        raise Undefined(f"{what} is 0, so the division is undefined")
    return DIVISION.divide(Decimal(numerator), Decimal(denominator))


def growth(this_year: Decimal | int, last_year: Decimal | int, what: str) -> Decimal:
    """(this year − last year) / last year, in percentage points."""
    return divide((this_year - last_year) * HUNDRED, last_year, what)


def share(part: Decimal | int, whole: Decimal | int, what: str) -> Decimal:
    """part / whole, in percentage points."""
    return divide(part * HUNDRED, whole, what)


def weight(value: Decimal | int, percent: Decimal) -> Decimal:
    """value × percent% (a score weighted by 20%, a fund amount's 0.1%)."""
    return DIVISION.divide(Decimal(value) * percent, HUNDRED)


def steps(value: Decimal | int, threshold: Decimal | int, step: Decimal,
          direction: Literal["below", "above"],
          rounding: Literal["floor", "ceil", "exact"]) -> Decimal:
    """How many steps `value` lies below (or above) `threshold` (G4); 0 when it does not."""
    gap = threshold - value if direction == "below" else value - threshold
    if gap <= 0:
        return ZERO
    count = DIVISION.divide(Decimal(gap), step)
    if rounding == "floor":
        return count.to_integral_value(rounding=ROUND_FLOOR)
    if rounding == "ceil":
        return count.to_integral_value(rounding=ROUND_CEILING)
    return count


def clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return max(low, min(high, value))


def round_points(value: Decimal) -> Decimal:
    """A reported score: 2 decimals, half-up (四舍五入, G2). (Arguments by position: keywords
    double the cost of a call made for every institution.)"""
    return value.quantize(CENT, ROUND_HALF_UP, DIVISION)


def round_money(value: Decimal) -> Decimal:
    """A reported amount of money: 0.01 yuan, half-up (G2)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=DIVISION)


def plain(value: Decimal | int) -> str:
    """A decimal as a plain string without exponent or trailing zeros: 3, 2.5, 0.1.

    Exact whatever the caller's decimal context: no `normalize()` (which rounds to the
    context's precision), only the digits as they are, trailing zeros dropped as text.
    """
    text = format(Decimal(value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", "0"} else text
