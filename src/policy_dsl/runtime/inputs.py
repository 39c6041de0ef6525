"""Reading institutions' records: JSON Lines, a JSON array, or CSV (UTF-8, BOM or not).

Every record found comes out, in input order, as raw fields or as an error saying where it
is and what is wrong with it: a malformed line loses that line only.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

InputFormat = Literal["jsonl", "json", "csv"]


@dataclass(frozen=True, slots=True)
class InputRecord:
    position: int  # 1-based: the record's line in JSON Lines and CSV, its index+1 in an array
    id: object  # the record's own "id", when it has one
    raw: Mapping[str, object] | None
    error: str | None = None
    unit: str = "record"  # how `position` counts: "line" in JSON Lines and CSV

    @property
    def where(self) -> str:
        """Where a person finds the record: `line 5 (id SZ-C004)`."""
        shown = f" (id {self.id})" if self.id is not None else ""
        return f"{self.unit} {self.position}{shown}"


class InputUnreadable(ValueError):
    """The whole input cannot be read (not UTF-8, not a JSON array)."""


def guess_format(name: str, text: str) -> InputFormat:
    lower = name.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if lower.endswith(".json") or text.lstrip().startswith("["):
        return "json"
    return "jsonl"


def decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputUnreadable(f"{name}: not UTF-8 text (byte {error.start}); save the file "
                              "as UTF-8") from None


def _loads(text: str) -> object:
    return json.loads(text, parse_float=Decimal)


def _record(position: int, value: object, unit: str) -> InputRecord:
    if not isinstance(value, dict):
        return InputRecord(position, None, None, f"{unit} {position}: expected an object "
                           "{...}", unit)
    return InputRecord(position, value.get("id"), value, None, unit)


def read_records(text: str, fmt: InputFormat, name: str = "input") -> list[InputRecord]:
    """Every record in `text`, in order; a byte-order mark at the start is dropped."""
    text = text.removeprefix("\ufeff")
    if fmt == "jsonl":
        return _read_json_lines(text)
    if fmt == "json":
        return _read_json_array(text, name)
    return _read_csv(text)


def _read_json_lines(text: str) -> list[InputRecord]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = _loads(line)
        except json.JSONDecodeError as error:
            records.append(InputRecord(number, None, None, f"line {number}: not valid JSON "
                                       f"({error.msg} at column {error.colno})", "line"))
            continue
        records.append(_record(number, value, "line"))
    return records


def _read_json_array(text: str, name: str) -> list[InputRecord]:
    try:
        value = _loads(text)
    except json.JSONDecodeError as error:
        raise InputUnreadable(f"{name}:{error.lineno}:{error.colno}: not valid JSON "
                              f"({error.msg})") from None
    if not isinstance(value, list):
        raise InputUnreadable(f"{name}: expected a JSON array of records [{{...}}, ...]")
    return [_record(index, entry, "record")
            for index, entry in enumerate(value, start=1)]


def _read_csv(text: str) -> list[InputRecord]:
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="\0extra")
    records = []
    for row in reader:
        number = reader.line_num
        if "\0extra" in row:
            records.append(InputRecord(number, row.get("id"), None,
                                       f"line {number}: more cells than the header has columns",
                                       "line"))
            continue
        if any(value is None for value in row.values()):
            records.append(InputRecord(number, row.get("id"), None,
                                       f"line {number}: fewer cells than the header has columns",
                                       "line"))
            continue
        raw = {key.strip(): value for key, value in row.items() if value.strip() != ""}
        records.append(InputRecord(number, raw.get("id"), raw, None, "line"))
    return records


def read_json_request(text: str, name: str) -> tuple[list[InputRecord], object | None]:
    """A request body: a JSON array of records (read exactly as a JSON array file), or an
    object `{"records": [...], "cohorts": {...}}`: its records read the same way, and its
    cohort snapshot decoded (numbers as exact decimals) for the caller to check."""
    text = text.removeprefix("\ufeff")
    if text.lstrip().startswith("["):
        return _read_json_array(text, name), None
    try:
        value = _loads(text)
    except json.JSONDecodeError as error:
        raise InputUnreadable(f"{name}:{error.lineno}:{error.colno}: not valid JSON "
                              f"({error.msg})") from None
    expected = (f"{name}: expected a JSON array of records [{{...}}, ...], or an object "
                '{"records": [...], "cohorts": {...}}')
    if not isinstance(value, dict):
        raise InputUnreadable(expected)
    if "records" not in value:
        raise InputUnreadable(f"{expected}; one record goes in an array too: [{{...}}]")
    unknown = sorted(set(value) - {"records", "cohorts"})
    if unknown:
        raise InputUnreadable(f"{expected}; unknown key {unknown[0]!r}")
    records = value.get("records")
    if not isinstance(records, list):
        raise InputUnreadable(f"{expected}; \"records\" is not an array")
    return ([_record(index, entry, "record") for index, entry in enumerate(records, start=1)],
            value.get("cohorts"))
