"""The published table as one self-contained HTML page: inline CSS, no script, no network,
laid out for A4 landscape (the header row repeats on every page). Every text is escaped
(autoescape), so a rule file's texts can never become markup."""

from __future__ import annotations

from functools import cache

import jinja2

from .. import __version__
from .table import COLUMNS, NOTES_HEADING, Table, points_text


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("policy_dsl.publish", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["points"] = points_text
    return environment.get_template("table.html.jinja")


def render_html(table: Table) -> str:
    return _template().render(table=table, columns=COLUMNS, notes_heading=NOTES_HEADING,
                              version=__version__)
