"""The published table as Markdown, for review in git: one table row per item, line breaks as
`<br>`, and every character that Markdown or HTML would read as markup escaped."""

from __future__ import annotations

import html

from .table import COLUMNS, NOTES_HEADING, Table, points_text

_MARKUP = str.maketrans({"\\": "\\\\", "|": "\\|", "*": "\\*", "_": "\\_", "`": "\\`",
                         "#": "\\#"})


def cell(text: str) -> str:
    """One table cell: escaped, its lines joined with <br>."""
    lines = (html.escape(line, quote=False).translate(_MARKUP).replace("](", "]\\(")
             .replace("][", "]\\[") for line in text.splitlines())
    return "<br>".join(line.strip() for line in lines)


def render_md(table: Table) -> str:
    out = [f"# {cell(table.title)}", "", cell(table.subtitle), ""]
    out.append("| " + " | ".join(COLUMNS) + " |")
    out.append("| ---: | --- | ---: | " + " | ".join("---" for _ in COLUMNS[3:]) + " |")
    empty = " |" * (len(COLUMNS) - 1)
    for section in table.sections:
        out.append(f"| **{cell(section.heading)}** |{empty}")
        for row in section.rows:
            points = points_text(row.points) + ("（加分）" if row.bonus else "")
            cells = [str(row.number), cell(row.title), points, cell(row.content),
                     cell(row.method), cell(row.basis), cell(row.procedure),
                     cell("\n".join(row.scoring_lines()))]
            out.append("| " + " | ".join(cells) + " |")
    out += ["", f"## {NOTES_HEADING}", ""]
    out += [f"{number}. {cell(note)}" for number, note in enumerate(table.notes, start=1)]
    return "\n".join(out) + "\n"
