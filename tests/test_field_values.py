"""Field values that never fail open (POLICY-NOTES G7, G8; JL-11, JL-13, JL-15).

Every value a record can hold is read strictly: a comma only as a thousands separator, a
percent in percentage points, no NaN or Infinity, at most 28 significant digits, sizes
below 10^15, dates in the years 1..9998. A bad value is that field's error, found by
looking at its digits and exponent before any arithmetic, so a hostile value costs no time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

import pytest
from helpers import DROP, GENERATED, full_marks_inpatient, full_marks_outpatient, pack, score_one

from policy_dsl.runtime import InputRecord, outcome_json, score_batch
from policy_dsl.runtime.arithmetic import plain
from policy_dsl.runtime.framework import served_long_enough, subordinate_score_limit
from policy_dsl.runtime.values import (
    FieldError,
    NotANumber,
    parse_decimal,
    read_bool,
    read_count,
    read_date,
    read_enum_set,
    read_number,
    read_optional_date,
    read_percent,
    read_text,
    shown,
)


def errors_of(reader: Any, value: object, **options: Any) -> list[str]:
    errors: list[FieldError] = []
    reader({"f": value}, "f", errors, **options)
    return [str(e) for e in errors]


# ---------------------------------------------------------------- G8: commas and percents


@pytest.mark.parametrize(("text", "expected"), [
    ("1,234.5", Decimal("1234.5")),
    ("1,234", Decimal(1234)),
    ("12,345,678.25", Decimal("12345678.25")),
    ("-1,000", Decimal(-1000)),
    ("  85.5 ", Decimal("85.5")),
    ("1e3", Decimal(1000)),
    ("-0", Decimal(0)),
])
def test_g8_a_comma_separates_thousands_only(text: str, expected: Decimal) -> None:
    assert parse_decimal(text) == expected


@pytest.mark.parametrize("text", ["1,5", "8,5", "1,23", "1,2345", ",5", "1,,234", "1234,5",
                                  "1,234,5", "12,34.5"])
def test_g8_a_decimal_comma_is_refused_with_a_reason(text: str) -> None:
    """Today "8,5" would be read as 85: with a threshold of 80% that passes a failing share."""
    assert errors_of(read_percent, text) == [
        f'f: expected a percent such as 85.5 or "85.5%", got {text!r}: a comma is read only '
        "as a thousands separator, as in 1,234.5; a decimal comma such as 8,5 is not a "
        "number here (write 8.5)"]


def test_g8_a_percent_is_in_percentage_points() -> None:
    errors: list[FieldError] = []
    assert read_percent({"p": "85.5%"}, "p", errors) == Decimal("85.5")
    assert read_percent({"p": Decimal("85.5")}, "p", errors) == Decimal("85.5")
    assert read_percent({"p": "0.855"}, "p", errors) == Decimal("0.855")  # 0.855%, not 85.5%
    assert errors == []


def test_g8_an_empty_list_is_given_as_brackets_and_a_missing_one_is_an_error() -> None:
    members = {"a": "a"}
    assert errors_of(read_enum_set, [], members=members) == []
    assert errors_of(read_enum_set, None, members=members) == [
        "f: is missing; this field is required (write [] when there are none: an empty cell "
        "is no answer)"]


def test_g8_missing_values_are_never_zero_false_or_empty() -> None:
    """A missing required field is an error, never 0, false or the empty text."""
    for reader in (read_number, read_percent, read_count, read_bool, read_text, read_date):
        assert errors_of(reader, None) == ["f: is missing; this field is required"], reader
        assert errors_of(reader, "  ") == ["f: is missing; this field is required"], reader


# ---------------------------------------------------------------- numbers at the edge


@pytest.mark.parametrize("value", ["NaN", "nan", "Infinity", "-inf", "+Inf", "sNaN",
                                   Decimal("NaN"), Decimal("-Infinity"), Decimal("sNaN")])
def test_non_finite_numbers_are_field_errors(value: object) -> None:
    [message] = errors_of(read_number, value)
    assert message.startswith("f: expected a number, got ")
    assert message.endswith(": not a finite number")


@pytest.mark.parametrize(("value", "reason"), [
    ("1.234567890123456789012345678", None),  # 28 significant digits: exact, accepted
    ("1.2345678901234567890123456789", "more than 28 significant digits"),
    (Decimal("12345678901234.56789012345678901"), "more than 28 significant digits"),
    ("100.00000000000000000000000000000", None),  # trailing zeros are no extra digits
    ("9e999999", "too large: numbers must be less than 10^15 in size"),
    (Decimal("9e999999"), "too large: numbers must be less than 10^15 in size"),
    ("1e-999999", "digits beyond the 28th decimal place"),
    (Decimal("1e-999999"), "digits beyond the 28th decimal place"),
    (Decimal("0e-999999"), None),  # zero, however written, is 0
    ("999999999999999.99", None),  # just below 10^15
    ("1000000000000000", "too large: numbers must be less than 10^15 in size"),
    (10 ** 15, "too large: numbers must be less than 10^15 in size"),
    (10 ** 5000, "too large: numbers must be less than 10^15 in size"),
    ("1" * 65, "longer than any number accepted (64 characters)"),
    ("1" * 1_000_000, "longer than any number accepted (64 characters)"),
    (0.5, "a binary float cannot be read exactly; give the number as written (a text or "
          "a Decimal)"),
], ids=lambda value: shown(value) if not isinstance(value, str) or len(value) < 70 else "")
def test_numbers_beyond_the_arithmetic_are_refused_before_any_arithmetic(
        value: object, reason: str | None) -> None:
    """Each completes at once: the limits look at the digit tuple and exponent only
    (today `9e999999` costs 40 s of CPU where it is formatted or made an int)."""
    messages = errors_of(read_number, value)
    if reason is None:
        assert messages == []
    else:
        [message] = messages
        assert message.endswith(f": {reason}"), message


def test_integers_beyond_pythons_digit_limit_are_field_errors_in_every_reader() -> None:
    huge = 10 ** 5000  # str() of it raises ValueError: the readers never call it
    assert errors_of(read_count, huge) == [
        "f: expected a whole number 0 or more, got a whole number of about 5001 digits: "
        "too large: numbers must be less than 10^15 in size"]
    assert errors_of(read_bool, huge) == [
        "f: expected true or false (是/否), got a whole number of about 5001 digits"]
    assert errors_of(read_text, huge) == [
        "f: expected a text, got a whole number of about 5001 digits"]
    assert errors_of(read_date, huge) == [
        "f: expected a date such as 2023-12-31, got a whole number of about 5001 digits"]


def test_a_count_must_be_whole_and_not_negative() -> None:
    assert errors_of(read_count, Decimal("2.5")) == [
        "f: expected a whole number 0 or more, got 2.5"]
    assert errors_of(read_count, -1) == ["f: expected a whole number 0 or more, got -1"]
    errors: list[FieldError] = []
    assert read_count({"f": "1,000"}, "f", errors) == 1000
    assert read_count({"f": Decimal("3.000")}, "f", errors) == 3
    assert errors == []


def test_money_beyond_the_context_is_a_field_error_not_a_rounding_crash() -> None:
    """A deposit of 1e30 would overflow the refund's quantize (InvalidOperation, exit 70)."""
    record = {"id": "J", "assessment_year": 2026, "agreement_start": "2020-01-01",
              "deposit": Decimal("1e30"), "deductions": [], "bonuses": []}
    result = score_one("jilin/medical-inpatient-2026", record)
    assert result["error"] == (
        "record 1 (id J): deposit: expected a number, got 1E+30: too large: numbers must be "
        "less than 10^15 in size")
    # The largest deposit accepted still refunds to the cent: 999,999,999,999,999.99 × 100%.
    record["deposit"] = "999999999999999.99"
    assert score_one("jilin/medical-inpatient-2026", record)["refund_amount"] == (
        "999999999999999.99")


def test_values_are_shown_short_and_safe() -> None:
    assert shown("x" * 1_000_000) == "'" + "x" * 40 + "...'"
    assert shown("\ud800abc") == "'\\ud800abc'"  # a lone surrogate is escaped, not echoed
    assert shown("a\nb") == "'a\\nb'"
    assert shown(Decimal("9e999999")) == "9E+999999"
    assert shown(Decimal("1." + "1" * 100)) == "1." + "1" * 35 + "..."
    assert shown(10 ** 5000) == "a whole number of about 5001 digits"
    assert shown([[1]] * 10**6) == "a list of 1000000 entries"
    assert shown({"a": 1}) == "an object {...}"
    assert shown(None) == "null"
    assert shown(True) == "true"


def test_a_csv_cell_holding_a_list_is_read_as_strictly_as_json_input() -> None:
    entries = '[{"item": "1", "points": 2.5, "evidence": "e"}]'
    result = score_one("jilin/medical-inpatient-2026", {
        "id": "J", "assessment_year": "2026", "agreement_start": "2020-01-01",
        "deposit": "1000", "deductions": entries, "bonuses": "[]"})
    assert (result["error"], result["own_score"]) == (None, "97.50")  # 100 − 2.5, exact
    for cell, reason in [
        ("[NaN]", "[0]: NaN is not a number (JSON has no NaN or Infinity)"),
        ('[{"a": 1, "a": 2}]', "[0]: the key 'a' appears more than once in one object"),
        ("[" * 21 + "]" * 21, "nested deeper than 20 levels"),
        ("[1,", "not valid JSON (Expecting value at column 4)"),
    ]:
        result = score_one("jilin/medical-inpatient-2026", {
            "id": "J", "assessment_year": "2026", "agreement_start": "2020-01-01",
            "deposit": "1000", "deductions": cell, "bonuses": []})
        assert result["error"] is not None
        assert "deductions: expected a JSON list, got " in result["error"]
        assert result["error"].endswith(reason), result["error"]


# ---------------------------------------------------------------- dates and tenure (JL-13)


@pytest.mark.parametrize(("text", "expected"), [
    ("2023-12-31", dt.date(2023, 12, 31)),
    ("0001-01-01", dt.date(1, 1, 1)),
    ("9998-12-31", dt.date(9998, 12, 31)),
])
def test_dates_in_the_years_1_to_9998(text: str, expected: dt.date) -> None:
    errors: list[FieldError] = []
    assert read_optional_date({"d": text}, "d", errors) == expected
    assert errors == []


@pytest.mark.parametrize(("value", "message"), [
    ("9999-12-31", "d: 9999-12-31 is outside the years 1..9998 that dates may take"),
    ("2023-02-30", "d: expected a date such as 2023-12-31, got '2023-02-30'"),
    ("20231231", "d: expected a date such as 2023-12-31, got '20231231'"),
    ("2023-W01-1", "d: expected a date such as 2023-12-31, got '2023-W01-1'"),
    (20231231, "d: expected a date such as 2023-12-31, got 20231231"),
])
def test_dates_outside_the_calendar_or_the_form_are_field_errors(value: object,
                                                                  message: str) -> None:
    errors: list[FieldError] = []
    assert read_optional_date({"d": value}, "d", errors) is None
    assert [str(e) for e in errors] == [message]


@pytest.mark.parametrize(("start", "year", "served"), [
    (dt.date(2026, 7, 1), 2026, True),    # + 6 months = 2027-01-01 ≤ 2027-01-01
    (dt.date(2026, 7, 2), 2026, False),   # 2027-01-02 > 2027-01-01
    (dt.date(2025, 8, 31), 2025, False),  # 31 Aug + 6 months: 2026-02-28 (no 31 Feb)
    (dt.date(2027, 8, 31), 2028, True),   # 2028-02-29, a leap year's last day ≤ 2029-01-01
    (dt.date(9998, 7, 1), 9998, True),    # 9999-01-01 ≤ 9999-01-01: the calendar's edge
    (dt.date(9998, 12, 31), 9998, False),  # 9999-06-30 > 9999-01-01
    (dt.date(2026, 1, 31), 2026, True),   # 2026-07-31
])
def test_jl13_tenure_is_computed_without_a_loop(start: dt.date, year: int,
                                                served: bool) -> None:
    assert served_long_enough(start, year, 6) is served


def test_jl13_a_tenure_beyond_the_calendar_ends_and_is_not_served() -> None:
    """A framework with a long tenure clause: start + 24 months lies past year 9999."""
    assert served_long_enough(dt.date(9998, 12, 31), 9998, 24) is False


def test_jl13_an_agreement_start_in_9999_is_a_field_error_not_a_hang() -> None:
    """Today 9999-12-31 + 6 months makes the tenure computation loop forever."""
    result = score_one("jilin/medical-inpatient-2026", {
        "id": "J", "assessment_year": 2026, "agreement_start": "9999-12-31",
        "deposit": "1000", "deductions": [], "bonuses": []})
    assert result["error"] == ("record 1 (id J): agreement_start: 9999-12-31 is outside the "
                               "years 1..9998 that dates may take")
    result = score_one("jilin/medical-inpatient-2026", {
        "id": "J", "assessment_year": 9999, "agreement_start": "2020-01-01",
        "deposit": "1000", "deductions": [], "bonuses": []})
    assert result["error"] == ("record 1 (id J): assessment_year: 9999 is out of range; "
                               "expected 1..9998")


# ---------------------------------------------------------------- G7 and JL-15 presence


def test_sz_9_g7_eprescription_connection_is_required_only_of_dual_channel() -> None:
    """Not dual-channel, neither field given: item 9's e-prescription part is not
    applicable and awarded its 2 (G5): 2 (e-voucher 60%) + 2 + 2 + 2 = 8, total 100."""
    record = full_marks_inpatient(dual_channel=False, eprescription_connected=DROP,
                                  eprescription_flow_rate=DROP)
    result = score_one("suzhou/inpatient-2023", record)
    assert result["error"] is None
    assert (result["items"]["9"], result["total"]) == ("8", "100.00")
    record = full_marks_inpatient(eprescription_connected=DROP, eprescription_flow_rate=DROP)
    assert score_one("suzhou/inpatient-2023", record)["error"] == (
        "record 1 (id H): eprescription_connected: is missing; it is required when "
        "dual_channel")


def test_sz2_8_g7_outpatient_and_kunshan_need_no_connection_of_other_clinics() -> None:
    """附件2 item 8 the same way: 2 (50%) + 2 + 2 (not applicable) + 2 = 8."""
    record = full_marks_outpatient(eprescription_connected=DROP)
    kunshan = full_marks_outpatient(eprescription_connected=DROP, policies_forwarded=DROP,
                                    display_channels=DROP)  # the example removes item 13
    for name, facts in (("suzhou/outpatient-2023", record),
                        ("suzhou/kunshan-outpatient-2023", kunshan)):
        result = score_one(name, facts)
        assert result["error"] is None, name
        assert result["items"]["8"] == "8", name
    dual = full_marks_outpatient(dual_channel=True, eprescription_connected=DROP)
    assert score_one("suzhou/outpatient-2023", dual)["error"] == (
        "record 1 (id C): eprescription_connected: is missing; it is required when "
        "dual_channel")


def _jilin(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"id": "J", "assessment_year": 2026,
                              "agreement_start": "2020-01-01", "deposit": "123456.78",
                              "deductions": [], "bonuses": []}
    record.update(changes)
    return {k: v for k, v in record.items() if v is not DROP}


def test_jl15_a_voluntary_exit_must_say_whether_violations_were_found() -> None:
    """With violations: 合格's lowest ratio, at 70: 100 − 2.5 × (90 − 70) = 50%;
    123,456.78 × 50% = 61,728.39. Without: 100% = 123,456.78. Not said: an error."""
    name = "jilin/medical-inpatient-2026"
    found = score_one(name, _jilin(status="voluntary_exit", violations_found=True))
    assert (found["refund_ratio"], found["refund_amount"]) == ("50.00", "61728.39")
    clean = score_one(name, _jilin(status="voluntary_exit", violations_found="否"))
    assert (clean["refund_ratio"], clean["refund_amount"]) == ("100.00", "123456.78")
    unsaid = score_one(name, _jilin(status="voluntary_exit"))
    assert unsaid["refund_amount"] is None
    assert unsaid["error"] == (
        "record 1 (id J): violations_found: is missing; it is required for a voluntary exit "
        "(JL-15: refund 50% with violations, 100% without)")


def test_jl15_other_statuses_need_not_say_it_but_it_is_checked_when_given() -> None:
    name = "jilin/medical-inpatient-2026"
    assert score_one(name, _jilin())["error"] is None
    assert score_one(name, _jilin(status="terminated"))["refund_amount"] == "0.00"
    assert score_one(name, _jilin(violations_found="perhaps"))["error"] == (
        "record 1 (id J): violations_found: expected true or false (是/否), got 'perhaps'")


# ---------------------------------------------------------------- JL-11 subordinates


def test_jl11_a_subordinate_may_score_up_to_the_frameworks_110() -> None:
    """Own 100 − 10 = 90; one subordinate at 105 (bonus beyond 100, JL-8):
    0.7 × 90 + 0.3 × 105 = 63 + 31.5 = 94.5 → 优, 100% of 123,456.78."""
    result = score_one("jilin/medical-inpatient-2026", _jilin(
        deductions=[{"item": "1", "points": "10", "evidence": "e"}],
        subordinate_scores=["105"]))
    assert (result["own_score"], result["final_score"], result["grade"]) == (
        "90.00", "94.50", "优")
    assert result["refund_amount"] == "123456.78"
    edge = score_one("jilin/medical-inpatient-2026", _jilin(subordinate_scores=[110, 0]))
    assert edge["final_score"] == "86.50"  # 0.7 × 100 + 0.3 × (110 + 0) / 2 = 70 + 16.5


@pytest.mark.parametrize(("value", "message"), [
    ("110.01", "subordinate_scores[0]: 110.01 is out of range; expected 0..110"),
    (-1, "subordinate_scores[0]: -1 is out of range; expected 0..110"),
    ("NaN", "subordinate_scores[0]: expected a number, got 'NaN': not a finite number"),
    ("8,5", "subordinate_scores[0]: expected a number, got '8,5': a comma is read only"),
])
def test_jl11_subordinate_scores_off_the_scale_are_refused(value: object,
                                                          message: str) -> None:
    result = score_one("jilin/medical-inpatient-2026", _jilin(subordinate_scores=[value]))
    assert result["error"] is not None and message in result["error"]


def test_jl11_the_subordinate_limit_comes_from_the_frameworks_rules() -> None:
    rules = pack("jilin/medical-inpatient-2026").FRAMEWORK  # type: ignore[attr-defined]
    assert subordinate_score_limit(rules) == Decimal(110)  # deductions 100 + bonus limit 10
    wider = dataclasses.replace(rules, bonus_limit=Decimal(12))
    assert subordinate_score_limit(wider) == Decimal(112)


# ---------------------------------------------------------------- the caller's context (G2)


def test_output_does_not_depend_on_the_callers_decimal_context() -> None:
    """Scored and formatted under prec=3 and ROUND_DOWN: own 100 − 14.445 = 85.555 exact →
    85.56; one subordinate 60.01: 0.7 × 85.555 + 0.3 × 60.01 = 59.8885 + 18.003 = 77.8915 →
    77.89 → 合格: 100 − 2.5 × (90 − 77.89) = 69.725 → 69.73%; 200,000 × 69.73% =
    139,460.00. Today plain() normalizes in the caller's context and writes 85.5."""
    record = _jilin(deposit="200000", subordinate_scores=["60.01"],
                    deductions=[{"item": "1", "points": "14.445", "evidence": "e"}])
    with localcontext() as context:
        context.prec = 3
        context.rounding = ROUND_DOWN
        [outcome] = score_batch(pack("jilin/medical-inpatient-2026"),
                                [InputRecord(1, "J", record)])
        line = outcome_json(outcome, explain=True)
        assert plain(Decimal("60.34")) == "60.34"
    assert (line["earned"], line["total"], line["items"]) == (
        "85.555", "85.56", {"1": "85.555", "2": "0"})
    assert (line["own_score"], line["final_score"], line["refund_ratio"],
            line["refund_amount"]) == ("85.56", "77.89", "69.73", "139460.00")
    # withheld: 200,000 − 139,460.00 = 60,540.00, exact under the caller's prec=3 too
    assert (line["deposit"], line["withheld"]) == ("200000.00", "60540.00")


def test_plain_is_exact_and_keeps_no_exponent() -> None:
    assert [plain(Decimal(t)) for t in ("2.50", "1E+2", "0.00", "-0", "1E-7", "-0.5")] == [
        "2.5", "100", "0", "0", "0.0000001", "-0.5"]


def test_not_a_number_explains_itself() -> None:
    with pytest.raises(NotANumber) as caught:
        parse_decimal("abc")
    assert caught.value.explained("'abc'", "a number") == "expected a number, got 'abc'"


def test_g8_jl6_the_panels_deductions_are_never_read_as_none() -> None:
    """Left out, the list would give 100 − 0 = 100 and a full refund: it is an error; an
    empty list `[]` says there are none (100 → 优 → 100% of 123,456.78)."""
    name = "jilin/medical-inpatient-2026"
    assert score_one(name, _jilin(deductions=DROP))["error"] == (
        "record 1 (id J): deductions: is missing; this field is required (write [] when "
        "there are none: an empty cell is no answer)")
    assert score_one(name, _jilin())["refund_amount"] == "123456.78"


def test_describe_shows_the_presence_rules_and_the_subordinate_scale() -> None:
    """What `policyc describe` shows is what the readers enforce: G7, JL-15, JL-11."""
    from click.testing import CliRunner

    from policy_dsl.cli import cli

    jilin = CliRunner().invoke(cli, ["describe", "--pack", "jilin/medical-inpatient-2026",
                                     "--packs", str(GENERATED)])
    assert jilin.exit_code == 0, jilin.output
    assert "violations_found                   bool  (required when status is " \
        "voluntary_exit)" in jilin.output
    assert "subordinate_scores                 list of score in 0..110  (optional, " \
        "default [])" in jilin.output
    suzhou = CliRunner().invoke(cli, ["describe", "--pack", "suzhou/inpatient-2023",
                                      "--packs", str(GENERATED)])
    assert "eprescription_connected            bool  (required when dual_channel)" in \
        suzhou.output


def test_the_runtime_has_no_loop_without_a_bound() -> None:
    """No `while True` in the runtime (the tenure computation looped on 9999-12-31); every
    `while` there is bounded by the length of what it walks."""
    import ast
    from pathlib import Path

    runtime = Path(__file__).resolve().parents[1] / "src" / "policy_dsl" / "runtime"
    for path in runtime.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.While):
                assert not (isinstance(node.test, ast.Constant) and node.test.value), \
                    f"{path.name}:{node.lineno}"


def test_an_unknown_key_is_named_safely() -> None:
    """A key that is not a fact is named in the error; a lone surrogate or a 1 MB key is
    shown escaped and shortened, so the error line stays valid, short UTF-8."""
    from policy_dsl.runtime.values import check_unknown_fields

    errors: list[FieldError] = []
    check_unknown_fields({"pirce": 1, "\ud800": 1, "k" * 1_000_000: 1, "_note": 1},
                         frozenset({"price"}), errors)
    assert [e.field for e in errors] == ["pirce", "'\\ud800'", "'" + "k" * 40 + "...'"]
    assert all(str(e).encode("utf-8") for e in errors)
