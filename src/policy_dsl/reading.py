"""Reading an input file of institutions, whatever its format: the one place that does.

`read_input` takes the file's bytes and gives its records (`InputRecord`, as the runtime
scores them) and the warnings a person should see. Formats, by `--format` or the file name:
JSON Lines, a JSON array, CSV, xlsx (the first sheet, or a named one) and Parquet.

- Text: UTF-8 (with or without a byte-order mark); a CSV file may also be GB18030 (which
  includes GBK), as Chinese Excel saves it. Detected in that order (BOM, strict UTF-8,
  GB18030), or chosen with `encoding`.
- Columns (CSV, xlsx, Parquet): a fact's name or its Chinese label (as `policyc describe`
  prints them), mixed as one likes; the id column is `id` or one of `ID_LABELS`. A header
  that names no fact refuses the file once, before any record is read ("did you mean"), as
  does a fact named twice (also by its name and its label).
- Spreadsheet cells: a cell formatted as a percent holds a fraction (0.855 shown as 85.5%)
  and is read as its percentage points (85.5, by exact decimal arithmetic on the stored
  value); a date cell is a date; a whole number stored as 2.0 is the count 2; an empty cell
  is a missing fact; an error cell (#N/A, #DIV/0!) is that record's field error. Numbers
  stored as binary floats (xlsx numbers, Parquet float columns) are read as their shortest
  representation (0.1 → 0.1, not its binary expansion; a float32 as its own, 85.3 not
  85.30000305175781); Parquet decimal and integer columns are exact. NaN is a missing
  value; Infinity is that record's field error.
- Damaged files: a workbook or Parquet file that cannot be read to its end (cut short, bad
  XML, a row beyond 1,048,576) is refused whole, in one line naming it; the size a sheet
  declares is not trusted (some exporters declare A1 whatever they hold).
- In any format, a percent fact whose values are all within 0..1 (from ten records or
  more) gets one warning naming the column: percents are percentage points (85.5), and a
  column of 0.855s is almost always of fractions.

The spreadsheet and Parquet libraries come with the `tables` extra; without it the file is
refused with the command that installs it (`MissingExtra`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import struct
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, cast

from .runtime.framework import framework_inputs
from .runtime.inputs import (
    MAX_CELL,
    TEMPLATE_HELP_MARK,
    InputRecord,
    InputUnreadable,
    header_names,
    python_value,
    read_id,
    read_records,
)
from .runtime.packs import FactInfo, Pack
from .runtime.strict_json import join_problems, shown
from .runtime.values import NotANumber, parse_decimal

FileFormat = Literal["jsonl", "json", "csv", "xlsx", "parquet"]
FILE_FORMATS: tuple[FileFormat, ...] = ("jsonl", "json", "csv", "xlsx", "parquet")

# Headers that name the id column, besides `id`: the institution's code as agencies' sheets
# head it (定点医疗机构编码 is the code the medical-insurance information platform assigns).
ID_LABELS = ("机构编码", "定点机构编码", "定点医疗机构编码")
NAME_LABELS = ("机构名称", "定点机构名称", "定点医疗机构名称")  # the institution's name (`name`)

_UTF8_BOM = b"\xef\xbb\xbf"
# A percent column is suspected of holding fractions when this many records or more give
# it, all within 0..1 (fewer say too little: one clinic's 0.5% is a plausible rate).
FRACTION_WARNING_RECORDS = 10


class MissingExtra(Exception):
    """A format needs a library that is not installed; the message says how to install it."""


@dataclass
class InputFile:
    records: list[InputRecord]
    warnings: list[str] = field(default_factory=list)


def guess_file_format(name: str, data: bytes) -> FileFormat:
    """The format by the file's extension; else a JSON array when the text starts with `[`,
    an xlsx or Parquet file by its first bytes, JSON Lines otherwise."""
    lower = name.lower()
    for ending, fmt in ((".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"),
                        (".json", "json"), (".xlsx", "xlsx"), (".xlsm", "xlsx"),
                        (".parquet", "parquet"), (".pq", "parquet")):
        if lower.endswith(ending):
            return cast("FileFormat", fmt)
    if data.startswith(b"PAR1"):
        return "parquet"
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.removeprefix(_UTF8_BOM).lstrip().startswith(b"["):
        return "json"
    return "jsonl"


def decode_text(data: bytes, name: str, fmt: FileFormat, encoding: str | None = None) -> str:
    """The file's text: in `encoding` when given; else UTF-8 (a byte-order mark dropped), or,
    for CSV only, GB18030 when the file is not UTF-8. An undecodable file is refused with the
    line of the first bad byte and the encodings tried."""
    if encoding is not None:
        tried = [encoding]
    elif data.startswith(_UTF8_BOM) or fmt != "csv":
        tried = ["utf-8"]  # JSON is UTF-8 (RFC 8259); a BOM says which encoding
    else:
        tried = ["utf-8", "gb18030"]
    failures: list[str] = []
    first_line = 0
    for chosen in tried:
        try:
            return data.decode(chosen).removeprefix("\ufeff")
        except LookupError:
            raise InputUnreadable(f"{name}: unknown encoding {chosen!r} (try utf-8 or "
                                  "gb18030)") from None
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            first_line = first_line or line
            failures.append(f"{_encoding_name(chosen)}{' fails' if not failures else ''} at "
                            f"line {line}, byte {error.start + 1} of the file")
    names = " or ".join(_encoding_name(each) for each in tried)
    hint = ("save the file as UTF-8" if fmt != "csv" else
            "save the file as UTF-8 (or GB18030), or give --encoding")
    raise InputUnreadable(f"{name}:{first_line}: not {names} text ({'; '.join(failures)}); "
                          f"{hint}")


def _encoding_name(encoding: str) -> str:
    return {"utf-8": "UTF-8", "gb18030": "GB18030"}.get(encoding.lower(), encoding)


def read_input(data: bytes, name: str, pack: Pack | None, fmt: FileFormat | None = None, *,
               encoding: str | None = None, sheet: str | None = None) -> InputFile:
    """Every record of the file, in order, and the warnings about it. Raises
    `InputUnreadable` when the file as a whole cannot be read (or its header names no fact
    of `pack`), `MissingExtra` when the format's library is not installed."""
    chosen = fmt or guess_file_format(name, data)
    columns = None if pack is None else Columns(pack, name)
    if chosen == "xlsx":
        records = _read_xlsx(data, name, sheet, columns)
    elif chosen == "parquet":
        records = _read_parquet(data, name, columns)
    else:
        text = decode_text(data, name, chosen, encoding)
        header = None if columns is None else columns.keys
        records = read_records(text, chosen, name, header)
    warnings = [] if pack is None else percent_fraction_warnings(pack, records, name, columns)
    return InputFile(records, warnings)


# ---------------------------------------------------------------- headers


class Columns:
    """A pack's columns: the key each header names (a fact's name, or `id`)."""

    def __init__(self, pack: Pack, name: str) -> None:
        self.name = name
        framework = () if pack.FRAMEWORK is None else framework_inputs(pack.FRAMEWORK)
        self.facts: Sequence[FactInfo] = (*pack.INFO.facts, *framework)
        self.by_header: dict[str, str] = {"id": "id", **dict.fromkeys(ID_LABELS, "id"),
                                          "name": "name", **dict.fromkeys(NAME_LABELS, "name")}
        for fact in self.facts:
            self.by_header[fact.name] = fact.name
            if fact.label:
                self.by_header.setdefault(fact.label, fact.name)
        self.headers: dict[str, str] = {}  # key → the header that named it, once read

    def keys(self, header: list[str], where: str) -> list[str]:
        """The key of each header cell; refuses the file (once, naming every wrong
        header) when one names no fact, or two name the same."""
        keys: list[str] = []
        unknown: list[str] = []
        seen: dict[str, str] = {}
        for number, cell in enumerate(header, start=1):
            key = self.by_header.get(cell)
            if key is None:
                if cell.startswith("_"):  # the sender's own notes, as in JSON
                    keys.append(cell)
                    continue
                unknown.append(f"{shown(cell)} (column {number}{self._near(cell)})")
                keys.append(cell)
                continue
            if key in seen:
                raise InputUnreadable(
                    f"{where}: the columns {shown(seen[key])} and {shown(cell)} both give "
                    f"{key if key in ('id', 'name') else 'the fact ' + key}; keep one")
            seen[key] = cell
            keys.append(key)
        if unknown:
            raise InputUnreadable(
                f"{where}: the header names no fact of this standard: {'; '.join(unknown)}. "
                "Head each column with a fact's name or its label as `policyc describe "
                f"--pack P` prints them, the id column with id or {'/'.join(ID_LABELS)}, "
                f"the name column with name or {'/'.join(NAME_LABELS)}")
        self.headers = {key: cell for cell, key in zip(header, keys, strict=True)}
        return keys

    def _near(self, cell: str) -> str:
        close = difflib.get_close_matches(cell, list(self.by_header), n=1, cutoff=0.5)
        if not close:
            return ""
        key = self.by_header[close[0]]
        also = "" if key == close[0] else f", the fact {key}"
        return f"; did you mean {shown(close[0])}{also}?"

    def shown_column(self, key: str) -> str:
        header = self.headers.get(key, key)
        return shown(header) + ("" if header == key else f" ({key})")


def _cells_header(cells: Sequence[object], where: str) -> list[str]:
    """Header cells as texts; every column needs a name, once (as in a CSV)."""
    return header_names(cells, where)


class CellProblem(ValueError):
    """A cell that holds no value to read (a spreadsheet's error cell); the message says
    what it shows."""


def _table_record(position: int, unit: str, keys: list[str], values: Sequence[object],
                  read: Callable[[object, int], object]) -> InputRecord:
    """One row of a spreadsheet or Parquet file as a record; `read` gives a cell's value
    (None: missing) from the cell and its column index, or raises `CellProblem`."""
    raw: dict[str, object] = {}
    found: list[str] = []
    for index, cell in enumerate(values):
        try:
            value = read(cell, index)
        except CellProblem as problem:
            column = keys[index] if index < len(keys) else f"cell {index + 1}"
            if not column.startswith("_"):  # the sender's notes may hold anything
                found.append(f"{column}: {problem}")
            continue
        if value is None:
            continue
        if index >= len(keys):
            found.append(f"cell {index + 1}: a value beyond the header's {len(keys)} columns")
            continue
        if isinstance(value, str) and len(value) > MAX_CELL:
            found.append(f"{keys[index]}: the cell holds {len(value):,} characters, more "
                         f"than the limit of {MAX_CELL:,}")
            continue
        raw[keys[index]] = value
    identifier = raw.get("id")
    if isinstance(identifier, Decimal) and identifier.is_finite() and \
            identifier == identifier.to_integral_value():
        identifier = raw["id"] = int(identifier)  # 1001.0: a whole number stored as a float
    record_id, id_problem = read_id(identifier)
    if isinstance(identifier, dt.date | dt.time | dt.timedelta | bytes):
        id_problem = ("id: expected a text or a whole number, got a value of type "
                      f"{type(identifier).__name__} (format the id column as text)")
    if id_problem:
        found.insert(0, id_problem)
    if found:
        return InputRecord(position, record_id, None, join_problems(found), unit)
    return InputRecord(position, record_id, raw, None, unit)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _library_words(error: Exception) -> str:
    """A library's exception as one short line of a message."""
    words = " ".join(str(error).split())
    words = words if len(words) <= 200 else words[:197] + "..."
    return f"{type(error).__name__}: {words}" if words else type(error).__name__


# ---------------------------------------------------------------- xlsx


def _read_xlsx(data: bytes, name: str, sheet: str | None,
               columns: Columns | None) -> list[InputRecord]:
    try:
        import openpyxl
    except ImportError:
        raise MissingExtra("reading xlsx needs openpyxl: pip install 'policy-dsl[tables]'") \
            from None
    with warnings.catch_warnings():
        # openpyxl warns on standard error of what it passes over (styles, data validation
        # from Excel and WPS, a date cell out of range, which it reads as the error #VALUE!)
        warnings.simplefilter("ignore")
        return _read_workbook(openpyxl, data, name, sheet, columns)


def _read_workbook(openpyxl: Any, data: bytes, name: str, sheet: str | None,
                   columns: Columns | None) -> list[InputRecord]:
    if not data:
        raise InputUnreadable(f"{name}: the file is empty (0 bytes), not an xlsx workbook")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # a zip or XML that is not a workbook: the library's words
        raise InputUnreadable(f"{name}: not an xlsx workbook ({_library_words(error)})") \
            from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputUnreadable(f"{name}: no sheet {shown(sheet)}; the sheets are "
                                  f"{', '.join(shown(each) for each in book.sheetnames)}")
        if sheet is None and not book.worksheets:
            raise InputUnreadable(f"{name}: the workbook has no worksheet")
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        if hasattr(worksheet, "reset_dimensions"):
            # The size a sheet declares (<dimension>) is the writer's claim: a wrong one
            # (some exporters write A1) would cut rows and columns off without a word.
            worksheet.reset_dimensions()
        return _xlsx_records(_sheet_rows(worksheet.iter_rows(), name, worksheet.title),
                             name, columns)
    finally:
        book.close()


# The rows a worksheet has (Excel's limit): a row numbered beyond it is refused, for openpyxl
# yields an empty row for each number skipped (a row 2000000000 would take hours).
SHEET_ROWS = 1_048_576


def _sheet_rows(rows: Iterator[Sequence[Any]], name: str,
                title: str) -> Iterator[Sequence[Any]]:
    """The sheet's rows; a sheet whose XML breaks off or holds what no cell can (a number
    that is not one, a column beyond XFD, a row beyond `SHEET_ROWS`) refuses the file,
    after the last row read."""
    last = 0
    for count in range(1, SHEET_ROWS + 2):  # one pass over the sheet's rows
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as error:
            raise InputUnreadable(
                f"{name}: sheet {shown(title)} cannot be read after row {last} "
                f"({_library_words(error)}); open and save it again in a spreadsheet program"
            ) from None
        if count > SHEET_ROWS:
            raise InputUnreadable(f"{name}: sheet {shown(title)} goes on beyond row "
                                  f"{SHEET_ROWS:,}, the last a worksheet has")
        last = next((cell.row for cell in row if getattr(cell, "row", None)), last)
        yield row


def _xlsx_records(rows: Iterable[Sequence[Any]], name: str,
                  columns: Columns | None) -> list[InputRecord]:
    keys: list[str] | None = None
    records: list[InputRecord] = []
    for row in rows:
        if not row:
            continue
        number = next((cell.row for cell in row if getattr(cell, "row", None)), None)
        if all(_blank(cell.value) for cell in row):
            continue
        where = f"{name}: row {number}"
        if keys is None:
            values = [cell.value for cell in row]
            while values and _blank(values[-1]):
                values.pop()  # formatted but empty columns at the right
            header = _cells_header(values, where)
            keys = header if columns is None else columns.keys(header, where)
            continue
        if not records and isinstance(row[0].value, str) and \
                row[0].value.startswith(TEMPLATE_HELP_MARK):
            continue  # the help row of `policyc template`
        records.append(_table_record(number or 0, "row", keys, row, _xlsx_value))
    return records


def _xlsx_value(cell: Any, _index: int) -> object:
    """A cell's value for the pack's readers: a percent-formatted number as its percentage
    points, exactly (0.855 → 85.5); the rest as `python_value` gives it."""
    value = cell.value
    if _blank(value):
        return None
    if getattr(cell, "data_type", None) == "e":  # #DIV/0!, #N/A, #VALUE!: a failed formula
        why = " (a formula that failed, or a number formatted as a date that no date is)" \
            if value == "#VALUE!" else " (a formula that failed)"
        raise CellProblem(f"the cell holds the error {shown(str(value))}{why}; enter the "
                          "value itself")
    if isinstance(value, int | float) and not isinstance(value, bool) and \
            "%" in _number_format(cell):
        fraction = python_value(value)
        # 100% is stored as the whole number 1: scaled as any other fraction
        return fraction * 100 if isinstance(fraction, int | Decimal) else fraction
    return python_value(value)


def _number_format(cell: Any) -> str:
    """The cell's number format ("" for none); a cell whose style the workbook lacks is
    refused, for its number might be a percent."""
    try:
        return str(getattr(cell, "number_format", None) or "")
    except (IndexError, KeyError) as error:  # openpyxl looks the style up when asked
        raise CellProblem("the cell names a style the workbook does not hold, so whether it "
                          "is a percent is unknown; open and save the file in a spreadsheet "
                          "program") from error


# ---------------------------------------------------------------- Parquet


def _read_parquet(data: bytes, name: str, columns: Columns | None) -> list[InputRecord]:
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise MissingExtra("reading Parquet needs pyarrow: pip install "
                           "'policy-dsl[tables]'") from None
    if not data:
        raise InputUnreadable(f"{name}: the file is empty (0 bytes), not a Parquet file")
    if not data.startswith(b"PAR1"):  # pyarrow looks at the last bytes only
        raise InputUnreadable(f"{name}: not a Parquet file (a Parquet file starts with "
                              f"PAR1; this one with {shown(data[:4].decode('latin-1'))})")
    try:
        table = parquet.ParquetFile(io.BytesIO(data))
        header = _cells_header(table.schema_arrow.names, f"{name}: the header")
        keys = header if columns is None else columns.keys(header, f"{name}: the header")
        records: list[InputRecord] = []
        for batch in table.iter_batches(batch_size=4096):
            cells = [_parquet_column(batch.column(index)) for index in range(batch.num_columns)]
            for row in zip(*cells, strict=True):
                position = len(records) + 1
                records.append(_table_record(position, "record", keys, row, _parquet_value))
        return records
    except InputUnreadable:
        raise
    except Exception as error:  # a file that is not Parquet, or is cut short
        raise InputUnreadable(f"{name}: not a readable Parquet file "
                              f"({_library_words(error)})") from None


def _parquet_value(value: object, _index: int) -> object:
    return python_value(value)


# A float16 or float32 value's shortest decimal text has at most this many significant
# digits; `struct` packs a Python float to that width (rounding), which tells when a shorter
# text is the same number.
_NARROW_FLOATS = {"halffloat": ("e", 5), "float": ("f", 9)}


def _parquet_column(column: Any) -> list[object]:
    """A column's values as Python gives them, except that float16 and float32 numbers (at
    any depth of lists and structs) are the Decimal of their own shortest text: a float32
    85.3 is 85.3, not the 85.30000305175781 that widening it to a Python float gives."""
    values: list[object] = column.to_pylist()
    if not _has_narrow_floats(column.type):
        return values
    return [_narrowed(value, column.type) for value in values]


def _fields(kind: Any) -> list[Any]:
    """A nested Arrow type's fields (a list's one entry field, a struct's fields)."""
    if str(kind).startswith("dictionary<"):  # dictionary-encoded: as its values' type
        return _fields(kind.value_type)
    count = getattr(kind, "num_fields", None)
    return [kind.field(index) for index in range(count)] if isinstance(count, int) else []


def _has_narrow_floats(kind: Any) -> bool:
    if str(kind).startswith("dictionary<"):
        return _has_narrow_floats(kind.value_type)
    return str(kind) in _NARROW_FLOATS or \
        any(_has_narrow_floats(each.type) for each in _fields(kind))


def _narrowed(value: object, kind: Any) -> object:
    if value is None:
        return None
    if str(kind).startswith("dictionary<"):
        return _narrowed(value, kind.value_type)
    if str(kind) in _NARROW_FLOATS and isinstance(value, float):
        return _shortest(value, *_NARROW_FLOATS[str(kind)])
    fields = _fields(kind)
    if isinstance(value, list) and len(fields) == 1:  # a list's entries
        return [_narrowed(each, fields[0].type) for each in value]
    if isinstance(value, dict):  # a struct's fields
        types = {each.name: each.type for each in fields}
        return {key: _narrowed(each, types[key]) if key in types else each
                for key, each in value.items()}
    return value


def _shortest(value: float, code: str, digits: int) -> object:
    """The Decimal of the shortest text that is `value` at the narrow width (NaN: missing,
    Infinity as itself for the reader to refuse)."""
    if value != value:
        return None
    if value in (float("inf"), float("-inf")):
        return Decimal(value)
    packed = struct.pack(code, value)
    for precision in range(1, digits + 1):
        text = f"{value:.{precision}g}"
        try:
            if struct.pack(code, float(text)) == packed:
                return Decimal(text)
        except OverflowError:  # rounded up beyond the width's largest number
            continue
    return Decimal(repr(value))


# ---------------------------------------------------------------- warnings


def percent_fraction_warnings(pack: Pack, records: Sequence[InputRecord], name: str,
                              columns: Columns | None) -> list[str]:
    """One warning for each percent fact whose values (some not 0, from at least
    `FRACTION_WARNING_RECORDS` records) all lie within 0..1: percents are percentage points,
    so these are almost surely fractions."""
    warnings = []
    for fact in pack.INFO.facts:
        if fact.type != "percent":
            continue
        values = []
        for record in records:
            value = None if record.raw is None else record.raw.get(fact.name)
            if value is None:
                continue
            try:
                values.append(parse_decimal(value.strip().removesuffix("%")
                                            if isinstance(value, str) else value))
            except NotANumber:
                continue
        if len(values) >= FRACTION_WARNING_RECORDS and any(values) and \
                all(0 <= value <= 1 for value in values):
            column = shown(fact.name) if columns is None else columns.shown_column(fact.name)
            warnings.append(
                f"{name}: every value of the percent column {column} lies within 0..1; "
                "percents are read as percentage points (85.5 means 85.5%). If these are "
                "fractions (0.855), multiply them by 100 or format the cells as percent")
    return warnings
