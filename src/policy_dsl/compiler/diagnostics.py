"""Findings about rule files, reported as `file:line:col: CODE message`, the line and a caret.

Every stage reports through `Diagnostic`; a stage collects as many findings as it can in one
run and raises `CompileError` with all of them, so an author fixes a file in one pass.
"""

from __future__ import annotations

import os
import traceback
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from .ast import Span
from .codes import CODES, SEVERITY_WORDS, Lang, Severity, hint_in, message_in, related_in

# Source lines longer than this are shown as a window around the caret.
SHOWN_WIDTH = 100


@dataclass(frozen=True, slots=True)
class Related:
    """Another place a finding concerns (the first declaration of a duplicate)."""

    span: Span
    message: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    hint: str | None = None
    severity: Severity = "error"
    related: tuple[Related, ...] = ()

    def render(self, source: str | None = None, lang: Lang = "en",
               excerpt: bool = True) -> str:
        """The finding as an author reads it: position, message, source line, caret, hint.
        In Chinese the line names the code's title from the registry before the details."""
        words = SEVERITY_WORDS[lang]
        message = message_in(lang, self.code, self.message)
        lines = [f"{self.span}: {words[self.severity]} {self.code}: {message}"]
        if source is not None and excerpt:
            shown = source_line(source, self.span.line)
            if shown is not None:
                width = 1
                if self.span.end_line == self.span.line:
                    width = max(1, self.span.end_column - self.span.column)
                text, caret = _with_caret(shown, self.span.column, width)
                lines.append(f"    {text}")
                lines.append(f"    {caret}")
        lines.extend(f"  {r.span}: {related_in(lang, r.message)}" for r in self.related)
        if self.hint:
            lines.append(f"  {words['hint']}: {hint_in(lang, self.hint)}")
        return "\n".join(lines)

    def as_json(self, lang: Lang = "en") -> dict[str, object]:
        """One finding for editors and CI annotations (`policyc check --format json`)."""
        entry = CODES.get(self.code)
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.span.file,
            "span": _span_json(self.span),
            "message": self.message,
            "title": entry.title(lang) if entry else None,
            "hint": self.hint,
            "related": [{"file": r.span.file, "span": _span_json(r.span),
                         "message": r.message} for r in self.related],
        }


def _span_json(span: Span) -> dict[str, int]:
    return {"line": span.line, "column": span.column, "end_line": span.end_line,
            "end_column": span.end_column}


def source_line(source: str, line: int) -> str | None:
    """Line `line` of a source, counted as the parser counts (a line ends at \\n only, so a
    U+2028, U+0085 or form feed inside a comment or text does not shift the lines); a BOM
    and a line's \\r are left out."""
    lines = source.removeprefix("\ufeff").split("\n")
    if not 1 <= line <= len(lines):
        return None
    return lines[line - 1].removesuffix("\r")


def _with_caret(text: str, column: int, width: int) -> tuple[str, str]:
    """The line as shown and the caret line under columns [column, column + width): tabs are
    kept under tabs, wide (CJK) characters take two cells, controls are shown as spaces, and
    a long line is cut to a window around the caret."""
    start = column - 1
    if len(text) > SHOWN_WIDTH:
        first = max(0, min(start - SHOWN_WIDTH // 3, len(text) - SHOWN_WIDTH))
        cut = text[first:first + SHOWN_WIDTH]
        prefix = "..." if first > 0 else ""
        suffix = "..." if first + SHOWN_WIDTH < len(text) else ""
        text, start = prefix + cut + suffix, start - first + len(prefix)
        width = min(width, SHOWN_WIDTH)
    shown = "".join(" " if _is_control(c) else c for c in text)
    before = "".join("\t" if c == "\t" else " " * _cells(c) for c in shown[:start])
    under = sum(_cells(c) for c in shown[start:start + width]) or 1
    return shown, before + "^" * max(1, min(under, 2 * SHOWN_WIDTH))


def _is_control(char: str) -> bool:
    return char != "\t" and unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}


def _cells(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1


class CompileError(Exception):
    """Raised by a compiler stage with every error it found (warnings travel with them)."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics))


def internal_fault(file: str, stage: str, error: Exception) -> Diagnostic:
    """C299: the last-resort finding when a stage fails on a file in a way no check foresaw;
    the build goes on with the other files and fails (exit 1), never with a traceback."""
    if os.environ.get("POLICYC_DEBUG"):
        traceback.print_exception(error)
    return Diagnostic(
        "C299", f"internal fault while {stage} this file ({type(error).__name__}: "
        f"{str(error)[:200]})", Span(file, 1, 1, 1, 1),
        hint="this is a fault in policyc that this file brings out; please report it with "
        "the file (POLICYC_DEBUG=1 shows the traceback), and meanwhile look for what is "
        "unusual in the file")
