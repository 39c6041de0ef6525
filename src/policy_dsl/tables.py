"""Results as tables: CSV, xlsx and Parquet, one row per institution, written as they come.

Every writer takes an iterator of `Result`s and holds one row (Parquet: one row group) at a
time. The columns are the same in every format (`columns_for`):

    id, total, earned, applicable_max, one column per item, the framework's fields (packs under
    a framework: status, own_score, final_score, grade_before_adjustment, grade, adjustments,
    refund_ratio, refund_amount, deposit, withheld, renewal, publicize, referral), pack,
    pack_sha256, error

Numbers are the JSON line's exact decimals, never floats. CSV and xlsx head the item columns
with the item's number and label (`1 执行医保目录和支付标准`), as the published table does;
Parquet and DataFrames name them `item_1`, `item_2`, … (the label is in the Parquet field's
metadata). openpyxl and pyarrow are imported only by their writers.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, Literal, cast

from .runtime import PROVENANCE_FIELDS, Pack, plain
from .runtime.framework import SETTLEMENT_FIELDS, Adjustment

if TYPE_CHECKING:
    from .api import Result

Kind = Literal["text", "rounded", "points", "bool"]
# rounded: 2 decimals (total, scores, refunds); points: exact points (earned, items, maxima)

ROUNDED_SCALE = 2  # G2: totals, composite scores, refund ratios and amounts
POINTS_SCALE = 4  # Parquet's scale for points; see `points_scale_problem`
DECIMAL_PRECISION = 38  # decimal128's largest
EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what Excel and LibreOffice read as formulas
ROW_GROUP = 10_000  # Parquet rows per row group
MONEY_COLUMNS = ("refund_amount", "deposit", "withheld")  # yuan: shown #,##0.00


class TableError(ValueError):
    """A result that the chosen table format cannot hold exactly (the message says which)."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str  # the JSON field, or item_N
    header: str  # what CSV and xlsx show
    kind: Kind
    item: int | None = None


def columns_for(pack: Pack) -> list[Column]:
    """The table's columns for `pack`, in order."""
    columns = [Column("id", "id", "text"), Column("total", "total", "rounded"),
               Column("earned", "earned", "points"),
               Column("applicable_max", "applicable_max", "points")]
    columns += [Column(f"item_{item.number}", f"{item.number} {item.label}", "points",
                       item.number) for item in pack.INFO.items]
    if pack.FRAMEWORK is not None:
        kinds: dict[str, Kind] = {"own_score": "rounded", "final_score": "rounded",
                                  "refund_ratio": "rounded", "refund_amount": "rounded",
                                  "deposit": "rounded", "withheld": "rounded",
                                  "publicize": "bool", "referral": "bool"}
        columns += [Column(name, name, kinds.get(name, "text")) for name in SETTLEMENT_FIELDS]
    columns += [Column(name, name, "text") for name in (*PROVENANCE_FIELDS, "error")]
    return columns


def adjustments_text(adjustments: tuple[Adjustment, ...] | None) -> str | None:
    """Each downgrade or veto in a few words: `downgrade 2 (national); veto`; a downgrade
    that another, larger one made moot says `not applied`."""
    if adjustments is None:
        return None
    texts = []
    for adjustment in adjustments:
        text = "veto" if adjustment.kind == "veto" else \
            f"downgrade {adjustment.grades} ({adjustment.event})"
        texts.append(text if adjustment.applied else f"{text} not applied")
    return "; ".join(texts)


def row_values(columns: list[Column], result: Result) -> list[object]:
    """The row's values in column order: Decimal, str, bool or None (id as given)."""
    values: list[object] = []
    for column in columns:
        if column.item is not None:
            values.append(None if result.items is None else result.items.get(column.item))
        elif column.name == "adjustments":
            values.append(adjustments_text(result.adjustments))
        else:
            values.append(getattr(result, column.name))
    return values


def _text(value: object) -> str:
    """A text cell: ids as written (an id 7 is "7"), never read as a formula by a spreadsheet:
    a value starting with =, +, -, @, tab or carriage return gets a leading apostrophe."""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_cell(column: Column, value: object) -> str:
    if value is None:
        return ""
    if column.kind == "text":
        return _text(value)
    if column.kind == "bool":
        return "true" if value else "false"
    assert isinstance(value, Decimal)
    return str(value) if column.kind == "rounded" else plain(value)


def write_csv(stream: IO[bytes], columns: list[Column], results: Iterable[Result]) -> None:
    """CSV in UTF-8 with a byte-order mark (so Excel opens it as UTF-8), RFC 4180 quoting,
    CRLF line ends; empty cells for null values."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow([column.header for column in columns])
        for result in results:
            writer.writerow([_csv_cell(column, value)
                             for column, value in zip(columns, row_values(columns, result),
                                                      strict=True)])
        text.flush()
    finally:
        text.detach()  # the caller closes the stream


# ---------------------------------------------------------------- the summary


def _band(total: Decimal) -> str:
    """The 10-point band of a total: [0, 10) … [90, 100] (100 in the top band)."""
    if total < 0:
        return "below 0"
    if total > 100:
        return "above 100"
    low = min(int(total // 10) * 10, 90)
    return f"{low}–{low + 10}"


BANDS = [f"{low}–{low + 10}" for low in range(0, 100, 10)]


@dataclass
class Summary:
    """Counts and sums over the results, kept as they stream past (for the summary sheet)."""

    framework: bool
    grade_order: tuple[str, ...] = ()  # the framework's grades, highest first
    records: int = 0
    scored: int = 0
    errors: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    grades: Counter[str] = field(default_factory=Counter)
    refunds_by_grade: dict[str, Decimal] = field(default_factory=dict)
    refunds_total: Decimal = Decimal(0)
    bands: Counter[str] = field(default_factory=Counter)

    def add(self, result: Result) -> None:
        self.records += 1
        if result.error is not None:
            self.errors += 1
            return
        self.scored += 1
        if result.status is not None:
            self.statuses[result.status] += 1
        if self.framework:
            key = result.grade if result.grade is not None else f"{result.status} (no grade)"
            self.grades[key] += 1
            if result.refund_amount is not None:
                self.refunds_by_grade[key] = (self.refunds_by_grade.get(key, Decimal(0))
                                              + result.refund_amount)
                self.refunds_total += result.refund_amount
        elif result.total is not None:
            self.bands[_band(result.total)] += 1

    def rows(self) -> list[tuple[str, object, object]]:
        """The summary sheet: (what, count, yuan) rows, with headings as rows of their own."""
        rows: list[tuple[str, object, object]] = [
            ("records", self.records, None), ("scored", self.scored, None),
            ("errors", self.errors, None)]
        if self.framework:
            rows += [(f"not assessed: {status}", self.statuses[status], None)
                     for status in ("deferred", "terminated", "voluntary_exit")]
            rows += [("", None, None), ("grade", "institutions", "refunds (yuan)")]
            others = sorted(key for key in self.grades if key not in self.grade_order)
            rows += [(grade, self.grades[grade], self.refunds_by_grade.get(grade, Decimal(0)))
                     for grade in self.grade_order]
            # not assessed: a refund where the framework gives one (an exit), else blank
            rows += [(key, self.grades[key], self.refunds_by_grade.get(key))
                     for key in others]
            rows += [("refunds total", None, self.refunds_total)]
        else:
            rows += [("", None, None), ("total (band)", "institutions", None)]
            extra = [band for band in ("below 0", "above 100") if self.bands[band]]
            rows += [(band, self.bands[band], None) for band in [*BANDS, *extra]]
        return rows


def summary_for(pack: Pack) -> Summary:
    rules = pack.FRAMEWORK
    return Summary(framework=rules is not None,
                   grade_order=() if rules is None else tuple(g.label for g in rules.grades))


# ---------------------------------------------------------------- xlsx


def _number_format(column: Column, value: Decimal) -> str:
    if column.kind == "rounded":
        return "#,##0.00" if column.name in MONEY_COLUMNS else "0.00"
    places = max(0, -int(value.as_tuple().exponent))
    return "0" if places == 0 else "0." + "0" * places


def _excel_exact(value: Decimal) -> bool:
    """openpyxl writes a number with 16 significant digits of its float; a decimal of at most
    15 significant digits comes back exactly (as Excel keeps it)."""
    return len(value.as_tuple().digits) <= EXCEL_DIGITS


def write_xlsx(stream: IO[bytes], pack: Pack, columns: list[Column],
               results: Iterable[Result]) -> Summary:
    """A workbook in write-only mode (streamed): sheet `results` (the table; header frozen,
    widths set; numbers as numeric cells showing their exact decimals, ids and texts as
    text) and sheet `summary` (counts, grades and refunds, or the bands of totals)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("results")
    sheet.freeze_panes = "B2"  # the header and the id column stay in view
    for index, column in enumerate(columns, start=1):
        width = 44 if column.name == "error" else 66 if column.name == "pack_sha256" else \
            max(10, min(30, len(column.header) * (2 if column.item else 1) + 2))
        sheet.column_dimensions[_letter(index)].width = width
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, column.header)
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        header.append(cell)
    sheet.append(header)
    summary = summary_for(pack)
    for result in results:
        summary.add(result)
        row: list[object] = []
        for column, value in zip(columns, row_values(columns, result), strict=True):
            if value is None or column.kind == "bool":
                row.append(value)
            elif column.kind != "text" and isinstance(value, Decimal) and _excel_exact(value):
                cell = WriteOnlyCell(sheet, cast("Any", value))  # written as its 16 digits
                cell.number_format = _number_format(column, value)
                row.append(cell)
            else:  # text; or a number Excel cannot hold exactly, as its exact text
                text = value if isinstance(value, str) else \
                    plain(value) if isinstance(value, Decimal) else str(value)
                if text.startswith("="):  # openpyxl would take it for a formula
                    cell = WriteOnlyCell(sheet, text)
                    cell.data_type = "s"  # text: never a formula
                    row.append(cell)
                else:
                    row.append(text)
        sheet.append(row)
    _summary_sheet(workbook, pack, summary, bold)
    workbook.save(stream)
    return summary


def _summary_sheet(workbook: Any, pack: Pack, summary: Summary, bold: Any) -> None:
    from openpyxl.cell import WriteOnlyCell

    sheet = workbook.create_sheet("summary")
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 14
    sheet.column_dimensions["C"].width = 18
    title = WriteOnlyCell(sheet, f"{pack.INFO.name} {pack.INFO.title}")
    title.font = bold
    sheet.append([title])
    sheet.append([f"pack_sha256 {pack.sha256}"])
    sheet.append([])
    for what, count, amount in summary.rows():
        cells: list[object] = [what, count]
        if isinstance(amount, Decimal):
            money = WriteOnlyCell(sheet, cast("Any", amount))
            money.number_format = "#,##0.00"
            cells.append(money)
        else:
            cells.append(amount)
        sheet.append(cells)


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index))


# ---------------------------------------------------------------- Parquet


def _scale(column: Column) -> int:
    return ROUNDED_SCALE if column.kind == "rounded" else POINTS_SCALE


def points_scale_problem(value: Decimal, scale: int) -> str | None:
    """Why `value` does not fit a decimal128 column of `scale` exactly, or None."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # results are finite
    if -exponent > scale:
        return f"{plain(value)} has {-exponent} decimals, more than the column's {scale}"
    if len(value.scaleb(scale).to_integral_value().as_tuple().digits) > DECIMAL_PRECISION:
        return f"{plain(value)} has more than {DECIMAL_PRECISION} digits"
    return None


def parquet_schema(pack: Pack, columns: list[Column]) -> Any:
    import pyarrow

    fields = []
    for column in columns:
        kind: pyarrow.DataType
        if column.kind == "text":
            kind = pyarrow.string()
        elif column.kind == "bool":
            kind = pyarrow.bool_()
        else:
            kind = pyarrow.decimal128(DECIMAL_PRECISION, _scale(column))
        metadata = {"label": column.header} if column.item is not None else None
        fields.append(pyarrow.field(column.name, kind, nullable=True, metadata=metadata))
    return pyarrow.schema(fields, metadata={"pack": pack.INFO.name,
                                            "pack_sha256": pack.sha256})


def _chunks(results: Iterable[Result], size: int) -> Iterator[list[Result]]:
    chunk: list[Result] = []
    for result in results:
        chunk.append(result)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_parquet(stream: IO[bytes], pack: Pack, columns: list[Column],
                  results: Iterable[Result], row_group: int = ROW_GROUP) -> None:
    """Parquet, a row group per `row_group` results: decimal128 columns (scale 2 for totals,
    scores and refunds, 4 for points), strings for ids, grades and errors, booleans for
    publicize and referral. A value with more decimals than its column holds raises
    TableError naming the record: nothing is rounded."""
    import pyarrow
    import pyarrow.parquet

    schema = parquet_schema(pack, columns)
    position = 0
    with pyarrow.parquet.ParquetWriter(stream, schema) as writer:
        for chunk in _chunks(results, row_group):
            data: list[list[object]] = [[] for _ in columns]
            for result in chunk:
                position += 1
                for index, (column, value) in enumerate(
                        zip(columns, row_values(columns, result), strict=True)):
                    if column.kind == "text":
                        value = None if value is None else \
                            value if isinstance(value, str) else str(value)
                    elif isinstance(value, Decimal):
                        problem = points_scale_problem(value, _scale(column))
                        if problem is not None:
                            raise TableError(f"record {position} (id {result.id}): "
                                             f"{column.name} {problem}; write JSON Lines or "
                                             "CSV instead")
                    data[index].append(value)
            writer.write_table(pyarrow.Table.from_arrays(
                [pyarrow.array(values, type=kind)
                 for values, kind in zip(data, schema.types, strict=True)], schema=schema))
