"""The published table of a standard, as plain data: what every writer (HTML, xlsx, Markdown)
lays out, and nothing about how.

The columns are the ones agencies publish (序号, 评价项目, 设定分值, 评价内容, 评分办法, 指标依据,
操作方法), each holding the rule file's own words, plus 计分规则: the rules themselves in words,
written by the compiler (`policy_dsl.compiler.render`), so the table says what the pack computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

COLUMNS = ("序号", "评价项目", "设定分值", "评价内容", "评分办法", "指标依据", "操作方法",
           "计分规则")
NOTES_HEADING = "备注"


def points_text(points: Decimal) -> str:
    """Points as the rule file writes them (3, 0.5, 1.0), never in exponent form."""
    return format(points, "f")


@dataclass(frozen=True, slots=True)
class Clause:
    """One rule in words, with the ids of the readings it applies (POLICY-NOTES)."""

    text: str
    readings: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.text} [{', '.join(self.readings)}]" if self.readings else self.text


@dataclass(frozen=True, slots=True)
class Group:
    """The rules of one part of an item (`heading` names it and its points), or the item's
    own rules (`heading` is None), or the values they use explained (`heading` "其中")."""

    heading: str | None
    clauses: tuple[Clause, ...]


@dataclass(frozen=True, slots=True)
class Row:
    """One item of the standard."""

    number: int
    label: str
    points: Decimal
    bonus: bool
    content: str  # 评价内容 ("" where the rule file has none)
    method: str  # 评分办法
    basis: str  # 指标依据
    procedure: str  # 操作方法
    scoring: tuple[Group, ...]  # 计分规则

    @property
    def title(self) -> str:
        """评价项目, with bonus items marked as the source tables mark them."""
        return f"{self.label}（加分项）" if self.bonus else self.label

    def scoring_lines(self) -> list[str]:
        """计分规则 as lines of text, for the writers that have no richer layout."""
        lines: list[str] = []
        for group in self.scoring:
            if group.heading is not None:
                lines.append(f"{group.heading}：")
            lines.extend(f"· {clause}" for clause in group.clauses)
        return lines


@dataclass(frozen=True, slots=True)
class Section:
    """A category of items, with its points."""

    label: str
    points: Decimal
    rows: tuple[Row, ...]

    @property
    def heading(self) -> str:
        """As the source tables head a category: 一、医保政策执行（共2项，6分）."""
        return f"{self.label}（共{len(self.rows)}项，{points_text(self.points)}分）"


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    subtitle: str
    sections: tuple[Section, ...]
    notes: tuple[str, ...]  # 备注, in order
    pack: str
    source: str  # the rule file
    sha256: str  # of the rule file

    @property
    def rows(self) -> tuple[Row, ...]:
        return tuple(row for section in self.sections for row in section.rows)
