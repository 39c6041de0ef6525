"""Reading one input record's fields: types, bounds and presence, with errors for people.

Each `read_*` helper takes the raw record (a mapping from JSON or a CSV row), the field's key
and the list that collects this record's errors. A helper for a required field always returns
a value of its type (a placeholder when the field is wrong); the record is rejected as a whole
when any error was collected, so a placeholder is never scored (G7).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Context, Decimal
from typing import Protocol, TypeVar

from .arithmetic import ZERO
from .strict_json import JSONRejected, StrictDecoder, too_deep

Raw = Mapping[str, object]
T = TypeVar("T")

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "是", "有", "√"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "否", "无", "×"})
# The words as a text cell holds them most often (no spaces, lower case): read at once.
_BOOL_TEXTS = {word: True for word in TRUE_WORDS} | {word: False for word in FALSE_WORDS}


MISSING = "is missing; this field is required"
MISSING_LIST = f"{MISSING} (write [] when there are none: an empty cell is no answer)"


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class RecordInvalid(Exception):
    """One record cannot be scored; every field error found in it travels together."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = tuple(errors)
        missing = [e for e in self.errors if e.message in (MISSING, MISSING_LIST)]
        parts = [str(e) for e in self.errors if e.message not in (MISSING, MISSING_LIST)]
        if len(missing) == 1:
            parts.append(str(missing[0]))
        elif missing:
            lists = any(e.message == MISSING_LIST for e in missing)
            parts.append(f"{len(missing)} required fields are missing: "
                         f"{', '.join(e.field for e in missing)}"
                         + ("; write [] for a list with none" if lists else ""))
        super().__init__("; ".join(parts))


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


SHOWN_LENGTH = 40


def shown(value: object) -> str:
    """A value as quoted in an error: short, one line, printable (a lone surrogate or a
    control character is escaped), and cheap whatever its size."""
    if isinstance(value, str):
        text = repr(value[:SHOWN_LENGTH])
        return text[:-1] + "..." + text[-1] if len(value) > SHOWN_LENGTH else text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value.bit_length() > 100:  # str() of a huge int is slow, or refused outright
            return f"a whole number of about {int(value.bit_length() * 0.30103) + 1} digits"
        return str(value)
    if isinstance(value, Decimal):
        if value.is_finite() and (value.adjusted() > 40 or value.adjusted() < -40):
            return str(value) if len(value.as_tuple().digits) <= 10 else \
                f"a number of about 10^{value.adjusted()}"
        text = str(value)
        return text if len(text) <= SHOWN_LENGTH else text[:SHOWN_LENGTH - 3] + "..."
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} entries"
    if isinstance(value, Mapping):
        return "an object {...}"
    return f"a value of type {type(value).__name__}"


def _get(raw: Raw, key: str, path: str, errors: list[FieldError],
         required: bool) -> object | None:
    value = raw.get(key)
    if _missing(value):
        if required:
            errors.append(FieldError(path, MISSING))
        return None
    return value


# ---------------------------------------------------------------- numbers
#
# Every number is checked before any arithmetic, `int()` or formatting touches it, on its
# digit tuple and exponent only, so that a hostile value costs microseconds: it must be
# finite, have at most 28 significant digits (what the arithmetic carries exactly), no digit
# beyond the 28th decimal place, and be less than 10^15 in size (1 000 万亿: more than any
# deposit, count or score; a refund computed from it stays exact to the cent, G2).

SIGNIFICANT_DIGITS = 28
DECIMAL_PLACES = 28
MAGNITUDE_DIGITS = 15
LIMIT = Decimal(10 ** MAGNITUDE_DIGITS)
LIMIT_TEXT = f"10^{MAGNITUDE_DIGITS}"
NUMBER_TEXT_LENGTH = 64
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,9})?")
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_NON_FINITE = re.compile(r"[+-]?(?:nan|snan|inf|infinity)", re.IGNORECASE)


TOO_LARGE = f"too large: numbers must be less than {LIMIT_TEXT} in size"


class NotANumber(ValueError):
    """A value is not a number this runtime reads; the message says why ("" when the value
    is plainly something else)."""

    def explained(self, quoted: str, wanted: str) -> str:
        reason = str(self)
        return f"expected {wanted}, got {quoted}" + (f": {reason}" if reason else "")


def parse_decimal(value: object) -> Decimal:
    """A number from a record: a Decimal or whole number (JSON), or a text (a CSV cell).

    Raises NotANumber saying why not. Texts: `85.5`, `-3`, `1e3`, `1,234.5` (a comma only
    as a thousands separator, G8); never `8,5`, `NaN`, `Infinity` or a float's digits.
    """
    if isinstance(value, bool):
        raise NotANumber("")
    if isinstance(value, int):
        if -LIMIT < value < LIMIT:  # comparing a huge int costs nothing; str() of it would
            return Decimal(value)
        raise NotANumber(TOO_LARGE)
    if isinstance(value, Decimal):
        return _checked(value)
    if isinstance(value, str):
        return _checked(_parse_text(value))
    if isinstance(value, float):
        raise NotANumber("a binary float cannot be read exactly; give the number as written "
                         "(a text or a Decimal)")
    raise NotANumber("")


# The common shapes of a number, read without the checks above because they cannot fail
# them: a text of at most 15 digits before the point and 13 after (28 significant digits at
# most, less than 10^15), a whole number within the limit, a finite Decimal within the limit
# with no digit beyond the 13th decimal place (28 significant digits at most, trailing zeros
# aside, as parse_decimal counts them). Anything else goes through parse_decimal.
_PLAIN_TEXT = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,13})?").fullmatch
_PLAIN_PLACES = Decimal("1E-13")
_PLAIN_QUANTIZING = Context(prec=MAGNITUDE_DIGITS + 1 + 13)  # rounding may carry to 10^15
_INT_LIMIT = 10 ** MAGNITUDE_DIGITS  # LIMIT as an int: comparing ints is cheaper


def plain_number(value: object) -> Decimal | None:
    """The number `parse_decimal` reads from `value` when `value` has one of the common
    shapes (the same Decimal, zero as plain 0); None for any other value, which the caller
    then reads with the full helper (and its error message). A generated reader's fast path,
    called for every number of every record: its context is given by position (a keyword
    argument costs twice the quantizing)."""
    # Quantizing to 13 places keeps the value exactly when it has no digit beyond them;
    # cheaper than reading its digits. Its context holds any result (up to 10^15 rounded up).
    # The size as parse_decimal checks it (adjusted(): the place of the first digit).
    if type(value) is Decimal:
        if value.is_finite() and value.adjusted() < MAGNITUDE_DIGITS \
                and value.quantize(_PLAIN_PLACES, None, _PLAIN_QUANTIZING) == value:
            return value or ZERO
        return None
    if type(value) is int:
        return Decimal(value) if -_INT_LIMIT < value < _INT_LIMIT else None
    if type(value) is str:
        return (Decimal(value) or ZERO) if _PLAIN_TEXT(value) else None
    return None


def _parse_text(value: str) -> Decimal:
    text = value.strip()
    if len(text) > NUMBER_TEXT_LENGTH:
        raise NotANumber(f"longer than any number accepted ({NUMBER_TEXT_LENGTH} "
                         "characters)")
    if "," in text:
        if not _THOUSANDS.fullmatch(text):
            raise NotANumber("a comma is read only as a thousands separator, as in 1,234.5; "
                             "a decimal comma such as 8,5 is not a number here (write 8.5)")
        text = text.replace(",", "")
    if _NON_FINITE.fullmatch(text):
        raise NotANumber("not a finite number")
    if not _NUMBER.fullmatch(text):
        raise NotANumber("")
    return Decimal(text)  # the text is short and plain: exact and cheap


def _checked(number: Decimal) -> Decimal:
    """The limits above, on the digit tuple and exponent only (no arithmetic)."""
    if not number.is_finite():
        raise NotANumber("not a finite number")
    if not number:
        return Decimal(0)  # 0E-999999 and -0 are plain 0
    if number.adjusted() >= MAGNITUDE_DIGITS:
        raise NotANumber(TOO_LARGE)
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    significant = len(digits)
    trailing = 0
    while trailing < significant - 1 and digits[significant - 1 - trailing] == 0:
        trailing += 1  # bounded by the digits; 100.000 has 3 significant digits here
    if significant - trailing > SIGNIFICANT_DIGITS:
        raise NotANumber(f"more than {SIGNIFICANT_DIGITS} significant digits")
    if exponent + trailing < -DECIMAL_PLACES:
        raise NotANumber(f"digits beyond the {DECIMAL_PLACES}th decimal place")
    return number


def _check_bounds(path: str, number: Decimal, low: Decimal | None, high: Decimal | None,
                  errors: list[FieldError], unit: str = "") -> None:
    if (low is not None and number < low) or (high is not None and number > high):
        lo = "" if low is None else f"{low}{unit}"
        hi = "" if high is None else f"{high}{unit}"
        errors.append(FieldError(path, f"{shown(number)}{unit} is out of range; "
                                 f"expected {lo}..{hi}"))


def _read_decimal(raw: Raw, key: str, errors: list[FieldError], low: Decimal | None,
                  high: Decimal | None, path: str, required: bool,
                  percent: bool) -> Decimal | None:
    value = _get(raw, key, path, errors, required)
    if value is None:
        return None
    text = value.strip().removesuffix("%") if percent and isinstance(value, str) else value
    try:
        number = parse_decimal(text)
    except NotANumber as problem:
        wanted = 'a percent such as 85.5 or "85.5%"' if percent else "a number"
        errors.append(FieldError(path, problem.explained(shown(value), wanted)))
        return None
    _check_bounds(path, number, low, high, errors, "%" if percent else "")
    return number


def read_optional_number(raw: Raw, key: str, errors: list[FieldError], *,
                         low: Decimal | None = None, high: Decimal | None = None,
                         path: str | None = None, required: bool = False) -> Decimal | None:
    return _read_decimal(raw, key, errors, low, high, path or key, required, percent=False)


def read_number(raw: Raw, key: str, errors: list[FieldError], *,
                low: Decimal | None = None, high: Decimal | None = None,
                path: str | None = None) -> Decimal:
    number = _read_decimal(raw, key, errors, low, high, path or key, True, percent=False)
    return ZERO if number is None else number


def read_optional_percent(raw: Raw, key: str, errors: list[FieldError], *,
                          low: Decimal | None = None, high: Decimal | None = None,
                          path: str | None = None, required: bool = False) -> Decimal | None:
    """A percent in percentage points: 85.5 or "85.5%" (not 0.855)."""
    return _read_decimal(raw, key, errors, low, high, path or key, required, percent=True)


def read_percent(raw: Raw, key: str, errors: list[FieldError], *,
                 low: Decimal | None = None, high: Decimal | None = None,
                 path: str | None = None) -> Decimal:
    number = _read_decimal(raw, key, errors, low, high, path or key, True, percent=True)
    return ZERO if number is None else number


WHOLE = "a whole number 0 or more"


def read_optional_count(raw: Raw, key: str, errors: list[FieldError], *,
                        low: Decimal | None = None, high: Decimal | None = None,
                        path: str | None = None, required: bool = False) -> int | None:
    value = raw.get(key)
    if type(value) is str and low is None and high is None and value.isascii() and \
            value.isdigit() and len(value) <= MAGNITUDE_DIGITS:
        return int(value)  # a cell's plain digits: less than 10^15, the same int as below
    path = path or key
    value = _get(raw, key, path, errors, required)
    if value is None:
        return None
    try:
        number = parse_decimal(value)
    except NotANumber as problem:
        errors.append(FieldError(path, problem.explained(shown(value), WHOLE)))
        return None
    if number != number.to_integral_value(rounding=ROUND_FLOOR) or number < 0:
        errors.append(FieldError(path, f"expected {WHOLE}, got {shown(value)}"))
        return None
    _check_bounds(path, number, low, high, errors)
    return int(number)  # less than 10^15: cheap and exact


def read_count(raw: Raw, key: str, errors: list[FieldError], *,
               low: Decimal | None = None, high: Decimal | None = None,
               path: str | None = None) -> int:
    number = read_optional_count(raw, key, errors, low=low, high=high, path=path, required=True)
    return 0 if number is None else number


def read_optional_bool(raw: Raw, key: str, errors: list[FieldError], *,
                       path: str | None = None, required: bool = False) -> bool | None:
    value = raw.get(key)
    if type(value) is str and value in _BOOL_TEXTS:  # a cell's 是/否: the common text case
        return _BOOL_TEXTS[value]
    path = path or key
    value = _get(raw, key, path, errors, required)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    word = value.strip().lower() if isinstance(value, str) else None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    errors.append(FieldError(path, f"expected true or false (是/否), got {shown(value)}"))
    return None


def read_bool(raw: Raw, key: str, errors: list[FieldError], *, path: str | None = None) -> bool:
    return bool(read_optional_bool(raw, key, errors, path=path, required=True))


def read_optional_enum(raw: Raw, key: str, errors: list[FieldError], members: Mapping[str, str],
                       *, path: str | None = None, required: bool = False) -> str | None:
    """An enum member by its code or its Chinese label; `members` maps both to the code."""
    path = path or key
    value = _get(raw, key, path, errors, required)
    if value is None:
        return None
    code = members.get(str(value).strip()) if isinstance(value, str) else None
    if code is None:
        accepted = sorted(set(members.values()))
        errors.append(FieldError(path, f"{shown(value)} is not one of {', '.join(accepted)} "
                                 "(or their labels)"))
    return code


def read_enum(raw: Raw, key: str, errors: list[FieldError], members: Mapping[str, str], *,
              path: str | None = None) -> str:
    code = read_optional_enum(raw, key, errors, members, path=path, required=True)
    return code or ""


def read_optional_text(raw: Raw, key: str, errors: list[FieldError], *,
                       path: str | None = None, required: bool = False) -> str | None:
    path = path or key
    value = _get(raw, key, path, errors, required)
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool) and -LIMIT < value < LIMIT:
        return str(value)
    errors.append(FieldError(path, f"expected a text, got {shown(value)}"))
    return None


def read_text(raw: Raw, key: str, errors: list[FieldError], *, path: str | None = None) -> str:
    return read_optional_text(raw, key, errors, path=path, required=True) or ""


# Dates run from year 1 to 9998: a computation may need the following year (JL-13).
FIRST_YEAR = 1
LAST_YEAR = dt.MAXYEAR - 1
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def read_optional_date(raw: Raw, key: str, errors: list[FieldError], *,
                       path: str | None = None, required: bool = False) -> dt.date | None:
    path = path or key
    value = _get(raw, key, path, errors, required)
    if value is None:
        return None
    date: dt.date | None = None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        date = value
    elif isinstance(value, str) and ISO_DATE.fullmatch(value.strip()):
        try:
            date = dt.date.fromisoformat(value.strip())
        except ValueError:
            date = None
    if date is None:
        errors.append(FieldError(path, f"expected a date such as 2023-12-31, got {shown(value)}"))
        return None
    if not FIRST_YEAR <= date.year <= LAST_YEAR:
        errors.append(FieldError(path, f"{date.isoformat()} is outside the years {FIRST_YEAR}.."
                                 f"{LAST_YEAR} that dates may take"))
        return None
    return date


def read_date(raw: Raw, key: str, errors: list[FieldError], *,
              path: str | None = None) -> dt.date:
    return read_optional_date(raw, key, errors, path=path, required=True) or dt.date.min


# ---------------------------------------------------------------- lists and sets


CELL_LENGTH = 100_000
CELL_DEPTH = 20


_cell_decoders = threading.local()


def _cell_json(text: str) -> object:
    """A CSV cell's JSON text, read as strictly as a JSON record (the same decoder: numbers
    as written, no NaN or Infinity, no repeated keys, no unpaired surrogates), and bounded in
    size and depth."""
    if len(text) > CELL_LENGTH:
        raise ValueError(f"longer than {CELL_LENGTH} characters")
    if too_deep(text, CELL_DEPTH):
        raise ValueError(f"nested deeper than {CELL_DEPTH} levels")
    decoder = getattr(_cell_decoders, "decoder", None)
    if decoder is None:  # one a thread: a decoder is not shared between threads
        decoder = _cell_decoders.decoder = StrictDecoder()
    try:
        return decoder.loads(text)
    except JSONRejected as problem:
        raise ValueError(str(problem)) from None


def read_json_list(raw: Raw, key: str, path: str, errors: list[FieldError],
                   required: bool) -> list[object]:
    """A list field: a JSON list, or (from a CSV cell) its JSON text."""
    value = raw.get(key)
    if type(value) is str and value == "[]":  # a cell's empty list, its most common text
        return []
    if _missing(value):
        if required:
            errors.append(FieldError(path, MISSING_LIST))
        return []
    if isinstance(value, str):  # a CSV cell holds the list as JSON text
        try:
            value = _cell_json(value)
        except ValueError as problem:
            reason = f": {problem}" if str(problem) else ""
            errors.append(FieldError(path, f"expected a JSON list, got {shown(value)}{reason}"))
            return []
    if not isinstance(value, list):
        errors.append(FieldError(path, f"expected a list, got {shown(value)}"))
        return []
    return value


def read_list(raw: Raw, key: str, errors: list[FieldError],
              read_entry: Callable[[Raw, str, list[FieldError]], T], *,
              required: bool = True) -> tuple[T, ...]:
    entries: list[T] = []
    given = raw.get(key)
    if type(given) is not list:  # missing, a CSV cell's JSON text, or wrong
        given = read_json_list(raw, key, key, errors, required)
    for index, entry in enumerate(given):
        path = f"{key}[{index}]"
        if type(entry) is not dict and not isinstance(entry, Mapping):  # a dict: no ABC check
            errors.append(FieldError(path, f"expected an object {{...}}, got {shown(entry)}"))
            continue
        entries.append(read_entry(entry, path, errors))
    return tuple(entries)


def read_enum_set(raw: Raw, key: str, errors: list[FieldError], members: Mapping[str, str], *,
                  path: str | None = None, required: bool = True) -> frozenset[str]:
    path = path or key
    codes: set[str] = set()
    for index, entry in enumerate(read_json_list(raw, key, path, errors, required)):
        code = members.get(entry.strip()) if isinstance(entry, str) else None
        if code is None:
            accepted = sorted(set(members.values()))
            errors.append(FieldError(f"{path}[{index}]", f"{shown(entry)} is not one of "
                                     f"{', '.join(accepted)} (or their labels)"))
        else:
            codes.add(code)
    return frozenset(codes)


def plain_codes(value: object, members: Mapping[str, str]) -> frozenset[str] | None:
    """The codes `read_enum_set` reads from `value` when it is a list of exact spellings
    (codes or labels, none with spaces around it); None for anything else, which the caller
    then reads with `read_enum_set` (and its error messages). A generated reader's fast path."""
    if type(value) is not list:
        return None
    try:
        return frozenset([members[entry] for entry in value])
    except (KeyError, TypeError):  # an unknown or unhashable entry
        return None


def check_unknown_fields(raw: Raw, known: frozenset[str], errors: list[FieldError],
                         prefix: str = "") -> None:
    """A field the standard does not declare is an error: a misspelt fact is not ignored.

    Fields whose key starts with `_` are the caller's own notes and are passed over.
    """
    for key in raw:
        if key not in known and not key.startswith("_"):
            name = key if len(key) <= SHOWN_LENGTH and key.isprintable() else shown(key)
            errors.append(FieldError(f"{prefix}{name}", "is not a fact of this standard "
                                     "(see `policyc describe`)"))


class Entry(Protocol):
    """An assessment panel's entry: the item it belongs to, its points, its evidence."""

    @property
    def item(self) -> object: ...

    @property
    def points(self) -> Decimal: ...


def check_entries(entries: Sequence[Entry], key: str, catalogue: Mapping[str, Decimal],
                  errors: list[FieldError]) -> None:
    """Every entry names an item that takes entries from this list, within its points."""
    for index, entry in enumerate(entries):
        code = str(entry.item).strip()
        if code not in catalogue:
            known = ", ".join(catalogue)
            errors.append(FieldError(f"{key}[{index}].item", f"item {shown(code)} takes no {key}; "
                                     f"the items that do: {known}"))
        elif entry.points > catalogue[code]:
            errors.append(FieldError(f"{key}[{index}].points", f"{entry.points} is more than "
                                     f"item {code}'s {catalogue[code]} points"))


def require(condition: bool, value: object, field: str, when: str,
            errors: list[FieldError]) -> None:
    """A conditionally required fact (G7): present whenever its condition holds."""
    if condition and value is None:
        errors.append(FieldError(field, f"is missing; it is required when {when}"))
