"""`policyc fmt`: one canonical layout, comments kept, meaning and packs unchanged.

The corpus is the shipped rule files (each must already be canonical) and versions of them
perturbed by hypothesis: whitespace, indentation and blank lines changed, lines of one
statement (or two statements) joined, trailing comments moved onto lines of their own.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import GENERATED, ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_rule_files import edited_rule_files

from policy_dsl.compiler import formatter, pipeline, printer
from policy_dsl.compiler.diagnostics import CompileError
from policy_dsl.compiler.parser import build_ast, parse_syntax

SHIPPED = pipeline.rule_files(ROOT / "regions")
TEXTS = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in SHIPPED}

# A rule file's text in pieces: quoted texts and comments (kept whole), whitespace, the rest.
PIECES = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\s+|[^\s"#]+')


def policyc(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy_dsl.cli", *args], cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", check=False)


def fmt(text: str) -> str:
    return formatter.format_text(text, "t.policy")


def meaning(text: str) -> object:
    return formatter.without_spans(build_ast(parse_syntax(text, "t.policy").tree, "t", "0"))


def comments(text: str) -> list[str]:
    """The comments' texts (trailing blanks are no part of a comment's text)."""
    return [str(c).rstrip() for c in parse_syntax(text, "t.policy").comments]


def perturb_whitespace(text: str, seed: int) -> str:
    """`text` with its layout, not its tokens, changed at random: spaces and tabs between
    tokens, indentation, trailing spaces, blank lines multiplied, lines joined (a line break
    without a blank line and with no comment beside it becomes a space)."""
    rng = random.Random(seed)
    pieces = PIECES.findall(text)
    assert "".join(pieces) == text
    out: list[str] = []
    for index, piece in enumerate(pieces):
        before = pieces[index - 1] if index else ""
        after = pieces[index + 1] if index + 1 < len(pieces) else ""
        if not piece.isspace() or rng.random() < 0.5:
            out.append(piece)
        elif "\n" not in piece:
            out.append(rng.choice([" ", "  ", "\t", " \t "]))
        elif piece.count("\n") == 1 and index and not before.startswith("#") \
                and not after.startswith("#") and rng.random() < 0.5:
            out.append(rng.choice([" ", "   "]))  # two lines joined
        else:
            blanks = piece.count("\n") - 1
            lines = blanks + 1 if not blanks else blanks + 1 + rng.randrange(3)
            out.append(rng.choice(["", " ", "\t"]) + "\n" * lines
                       + rng.choice(["", " ", "    ", "\t", " " * 9]))
    return "".join(out)


def comments_onto_own_lines(text: str) -> str:
    """Every trailing comment moved onto a line of its own, after its line."""
    lines = []
    for line in text.splitlines():
        code, _, comment = line.partition("  #")
        if comment and '"' not in code[code.rfind("#") if "#" in code else 0:] \
                and not line.lstrip().startswith("#") and code.count('"') % 2 == 0:
            lines += [code, "#" + comment]
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the shipped files


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_every_shipped_rule_file_is_a_fixed_point(name: str) -> None:
    assert fmt(TEXTS[name]) == TEXTS[name]


def test_fmt_check_passes_on_the_repository() -> None:
    result = policyc("fmt", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"0 file(s) would format, {len(SHIPPED)} already formatted" in result.stderr


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(TEXTS)), seed=st.integers(0, 2**32 - 1))
def test_a_layout_change_formats_back_to_the_shipped_text(name: str, seed: int) -> None:
    original = TEXTS[name]
    perturbed = perturb_whitespace(original, seed)
    assert meaning(perturbed) == meaning(original)  # the perturbation changed layout only
    assert fmt(perturbed) == original


def test_joined_rules_are_split_again() -> None:
    """A rule written on one line goes back to the shipped layout (reason on its own line,
    a step rule's `below` and `steps` on theirs, a broken lookup one case a line)."""
    original = TEXTS["regions/suzhou/inpatient-2023.policy"]
    start = original.index("    deduct 0.1 per 1% of catalogue_drug_share")
    end = original.index("[SZ-1, G4, G6]", start)
    joined = original[:start] + " ".join(original[start:end].split()) + " " + original[end:]
    start = original.index("    deduct for each v in violations:")
    assert joined.count("\n") < original.count("\n")
    assert fmt(joined) == original
    end = original.index("[SZ-6]\n", start)
    joined = original[:start] + "    " + " ".join(original[start:end].split()) + " " \
        + original[end:]
    assert fmt(joined) == original


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(TEXTS)), seed=st.integers(0, 2**32 - 1))
def test_fmt_is_idempotent_and_keeps_meaning_and_comments(name: str, seed: int) -> None:
    text = comments_onto_own_lines(perturb_whitespace(TEXTS[name], seed))
    once = fmt(text)
    assert fmt(once) == once
    assert meaning(once) == meaning(text)
    assert comments(once) == comments(text)


# ---------------------------------------------------------------- comments


def _neighbours(text: str) -> list[tuple[str, str]]:
    """Each comment with the node it belongs to: for an own-line comment the first word of
    the next line that is not a comment; for a trailing one the code before it."""
    lines = text.splitlines()
    found = []
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#"):
            following = next((x.split()[0] for x in lines[number + 1:]
                              if x.strip() and not x.strip().startswith("#")), "")
            found.append((stripped, following))
        elif "  # " in line:
            code, _, comment = line.partition("  # ")
            comment = comment.lstrip("# ")
            found.append(("# " + comment, " ".join(code.split())))
    return found


def test_comments_stay_with_their_node() -> None:
    text = """# the file's head

standard s {   # on the opening line
  # before the title
  title "t"
  total 100      # trailing, far out
  version 1 # trailing, close
  # last in the block
}
# before the fact
fact f "F": count   # after the fact
category "c" 1 {
  item 1 "i" 1 {
    # before a rule
    award 1 when f > 0
         "r" [X-1]   # after a rule that spans lines
    part "p" 1 {  # on a part's line
      award 1 "r"
    }   # on a closing brace
  }
}
# the end
"""
    formatted = fmt(text)
    assert formatted == """# the file's head

standard s {  # on the opening line
  # before the title
  title "t"
  total 100  # trailing, far out
  version 1  # trailing, close
  # last in the block
}

# before the fact
fact f "F": count  # after the fact

category "c" 1 {
  item 1 "i" 1 {
    # before a rule
    award 1 when f > 0 "r" [X-1]  # after a rule that spans lines
    part "p" 1 {                  # on a part's line
      award 1 "r"
    }  # on a closing brace
  }
}
# the end
"""
    assert comments(formatted) == comments(text)
    assert _neighbours(formatted) == [
        ("# the file's head", "standard"), ("# on the opening line", "standard s {"),
        ("# before the title", "title"), ("# trailing, far out", "total 100"),
        ("# trailing, close", "version 1"), ("# last in the block", "}"),
        ("# before the fact", "fact"), ("# after the fact", 'fact f "F": count'),
        ("# before a rule", "award"), ("# after a rule that spans lines",
                                       'award 1 when f > 0 "r" [X-1]'),
        ("# on a part's line", 'part "p" 1 {'), ("# on a closing brace", "}"),
        ("# the end", "")]


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_shipped_comments_keep_count_text_and_node(name: str) -> None:
    text = TEXTS[name]
    perturbed = perturb_whitespace(text, 7)
    assert comments(fmt(perturbed)) == comments(text)
    assert _neighbours(fmt(perturbed)) == _neighbours(text)
    assert len(comments(text)) == text.count("\n#") + text.count("  #") + text.startswith("#")


# ---------------------------------------------------------------- expressions


@pytest.mark.parametrize(("written", "printed"), [
    ("1 - (2 - 3)", "1 - (2 - 3)"),
    ("(1 - 2) - 3", "1 - 2 - 3"),
    ("(a * b) + c", "a * b + c"),
    ("a * (b + c)", "a * (b + c)"),
    ("-(a + b)", "-(a + b)"),
    ("not (a and b)", "not (a and b)"),
    ("(not a) and b", "not a and b"),
    ("a or (b and c)", "a or (b and c)"),  # kept for the reader, as the shipped files do
    ("(a or b) and c", "(a or b) and c"),
    ("a and (b and c)", "a and (b and c)"),
    ("(a > 1) == true", "(a > 1) == true"),
    ("f((a))", "f(a)"),
    ("1.0 + 1.50 * 80.0%", "1.0 + 1.50 * 80.0%"),
    ("if a then (if b then 1 else 2) else 3", "if a then if b then 1 else 2 else 3"),
    ("(if a then 1 else 2) + 1", "(if a then 1 else 2) + 1"),
])
def test_expressions_print_with_minimum_parentheses_and_numbers_as_written(
        written: str, printed: str) -> None:
    text = f'let x "x" = {written}\n'
    head = 'standard s {\n  total 1\n}\n\n'
    assert fmt(head + text) == head + f'let x "x" = {printed}\n'


# ---------------------------------------------------------------- the command


def project_copy(tmp_path: Path) -> Path:
    for folder in ("regions", "generated", "plugins"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def test_fmt_check_prints_a_diff_and_exits_1_and_fmt_writes(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    path = root / "regions" / "suzhou" / "inpatient-2023.policy"
    original = path.read_bytes()
    path.write_text(original.decode().replace("  title ", "      title   "), encoding="utf-8")
    checked = policyc("fmt", "--check", cwd=root)
    assert checked.returncode == 1
    assert "-      title   " in checked.stdout and "+  title " in checked.stdout
    assert checked.stdout.startswith("--- regions/suzhou/inpatient-2023.policy (as it is)")
    assert "1 file(s) would format, 5 already formatted" in checked.stderr
    assert path.read_bytes() != original  # --check writes nothing
    written = policyc("fmt", "regions/suzhou", cwd=root)
    assert written.returncode == 0, written.stderr
    assert path.read_bytes() == original
    assert policyc("fmt", "--check", str(path), cwd=root).returncode == 0


def test_a_file_with_a_syntax_error_is_not_formatted(tmp_path: Path) -> None:
    path = tmp_path / "bad.policy"
    text = "standard s {\n    total   100\n  bonus bool\n}\n"
    path.write_text(text, encoding="utf-8")
    result = policyc("fmt", str(path))
    assert result.returncode == 1
    assert f"{path}:3:9: error P100: unexpected 'bool'" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_text(encoding="utf-8") == text
    with pytest.raises(CompileError):
        fmt(text)


def test_a_formatter_fault_that_would_change_meaning_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Like black: the ASTs before and after are compared, and a difference is refused."""
    text = 'standard s {\n  total 1\n}\n\nlet x "x" =  1 - (2 - 3)\n'
    # A printer that forgets parentheses: `1 - (2 - 3)` would become `1 - 2 - 3`.
    monkeypatch.setattr(printer._Layout, "at",
                        lambda self, expr, level: self.printed(expr)[0])
    with pytest.raises(formatter.FormatError, match="change the rules' meaning"):
        fmt(text)


def test_formatting_a_perturbed_file_builds_byte_identical_packs(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    for path in pipeline.rule_files(root / "regions"):
        text = path.read_text(encoding="utf-8")
        path.write_text(perturb_whitespace(text, 11), encoding="utf-8")
    assert policyc("fmt", cwd=root).returncode == 0
    result = pipeline.build(root)
    assert result.ok
    for name, content in result.files.items():
        assert (GENERATED / name).read_text(encoding="utf-8") == content, name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited=edited_rule_files())
def test_any_file_that_parses_formats_idempotently_with_its_meaning(
        edited: tuple[str, bytes, list[str]]) -> None:
    """The fuzzer's random edits (tokens deleted, duplicated, swapped ...): whatever still
    parses formats without a fault, to a fixed point, with the same AST and comments."""
    _name, data, _edits = edited
    try:
        text = data.decode("utf-8")
        before = meaning(text)  # a duplicated clause parses but has no AST (P200)
        once = fmt(text)
    except (UnicodeDecodeError, CompileError):
        return
    assert fmt(once) == once
    assert meaning(once) == before
    assert comments(once) == comments(text)


def test_braces_in_comments_and_texts_do_not_move_comments() -> None:
    text = ('standard s { # a {x}\n  # own {y}\n  total 1\n}\n\ncategory "c{" 1 # before {\n'
            '{\n  item 1 "x" 1 {\n    # a {b}\n    award 1 "r"\n  }\n}\n')
    assert fmt(text) == ('standard s {  # a {x}\n  # own {y}\n  total 1\n}\n\n# before {\n'
                         'category "c{" 1 {\n  item 1 "x" 1 {\n    # a {b}\n    award 1 "r"\n'
                         '  }\n}\n')


# ---------------------------------------------------------------- a standard based on another

BASED_ON_MESSY = """# a derived standard
standard   derived   based   on
  jilin/medical_inpatient-2026 {   # on the opening line
 title "t"
}
replace   bonus item 3 "标签"   5.0 {  # on the replaced item's line
  content "a"   "b"
  deduct 1 per missing cap 2 "r" [JL-1]
}
# before a removal
remove item   4
remove   fact y   # after a removal
item 5    points 2.0
item 6 cap   deductions at 3
  "because" [JL-2,JL-3]
text item 7   basis "one"
   "two"   "three"   # after a text
replace fact z "Z": int in 0.. optional
add to category "类" {   item 9 "new" 1 { content "c" }
  # before an added item
  item 10 "b" 2 {
  award 1 "x" }
}
"""

BASED_ON_CANONICAL = """# a derived standard
standard derived based on jilin/medical_inpatient-2026 {  # on the opening line
  title "t"
}

replace bonus item 3 "标签" 5.0 {  # on the replaced item's line
  content "a"
          "b"
  deduct 1 per missing cap 2 "r" [JL-1]
}

# before a removal
remove item 4
remove fact y  # after a removal
item 5 points 2.0
item 6 cap deductions at 3 "because" [JL-2, JL-3]
text item 7 basis "one"
                  "two"
                  "three"  # after a text
replace fact z "Z": int in 0.. optional

add to category "类" {
  item 9 "new" 1 {
    content "c"
  }

  # before an added item
  item 10 "b" 2 {
    award 1 "x"
  }
}
"""


def test_a_based_on_standard_and_its_changes_format_to_the_canonical_layout() -> None:
    """Every construct of `based on` (the heading, `replace item`, `remove item`, `item N
    points`, `item N cap deductions`, `text item`, `replace fact`, `remove fact`, `add to
    category`): odd spacing and joined lines format to one layout, comments kept."""
    formatted = fmt(BASED_ON_MESSY)
    assert formatted == BASED_ON_CANONICAL
    assert fmt(formatted) == formatted
    assert meaning(formatted) == meaning(BASED_ON_MESSY)
    assert comments(formatted) == comments(BASED_ON_MESSY)
    assert _neighbours(formatted) == [
        ("# a derived standard", "standard"),
        ("# on the opening line", "standard derived based on jilin/medical_inpatient-2026 {"),
        ("# on the replaced item's line", 'replace bonus item 3 "标签" 5.0 {'),
        ("# before a removal", "remove"), ("# after a removal", "remove fact y"),
        ("# after a text", '"three"'), ("# before an added item", "item")]


@pytest.mark.parametrize("seed", range(8))
def test_a_based_on_standard_formats_back_from_any_layout(seed: int) -> None:
    perturbed = perturb_whitespace(BASED_ON_CANONICAL, seed)
    assert meaning(perturbed) == meaning(BASED_ON_CANONICAL)
    assert fmt(perturbed) == BASED_ON_CANONICAL
    moved = comments_onto_own_lines(perturbed)
    once = fmt(moved)
    assert fmt(once) == once
    assert comments(once) == comments(BASED_ON_CANONICAL)


def test_a_long_item_cap_breaks_before_its_reason_and_a_long_text_keeps_its_lines() -> None:
    reason = "理由" * 40
    text = (f'standard d based on b {{\n  title "t"\n}}\n\n'
            f'item 6 cap deductions at 3 "{reason}" [JL-2]\n'
            f'text item 1 content "{reason}" "{reason}"\n')
    assert fmt(text) == (f'standard d based on b {{\n  title "t"\n}}\n\n'
                         f'item 6 cap deductions at 3\n  "{reason}" [JL-2]\n'
                         f'text item 1 content "{reason}"\n'
                         f'                    "{reason}"\n')


def test_a_comment_at_the_end_of_a_joined_block_line_stays_with_its_statement() -> None:
    """`framework jilin { region … effective … to open  # note` on one line: the comment
    trails `effective`, the statement it stood beside, not the block's opening line (a case
    the random layouts found)."""
    original = TEXTS["regions/jilin/framework-2025.policy"]
    start = original.index("framework jilin {")
    end = original.index("  # 第二十条")
    joined = original[:start] + " ".join(original[start:end].split()) + original[end:]
    assert joined.count("\n") < original.count("\n")
    assert fmt(joined) == original
