"""Random edits of the shipped rule files never crash or hang the compiler (hypothesis).

Each example takes one shipped rule file and makes one to three edits of the kinds an author
or an editor makes by accident: a token or a line deleted, duplicated, swapped or replaced; a
character inserted (full-width punctuation, control characters, line separators, a BOM);
the file truncated; a number changed; a byte that is not UTF-8. Then it builds the file (with
the framework it needs, or an edited framework with a standard under it) in memory as
`policyc build` does. The property: the build either succeeds or gives diagnostics that are
each located in a file of the build at a line and column inside it; nothing raises, no C299
(internal fault), and each example finishes within hypothesis's deadline.

The normal test run tries a few dozen examples in a fixed order (a few seconds). A longer run
explores at random:

    POLICYC_FUZZ_EXAMPLES=3000 .venv/bin/pytest -q tests/test_fuzz_rule_files.py
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest
from helpers import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_dsl.compiler import pipeline, plugins

EXAMPLES = int(os.environ.get("POLICYC_FUZZ_EXAMPLES", "0") or 0)
LONG_RUN = EXAMPLES > 0
RULE_FILES = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("regions/*/*.policy"))
TEXTS = {name: (ROOT / name).read_text(encoding="utf-8") for name in RULE_FILES}
FRAMEWORK = "regions/jilin/framework-2025.policy"
# built with an edited framework, and the base of the other Jilin models (`based on`)
UNDER_FRAMEWORK = "regions/jilin/model-medical-inpatient-2026.policy"
TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\d+(?:\.\d+)?%?|[A-Za-z_]\w*|\S')
NAME = re.compile(r"(?<![\w\"])[a-z_][a-z0-9_]*(?![\w\"])")
DECLARED = re.compile(r"^(?:record|enum|fact|let|cohort) ([a-z_]\w*)", re.MULTILINE)
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
ODD_CHARACTERS = ('，', '。', '：', '；', '（', '）', '【', '】', '“', '”', '、', '\u3000',
                  '\x00', '\x01', '\x07', '\t', '\x0b', '\x0c', '\r', '\x1b', '\x7f',
                  '\x85', '\u2028', '\u2029', '\ufeff', '\u200b', '\\', '"', '{', '}', '#',
                  '%', '-', '.', '[', ']', '\n', '０', '１')
ODD_NUMBERS = ("0", "1", "-1", "100", "101", "0.5", "1.005", "2.5%", "100%", "150%", "9999",
               "0000", "1" + "0" * 27, "1" + "0" * 40, "2023-02-30")
HANG_SECONDS = 30  # a watchdog beyond hypothesis's deadline: a hang fails, not blocks


Edit = Callable[[st.DrawFn, str], str]


@functools.lru_cache(maxsize=64)
def _tokens(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in TOKEN.finditer(text)]


@functools.lru_cache(maxsize=64)
def _names(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in NAME.finditer(text)]


def delete_token(draw: st.DrawFn, text: str) -> str:
    spans = _tokens(text)
    if not spans:
        return text
    start, end = spans[draw(st.integers(0, len(spans) - 1))]
    return text[:start] + text[end:]


def duplicate_token(draw: st.DrawFn, text: str) -> str:
    spans = _tokens(text)
    if not spans:
        return text
    start, end = spans[draw(st.integers(0, len(spans) - 1))]
    return text[:end] + " " + text[start:end] + text[end:]


def swap_tokens(draw: st.DrawFn, text: str) -> str:
    spans = _tokens(text)
    if len(spans) < 2:
        return text
    index = draw(st.integers(0, len(spans) - 2))
    (a, b), (c, d) = spans[index], spans[index + 1]
    return text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]


def replace_token(draw: st.DrawFn, text: str) -> str:
    spans = _tokens(text)
    if not spans:
        return text
    start, end = spans[draw(st.integers(0, len(spans) - 1))]
    other_start, other_end = spans[draw(st.integers(0, len(spans) - 1))]
    return text[:start] + text[other_start:other_end] + text[end:]


def replace_name(draw: st.DrawFn, text: str) -> str:
    """One name used where another is meant (a fact for a record, an enum member ...)."""
    spans = _names(text)
    if not spans:
        return text
    start, end = spans[draw(st.integers(0, len(spans) - 1))]
    other_start, other_end = spans[draw(st.integers(0, len(spans) - 1))]
    return text[:start] + text[other_start:other_end] + text[end:]


def rename_declaration(draw: st.DrawFn, text: str) -> str:
    """A record, enum, fact, derived or cohort value renamed where it is declared only
    (its uses left as they were), or renamed to another declared name."""
    declared = list(DECLARED.finditer(text))
    if not declared:
        return text
    chosen = declared[draw(st.integers(0, len(declared) - 1))]
    new_name = draw(st.sampled_from([m.group(1) for m in declared])
                    | st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True))
    start, end = chosen.span(1)
    return text[:start] + new_name + text[end:]


def _line_edit(operation: str) -> Edit:
    def edit(draw: st.DrawFn, text: str) -> str:
        lines = text.split("\n")
        index = draw(st.integers(0, max(0, len(lines) - 2)))
        if operation == "delete":
            del lines[index]
        elif operation == "duplicate":
            lines.insert(index, lines[index])
        elif index + 1 < len(lines):
            lines[index], lines[index + 1] = lines[index + 1], lines[index]
        return "\n".join(lines)
    edit.__name__ = f"{operation}_line"
    return edit


def insert_character(draw: st.DrawFn, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    character = draw(st.sampled_from(ODD_CHARACTERS) | st.characters(codec="utf-8"))
    return text[:at] + character + text[at:]


def truncate(draw: st.DrawFn, text: str) -> str:
    return text[:draw(st.integers(0, len(text)))]


def change_number(draw: st.DrawFn, text: str) -> str:
    spans = [m.span() for m in NUMBER.finditer(text)]
    if not spans:
        return text
    start, end = spans[draw(st.integers(0, len(spans) - 1))]
    number = draw(st.sampled_from(ODD_NUMBERS)
                  | st.integers(0, 10**6).map(str)
                  | st.decimals(0, 1000, places=2, allow_nan=False).map(str))
    return text[:start] + number + text[end:]


EDITS: list[Edit] = [delete_token, duplicate_token, swap_tokens, replace_token, replace_name,
                     rename_declaration,
                     _line_edit("delete"), _line_edit("duplicate"), _line_edit("swap"),
                     insert_character, truncate, change_number]


@st.composite
def edited_rule_files(draw: st.DrawFn) -> tuple[str, bytes, list[str]]:
    """(the rule file, its edited bytes, the names of the edits made)."""
    name = draw(st.sampled_from(RULE_FILES))
    text = TEXTS[name]
    made = []
    for edit in draw(st.lists(st.sampled_from(EDITS), min_size=1, max_size=3)):
        text = edit(draw, text)
        made.append(edit.__name__)
    data = text.encode("utf-8")
    if draw(st.integers(0, 9)) == 0:  # now and then a byte that is not UTF-8
        at = draw(st.integers(0, len(data)))
        data = data[:at] + bytes([draw(st.integers(0x80, 0xFF))]) + data[at:]
        made.append("insert_byte")
    return name, data, made


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="policyc-fuzz-"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


class Hang(Exception):
    pass


def _watchdog(signum: int, frame: FrameType | None) -> None:
    raise Hang(f"the build took more than {HANG_SECONDS} s")


def build_edited(root: Path, name: str, data: bytes) -> pipeline.BuildResult:
    """Build the edited file alone (with the framework, for a Jilin standard) in memory."""
    shutil.rmtree(root / "regions", ignore_errors=True)
    names = [name] + ([FRAMEWORK, UNDER_FRAMEWORK] if name.startswith("regions/jilin/")
                      else [])
    names = list(dict.fromkeys(names))
    for each in names:
        target = root / each
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data if each == name else TEXTS[each].encode("utf-8"))
    manager = plugins.plugin_manager([], root, entry_points=False)
    previous = signal.signal(signal.SIGALRM, _watchdog)
    signal.alarm(HANG_SECONDS)
    try:
        return pipeline.build(root, manager=manager)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def line_count(data: bytes) -> list[str]:
    return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace").split("\n")


@settings(max_examples=EXAMPLES or 25, deadline=2000, derandomize=not LONG_RUN,
          database=None, suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])
@given(edited_rule_files())
def test_an_edited_rule_file_builds_or_gets_located_diagnostics(
        scratch: Path, edited: tuple[str, bytes, list[str]]) -> None:
    name, data, made = edited
    result = build_edited(scratch, name, data)
    lines = {name: line_count(data)}
    for other in (FRAMEWORK, UNDER_FRAMEWORK):
        lines.setdefault(other, line_count(TEXTS[other].encode("utf-8")))
    for diagnostic, source in result.diagnostics:
        span = diagnostic.span
        assert diagnostic.code != "C299", (made, diagnostic.render(source))
        assert span.file in lines, (made, diagnostic.render(source))
        file_lines = lines[span.file]
        assert 1 <= span.line <= len(file_lines), (made, diagnostic.render(source))
        assert 1 <= span.column <= len(file_lines[span.line - 1]) + 1, (
            made, diagnostic.render(source))
        diagnostic.render(source)  # never raises
    if result.ok:
        assert result.packs
