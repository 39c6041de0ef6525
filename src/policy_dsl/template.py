"""`policyc template`: an empty input sheet for a pack, as agencies send to institutions for
self-assessment (Suzhou 附件1 item 1: 医疗机构自评分，医保部门核验).

Row 1 heads each column with the fact's Chinese label (as `policyc describe` prints it; the
readers take labels and names alike); row 2 says how to fill the column (type, bounds, when
required; for lists, how to write them). Row 2 starts with `HELP_MARK`, by which the readers
pass over it, so a filled-in template is read as it stands. In xlsx the two rows are frozen,
enums and booleans get drop-down lists (their labels; 是/否), and every column is text-wide.
The CSV version is UTF-8 with a byte-order mark, so Excel opens it as such.
"""

from __future__ import annotations

import csv
import io

from .reading import ID_LABELS, NAME_LABELS
from .runtime import Pack
from .runtime.framework import framework_inputs
from .runtime.inputs import TEMPLATE_HELP_MARK as HELP_MARK
from .runtime.packs import FactInfo

DATA_ROWS = 1000  # rows of the xlsx sheet the drop-down lists cover, below the help row

_TYPES = {
    "bool": "是/否",
    "percent": "百分数，填百分点：85.5 或 85.5%（或设为百分比格式的单元格）",
    "count": "整数（0 或以上）",
    "money": "金额（元）",
    "score": "分数",
    "number": "数值",
    "text": "文本",
    "date": "日期，如 2023-12-31",
    "year": "年份，如 2023",
}


def facts_of(pack: Pack) -> tuple[FactInfo, ...]:
    """The pack's input facts, its framework's inputs after them."""
    framework = () if pack.FRAMEWORK is None else framework_inputs(pack.FRAMEWORK)
    return (*pack.INFO.facts, *framework)


def headers(pack: Pack) -> list[str]:
    return [ID_LABELS[0], NAME_LABELS[0],
            *(fact.label or fact.name for fact in facts_of(pack))]


def fact_help(fact: FactInfo) -> str:
    """How to fill one fact's column, in a line."""
    if fact.members:
        kind = "选择：" + "/".join(label or code for code, label in fact.members)
    elif fact.type.startswith(("list of", "set of")):
        default = "，空白即 []" if fact.default == "[]" else ""
        kind = (f'JSON 列表（{fact.type}），如 [] 表示没有；每项见 policyc describe'
                f'{default}')
    else:
        kind = _TYPES.get(fact.type, fact.type)
    bounds = "" if fact.low is None and fact.high is None else \
        f"；范围 {'' if fact.low is None else fact.low}..{'' if fact.high is None else fact.high}"
    if fact.presence == "required":
        presence = "必填"
    elif fact.presence == "optional":
        presence = "选填" + (f"（默认 {fact.default}）" if fact.default else "")
    else:
        presence = f"条件必填（{fact.presence}）"
    return f"{kind}{bounds}；{presence}（{fact.name}）"


def help_row(pack: Pack) -> list[str]:
    return [f"{HELP_MARK}文本或整数；必填（id）", "文本；选填（name）",
            *(fact_help(fact) for fact in facts_of(pack))]


def template_csv(pack: Pack) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(headers(pack))
    writer.writerow(help_row(pack))
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def template_xlsx(pack: Pack) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "自评表"
    sheet.append(headers(pack))
    sheet.append(help_row(pack))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in sheet[2]:
        cell.font = Font(italic=True, color="666666")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "C3"
    for column in range(1, sheet.max_column + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 22
    for column, fact in enumerate(facts_of(pack), start=3):
        choices = ["是", "否"] if fact.type == "bool" else \
            [label or code for code, label in fact.members]
        if not choices:
            continue
        letter = get_column_letter(column)
        listed = ",".join(choices)
        validation = DataValidation(type="list", formula1=f'"{listed}"', allow_blank=True,
                                    showErrorMessage=True, errorTitle=fact.label or fact.name,
                                    error=f"请选择：{'/'.join(choices)}")
        validation.add(f"{letter}3:{letter}{DATA_ROWS + 2}")
        sheet.add_data_validation(validation)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()
