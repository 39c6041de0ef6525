"""Rule files that used to crash the compiler: each is a located diagnostic now, through
`policyc build` on a temporary copy of the project, never a traceback.

Each test breaks a shipped rule file (or the minimal one) the way an author or an editor
might, and checks the diagnostic's code, line and column.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT
from test_compiler import MINIMAL, build_minimal

from policy_dsl.compiler import checker, parser, pipeline
from policy_dsl.compiler.diagnostics import CompileError, Diagnostic
from policy_dsl.runtime import InputRecord, score_batch
from policy_dsl.runtime.packs import load_pack

SUZHOU_OUTPATIENT = "regions/suzhou/outpatient-2023.policy"
JILIN_MODEL = "regions/jilin/model-medical-inpatient-2026.policy"  # the others are based on it


def project(tmp_path: Path, *regions: str) -> Path:
    """A project tree with copies of the shipped regions named (their rule files only)."""
    for region in regions or ("suzhou", "jilin"):
        target = tmp_path / "regions" / region
        target.mkdir(parents=True)
        for rule_file in (ROOT / "regions" / region).glob("*.policy"):
            shutil.copy(rule_file, target / rule_file.name)
    return tmp_path


def edit(root: Path, name: str, old: str, new: str, count: int = -1) -> str:
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    text = text.replace(old, new, count)
    path.write_text(text, encoding="utf-8")
    return text


def policyc_build(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`policyc build --root ROOT` as a user runs it: its exit code and what it printed."""
    return subprocess.run(
        [sys.executable, "-c", "from policy_dsl.cli import main; main()", "build", "--root",
         str(root)], capture_output=True, text=True, encoding="utf-8", timeout=120,
        env={**os.environ, "POLICYC_DEBUG": "", **env})


def errors(result: pipeline.BuildResult) -> list[Diagnostic]:
    return [d for d, _ in result.diagnostics if d.severity == "error"]


def position(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based line and column of the `occurrence`th `needle` in `text`."""
    at = -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


# ---------------------------------------------------------------- checker crashes


def test_a_renamed_record_is_located_at_the_facts_that_name_it(tmp_path: Path) -> None:
    """`entry` renamed: `deductions`/`bonuses` (list of entry, taken by `deduct entries`)
    name a record that no longer exists; a KeyError in the checker before."""
    root = project(tmp_path, "jilin")
    text = edit(root, JILIN_MODEL, 'record entry "', 'record panel_entry "')
    run = policyc_build(root)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    line, column = position(text, "list of entry")
    assert (f"{JILIN_MODEL}:{line}:{column}: error C214: 'list of entry' needs a record "
            "type named entry") in run.stderr
    assert "hint: did you mean 'panel_entry'?" in run.stderr


def test_a_field_of_a_renamed_record_is_located(tmp_path: Path) -> None:
    """`complaint` renamed: `complaints` is a list of nothing, and `c.deduction` in item 11
    is reported where it is used, not a crash."""
    root = project(tmp_path, "suzhou")
    text = edit(root, SUZHOU_OUTPATIENT, 'record complaint "', 'record grievance "')
    result = pipeline.build(root)
    found = {(d.code, d.span.line, d.span.column) for d in errors(result)}
    assert ("C214", *position(text, "list of complaint")) in found
    assert ("C246", *position(text, "complaints: c.deduction")) in found
    assert len(found) == 2


@pytest.mark.parametrize("depth", [300, 1000])
def test_not_nested_hundreds_deep_is_refused_at_the_limit(tmp_path: Path, depth: int) -> None:
    """A RecursionError before; P101 at the first level beyond MAX_NESTING now."""
    root = project(tmp_path, "suzhou")
    old = "zero when "
    text = (root / SUZHOU_OUTPATIENT).read_text(encoding="utf-8")
    if old not in text:  # the outpatient table has no zero rule: nest a 'when' condition
        old = "not applicable when "
    text = edit(root, SUZHOU_OUTPATIENT, old, old + "not " * depth, 1)
    run = policyc_build(root)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    line, column = position(text, old + "not ")
    assert f"{SUZHOU_OUTPATIENT}:{line}:" in run.stderr and "error P101: this nests more " \
        f"than {parser.MAX_NESTING} levels deep" in run.stderr
    reported = next(x for x in run.stderr.splitlines() if "P101" in x)
    reported_column = int(reported.split(":")[2])
    assert column + len(old) <= reported_column < column + len(old) + 4 * depth


@pytest.mark.parametrize("shape", ["(1 + {})", "1 + {}", "-{}", "max(1, {})"])
def test_deep_parentheses_and_arithmetic_are_refused(shape: str) -> None:
    inner = "incidents"
    for _ in range(400):
        inner = shape.format(inner)
    text = MINIMAL.replace("deduct 1 per incidents", f"deduct 1 per {inner}")
    with pytest.raises(CompileError) as raised:
        parser.parse_text(text, "demo.policy")
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "P101"
    assert diagnostic.span.line == position(text, "deduct 1 per")[0]


def test_parentheses_alone_do_not_count_as_nesting() -> None:
    """((((x)))) is x: 400 pairs parse, check and mean `incidents`."""
    text = MINIMAL.replace("deduct 1 per incidents", "deduct 1 per " + "(" * 400
                           + "incidents" + ")" * 400)
    assert checker.check(parser.parse_text(text, "demo.policy")).ok


def nested_not(levels: int) -> str:
    return MINIMAL.replace("zero when flagged", "zero when " + "not not " * levels + "flagged")


def test_everything_within_the_limit_builds_and_scores(tmp_path: Path) -> None:
    """The deepest `not` chain the limit admits goes through every stage (parse, check,
    codegen, Python's compiler, scoring); one level more is P101. `not not x` is x, so the
    scores are the plain file's: flagged and high → item 1 is 0."""
    levels = 0
    while True:
        try:
            parser.parse_text(nested_not(levels + 1), "demo.policy")
        except CompileError as error:
            assert [d.code for d in error.diagnostics] == ["P101"]
            break
        levels += 1
    assert 20 <= levels <= parser.MAX_NESTING
    result = build_minimal(tmp_path, nested_not(levels))
    assert result.ok, [d.render() for d in errors(result)]
    pipeline.write_files(result.files, tmp_path / "generated")
    module = load_pack("example/demo-2024", packs_dir=tmp_path / "generated")
    record = {"level": "high", "rate": "85", "incidents": 0, "flagged": True}
    outcome = score_batch(module, [InputRecord(1, None, record)])[0]
    assert outcome.score is not None and outcome.score.earned == 0


def test_a_number_too_long_for_decimal_is_located() -> None:
    text = MINIMAL.replace("deduct 1 per incidents", "deduct " + "9" * 5000 + " per incidents")
    with pytest.raises(CompileError) as raised:
        parser.parse_text(text, "demo.policy")
    (diagnostic,) = raised.value.diagnostics
    assert (diagnostic.code, diagnostic.span.line, diagnostic.span.column) == (
        "P103", *position(text, "9999"))


def test_an_unforeseen_fault_is_c299_at_the_file_and_the_rest_builds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last resort: a stage failing on one file is C299 at that file; the other files
    are still checked and built, and the build fails (exit 1 from the CLI)."""
    root = project(tmp_path, "suzhou")
    real_check = checker.check

    def check_failing_on_outpatient(standard: object, *args: object) -> object:
        if getattr(standard, "path", "") == SUZHOU_OUTPATIENT:
            raise RuntimeError("a fault no check foresaw")
        return real_check(standard, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(checker, "check", check_failing_on_outpatient)
    result = pipeline.build(root)
    (fault,) = [d for d in errors(result) if d.code == "C299"]
    assert (fault.span.file, fault.span.line, fault.span.column) == (SUZHOU_OUTPATIENT, 1, 1)
    assert "internal fault while checking this file (RuntimeError: a fault no check " \
        "foresaw)" in fault.message and "report" in (fault.hint or "")
    assert "suzhou/inpatient-2023" in {p.name for p in result.packs}


# ---------------------------------------------------------------- text: bytes, lines, escapes


def test_a_non_utf8_byte_is_reported_where_it_is(tmp_path: Path) -> None:
    """Latin-1 bytes in a comment on some line: P001 at that line and the bad byte's column
    (characters before it on the line, + 1), not at 1:1."""
    root = project(tmp_path, "suzhou")
    path = root / SUZHOU_OUTPATIENT
    text = path.read_text(encoding="utf-8")
    line, _ = position(text, "record complaint")
    lines = text.split("\n")
    lines[line - 1] = "# 说明 " + lines[line - 1]
    data = "\n".join(lines).encode("utf-8").replace("说明".encode(), "été".encode("latin-1"))
    path.write_bytes(data)
    run = policyc_build(root)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert f"{SUZHOU_OUTPATIENT}:{line}:3: error P001: the file is not UTF-8 text: byte " \
        "0xe9" in run.stderr


def test_a_non_utf8_byte_after_a_bom_on_line_1(tmp_path: Path) -> None:
    """A BOM is not a column: 'standard é' in Latin-1 after it is at 1:10."""
    path = tmp_path / "x.policy"
    path.write_bytes(b"\xef\xbb\xbfstandard \xe9")
    with pytest.raises(CompileError) as raised:
        parser.parse_file(path, "x.policy")
    (diagnostic,) = raised.value.diagnostics
    assert (diagnostic.code, diagnostic.span.line, diagnostic.span.column) == ("P001", 1, 10)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\x0c", "\x0b", "\x1c"])
def test_a_unicode_line_separator_in_a_comment_does_not_shift_lines(separator: str) -> None:
    """Lark counts lines at \\n only; the line shown under a diagnostic is counted the same
    way, so it is the line the diagnostic names."""
    text = MINIMAL.replace("enum grade_level", f"# a{separator}comment\nenum grade_level")
    text = text.replace("deduct 1 per incidents", "deduct 1 per incident")
    (diagnostic,) = [d for d in checker.check(parser.parse_text(text, "demo.policy"))
                     .diagnostics if d.code == "C203"]
    assert (diagnostic.span.line, diagnostic.span.column) == position(text, "incident cap")
    rendered = diagnostic.render(text).splitlines()
    assert rendered[1].strip() == 'deduct 1 per incident cap 3 "每次扣1分" [T-2]'
    assert rendered[2].index("^") == rendered[1].index("incident cap")


def test_a_separator_inside_a_quoted_text_is_shown_as_a_space() -> None:
    text = MINIMAL.replace('award 3 "基础分"', 'award 3 "基础\u2028分" oops')
    with pytest.raises(CompileError) as raised:
        parser.parse_text(text, "demo.policy")
    rendered = raised.value.diagnostics[0].render(text).splitlines()
    assert rendered[1] == '        award 3 "基础 分" oops'
    # the caret sits under 'oops': 4 spaces, 'award 3 "' (9), four wide (2) and one narrow
    # cell for 基础 分, '" ' (2)
    assert rendered[2] == "    " + " " * (4 + 9 + 2 + 2 + 1 + 2 + 2) + "^^^^"


def test_bom_crlf_and_tabs_do_not_misplace_carets(tmp_path: Path) -> None:
    """A file saved by a Windows editor: BOM, CRLF, tabs. The error is at the right line and
    column, the line is shown without \\r, and the caret stands under the error."""
    text = MINIMAL.replace("    deduct 1 per incidents", "\t\tdeduct 1 per incident")
    (tmp_path / "regions" / "example").mkdir(parents=True)
    data = ("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8")
    (tmp_path / "regions" / "example" / "demo.policy").write_bytes(data)
    result = pipeline.build(tmp_path)
    (diagnostic, source), = [(d, s) for d, s in result.diagnostics if d.code == "C203"]
    line, _ = position(text, "\t\tdeduct")
    assert (diagnostic.span.line, diagnostic.span.column) == (line, 2 + len("deduct 1 per ") + 1)
    rendered = diagnostic.render(source).splitlines()
    assert rendered[1] == '    \t\tdeduct 1 per incident cap 3 "每次扣1分" [T-2]'
    assert rendered[2] == "    \t\t" + " " * len("deduct 1 per ") + "^" * len("incident")


def test_an_error_at_the_end_of_a_file_ending_in_crlf() -> None:
    text = MINIMAL.replace("\n", "\r\n").replace('"标记即不得分"', "").rstrip("}\r\n") \
        + "\r\n  }\r\n}\r\n"
    with pytest.raises(CompileError) as raised:
        parser.parse_text(text, "demo.policy")
    (diagnostic,) = raised.value.diagnostics
    assert "unexpected '}'" in diagnostic.message
    last = text.split("\r\n")[-3]
    assert (diagnostic.span.line, diagnostic.span.column) == (text.count("\n") - 1, 3)
    assert last == "  }"


def test_blocks_left_open_at_the_end_of_a_file_ending_in_crlf() -> None:
    text = MINIMAL.replace("\n", "\r\n").rstrip("}\r\n") + "\r\n"
    with pytest.raises(CompileError) as raised:
        parser.parse_text(text, "demo.policy")
    # the item's and the category's closing braces are both gone: each block is reported
    # where it opens (P105), the CRLF line ends counting for nothing
    found = [(d.code, d.span.line, d.span.column) for d in raised.value.diagnostics]
    assert found == [("P105", *position(text, '{\r\n  item 1')),
                     ("P105", *position(text, '{\r\n    basis'))]


def reason_text(text: str) -> str:
    standard = parser.parse_text(text, "demo.policy")
    rules = [r for r in standard.items[0].body if hasattr(r, "reason")]
    return next(r.reason.text for r in rules if "C:" in r.reason.text)  # type: ignore[union-attr]


@pytest.mark.parametrize(("written", "meant"), [
    (r'"C:\\new"', "C:\\new"),              # a backslash, then 'new' (not C:\ + newline)
    (r'"C:\\\\n"', "C:\\\\n"),              # two backslashes, then 'n'
    (r'"C:\"q\" \\"', 'C:"q" \\'),          # quotes and a closing backslash
    (r'"C: a\nb"', "C: a\nb"),              # a line break
])
def test_string_escapes_are_decoded_in_one_pass(written: str, meant: str) -> None:
    assert reason_text(MINIMAL.replace('"基础分"', written)) == meant


def test_an_unknown_escape_is_located_with_a_hint() -> None:
    text = MINIMAL.replace('"基础分"', r'"C:\temp\x"')
    with pytest.raises(CompileError) as raised:
        parser.parse_text(text, "demo.policy")
    first, second = raised.value.diagnostics
    line, column = position(text, r"\temp")
    assert (first.code, first.span.line, first.span.column) == ("P102", line, column)
    assert (second.span.line, second.span.column) == (line, column + 5)
    assert first.message == r"unknown escape '\t' in a quoted text"
    assert r'write \\ for a backslash itself' in (first.hint or "")
