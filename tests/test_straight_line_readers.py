"""The fast paths of generated readers give exactly what the runtime's readers give.

A pack reads a field's common case in line (`plain_number`, `plain_codes`, a type check and a
bounds compare) and hands any other value to the runtime's reader; these properties hold the
fast paths to the readers: the same Decimal (digits and exponent, zero as plain 0) or the same
codes whenever the fast path answers at all. tests/test_golden_outputs.py holds whole packs to
the outputs recorded before the fast paths existed.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from policy_dsl.runtime.values import (
    FieldError,
    parse_decimal,
    plain_codes,
    plain_number,
    read_enum_set,
)

NUMBER_TEXT = st.text(alphabet="0123456789.-+eE,% ", max_size=32)
VALUES = st.one_of(
    NUMBER_TEXT,
    st.integers(min_value=-(10**17), max_value=10**17),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=-(10**16), max_value=10**16, places=15),
    st.booleans(), st.none(), st.floats(),
)


@given(VALUES)
@example("0.00")
@example("-0")
@example("000000000000001.5")
@example("999999999999999.9999999999999")
@example(Decimal("-0.000"))
@example(Decimal("1E-13"))
@example(Decimal("999999999999999.9999999999999"))
@example(10**15 - 1)
def test_plain_number_is_parse_decimal_where_it_answers(value: object) -> None:
    fast = plain_number(value)
    if fast is None:
        return
    slow = parse_decimal(value)
    assert (str(fast), fast.as_tuple()) == (str(slow), slow.as_tuple())


def test_plain_number_leaves_the_rare_shapes_and_refusals_to_parse_decimal() -> None:
    """Thousands separators, percent signs, full-width digits, signs, exponents, non-finite
    numbers, values at the limit, floats and bools take the full reader and its messages."""
    for value in ("NaN", "1,234.5", "8,5", "85.5%", "１２", "+3", ".5", "5.", "1e3", " 1",
                  Decimal("NaN"), Decimal("1E+15"), Decimal("1E-14"), 10**15, -(10**15), 1.5,
                  True, None, "", "1" * 16):
        assert plain_number(value) is None, value


MEMBERS = {"e_screen": "e_screen", "电子屏": "e_screen", "poster": "poster", "海报": "poster"}


@given(st.one_of(
    st.lists(st.sampled_from([*MEMBERS, " 海报", "other", 1, None, True, "", [1]]), max_size=5),
    st.text(max_size=5), st.none(), st.integers()))
def test_plain_codes_are_read_enum_sets_where_they_answer(value: object) -> None:
    fast = plain_codes(value, MEMBERS)
    if fast is None:
        return
    errors: list[FieldError] = []
    assert read_enum_set({"x": value}, "x", errors, MEMBERS) == fast
    assert errors == []
