"""Reading one input record's fields: types, bounds and presence, with errors for people.

Each `read_*` helper takes the raw record (a mapping from JSON or a CSV row), the field's key
and the list that collects this record's errors. A helper for a required field always returns
a value of its type (a placeholder when the field is wrong); the record is rejected as a whole
when any error was collected, so a placeholder is never scored (G7).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol, TypeVar

from .arithmetic import ZERO
from .strict_json import JSONRejected, StrictDecoder

Raw = Mapping[str, object]
T = TypeVar("T")

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "是", "有", "√"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "否", "无", "×"})


MISSING = "is missing; this field is required"


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
        missing = [e.field for e in self.errors if e.message == MISSING]
        parts = [str(e) for e in self.errors if e.message != MISSING]
        if len(missing) == 1:
            parts.append(f"{missing[0]}: {MISSING}")
        elif missing:
            parts.append(f"{len(missing)} required fields are missing: {', '.join(missing)}")
        super().__init__("; ".join(parts))


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else \
        json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _get(raw: Raw, key: str, path: str, errors: list[FieldError],
         required: bool) -> object | None:
    value = raw.get(key)
    if _missing(value):
        if required:
            errors.append(FieldError(path, MISSING))
        return None
    return value


# ---------------------------------------------------------------- scalars


def parse_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # JSON numbers arrive as floats: keep their written digits
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _check_bounds(path: str, number: Decimal, low: Decimal | None, high: Decimal | None,
                  errors: list[FieldError], unit: str = "") -> None:
    if (low is not None and number < low) or (high is not None and number > high):
        lo = "" if low is None else f"{low}{unit}"
        hi = "" if high is None else f"{high}{unit}"
        errors.append(FieldError(path, f"{number}{unit} is out of range; expected {lo}..{hi}"))


def _read_decimal(raw: Raw, key: str, errors: list[FieldError], low: Decimal | None,
                  high: Decimal | None, path: str, required: bool,
                  percent: bool) -> Decimal | None:
    value = _get(raw, key, path, errors, required)
    if value is None:
        return None
    text = value.strip().removesuffix("%") if percent and isinstance(value, str) else value
    number = parse_decimal(text)
    if number is None:
        wanted = 'a percent such as 85.5 or "85.5%"' if percent else "a number"
        errors.append(FieldError(path, f"expected {wanted}, got {_shown(value)}"))
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


def read_optional_count(raw: Raw, key: str, errors: list[FieldError], *,
                        low: Decimal | None = None, high: Decimal | None = None,
                        path: str | None = None, required: bool = False) -> int | None:
    path = path or key
    value = _get(raw, key, path, errors, required)
    if value is None:
        return None
    number = parse_decimal(value)
    if number is None or number != number.to_integral_value() or number < 0:
        errors.append(FieldError(path, f"expected a whole number 0 or more, got {_shown(value)}"))
        return None
    _check_bounds(path, number, low, high, errors)
    return int(number)


def read_count(raw: Raw, key: str, errors: list[FieldError], *,
               low: Decimal | None = None, high: Decimal | None = None,
               path: str | None = None) -> int:
    number = read_optional_count(raw, key, errors, low=low, high=high, path=path, required=True)
    return 0 if number is None else number


def read_optional_bool(raw: Raw, key: str, errors: list[FieldError], *,
                       path: str | None = None, required: bool = False) -> bool | None:
    path = path or key
    value = _get(raw, key, path, errors, required)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    errors.append(FieldError(path, f"expected true or false (是/否), got {_shown(value)}"))
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
        errors.append(FieldError(path, f"{_shown(value)} is not one of {', '.join(accepted)} "
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
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value).strip()
    errors.append(FieldError(path, f"expected a text, got {_shown(value)}"))
    return None


def read_text(raw: Raw, key: str, errors: list[FieldError], *, path: str | None = None) -> str:
    return read_optional_text(raw, key, errors, path=path, required=True) or ""


def read_optional_date(raw: Raw, key: str, errors: list[FieldError], *,
                       path: str | None = None, required: bool = False) -> dt.date | None:
    path = path or key
    value = _get(raw, key, path, errors, required)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors.append(FieldError(path, f"expected a date such as 2023-12-31, got {_shown(value)}"))
        return None


def read_date(raw: Raw, key: str, errors: list[FieldError], *,
              path: str | None = None) -> dt.date:
    return read_optional_date(raw, key, errors, path=path, required=True) or dt.date.min


# ---------------------------------------------------------------- lists and sets


def read_json_list(raw: Raw, key: str, path: str, errors: list[FieldError],
                   required: bool) -> list[object]:
    """A list field: a JSON list, or (from a CSV cell) its JSON text."""
    value = raw.get(key)
    if _missing(value):
        if required:
            errors.append(FieldError(path, MISSING))
        return []
    if isinstance(value, str):  # a CSV cell holds the list as JSON text
        try:
            value = StrictDecoder().loads(value)
        except JSONRejected as problem:
            errors.append(FieldError(path, f"expected a JSON list, got {_shown(value)} "
                                     f"({problem})"))
            return []
    if not isinstance(value, list):
        errors.append(FieldError(path, f"expected a list, got {_shown(value)}"))
        return []
    return value


def read_list(raw: Raw, key: str, errors: list[FieldError],
              read_entry: Callable[[Raw, str, list[FieldError]], T], *,
              required: bool = True) -> tuple[T, ...]:
    entries: list[T] = []
    for index, entry in enumerate(read_json_list(raw, key, key, errors, required)):
        path = f"{key}[{index}]"
        if not isinstance(entry, Mapping):
            errors.append(FieldError(path, f"expected an object {{...}}, got {_shown(entry)}"))
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
            errors.append(FieldError(f"{path}[{index}]", f"{_shown(entry)} is not one of "
                                     f"{', '.join(accepted)} (or their labels)"))
        else:
            codes.add(code)
    return frozenset(codes)


def check_unknown_fields(raw: Raw, known: frozenset[str], errors: list[FieldError],
                         prefix: str = "") -> None:
    """A field the standard does not declare is an error: a misspelt fact is not ignored.

    Fields whose key starts with `_` are the caller's own notes and are passed over.
    """
    for key in raw:
        if key not in known and not key.startswith("_"):
            errors.append(FieldError(f"{prefix}{key}", "is not a fact of this standard "
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
            errors.append(FieldError(f"{key}[{index}].item", f"item {code!r} takes no {key}; "
                                     f"the items that do: {known}"))
        elif entry.points > catalogue[code]:
            errors.append(FieldError(f"{key}[{index}].points", f"{entry.points} is more than "
                                     f"item {code}'s {catalogue[code]} points"))


def require(condition: bool, value: object, field: str, when: str,
            errors: list[FieldError]) -> None:
    """A conditionally required fact (G7): present whenever its condition holds."""
    if condition and value is None:
        errors.append(FieldError(field, f"is missing; it is required when {when}"))
