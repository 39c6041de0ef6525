"""The annual report as a workbook: a sheet per table of `report.Report`, the same numbers
the HTML page shows (exact decimals as numeric cells, ids as text)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from .report import Listed, Report, most_lost
from .report_html import RENEWAL_WORDS, STATUS_WORDS

BOLD = Font(bold=True)


def _sheet(workbook: Any, title: str, header: Sequence[str],
           rows: Sequence[Sequence[object]]) -> None:
    sheet = workbook.create_sheet(title)
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = BOLD
    for row in rows:
        sheet.append([str(v) if isinstance(v, str) else v for v in row])
        for cell, value in zip(sheet[sheet.max_row], row, strict=True):
            if isinstance(value, str):
                cell.data_type = "s"  # an id such as "=1+1" stays text
            elif isinstance(value, Decimal):
                places = max(0, -int(value.as_tuple().exponent))
                cell.number_format = "0" if places == 0 else "0." + "0" * places
    sheet.freeze_panes = "A2"
    for index, _ in enumerate(header, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = 18


def _listed(rows: Sequence[Listed]) -> list[list[object]]:
    return [[row.id, row.score, row.grade, row.note] for row in rows]


def render_report_xlsx(report: Report) -> bytes:
    workbook = Workbook()
    default = workbook.active
    assert default is not None
    workbook.remove(default)
    counts: list[list[object]] = [["pack", report.pack], ["pack_sha256", report.pack_sha256],
                                  ["records", report.records], ["scored", report.scored],
                                  ["errors", report.errors]]
    counts += [[f"not assessed: {STATUS_WORDS[s]} ({s})", n]
               for s, n in report.not_assessed.items()]
    if report.framework:
        counts += [["refunds total (yuan)", report.refunds_total],
                   ["refunds to institutions not assessed (yuan)", report.refunds_not_assessed],
                   ["deposits withheld (yuan)", report.withheld_total],
                   ["deposits withheld from institutions not assessed (yuan)",
                    report.withheld_not_assessed],
                   ["deposit withheld in full", report.withheld_full],
                   ["deposit withheld in part", report.withheld_part]]
    _sheet(workbook, "counts", ["what", "value"], counts)
    if report.framework:
        _sheet(workbook, "grades", ["grade", "institutions", "refunds (yuan)",
                                    "withheld (yuan)"],
               [[g.grade, g.institutions, g.refunds, g.withheld] for g in report.grades])
    _sheet(workbook, "bands", ["band", "from", "below", "institutions"],
           [[b.label, b.low, b.high, b.count] for b in report.bands])
    _sheet(workbook, "items", ["item", "label", "maximum", "bonus", "applicable", "mean",
                               "share %", "points lost", "mean lost"],
           [[i.number, i.label, i.maximum, i.bonus, i.applicable, i.mean, i.share, i.lost,
             i.mean_lost] for i in report.items])
    _sheet(workbook, "most lost", ["item", "label", "mean lost"],
           [[i.number, i.label, i.mean_lost] for i in most_lost(report)])
    if report.framework:
        _sheet(workbook, "renewals", ["renewal", "kind", "institutions"],
               [[k, RENEWAL_WORDS[k], n] for k, n in report.renewals.items()])
        header = ["id", "score", "grade", "note"]
        _sheet(workbook, "adjusted", header, _listed(report.adjusted))
        _sheet(workbook, "referrals", header, _listed(report.referrals))
        _sheet(workbook, "near boundary", header, _listed(report.near_boundary))
        _sheet(workbook, "publicize", header, _listed(report.publicize))
    if report.previous is not None:
        _sheet(workbook, "transitions", ["from", "to", "institutions"],
               [list(row) for row in report.previous.transitions])
        header = ["id", "score", "grade", "change"]
        _sheet(workbook, "fell two grades", header, _listed(report.previous.fell_two))
        _sheet(workbook, "repeated grade", header, _listed(report.previous.repeated))
    _sheet(workbook, "errors", ["id", "score", "grade", "error"], _listed(report.errors_listed))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
