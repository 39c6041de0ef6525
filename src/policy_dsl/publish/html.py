"""The published table as one self-contained HTML page: inline CSS, no script, no network,
laid out for A4 landscape (the header row repeats on every page). Every text is escaped
(autoescape), so a rule file's texts can never become markup."""

from __future__ import annotations

from decimal import Decimal
from functools import cache

import jinja2

from .. import __version__
from ..runtime.arithmetic import plain
from .table import COLUMNS, NOTES_HEADING, Row, Table, points_text

# Printed on A4 landscape at 9 pt, a text column holds about this many characters a line (its
# share of 277 mm, about 3.3 mm a character). A row estimated at no more than KEEP_LINES lines
# is kept on one page; a longer one may continue on the next, as the source tables' long rows
# do, with at least 3 lines on either side.
LINE_CHARS = {"label": 7, "content": 9, "method": 13, "basis": 10, "procedure": 15,
              "scoring": 18}
KEEP_LINES = 18


@cache
def environment() -> jinja2.Environment:
    """The one Jinja environment of every page policyc writes (the published table, result
    notices, the annual report): autoescaped, strict about undefined names."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("policy_dsl.publish", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["points"] = points_text
    environment.filters["plain"] = plain
    environment.filters["money"] = money
    environment.tests["kept_whole"] = kept_whole
    return environment


def _template() -> jinja2.Template:
    return environment().get_template("table.html.jinja")


def money(value: Decimal) -> str:
    """Yuan with thousands separators and its 2 decimals, exactly (182,200.00)."""
    return f"{value:,.2f}"


def render_html(table: Table) -> str:
    return _template().render(table=table, columns=COLUMNS, notes_heading=NOTES_HEADING,
                              version=__version__)


def kept_whole(row: Row) -> bool:
    texts = {"label": row.title, "content": row.content, "method": row.method,
             "basis": row.basis, "procedure": row.procedure,
             "scoring": "\n".join(row.scoring_lines())}
    return max(_printed_lines(texts[column], width) for column, width in LINE_CHARS.items()) \
        <= KEEP_LINES


def _printed_lines(text: str, width: int) -> int:
    return sum(max(1, -(-len(line) // width)) for line in text.splitlines())
