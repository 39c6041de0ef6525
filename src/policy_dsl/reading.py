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

import codecs
import datetime as dt
import difflib
import io
import itertools
import mmap
import os
import struct
import warnings
from codecs import BOM_UTF8
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

from .runtime.framework import framework_inputs
from .runtime.inputs import (
    MAX_CELL,
    TEMPLATE_HELP_MARK,
    HeaderKeys,
    InputRecord,
    InputUnreadable,
    guess_format,
    header_names,
    iter_csv,
    iter_json_lines,
    iter_raw_entries,
    python_value,
    read_id,
    read_records,
)
from .runtime.packs import FactInfo, Pack
from .runtime.strict_json import FastRecords, join_problems, shown
from .runtime.values import NotANumber, parse_decimal

FileFormat = Literal["jsonl", "json", "csv", "xlsx", "parquet"]
FILE_FORMATS: tuple[FileFormat, ...] = ("jsonl", "json", "csv", "xlsx", "parquet")

# Headers that name the id column, besides `id`: the institution's code as agencies' sheets
# head it (定点医疗机构编码 is the code the medical-insurance information platform assigns).
ID_LABELS = ("机构编码", "定点机构编码", "定点医疗机构编码")
NAME_LABELS = ("机构名称", "定点机构名称", "定点医疗机构名称")  # the institution's name (`name`)

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
    """The format by the file's extension; else (standard input, a name without one) by the
    first bytes: Parquet, xlsx (a zip), and for a text the runtime's `guess_format` (a JSON
    array, JSON Lines, CSV)."""
    lower = name.lower()
    for ending, fmt in ((".xlsx", "xlsx"), (".xlsm", "xlsx"), (".parquet", "parquet"),
                        (".pq", "parquet")):
        if lower.endswith(ending):
            return cast("FileFormat", fmt)
    if not lower.endswith((".csv", ".jsonl", ".ndjson", ".json")):
        if data.startswith(b"PAR1"):
            return "parquet"
        if data.startswith(b"PK\x03\x04"):
            return "xlsx"
    return guess_format(name, data.decode("utf-8", "replace"))


_CHUNK = 1 << 20  # bytes read at a time


def text_encoding(opener: Callable[[], BinaryIO], name: str, fmt: FileFormat,
                  encoding: str | None = None) -> str:
    """The encoding the file's text is in, checked over the whole file a chunk at a time:
    `encoding` when given; else UTF-8 (a byte-order mark allowed), or, for CSV only,
    GB18030 when the file is not UTF-8. Raises `InputUnreadable` naming the line of the
    first bad byte and the encodings tried."""
    with opener() as stream:
        head = stream.read(len(BOM_UTF8))
    if encoding is not None:
        tried = [encoding]
    elif head.startswith(BOM_UTF8) or fmt != "csv":
        tried = ["utf-8"]  # JSON is UTF-8 (RFC 8259); a BOM says which encoding
    else:
        tried = ["utf-8", "gb18030"]
    failures: list[str] = []
    first_line = 0
    for chosen in tried:
        try:
            bad = _first_bad_byte(opener, chosen)
        except LookupError:
            raise InputUnreadable(f"{name}: unknown encoding {chosen!r} (try utf-8 or "
                                  "gb18030)") from None
        if bad is None:
            return chosen
        line = _line_of(opener, bad)
        first_line = first_line or line
        failures.append(f"{_encoding_name(chosen)}{' fails' if not failures else ''} at "
                        f"line {line}, byte {bad + 1} of the file")
    names = " or ".join(_encoding_name(each) for each in tried)
    hint = ("save the file as UTF-8" if fmt != "csv" else
            "save the file as UTF-8 (or GB18030), or give --encoding")
    raise InputUnreadable(f"{name}:{first_line}: not {names} text ({'; '.join(failures)}); "
                          f"{hint}")


def _first_bad_byte(opener: Callable[[], BinaryIO], encoding: str) -> int | None:
    """Where the first byte that is not `encoding` text is (0-based), or None."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    with opener() as stream:
        while True:
            chunk = stream.read(_CHUNK)
            pending = len(decoder.getstate()[0])  # bytes of a character the last chunk cut
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                return offset - pending + error.start
            if not chunk:
                return None
            offset += len(chunk)


def _line_of(opener: Callable[[], BinaryIO], position: int) -> int:
    """The 1-based line of the byte at `position`."""
    lines = 1
    with opener() as stream:
        while position > 0:
            chunk = stream.read(min(_CHUNK, position))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            position -= len(chunk)
    return lines


def _encoding_name(encoding: str) -> str:
    return {"utf-8": "UTF-8", "gb18030": "GB18030"}.get(encoding.lower(), encoding)


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name == "utf-8"


def fast_records() -> FastRecords | None:
    """msgspec's JSON decoder for input records, when msgspec is installed (the `tables` and
    `dev` extras) and not turned off with `POLICY_DSL_JSON=stdlib`; else None, and the strict
    decoder of the standard library reads every record (`runtime.strict_json`)."""
    if os.environ.get("POLICY_DSL_JSON", "").lower() == "stdlib":
        return None
    try:
        import msgspec
    except ImportError:
        return None
    return FastRecords(msgspec.json.Decoder(float_hook=Decimal).decode)


def read_input(data: bytes, name: str, pack: Pack | None, fmt: FileFormat | None = None, *,
               encoding: str | None = None, sheet: str | None = None) -> InputFile:
    """Every record of the file, in order, and the warnings about it. Raises
    `InputUnreadable` when the file as a whole cannot be read (or its header names no fact
    of `pack`), `MissingExtra` when the format's library is not installed."""
    source = InputSource(lambda: io.BytesIO(data), name, pack,
                         fmt or guess_file_format(name, data[:_HEAD]), encoding=encoding,
                         sheet=sheet)
    records = list(source.records())
    return InputFile(records, source.warnings)


_HEAD = 1 << 16  # bytes read to guess a file's format


def open_input(path: Path, name: str, pack: Pack | None, fmt: FileFormat | None = None, *,
               encoding: str | None = None, sheet: str | None = None,
               check_text: bool = True) -> InputSource:
    """An input file on disk, to be read record by record (as many times as needed).
    `check_text=False`: see `InputSource`."""
    with open(path, "rb") as stream:
        head = stream.read(_HEAD)
    return InputSource(lambda: open(path, "rb"), name, pack,
                       fmt or guess_file_format(name, head), encoding=encoding, sheet=sheet,
                       check_text=check_text)


class InputSource:
    """An input file read record by record, as often as asked: a batch is read twice (ids and
    cohort inputs, then scores), and holds one record at a time.

    `records()` gives the records in order; the first complete reading also gathers the
    `warnings` (percent columns of fractions, keys that name no fact). Raises
    `InputUnreadable` (before the first record, for a file that cannot be read as a whole,
    a header naming no fact, or text in no encoding tried) and `MissingExtra`.

    `check_text=False` leaves the whole-file check of a JSON Lines file's text (UTF-8, the
    one encoding it can be in unless `encoding` is given) to `check_text()`: the column
    lane checks each block it reads instead, and calls it when one is not UTF-8 (for the
    message naming the line); every other reader must call it before it reads."""

    def __init__(self, opener: Callable[[], BinaryIO], name: str, pack: Pack | None,
                 fmt: FileFormat, *, encoding: str | None = None,
                 sheet: str | None = None, check_text: bool = True) -> None:
        self.opener = opener
        self.name = name
        self.pack = pack
        self.fmt = fmt
        self.sheet = sheet
        self.columns = None if pack is None else Columns(pack, name)
        self._text_unchecked = not check_text and fmt == "jsonl" and encoding is None
        self.encoding = (None if fmt in ("xlsx", "parquet") else "utf-8"
                         if self._text_unchecked else text_encoding(opener, name, fmt, encoding))
        self.warnings: list[str] = []
        self._watched = False

    def check_text(self) -> None:
        """The whole file's text checked, if `check_text=False` left it: raises
        `InputUnreadable` naming the line of the first byte that is not UTF-8."""
        if self._text_unchecked:
            text_encoding(self.opener, self.name, self.fmt)
            self._text_unchecked = False

    def records(self, start: int = 0, stop: int | None = None) -> Iterator[InputRecord]:
        """The records in order; `start`, `stop`: only those of indexes start..stop-1 (a
        chunk; JSON Lines passes over the others without decoding them)."""
        self.check_text()
        records = self._read(start)
        if start or stop is not None:
            skipped = start if self.fmt != "jsonl" or self.encoding != "utf-8" else 0
            records = itertools.islice(records, skipped,
                                       None if stop is None else skipped + stop - start)
        if self.fmt in ("json", "jsonl") and self.columns is not None:
            records = self.columns.named_keys(records)
        if self._watched or self.pack is None or start or stop is not None:
            yield from records
            return
        watch = FractionWatch(self.pack)
        for record in records:
            watch.see(record)
            yield record
        self._watched = True
        self.warnings = watch.warnings(self.name, self.columns)
        if self.columns is not None:
            self.warnings += self.columns.unknown_key_warnings()

    def _read(self, start: int = 0) -> Iterator[InputRecord]:
        if self.fmt == "xlsx":
            return _read_xlsx(self.opener, self.name, self.sheet, self.columns)
        if self.fmt == "parquet":
            return _read_parquet(self.opener, self.name, self.columns)
        assert self.encoding is not None
        header = None if self.columns is None else self.columns.keys
        if self.fmt == "csv":
            return self._read_csv(header)
        if not _is_utf8(self.encoding):  # JSON in another encoding, as asked: read whole
            return iter(read_records(self._text(), self.fmt, self.name, header))
        if self.fmt == "jsonl":
            return self._read_json_lines(start if self.encoding == "utf-8" else 0)
        return self._read_json_array(header)

    def _text(self) -> str:
        assert self.encoding is not None
        with self.opener() as stream:
            return stream.read().decode(self.encoding).removeprefix("\ufeff")

    def _read_csv(self, header: HeaderKeys | None) -> Iterator[InputRecord]:
        assert self.encoding is not None
        encoding = "utf-8-sig" if _is_utf8(self.encoding) else self.encoding
        with self.opener() as stream, \
                io.TextIOWrapper(stream, encoding=encoding, newline="") as text:
            yield from iter_csv(text, self.name, header, self._text)

    def _read_json_lines(self, skip: int) -> Iterator[InputRecord]:
        with self.opener() as stream:
            yield from iter_json_lines(stream, fast=fast_records(), skip=skip)

    def _read_json_array(self, header: HeaderKeys | None) -> Iterator[InputRecord]:
        """msgspec splits the array into its entries' texts without decoding them (over a
        memory map of the file); without msgspec, or when it refuses the array (NaN in an
        entry, or not JSON), the strict reader reads the whole text and says what is
        wrong."""
        fast = fast_records()
        with self.opener() as stream:
            buffer = _mapped(stream)
            if fast is not None and buffer is not None:
                import msgspec

                body = memoryview(buffer)
                if bytes(body[:3]) == BOM_UTF8:
                    body = body[3:]
                try:
                    entries = msgspec.json.decode(body, type=list[msgspec.Raw])
                except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
                    entries = None
                if entries is not None:
                    yield from iter_raw_entries(entries, fast)
                    del entries
                    return
        yield from read_records(self._text(), "json", self.name, header)


def _mapped(stream: BinaryIO) -> Any:
    """The file's bytes without reading them into memory: a memory map of a file, the buffer
    of an in-memory file; None for an empty file."""
    if isinstance(stream, io.BytesIO):
        return stream.getvalue() or None
    try:
        size = os.fstat(stream.fileno()).st_size
        return mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) if size else None
    except (OSError, ValueError):
        return None


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
        # JSON keys that name no fact: the first record using each, and how many do
        self.unknown_keys: dict[str, tuple[InputRecord, int]] = {}

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

    def named_keys(self, records: Iterable[InputRecord]) -> Iterator[InputRecord]:
        """JSON records whose keys may be the facts' labels (as headers may): each label key
        read as its fact's name; a key that names no fact is kept (the record's error says
        so) and gathered for `unknown_key_warnings`."""
        renames = {header: key for header, key in self.by_header.items() if header != key}
        known = set(self.by_header)
        as_named = known - renames.keys()  # keys kept as they are: one look-up each
        for record in records:
            raw = record.raw
            if raw is not None and as_named.issuperset(raw):
                yield record  # the common case: every key a fact's name (or id, name)
                continue
            if raw is None or known.issuperset(raw):
                if raw is not None and not renames.keys().isdisjoint(raw):
                    yield self._renamed(record, raw, renames)
                else:
                    yield record
                continue
            if not renames.keys().isdisjoint(raw):
                record = self._renamed(record, raw, renames)  # an id under its label read
            for key in raw:
                if key not in known and not key.startswith("_"):
                    first, count = self.unknown_keys.get(key, (record, 0))
                    self.unknown_keys[key] = (first, count + 1)
            yield record

    def _renamed(self, record: InputRecord, raw: Mapping[str, object],
                 renames: dict[str, str]) -> InputRecord:
        named: dict[str, object] = {}
        for key, value in raw.items():
            name = renames.get(key, key)
            if name in named:
                given = [each for each in raw if renames.get(each, each) == name]
                problem = (f"the keys {shown(given[0])} and {shown(given[1])} both give "
                           f"{name if name in ('id', 'name') else 'the fact ' + name}; "
                           "keep one")
                return InputRecord(record.position, record.id, None, problem, record.unit)
            named[name] = value
        if "id" not in raw and "id" in named:  # the id under a label (机构编码): read it now
            labelled_id, id_problem = read_id(named["id"])
            if id_problem:
                return InputRecord(record.position, None, None, id_problem, record.unit)
            return InputRecord(record.position, labelled_id, named, record.error, record.unit)
        return InputRecord(record.position, record.id, named, record.error, record.unit)

    def unknown_key_warnings(self) -> list[str]:
        """One line per key that names no fact, with the first record that uses it, how
        many do, and the closest fact."""
        warnings = []
        for key, (first, count) in self.unknown_keys.items():
            warnings.append(f"{self.name}: the key {shown(key)} names no fact of this standard "
                            f"(first at {first.where}, in {count:,} record(s)"
                            f"{self._near(key)}); those records are errors. Name facts as "
                            "`policyc describe --pack P` prints them, by name or label")
        self.unknown_keys.clear()
        return warnings

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


def _read_xlsx(opener: Callable[[], BinaryIO], name: str, sheet: str | None,
               columns: Columns | None) -> Iterator[InputRecord]:
    try:
        import openpyxl
    except ImportError:
        raise MissingExtra("reading xlsx needs openpyxl: pip install 'policy-dsl[tables]'") \
            from None
    with warnings.catch_warnings():
        # openpyxl warns on standard error of what it passes over (styles, data validation
        # from Excel and WPS, a date cell out of range, which it reads as the error #VALUE!)
        warnings.simplefilter("ignore")
        yield from _read_workbook(openpyxl, opener, name, sheet, columns)


def _read_workbook(openpyxl: Any, opener: Callable[[], BinaryIO], name: str,
                   sheet: str | None, columns: Columns | None) -> Iterator[InputRecord]:
    with opener() as stream:
        if not stream.read(1):
            raise InputUnreadable(f"{name}: the file is empty (0 bytes), not an xlsx workbook")
        stream.seek(0)
        try:
            book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
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
            yield from _xlsx_records(_sheet_rows(worksheet.iter_rows(), name, worksheet.title),
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
                  columns: Columns | None) -> Iterator[InputRecord]:
    keys: list[str] | None = None
    seen_record = False
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
        if not seen_record and isinstance(row[0].value, str) and \
                row[0].value.startswith(TEMPLATE_HELP_MARK):
            continue  # the help row of `policyc template`
        seen_record = True
        yield _table_record(number or 0, "row", keys, row, _xlsx_value)


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


def _read_parquet(opener: Callable[[], BinaryIO], name: str,
                  columns: Columns | None) -> Iterator[InputRecord]:
    """The rows of a Parquet file, a batch of rows at a time."""
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise MissingExtra("reading Parquet needs pyarrow: pip install "
                           "'policy-dsl[tables]'") from None
    with opener() as stream:
        start = stream.read(4)
        if not start:
            raise InputUnreadable(f"{name}: the file is empty (0 bytes), not a Parquet file")
        if start != b"PAR1":  # pyarrow looks at the last bytes only
            raise InputUnreadable(f"{name}: not a Parquet file (a Parquet file starts with "
                                  f"PAR1; this one with {shown(start.decode('latin-1'))})")
        stream.seek(0)
        try:
            table = parquet.ParquetFile(stream)
            header = _cells_header(table.schema_arrow.names, f"{name}: the header")
            keys = header if columns is None else columns.keys(header, f"{name}: the header")
            batches = table.iter_batches(batch_size=4096)
            position = 0
            while True:
                try:
                    batch = next(batches)
                except StopIteration:
                    return
                cells = [_parquet_column(batch.column(index))
                         for index in range(batch.num_columns)]
                for row in zip(*cells, strict=True):
                    position += 1
                    yield _table_record(position, "record", keys, row, _parquet_value)
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


class FractionWatch:
    """Whether each percent fact's values (some not 0, from at least
    `FRACTION_WARNING_RECORDS` records) all lie within 0..1, kept as the records pass:
    percents are percentage points, so these are almost surely fractions."""

    def __init__(self, pack: Pack) -> None:
        self.facts = [fact.name for fact in pack.INFO.facts if fact.type == "percent"]
        self.counts = dict.fromkeys(self.facts, 0)
        self.nonzero = dict.fromkeys(self.facts, False)
        self.within = dict.fromkeys(self.facts, True)
        self.watched = list(self.facts)  # those still within: once out, a fact costs nothing

    def see(self, record: InputRecord) -> None:
        raw = record.raw
        if raw is None or not self.watched:
            return
        left = False
        for name in self.watched:
            value = raw.get(name)
            if value is None:
                continue
            try:
                number = parse_decimal(value.strip().removesuffix("%")
                                       if isinstance(value, str) else value)
            except NotANumber:
                continue
            self.counts[name] += 1
            self.nonzero[name] = self.nonzero[name] or bool(number)
            if not 0 <= number <= 1:
                self.within[name] = False
                left = True
        if left:
            self.watched = [name for name in self.watched if self.within[name]]

    def add_counts(self, fact: str, count: int, nonzero: bool, within: bool) -> None:
        """What other records showed of `fact`: how many gave it, whether one was not 0,
        whether all lay within 0..1 (the column lane's records, counted a column at a
        time)."""
        self.counts[fact] += count
        self.nonzero[fact] = self.nonzero[fact] or nonzero
        self.within[fact] = self.within[fact] and within
        if not within and fact in self.watched:
            self.watched = [name for name in self.watched if self.within[name]]

    def merge(self, other: FractionWatch) -> None:
        """What `other` saw over the records after these, added (a part of a file read in
        another process)."""
        for fact in self.facts:
            self.counts[fact] += other.counts[fact]
            self.nonzero[fact] = self.nonzero[fact] or other.nonzero[fact]
            self.within[fact] = self.within[fact] and other.within[fact]

    def warnings(self, name: str, columns: Columns | None) -> list[str]:
        warnings = []
        for fact in self.facts:
            if self.counts[fact] >= FRACTION_WARNING_RECORDS and self.nonzero[fact] and \
                    self.within[fact]:
                column = shown(fact) if columns is None else columns.shown_column(fact)
                warnings.append(
                    f"{name}: every value of the percent column {column} lies within 0..1; "
                    "percents are read as percentage points (85.5 means 85.5%). If these are "
                    "fractions (0.855), multiply them by 100 or format the cells as percent")
        return warnings
