"""A small document algebra for laying out source text (Wadler's "prettier printer", as
prettier and black's successors do it): text, line breaks that break only when their group
does not fit, nesting, alignment, fills. `printer` builds expressions from it and `formatter`
whole rule files; `render` prints one document from a starting column.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """A space (nothing if `soft`) when its group fits on the line, else a new line."""

    soft: bool = False
    hard: bool = False


@dataclass(frozen=True)
class Group:
    doc: Doc


@dataclass(frozen=True)
class Nest:
    by: int
    doc: Doc


@dataclass(frozen=True)
class Align:
    """New lines inside `doc` start at the column where `doc` starts."""

    doc: Doc


@dataclass(frozen=True)
class Flat:
    """`doc` on one line, however long."""

    doc: Doc


@dataclass(frozen=True)
class Fill:
    """Contents and separators alternating; a separator breaks only before a content that
    does not fit on the line."""

    parts: tuple[Doc, ...]


@dataclass(frozen=True)
class IfBreak:
    broken: Doc
    flat: Doc = ""


Doc = str | list["Doc"] | Line | Group | Nest | Align | Flat | Fill | IfBreak

LINE = Line()
HARDLINE = Line(hard=True)
SOFTLINE = Line(soft=True)


def width(text: str) -> int:
    """Columns `text` takes in a terminal (full-width characters take 2)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _has_hard_line(doc: Doc) -> bool:
    if isinstance(doc, str):
        return False
    if isinstance(doc, list):
        return any(_has_hard_line(d) for d in doc)
    if isinstance(doc, Line):
        return doc.hard
    if isinstance(doc, Fill):
        return any(_has_hard_line(d) for d in doc.parts)
    if isinstance(doc, IfBreak):
        return _has_hard_line(doc.broken)
    return _has_hard_line(doc.doc)


_FLAT, _BREAK = False, True
_Command = tuple[int, bool, Doc]  # indentation, broken?, document


class Printer:
    """Prints one document from a starting column (prettier's algorithm, small)."""

    def __init__(self, line_width: int) -> None:
        self.line_width = line_width

    def print(self, doc: Doc, indent: int) -> list[str]:
        lines: list[str] = []
        current: list[str] = []
        column = indent
        stack: list[_Command] = [(indent, _BREAK, doc)]
        while stack:
            ind, broken, d = stack.pop()
            if isinstance(d, str):
                current.append(d)
                column += width(d)
            elif isinstance(d, list):
                stack.extend((ind, broken, part) for part in reversed(d))
            elif isinstance(d, Line):
                if broken or d.hard:
                    lines.append("".join(current).rstrip())
                    current, column = [" " * ind], ind
                elif not d.soft:
                    current.append(" ")
                    column += 1
            elif isinstance(d, Group):
                flat = (not broken or not _has_hard_line(d.doc)) and (
                    not broken or self._fits([(ind, _FLAT, d.doc)], stack, column))
                stack.append((ind, not flat, d.doc))
            elif isinstance(d, Nest):
                stack.append((ind + d.by, broken, d.doc))
            elif isinstance(d, Align):
                stack.append((column, broken, d.doc))
            elif isinstance(d, Flat):
                stack.append((ind, _FLAT, d.doc))
            elif isinstance(d, IfBreak):
                stack.append((ind, broken, d.broken if broken else d.flat))
            else:  # Fill
                self._fill(d.parts, ind, broken, column, stack)
        lines.append("".join(current).rstrip())
        return lines

    def _fill(self, parts: tuple[Doc, ...], ind: int, broken: bool, column: int,
              stack: list[_Command]) -> None:
        if not parts:
            return
        content = parts[0]
        content_fits = not broken or self._fits([(ind, _FLAT, content)], [], column)
        if len(parts) == 1:
            stack.append((ind, not content_fits, content))
            return
        separator = parts[1]
        if len(parts) == 2:
            stack.append((ind, not content_fits, separator))
            stack.append((ind, not content_fits, content))
            return
        pair_fits = not broken or self._fits(
            [(ind, _FLAT, [content, separator, parts[2]])], stack, column)
        stack.append((ind, broken, Fill(parts[2:])))
        stack.append((ind, not pair_fits, separator))
        stack.append((ind, not content_fits, content))

    def _fits(self, commands: list[_Command], rest: list[_Command], column: int) -> bool:
        remaining = self.line_width - column
        todo = list(reversed(commands))
        rest_index = len(rest)
        while remaining >= 0:
            if not todo:
                if rest_index == 0:
                    return True
                rest_index -= 1
                todo.append(rest[rest_index])
            ind, broken, d = todo.pop()
            if isinstance(d, str):
                remaining -= width(d)
            elif isinstance(d, list):
                todo.extend((ind, broken, part) for part in reversed(d))
            elif isinstance(d, Line):
                if broken or d.hard:
                    return True
                remaining -= 0 if d.soft else 1
            elif isinstance(d, Group):
                todo.append((ind, broken or _has_hard_line(d.doc), d.doc))
            elif isinstance(d, Nest | Align):
                todo.append((ind, broken, d.doc))
            elif isinstance(d, Flat):
                todo.append((ind, _FLAT, d.doc))
            elif isinstance(d, IfBreak):
                todo.append((ind, broken, d.broken if broken else d.flat))
            else:  # Fill
                todo.extend((ind, broken, part) for part in reversed(d.parts))
        return False


def join(separator: Doc, docs: Sequence[Doc]) -> list[Doc]:
    joined: list[Doc] = []
    for index, doc in enumerate(docs):
        if index:
            joined.append(separator)
        joined.append(doc)
    return joined




def flat(doc: Doc) -> str:
    """`doc` on one line (every group flat), however long."""
    return Printer(1 << 30).print(Flat(doc), 0)[0]
