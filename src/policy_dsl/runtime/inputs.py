"""Reading institutions' records: JSON Lines, a JSON array, or CSV (UTF-8, BOM or not).

Every record found comes out, in input order, as raw fields or as an error saying what is
wrong with it: a wrong record loses that record only. A file is refused as a whole
(`InputUnreadable`) only when its records cannot be told apart: text that is not UTF-8, a
JSON array that is not valid JSON, a CSV file whose quotes do not close or whose header
does not name each column once.

JSON is read strictly (`strict_json`): exact numbers, no NaN or Infinity, no repeated keys,
at most `MAX_DEPTH` levels of nesting, no unpaired surrogates. An id is a text (up to
`MAX_ID` characters) or a whole number; a blank id is no id.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import sys
from codecs import BOM_UTF8
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from .strict_json import (
    MAX_DEPTH,
    SLOW,
    SURROGATE_PROBLEM,
    FastRecords,
    StrictDecoder,
    holds_surrogates,
    join_problems,
    problems,
    safe_text,
    shown,
    too_deep,
)

InputFormat = Literal["jsonl", "json", "csv"]

MAX_ID = 200  # characters in an id
_ID_NUMBER_LIMIT = 10**30  # a whole-number id has at most 30 digits
MAX_CELL = 1 << 20  # characters in one CSV cell (1 MiB); a longer cell is its row's error
# The first cell of the help row under the header of `policyc template`'s sheets: a row
# right under the header that starts with it is passed over.
TEMPLATE_HELP_MARK = "【填写说明】"
_CSV_FIELD_LIMIT = (1 << 31) - 1  # Python's csv refuses longer cells; ours is MAX_CELL


@dataclass(frozen=True, slots=True)
class InputRecord:
    position: int  # 1-based: the record's first line in JSON Lines and CSV, its index+1 in an array
    id: object  # the record's own "id", when it has a valid one
    raw: Mapping[str, object] | None
    error: str | None = None  # what is wrong with the record as read (without `where`)
    unit: str = "record"  # how `position` counts: "line" in JSON Lines and CSV

    @property
    def where(self) -> str:
        """Where a person finds the record: `line 5 (id SZ-C004)`."""
        return f"{self.unit} {self.position}" + ("" if self.id is None else
                                                  f" (id {shown_id(self.id)})")


class InputUnreadable(ValueError):
    """The whole input cannot be read (not UTF-8, not a JSON array, broken CSV quotes)."""


def shown_id(value: object) -> str:
    """An id as a message shows it: as written, or escaped when it holds invisible
    characters (a tab, a line break, an unpaired surrogate)."""
    text = str(value)
    return text if text.isprintable() else json.dumps(text)


def guess_format(name: str, text: str) -> InputFormat:
    """A text's format by the file's extension; else (standard input, a name without one)
    by its first characters: a JSON array (`[`), JSON Lines (`{`), and CSV for any other
    text (a header row)."""
    lower = name.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    start = text.removeprefix("\ufeff").lstrip()
    if lower.endswith(".json") or start.startswith("["):
        return "json"
    if start.startswith("{") or not start:
        return "jsonl"
    return "csv"


def decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputUnreadable(f"{name}: not UTF-8 text (byte {error.start}); save the file "
                              "as UTF-8") from None


# the key each CSV header cell names, given the cells and where the header is ("file:line")
HeaderKeys = Callable[[list[str], str], list[str]]


def read_records(text: str, fmt: InputFormat, name: str = "input",
                 header_keys: HeaderKeys | None = None) -> list[InputRecord]:
    """Every record in `text`, in order; a byte-order mark at the start is dropped.
    `header_keys` maps a CSV header to the records' keys (raising `InputUnreadable`)."""
    text = text.removeprefix("\ufeff")
    if fmt == "jsonl":
        return _read_json_lines(text)
    if fmt == "json":
        return _read_json_array(text, name)
    return _read_csv(text, name, header_keys)


# ---------------------------------------------------------------- ids


def read_id(value: object) -> tuple[str | int | None, str | None]:
    """A record's id and what is wrong with it: a text or a whole number, or none."""
    if type(value) is str and len(value) <= MAX_ID and value.isascii() and value.strip():
        return value, None  # the common case: a short ASCII text, not blank
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, bool):
        return None, f"id: expected a text or a whole number, got {json.dumps(value)}"
    if isinstance(value, int):
        if -_ID_NUMBER_LIMIT < value < _ID_NUMBER_LIMIT:
            return value, None
        return None, "id: a number of more than 30 digits; write a long id as a text"
    if isinstance(value, str):
        if len(value) > MAX_ID:
            return None, f"id: longer than {MAX_ID} characters"
        if safe_text(value) != value:
            return None, f"id: {SURROGATE_PROBLEM}"
        return value, None
    if isinstance(value, Decimal):
        if value.as_tuple().exponent == 0:  # a whole number too long for an int
            return None, "id: a number of more than 30 digits; write a long id as a text"
        return None, (f"id: expected a text or a whole number, got {shown(str(value))} "
                      "(a number with a fraction or an exponent)")
    if isinstance(value, dict | list):
        kind = "an object" if isinstance(value, dict) else "a list"
        return None, f"id: expected a text or a whole number, got {kind}"
    return None, None  # NaN or an unreadable number: reported with the record's problems


# ---------------------------------------------------------------- JSON


def _record(position: int, value: object, unit: str, found: list[str]) -> InputRecord:
    if not isinstance(value, dict):
        return InputRecord(position, None, None, "expected an object {...}", unit)
    record_id, id_problem = read_id(value.get("id"))
    if id_problem:
        found = list(dict.fromkeys([id_problem, *found]))  # a bad id may be found twice
    if found:
        return InputRecord(position, record_id, None, join_problems(found), unit)
    return InputRecord(position, record_id, value, None, unit)


def _decoded_record(decoder: StrictDecoder, text: str | None, position: int, unit: str,
                    fast: FastRecords | None = None, data: bytes | None = None) -> InputRecord:
    """One record from its own JSON text (or its UTF-8 bytes alone, for the fast decoder,
    and decoded only when the strict decoder must read them); raises `json.JSONDecodeError`
    when not JSON."""
    if fast is not None and data is not None:
        value = fast.decode(data)
        if value is not SLOW:
            return _record(position, value, unit, [])
    if text is None:
        assert data is not None
        text = data.decode("utf-8", "surrogatepass")
    if too_deep(text):
        return InputRecord(position, None, None, f"nested deeper than {MAX_DEPTH} levels of "
                           "[ ] and { }", unit)
    value = decoder.parse(text)
    return _record(position, value, unit, problems(value) if decoder.suspect else [])


def _read_json_lines(text: str) -> list[InputRecord]:
    """One record a line (see `iter_json_lines`)."""
    lines = (line.encode("utf-8", "surrogatepass") for line in text.split("\n"))
    return list(iter_json_lines(lines, unicode_checked=not holds_surrogates(text)))


def iter_json_lines(lines: Iterable[bytes], unicode_checked: bool = True,
                    fast: FastRecords | None = None, skip: int = 0,
                    first_line: int = 1) -> Iterator[InputRecord]:
    """One record a line, as they come. Lines end at `\\n` (or `\\r\\n`) only: U+2028,
    U+0085, a form feed and the like inside a string are data, not line breaks. Blank lines
    are passed over. The bytes are UTF-8 (`unicode_checked`: known to be valid UTF-8; else a
    line that is not, such as text given from Python with an unpaired surrogate, goes to the
    strict decoder alone). `fast`: a faster decoder for the records it can vouch for; `skip`:
    how many records to pass over first, without decoding them (a chunk of the file);
    `first_line`: the number of the first of `lines` in the file (a part of it read alone)."""
    decoder = StrictDecoder()
    for number, data in enumerate(lines, start=first_line):
        if number == 1:
            data = data.removeprefix(BOM_UTF8)
        data = data.removesuffix(b"\n").removesuffix(b"\r")
        stripped = data.strip()
        if not stripped:
            continue
        first = stripped[0]  # not blank if it is ASCII other than the separators \x1c-\x1f
        if (first >= 0x80 or 0x1C <= first <= 0x1F) and \
                not data.decode("utf-8", "surrogatepass").strip():
            continue  # blank by Unicode's measure (an ideographic space, a separator)
        if skip:
            skip -= 1
            continue
        try:
            if unicode_checked:
                yield _decoded_record(decoder, None, number, "line", fast, data)
            else:
                yield _decoded_record(decoder, data.decode("utf-8", "surrogatepass"), number,
                                      "line")
        except json.JSONDecodeError as error:
            yield InputRecord(number, None, None, f"not valid JSON ({error.msg} at "
                              f"column {error.colno})", "line")


def iter_raw_entries(entries: list[Any], fast: FastRecords | None) -> Iterator[InputRecord]:
    """The records of a JSON array already split into its entries' texts (bytes, or msgspec
    `Raw` values), each decoded as it is reached and let go after."""
    decoder = StrictDecoder()
    for index in range(len(entries)):
        raw = bytes(entries[index])
        entries[index] = None  # the entry's text is let go once read
        try:
            yield _decoded_record(decoder, raw.decode("utf-8"), index + 1, "record", fast, raw)
        except json.JSONDecodeError as error:  # msgspec read it: it cannot happen
            yield InputRecord(index + 1, None, None, f"not valid JSON ({error.msg})",
                              "record")


def _read_json_array(text: str, name: str) -> list[InputRecord]:
    decoder = StrictDecoder()
    if too_deep(text, MAX_DEPTH + 1):  # some entry is too deep: decode entry by entry
        return _read_json_array_entries(decoder, text, name)
    try:
        value = decoder.parse(text)
    except json.JSONDecodeError as error:
        raise InputUnreadable(f"{name}:{error.lineno}:{error.colno}: not valid JSON "
                              f"({error.msg})") from None
    if not isinstance(value, list):
        raise InputUnreadable(f"{name}: expected a JSON array of records [{{...}}, ...]")
    suspect = decoder.suspect
    return [_record(index, entry, "record", problems(entry) if suspect else [])
            for index, entry in enumerate(value, start=1)]


# a string (closed or running to the end), a bracket or a comma
_ARRAY_TOKEN = re.compile(r'"[^"\\]*(?:\\[\s\S]?[^"\\]*)*(?:"|\Z)|[\[\]{},]')


def _read_json_array_entries(decoder: StrictDecoder, text: str,
                             name: str) -> list[InputRecord]:
    """The slow way, for an array holding an entry nested too deep for the decoder: find
    where each entry starts and ends, and decode each alone."""
    records = []
    for index, (start, end) in enumerate(_array_entries(text, name), start=1):
        try:
            records.append(_decoded_record(decoder, text[start:end], index, "record"))
        except json.JSONDecodeError as error:
            line, column = _line_column(text, start + error.pos)
            raise InputUnreadable(f"{name}:{line}:{column}: not valid JSON ({error.msg})") \
                from None
    return records


def _array_entries(text: str, name: str) -> list[tuple[int, int]]:
    """Where each entry of the top-level array starts and ends (commas and brackets
    outside strings); the entries' own syntax is checked when they are decoded."""
    opening = len(text) - len(text.lstrip(" \t\r\n"))
    if not text.startswith("[", opening):
        raise InputUnreadable(f"{name}: expected a JSON array of records [{{...}}, ...]")
    entries: list[tuple[int, int]] = []
    depth, start = 0, opening + 1
    for token in _ARRAY_TOKEN.finditer(text, opening):
        mark = text[token.start()]
        if mark in "[{":
            depth += 1
        elif mark in "]}":
            depth -= 1
            if depth == 0:
                entries.append((start, token.start()))
                closing = token.end()
                break
        elif mark == "," and depth == 1:
            entries.append((start, token.start()))
            start = token.end()
    else:
        line, column = _line_column(text, len(text))
        raise InputUnreadable(f"{name}:{line}:{column}: not valid JSON (the array is not "
                              "closed)")
    if text[closing:].strip(" \t\r\n"):
        line, column = _line_column(text, closing)
        raise InputUnreadable(f"{name}:{line}:{column}: not valid JSON (Extra data)")
    if len(entries) == 1 and not text[slice(*entries[0])].strip(" \t\r\n"):
        return []  # []
    return entries


_NEWLINE = re.compile(r"\r\n|\r|\n")


def _line_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of `position`, lines ending at \\r\\n, \\r or \\n."""
    line, line_start = 1, 0
    for newline in _NEWLINE.finditer(text, 0, position):
        line, line_start = line + 1, newline.end()
    return line, position - line_start + 1


# ---------------------------------------------------------------- CSV


def _read_csv(text: str, name: str, header_keys: HeaderKeys | None = None) -> list[InputRecord]:
    """The records of a CSV text (see `iter_csv`)."""
    return list(iter_csv(io.StringIO(text, newline=""), name, header_keys, lambda: text,
                         suspect=holds_surrogates(text)))


def iter_csv(lines: Iterable[str], name: str, header_keys: HeaderKeys | None = None,
             whole_text: Callable[[], str] | None = None, suspect: bool = False
             ) -> Iterator[InputRecord]:
    """The first non-blank row names the columns; each later non-blank row is a record, as
    it is read. `lines`: the text, its line ends kept (a file opened with newline="");
    `whole_text`: the whole text again, read only to say where a broken quote is; `suspect`:
    the text may hold unpaired surrogates (only text given from Python can)."""
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    reader = csv.reader(lines, strict=True)
    header: list[str] | None = None
    seen_record = False
    last_line = 0  # the last line of the row read before
    try:
        for row in reader:
            line, last_line = last_line + 1, reader.line_num
            if line == 1 and row and row[0].startswith("\ufeff"):
                row[0] = row[0][1:]
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = _csv_header(row, line, name)
                if header_keys is not None:
                    header = header_keys(header, f"{name}:{line}")
            elif not seen_record and row[0].startswith(TEMPLATE_HELP_MARK):
                continue
            else:
                seen_record = True
                yield _csv_record(header, row, line, last_line, suspect)
    except csv.Error as error:
        text = "" if whole_text is None else whole_text()
        raise InputUnreadable(_csv_problem(text, last_line + 1, error, name)) from None


def _csv_header(row: list[str], line: int, name: str) -> list[str]:
    return header_names(row, f"{name}:{line}")


def header_names(cells: Sequence[object], where: str) -> list[str]:
    """A header row's cells as texts (a CSV's, a sheet's): every column needs a name, once."""
    columns: dict[str, int] = {}
    for number, cell in enumerate(cells, start=1):
        column = safe_text("" if cell is None else str(cell).strip())
        if not column:
            raise InputUnreadable(f"{where}: column {number} of the header has no name; "
                                  "every column needs one")
        if column in columns:
            raise InputUnreadable(f"{where}: the column {shown(column)} appears twice in "
                                  f"the header (columns {columns[column]} and {number})")
        columns[column] = number
    return list(columns)


def _csv_record(header: list[str], row: list[str], line: int, last_line: int,
                suspect: bool) -> InputRecord:
    cells = dict(zip(header, row, strict=False))
    found = []
    if len(row) != len(header):
        more_or_fewer = "more" if len(row) > len(header) else "fewer"
        spans = (f" (the row runs on to line {last_line}: is a quote out of place?)"
                 if last_line > line else "")
        found.append(f"{more_or_fewer} cells ({len(row)}) than the header has columns "
                     f"({len(header)}){spans}")
    if suspect or max(map(len, row), default=0) > MAX_CELL:  # else no cell has a problem
        for number, cell in enumerate(row, start=1):
            name = header[number - 1] if number <= len(header) else None
            column = f"cell {number}" if name is None else shown(name)
            if len(cell) > MAX_CELL:
                found.append(f"{column}: the cell holds {len(cell):,} characters, more than "
                             f"the limit of {MAX_CELL:,}")
            elif suspect and name != "id" and safe_text(cell) != cell:  # the id: read_id's
                found.append(f"{column}: {SURROGATE_PROBLEM}")
    id_cell = cells.get("id", "")
    record_id, id_problem = read_id(id_cell if len(id_cell) <= MAX_CELL else None)
    if id_problem:
        found.insert(0, id_problem)
    if found:
        return InputRecord(line, record_id, None, join_problems(found), "line")
    raw = {column: cell for column, cell in cells.items() if cell.strip()}
    return InputRecord(line, record_id, raw, None, "line")


def _csv_problem(text: str, row_line: int, error: csv.Error, name: str) -> str:
    """What a person fixes when Python's csv stops: usually a quote that does not close."""
    row_start = 0
    for _ in range(row_line - 1):
        newline = _NEWLINE.search(text, row_start)
        if newline is None:
            break
        row_start = newline.end()
    quote = _broken_quote(text, row_start)
    if quote is None:
        return f"{name}:{row_line}: not valid CSV ({error})"
    opened, closed = quote
    line, column = _line_column(text, opened)
    if closed is None:
        return (f"{name}:{line}:{column}: the quote that opens this cell is never closed, so "
                "every later line would run into the cell; close it (a quote inside a quoted "
                'cell is written twice: "")')
    end_line, end_column = _line_column(text, closed - 1)
    return (f"{name}:{line}:{column}: the quote that opens this cell closes at line "
            f"{end_line}, column {end_column}, followed by {shown(text[closed])} instead of "
            'a comma or the end of the line; is a closing quote missing? (a quote inside a '
            'quoted cell is written twice: "")')


_QUOTED_CELL = re.compile(r'"[^"]*(?:""[^"]*)*"')
_PLAIN_CELL = re.compile(r"[^,\r\n]*")


def _broken_quote(text: str, position: int) -> tuple[int, int | None] | None:
    """In the row starting at `position`: where the quoted cell that breaks it opens, and
    where it closes (None: never). Cells are read as Python's csv reads them."""
    while position < len(text):
        if text[position] == '"':
            quoted = _QUOTED_CELL.match(text, position)
            if quoted is None:
                return position, None
            if quoted.end() < len(text) and text[quoted.end()] not in ",\r\n":
                return position, quoted.end()
            position = quoted.end()
        else:
            plain = _PLAIN_CELL.match(text, position)
            assert plain is not None  # it matches the empty string
            position = plain.end()
        if position >= len(text) or text[position] != ",":
            return None  # the row ended without a broken quote
        position += 1
    return None


# ---------------------------------------------------------------- Python values


def python_value(value: object) -> object:
    """A cell's value as plain Python, for the pack's readers: None for a missing value
    (None, NaN, pandas NA and NaT); numpy scalars as the Python value they hold; a
    datetime (or pandas Timestamp) at midnight as its date, any other as its ISO text (so
    the date reader names it); lists and arrays entry by entry. A float is the Decimal of its
    shortest representation (what a DataFrame holds is what was written: 77.5, not its binary
    expansion); Infinity becomes Decimal Infinity, which the reader reports as that field's
    error."""
    if value is None or type(value) in (str, bool, int):
        return value
    if isinstance(value, Decimal):
        return None if value.is_nan() else value
    if isinstance(value, float):  # numpy's float64 too: its shortest repr, 0.1 → "0.1"
        return None if math.isnan(value) else Decimal(float.__repr__(value))
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(value, numpy.ndarray):
            return [python_value(entry) for entry in value.tolist()]
        if isinstance(value, numpy.generic):
            if isinstance(value, numpy.datetime64 | numpy.timedelta64) and numpy.isnat(value):
                return None
            if isinstance(value, numpy.float32 | numpy.float16):  # their own shortest repr
                return None if numpy.isnan(value) else Decimal(str(value))  # 85.3, not .30000305
            return python_value(value.item())
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        if value is pandas.NA or value is pandas.NaT:
            return None
        if isinstance(value, pandas.Timestamp):
            value = value.to_pydatetime()
    if isinstance(value, dt.datetime):  # a date column (pandas, Excel) holds midnights
        midnight = value.time() == dt.time(0) and value.tzinfo is None
        return value.date() if midnight else value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): python_value(entry) for key, entry in value.items()}
    if isinstance(value, list | tuple):
        return [python_value(entry) for entry in value]
    if isinstance(value, str):  # numpy's str_
        return str(value)
    return value


# ---------------------------------------------------------------- service requests


def read_json_request(text: str, name: str) -> tuple[list[InputRecord], object | None]:
    """A request body: a JSON array of records (read exactly as a JSON array file), or an
    object `{"records": [...], "cohorts": {...}}`: its records read the same way (a record
    nested too deep, with NaN or a repeated key is that record's error), and its cohort
    snapshot decoded for the caller to check. A body whose records cannot be told apart, or
    whose envelope or snapshot is not strict JSON, is refused whole (`InputUnreadable`)."""
    text = text.removeprefix("\ufeff")
    if text.lstrip(" \t\r\n").startswith("["):
        return _read_json_array(text, name), None
    expected = (f"{name}: expected a JSON array of records [{{...}}, ...], or an object "
                '{"records": [...], "cohorts": {...}}')
    span = _records_span(text, name) if too_deep(text, MAX_DEPTH + 2) else None
    envelope = text
    if span is not None:  # some record is nested too deep: read the records array alone
        start, end = span
        envelope = text[:start] + "[]" + _blanked(text[start + 2:end]) + text[end:]
    if too_deep(envelope):
        raise InputUnreadable(f"{name}: nested deeper than {MAX_DEPTH} levels of [ ] and "
                              "{ } outside its records")
    decoder = StrictDecoder()
    try:
        value = decoder.parse(envelope)
    except json.JSONDecodeError as error:
        raise InputUnreadable(f"{name}:{error.lineno}:{error.colno}: not valid JSON "
                              f"({error.msg})") from None
    if not isinstance(value, dict):
        raise InputUnreadable(expected)
    repeated = getattr(value, "repeated", ())
    if repeated:
        raise InputUnreadable(f"{expected}; the key {shown(repeated[0])} appears more than "
                              "once")
    if "records" not in value:
        raise InputUnreadable(f"{expected}; one record goes in an array too: [{{...}}]")
    unknown = sorted(set(value) - {"records", "cohorts"})
    if unknown:
        raise InputUnreadable(f"{expected}; unknown key {shown(unknown[0])}")
    cohorts = value.get("cohorts")
    found = problems(cohorts) if decoder.suspect else []
    if found:
        raise InputUnreadable(f"{name}: cohorts: {join_problems(found)}")
    if span is not None:
        # the records array at its place in the body, so that positions stay exact
        return _read_json_array(_blanked(text[:span[0]]) + text[span[0]:span[1]], name), cohorts
    records = value["records"]
    if not isinstance(records, list):
        raise InputUnreadable(f"{expected}; \"records\" is not an array")
    suspect = decoder.suspect
    return ([_record(index, entry, "record", problems(entry) if suspect else [])
             for index, entry in enumerate(records, start=1)], cohorts)


# a string (closed or running to the end), a bracket, a comma or a colon
_MEMBER_TOKEN = re.compile(r'"[^"\\]*(?:\\[\s\S]?[^"\\]*)*(?:"|\Z)|[\[\]{},:]')


def _records_span(text: str, name: str) -> tuple[int, int] | None:
    """Where the value of the top-level object's first "records" key starts and ends
    (brackets, commas and colons outside strings), or None when there is none."""
    depth, last_string, value_start = 0, "", None
    for token in _MEMBER_TOKEN.finditer(text):
        mark = text[token.start()]
        if depth == 1 and mark in ",}" and value_start is not None:
            end = token.start()
            while text[end - 1] in " \t\r\n":
                end -= 1
            return value_start, end
        if mark in "[{":
            depth += 1
        elif mark in "]}":
            depth -= 1
        elif depth == 1 and mark == '"':
            last_string = token.group()
        elif depth == 1 and mark == ":" and value_start is None:
            try:
                key = json.loads(last_string)
            except json.JSONDecodeError:
                raise InputUnreadable(f"{name}: not valid JSON (a key that does not "
                                      "close)") from None
            if key == "records":
                value_start = token.end()
                while value_start < len(text) and text[value_start] in " \t\r\n":
                    value_start += 1
    return None


def _blanked(text: str) -> str:
    """`text` as spaces, its line breaks kept (so that positions after it stay the same)."""
    return re.sub(r"[^\r\n]", " ", text)
