"""The published table as an Excel workbook (openpyxl), the form agencies exchange tables in:
one sheet, category rows merged across the texts, wrapped text, the header row frozen and
repeated on every printed page, A4 landscape fitted to the page width."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from .table import COLUMNS, NOTES_HEADING, Table

WIDTHS = (5, 16, 7, 24, 32, 26, 38, 46)  # characters, one per column
FONT = "Noto Sans CJK SC"
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
CENTRE = Alignment(wrap_text=True, vertical="center", horizontal="center")
HEADER_FILL = PatternFill("solid", fgColor="E6E6E6")
CATEGORY_FILL = PatternFill("solid", fgColor="F2F2F2")
GENERATED_FILL = PatternFill("solid", fgColor="F7FAF4")
HEADER_ROW = 3


def render_xlsx(table: Table) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "评价指标"
    last = len(COLUMNS)
    _merged(sheet, 1, 1, last, table.title, Font(name=FONT, size=14, bold=True), CENTRE)
    _merged(sheet, 2, 1, last, table.subtitle, Font(name=FONT, size=9), CENTRE)
    for column, (title, width) in enumerate(zip(COLUMNS, WIDTHS, strict=True), start=1):
        heading = sheet.cell(HEADER_ROW, column, title)
        heading.font, heading.alignment, heading.border = Font(name=FONT, bold=True), CENTRE, \
            BORDER
        heading.fill = HEADER_FILL
        sheet.column_dimensions[heading.column_letter].width = width
    row_number = HEADER_ROW
    for section in table.sections:
        row_number += 1
        _merged(sheet, row_number, 1, 2, section.heading, Font(name=FONT, bold=True), WRAP)
        total = sheet.cell(row_number, 3, section.points)
        _merged(sheet, row_number, 4, last, "", Font(name=FONT), WRAP)
        for column in range(1, last + 1):
            cell = sheet.cell(row_number, column)
            cell.fill, cell.border = CATEGORY_FILL, BORDER
        total.font, total.alignment = Font(name=FONT, bold=True), CENTRE
        for item in section.rows:
            row_number += 1
            values: tuple[int | str | Decimal, ...] = (
                item.number, item.title, item.points, item.content, item.method, item.basis,
                item.procedure, "\n".join(item.scoring_lines()))
            for column, value in enumerate(values, start=1):
                cell = sheet.cell(row_number, column, value)
                cell.font, cell.border = Font(name=FONT, size=9), BORDER
                cell.alignment = CENTRE if column in (1, 3) else WRAP
            sheet.cell(row_number, last).fill = GENERATED_FILL
    row_number += 2
    sheet.cell(row_number, 1, NOTES_HEADING).font = Font(name=FONT, bold=True)
    for number, note in enumerate(table.notes, start=1):
        row_number += 1
        _merged(sheet, row_number, 1, last, f"{number}. {note}", Font(name=FONT, size=9), WRAP)
        sheet.row_dimensions[row_number].height = 15 * (1 + len(note) // 150)
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_options.horizontalCentered = True
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _merged(sheet: Worksheet, row: int, first: int, last: int, value: str, font: Font,
            alignment: Alignment) -> None:
    cell = sheet.cell(row, first, value)
    cell.font, cell.alignment = font, alignment
    if last > first:
        sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)
