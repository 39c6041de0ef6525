"""Findings about rule files, reported as `file:line:col: CODE message`, the line and a caret.

Every stage reports through `Diagnostic`; a stage collects as many findings as it can in one
run and raises `CompileError` with all of them, so an author fixes a file in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .ast import Span

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    hint: str | None = None
    severity: Severity = "error"

    def render(self, source: str | None = None) -> str:
        """The finding as an author reads it: position, message, source line, caret, hint."""
        lines = [f"{self.span}: {self.severity} {self.code}: {self.message}"]
        if source is not None:
            source_lines = source.splitlines()
            if 1 <= self.span.line <= len(source_lines):
                text = source_lines[self.span.line - 1]
                width = 1
                if self.span.end_line == self.span.line:
                    width = max(1, self.span.end_column - self.span.column)
                lines.append(f"    {text}")
                lines.append("    " + " " * (self.span.column - 1) + "^" * width)
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


class CompileError(Exception):
    """Raised by a compiler stage with every error it found (warnings travel with them)."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics))
