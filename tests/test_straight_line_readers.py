"""The fast paths of generated readers give exactly what the runtime's readers give.

A pack reads a field's common case in line (`plain_number`, `plain_codes`, a type check and a
bounds compare) and hands any other value to the runtime's reader; these properties hold the
fast paths to the readers: the same Decimal (digits and exponent, zero as plain 0) or the same
codes whenever the fast path answers at all. tests/test_golden_outputs.py holds whole packs to
the outputs recorded before the fast paths existed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from policy_dsl.runtime import load_pack
from policy_dsl.runtime.framework import _plain_framework_inputs, _read_framework_inputs
from policy_dsl.runtime.values import (
    FieldError,
    parse_decimal,
    plain_codes,
    plain_number,
    read_enum_set,
)

GENERATED = Path(__file__).resolve().parents[1] / "generated"
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
@example(Decimal("999999999999999.99999999999999"))  # quantized, it would carry to 10^15
@example(Decimal("-999999999999999.999999999999999999999"))
@example(Decimal("1.50000000000000000000"))  # zeros beyond the 13th place: the same Decimal
@example(Decimal("0E+20"))
@example(10**15 - 1)
@example(-(10**15) + 1)
@example(Decimal("sNaN"))
@example(Decimal("-Infinity"))
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
                  True, None, "", "1" * 16, Decimal("sNaN"), Decimal("Infinity")):
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


# The framework's inputs (runtime/framework.py): the common shapes read in straight-line code,
# anything else by the full reader. Each field's values: the common shapes, and shapes the
# full reader accepts differently or refuses (spaces, labels, texts, bools as numbers ...).
_FRAMEWORK_FIELDS = {
    "status": st.sampled_from([None, "assessed", "terminated", "voluntary_exit", " terminated",
                               "", "closed", 1]),
    "assessment_year": st.sampled_from([None, 2026, 1, 9998, 9999, 0, "2026", True,
                                        Decimal(2026), 2026.0]),
    "agreement_start": st.sampled_from([None, "2020-01-01", dt.date(2020, 1, 1), " 2020-01-01",
                                        "2020-02-30", "9999-01-01", dt.date(9999, 1, 1),
                                        dt.datetime(2020, 1, 1), "", 20200101]),
    "deposit": st.sampled_from([None, 200000, "200000.50", "0", "-1", -1, "1,000", "", True,
                                Decimal("5E+3"), "0.00"]),
    "subordinate_scores": st.one_of(
        st.sampled_from([None, [], "", "[]", 0, {}]),
        st.lists(st.sampled_from([85, "92.5", "0", "110", "110.01", -1, True, None, " 9"]),
                 max_size=3)),
    "opinion_events": st.one_of(
        st.sampled_from([None, [], "", "[\"national\"]", False]),
        st.lists(st.sampled_from(["national", "国家", "省", "provincial", " 省", "city", 1]),
                 max_size=3)),
    "previous_grade": st.sampled_from([None, "优", "良", "不合格", " 优", "优秀", "", 1]),
    "violations_found": st.sampled_from([None, True, False, "是", 0, ""]),
    "veto": st.sampled_from([None, True, False, "否", 1, ""]),
    "other_breach": st.sampled_from([None, True, False, "true"]),
    "fraud_clues": st.sampled_from([None, True, False, 0]),
}


@given(st.fixed_dictionaries({}, optional=_FRAMEWORK_FIELDS))
@example({"assessment_year": 2026, "agreement_start": "2020-01-01", "deposit": "200000.50",
          "subordinate_scores": ["92.5", 85], "opinion_events": ["国家", "provincial"],
          "previous_grade": "优", "veto": False})
@example({"status": "voluntary_exit", "assessment_year": 2026, "deposit": 0,
          "violations_found": True})
def test_framework_inputs_in_line_are_the_full_readers_where_they_answer(
        raw: dict[str, object]) -> None:
    rules = load_pack("jilin/medical-inpatient-2026", packs_dir=GENERATED).module.FRAMEWORK
    fast = _plain_framework_inputs(raw, rules)
    errors: list[FieldError] = []
    slow = _read_framework_inputs(raw, rules, errors)
    if fast is None:
        return
    assert errors == []
    assert fast == slow
    assert [str(n) for n in fast.subordinate_scores] == [str(n) for n in slow.subordinate_scores]
    assert str(fast.deposit) == str(slow.deposit)


def test_framework_inputs_in_line_answer_for_the_common_shapes() -> None:
    rules = load_pack("jilin/medical-inpatient-2026", packs_dir=GENERATED).module.FRAMEWORK
    raw = {"assessment_year": 2026, "agreement_start": "2020-01-01", "deposit": "200000.50",
           "subordinate_scores": ["92.5", 85], "opinion_events": ["国家", "provincial"],
           "previous_grade": "良", "veto": False, "other_breach": None}
    fast = _plain_framework_inputs(raw, rules)
    assert fast is not None
    assert (fast.status, fast.agreement_start, fast.deposit, fast.subordinate_scores,
            fast.opinion_events, fast.previous_grade) == (
        "assessed", dt.date(2020, 1, 1), Decimal("200000.50"),
        (Decimal("92.5"), Decimal(85)), ("national", "provincial"), "良")
    assert _plain_framework_inputs({**raw, "previous_grade": " 良"}, rules) is None


# A cell's text: the words and digits the readers take at once (`_BOOL_TEXTS`, plain ASCII
# digits, "[]") and texts near them (other cases, spaces, full-width digits, signs, points).
CELL_TEXT = st.one_of(
    st.sampled_from(["是", "否", "有", "无", "√", "×", "true", "false", "True", "YES", "y", "n",
                     "1", "0", "2", "007", "00", "１", "٣", "²", "[]", "[ ]", "[1]", "", " "]),
    st.text(alphabet="0123456789.-+eE是否yesnotrufal[] ", max_size=18),
    st.integers(min_value=0, max_value=10**16).map(str),
)


@given(CELL_TEXT)
@example("9" * 15)
@example("9" * 16)
def test_a_cells_text_reads_as_the_same_text_with_spaces_around_it(text: str) -> None:
    """The readers take a cell's common spellings at once (是/否 and the other words exactly
    as listed, plain ASCII digits up to 15 of them, "[]"); the same text with spaces around
    it goes the whole way (stripped, parsed, checked). Both give the same value, and both
    fail or neither does."""
    from policy_dsl.runtime.values import (
        read_bool,
        read_count,
        read_list,
        read_optional_bool,
        read_optional_count,
    )

    def entry(raw: object, path: str, errors: list[FieldError]) -> object:
        return raw

    readers = (
        lambda raw, errors: read_bool(raw, "k", errors),
        lambda raw, errors: read_optional_bool(raw, "k", errors),
        lambda raw, errors: read_count(raw, "k", errors),
        lambda raw, errors: read_optional_count(raw, "k", errors),
        lambda raw, errors: read_list(raw, "k", errors, entry),
    )
    for read in readers:
        at_once: list[FieldError] = []
        whole_way: list[FieldError] = []
        value = read({"k": text}, at_once)
        padded = read({"k": f" {text} "}, whole_way)
        assert (value, type(value), bool(at_once)) == (padded, type(padded), bool(whole_way)), \
            (text, at_once, whole_way)


def test_the_fast_paths_answer_the_common_shapes() -> None:
    """The fast paths do answer, with the values written: a text of digits, a whole number
    and a Decimal of two places (85.3, 7, 99.95), zero as plain 0 whatever its sign; a list
    of a code and a label of the display channels (电子屏 is e_screen). A value of another
    shape gets None (the full reader's)."""
    members = {"e_screen": "e_screen", "电子屏": "e_screen", "poster": "poster", "海报": "poster"}
    assert plain_number("85.3") == Decimal("85.3") and str(plain_number("85.3")) == "85.3"
    assert plain_number(7) == Decimal(7)
    assert str(plain_number(Decimal("99.95"))) == "99.95"
    assert str(plain_number("-0.0")) == "0"
    assert plain_number(" 85.3") is None and plain_number(85.3) is None
    assert plain_codes(["电子屏", "poster"], members) == frozenset({"e_screen", "poster"})
    assert plain_codes(["电视"], members) is None and plain_codes("poster", members) is None
