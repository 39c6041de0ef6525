"""Rule file text -> typed AST.

This is the only module that sees Lark: its trees are turned into `ast` nodes here, and its
exceptions into `Diagnostic`s, so nothing of Lark leaks into the rest of the compiler.
"""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
import hashlib
import re
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import lark
from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.tree import Meta

from . import ast
from .diagnostics import CompileError, Diagnostic

GRAMMAR_FILE = "policy.lark"

# How deeply a rule file may nest: blocks, rules and expressions together, each operator,
# `not`, `if` or function call one level (the shipped rule files reach 9). Beyond it a file is
# refused with P101 at the expression, long before Python's own recursion limit is near, so
# every later stage (which walks the tree recursively) is safe.
MAX_NESTING = 64
# The most digits a number in a rule file may have (Decimal's 28 significant digits).
MAX_DIGITS = 28
# The escapes a quoted text admits; any other is P102 at its column.
ESCAPES = {'"': '"', "\\": "\\", "n": "\n"}
# The most syntax errors reported for one file: beyond it, the rest are mostly consequences.
MAX_SYNTAX_ERRORS = 50
# Full-width punctuation a Chinese input method types, and the ASCII character the rule
# language needs instead (P104).
FULL_WIDTH = {"“": '"', "”": '"', "：": ":", "，": ",", "（": "(", "）": ")", "【": "[",
              "】": "]", "；": ";", "＞": ">", "＜": "<", "＝": "=", "％": "%", "．": "."}
# Keywords that start a top-level declaration, an item or a part: one of them at the start of
# a line while a block of the same or an enclosing kind is still open shows a missing '}'.
_BLOCK_KEYWORDS = {"standard": 0, "framework": 0, "enum": 0, "record": 0, "fact": 0,
                   "let": 0, "cohort": 0, "category": 0, "replace": 0, "remove": 0,
                   "add": 0, "text": 0, "item": 1, "bonus": 1, "part": 2}


def _grammar_text() -> str:
    """The grammar shipped in the wheel, or grammar/ beside src/ in a source checkout."""
    packaged = resources.files(__package__).joinpath(GRAMMAR_FILE)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[3] / "grammar" / GRAMMAR_FILE
    return checkout.read_text(encoding="utf-8")


# The comments the lexer passes over while one text is parsed (see `parse_syntax`).
_comments: ContextVar[list[Token] | None] = ContextVar("_comments", default=None)


def _keep_comment(token: Token) -> Token:
    kept = _comments.get()
    if kept is not None:
        kept.append(token)
    return token


@cache
def _lark() -> lark.Lark:
    return lark.Lark(
        _grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        start=["start", "item"],
        lexer_callbacks={"COMMENT": _keep_comment},
    )


@dataclass(frozen=True)
class Syntax:
    """One parse of a rule file: Lark's tree and the comments the grammar ignores (in
    order, with their positions), which `formatter` puts back where they were."""

    tree: lark.Tree[Token]
    comments: tuple[Token, ...]


def parse_syntax(text: str, file: str) -> Syntax:
    """The tree of a rule file's text and its comments; raises CompileError on a syntax
    error. `parse_text` (build, check) and `formatter` (fmt) both start from this one parse."""
    kept: list[Token] = []
    reset = _comments.set(kept)
    try:
        tree = _parse_all(text, file, "start")
    finally:
        _comments.reset(reset)
    _check_tree(tree, file)
    return Syntax(tree, tuple(kept))


def parse_file(path: Path, display_path: str | None = None) -> ast.Standard | ast.Framework:
    """Parse one rule file; raises CompileError with positioned diagnostics."""
    return parse_bytes(path.read_bytes(), display_path or str(path))


def parse_bytes(data: bytes, name: str) -> ast.Standard | ast.Framework:
    """Parse a rule file's bytes as read (UTF-8, a BOM allowed; the SHA-256 is of the bytes)."""
    body = data.removeprefix(codecs.BOM_UTF8)  # a BOM is no character of line 1
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CompileError([_not_utf8(body, error, name)]) from None
    return parse_text(text, name, hashlib.sha256(data).hexdigest())


def _not_utf8(data: bytes, error: UnicodeDecodeError, file: str) -> Diagnostic:
    """P001 at the line and column (in characters, as the parser counts) of the first byte
    of `data` (a file's bytes after any BOM) that is not UTF-8."""
    bad = error.start
    line_start = data.rfind(b"\n", 0, bad) + 1
    before = data[line_start:bad].decode("utf-8", errors="replace")
    line, column = data.count(b"\n", 0, bad) + 1, len(before) + 1
    return Diagnostic("P001", f"the file is not UTF-8 text: byte 0x{data[bad]:02x} cannot "
                      f"start or continue a character ({error.reason})",
                      ast.Span(file, line, column, line, column + 1),
                      hint="save rule files as UTF-8 (an editor's 'encoding' setting; text "
                      "from GBK or GB18030 files must be converted)")


def parse_text(text: str, file: str,
               source_sha256: str | None = None) -> ast.Standard | ast.Framework:
    """Parse rule file text. `file` names the file in spans and messages."""
    return build_ast(parse_syntax(text, file).tree, file,
                     source_sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest())


def expression_ast(tree: lark.Tree[Token], file: str) -> ast.Expr:
    """The AST of one expression subtree of a parsed rule file (`parse_syntax`)."""
    return cast("ast.Expr", _AstBuilder(file).transform(tree))


def build_ast(tree: lark.Tree[Token], file: str, digest: str) -> ast.Standard | ast.Framework:
    """The AST of a parsed rule file (`parse_syntax`); `digest` is its SHA-256."""
    builder = _AstBuilder(file)
    try:
        built = builder.transform(tree)
    except lark.exceptions.VisitError as error:
        if isinstance(error.orig_exc, CompileError):
            raise error.orig_exc from None
        raise
    if isinstance(built, _FrameworkParts):
        return built.framework(file, digest)
    header, declarations = built
    based_on = next((d for d in declarations if isinstance(d, ast.BaseRef)), None)
    overrides = tuple(d for d in declarations if isinstance(d, _OVERRIDES))
    if overrides and based_on is None:
        raise CompileError([Diagnostic(
            "B510", f"'{_override_word(overrides[0])}' changes a base standard's item or fact, "
            f"but standard {header.name} is not based on another", overrides[0].span,
            hint=f"write `standard {header.name} based on BASE {{` (BASE: a standard of the "
            "same region, or a pack such as suzhou/inpatient-2023)")])
    return ast.Standard(
        header=header,
        enums=tuple(d for d in declarations if isinstance(d, ast.EnumDecl)),
        records=tuple(d for d in declarations if isinstance(d, ast.RecordDecl)),
        facts=tuple(d for d in declarations if isinstance(d, ast.FactDecl)),
        lets=tuple(d for d in declarations if isinstance(d, ast.LetDecl)),
        cohorts=tuple(d for d in declarations if isinstance(d, ast.CohortMean | ast.CohortRank)),
        categories=tuple(d for d in declarations if isinstance(d, ast.Category)),
        path=file,
        source_sha256=digest,
        based_on=based_on,
        overrides=overrides,
    )


_OVERRIDES = (ast.ReplaceItem, ast.RemoveItem, ast.ItemPoints, ast.ItemCap, ast.ItemText,
              ast.AddItems, ast.ReplaceFact, ast.RemoveFact)


def _override_word(override: ast.Override) -> str:
    """How an override starts in the rule file, for messages."""
    words: dict[type[Any], str] = {
        ast.ReplaceItem: "replace item", ast.RemoveItem: "remove item",
        ast.ItemPoints: "item ... points", ast.ItemCap: "item ... cap deductions",
        ast.ItemText: "text item", ast.AddItems: "add to category", ast.ReplaceFact: "replace fact",
        ast.RemoveFact: "remove fact"}
    return words[type(override)]


CONSTANT_KINDS: dict[str, Literal["number", "percent", "compare"]] = {
    "DECIMAL": "number", "INT": "number", "PERCENT": "percent", "COMPARE": "compare"}


def constants(text: str, file: str) -> list[ast.Constant]:
    """Every number, percent and comparison operator of a rule file, in the order written,
    each with its span and the grammar rules it stands in (dates, texts and comments are
    none of these). Raises CompileError when the text does not parse."""
    found: list[ast.Constant] = []
    stack: list[tuple[lark.Tree[Token], tuple[str, ...]]] = [(parse_syntax(text, file).tree, ())]
    while stack:  # no recursion, as in _check_tree
        node, within = stack.pop()
        within = (str(node.data), *within)
        for child in node.children:
            if isinstance(child, lark.Tree):
                stack.append((child, within))
            elif child.type in CONSTANT_KINDS:
                line, column = child.line or 1, child.column or 1
                found.append(ast.Constant(
                    CONSTANT_KINDS[child.type], str(child), within,
                    ast.Span(file, line, column, child.end_line or line,
                             child.end_column or column + len(child))))
    found.sort(key=lambda constant: (constant.span.line, constant.span.column))
    return found


def parse_item(text: str, file: str) -> ast.Item:
    """One item written in the rule language (a city plugin's new or replacing item)."""
    tree = _parse_all(text, file, "item")
    _check_tree(tree, file)
    try:
        item = _AstBuilder(file).transform(tree)
    except lark.exceptions.VisitError as error:
        if isinstance(error.orig_exc, CompileError):
            raise error.orig_exc from None
        raise
    return cast("ast.Item", item)


C = TypeVar("C", bound="ast.FrameworkClause")


class _FrameworkParts:
    """A framework's pieces as the tree gives them, made into `ast.Framework` once the
    file's name and hash are known."""

    def __init__(self, name: str, values: dict[str, object],
                 clauses: list[ast.FrameworkClause], span: ast.Span) -> None:
        self.name, self.values, self.clauses, self.span = name, values, clauses, span

    def one(self, kind: type[C]) -> C | None:
        """The clause of this kind (each but `grade` is given at most once)."""
        return next((c for c in self.clauses if isinstance(c, kind)), None)

    def framework(self, file: str, digest: str) -> ast.Framework:
        region = cast("tuple[str, str] | None", self.values.get("region"))
        effective = cast("tuple[dt.date, dt.date | None] | None", self.values.get("effective"))
        return ast.Framework(
            name=self.name,
            region=region[0] if region else None,
            region_label=region[1] if region else None,
            title=cast("str | None", self.values.get("title")),
            version=cast("int | None", self.values.get("version")),
            effective_from=effective[0] if effective else None,
            effective_to=effective[1] if effective else None,
            source=cast("str | None", self.values.get("source")),
            grades=tuple(c for c in self.clauses if isinstance(c, ast.GradeRule)),
            deductions_total=self.one(ast.DeductionsTotal),
            bonus_limit=self.one(ast.BonusLimit),
            composite=self.one(ast.Composite),
            other_breach=self.one(ast.OtherBreach),
            downgrade=self.one(ast.Downgrade),
            veto=self.one(ast.Veto),
            tenure=self.one(ast.Tenure),
            terminated=self.one(ast.Terminated),
            exit_with_violations=self.one(ast.ExitWithViolations),
            exit_without_violations=self.one(ast.ExitWithoutViolations),
            referral=self.one(ast.Referral),
            evidence=self.one(ast.Evidence),
            path=file, source_sha256=digest, span=self.span)


# ---------------------------------------------------------------- syntax errors

_READABLE_TERMINALS = {
    "NAME": "a name (letters, digits, _)",
    "STRING": 'a quoted text ("...")',
    "DECIMAL": "a number",
    "PERCENT": "a percentage such as 80%",
    "INT": "a whole number",
    "DATE": "a date such as 2023-01-01",
    "CITE": "a reading id such as SZ-1",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COLON": "':'",
    "COMMA": "','",
    "EQUAL": "'='",
    "DOT": "'.'",
    "COMPARE": "a comparison (>=, >, <=, <, ==, !=)",
    "$END": "the end of the file",
}


def _readable(terminal: str) -> str:
    if terminal in _READABLE_TERMINALS:
        return _READABLE_TERMINALS[terminal]
    if terminal.startswith("__ANON"):
        return "a symbol"
    return f"'{terminal.lower()}'"


def _parse_all(text: str, file: str, start: str) -> lark.Tree[Token]:
    """The tree of `text`, or CompileError with every syntax error found: after an error the
    parser drops the offending token and goes on, reporting at most one error a line (the
    rest of a line after an error is mostly its consequence) and MAX_SYNTAX_ERRORS in all.
    A block never closed is reported where it was opened (P105)."""
    found: list[Diagnostic] = []
    at_end: list[Diagnostic] = []  # errors at the end of the file: consequences of a P105

    def record(error: UnexpectedInput) -> bool:
        diagnostic = _syntax_diagnostic(error, text, file)
        if isinstance(error, UnexpectedEOF) or (isinstance(error, UnexpectedToken)
                                                 and error.token.type == "$END"):
            at_end.append(diagnostic)
            if not found or found[-1].span.line != diagnostic.span.line:
                found.append(diagnostic)
            return False
        if not found or found[-1].span.line != diagnostic.span.line:
            found.append(diagnostic)  # one a line: the rest of it is mostly consequences
        if isinstance(error, UnexpectedToken):
            _recover(error)
        elif isinstance(error, UnexpectedCharacters):
            _recover_characters(error, text)
        return len(found) < MAX_SYNTAX_ERRORS

    tree: lark.Tree[Token] | None = None
    try:
        tree = _lark().parse(text, start=start, on_error=record)
    except UnexpectedInput as error:
        if not found or found[-1] != _syntax_diagnostic(error, text, file):
            record(error)
    if not found and tree is not None:
        return tree
    unclosed = _unclosed_blocks(text, file)
    if unclosed:
        revealed = min(line for _, line in unclosed)
        found = [d for d in found if d.span.line < revealed and d not in at_end] \
            + [d for d, _ in unclosed]
        found.sort(key=lambda d: (d.span.line, d.span.column))
    raise CompileError(found[:MAX_SYNTAX_ERRORS])


# What the parser may take to be missing after a syntax error, so that it goes on as if the
# author had written it (and one mistake is one error, not one a line after it).
_STAND_INS = {"STRING": '""', "COLON": ":", "DECIMAL": "0", "COMMA": ","}


def _recover(error: UnexpectedToken) -> None:
    """Make the parser go on after `error`: as if a missing label, ':', number or ',' were
    there (before the unexpected token, or instead of it); else the token is dropped. A
    keyword the lexer took for a name in the wrong context is taken as the keyword again."""
    parser_state = error.interactive_parser
    token = error.token
    # what the lexer, in the context of the error, may have taken for something else: a
    # word is tried as a keyword and as a name too
    readings = [token]
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(token)):
        readings += [Token(kind, str(token)) for kind in (str(token).upper(), "NAME")
                     if kind != token.type]
    trials: list[list[Token]] = [[reading] for reading in readings[1:]]
    for terminal, text in _STAND_INS.items():
        if terminal in error.expected:
            stand_in = Token(terminal, text)
            trials += [[stand_in, reading] for reading in readings] + [[stand_in]]
    for tokens in trials:
        trial = parser_state.copy()  # type: ignore[no-untyped-call]
        try:
            for each in tokens:
                trial.feed_token(each)
        except UnexpectedInput:
            continue
        for each in tokens:
            parser_state.feed_token(each)
        return


_FULL_WIDTH_TERMINALS = {":": "COLON", ",": "COMMA", "(": "LPAR", ")": "RPAR", "[": "LSQB",
                         "]": "RSQB"}


def _recover_characters(error: UnexpectedCharacters, text: str) -> None:
    """Go on after a character the lexer cannot take: a full-width quoted text is taken as a
    quoted text, a full-width ':' ',' '(' ... as its ASCII character, and a run of unquoted
    Chinese text as a quoted text (or skipped), so one mistake gives one error."""
    parser_state = error.interactive_parser
    lexer_state = parser_state.lexer_thread.state
    if lexer_state is None:  # pragma: no cover - Lark always has one after a lexing error
        return
    line_counter = lexer_state.line_ctr
    start = line_counter.char_pos
    char = text[start] if start < len(text) else ""
    end, token = start + 1, None
    if char in "“”":
        close = min((i for i in (text.find("”", start + 1), text.find('"', start + 1),
                                 text.find("\n", start)) if i != -1), default=len(text))
        end = close + 1 if close < len(text) and text[close] != "\n" else close
        token = Token("STRING", '""')
    elif char in FULL_WIDTH and FULL_WIDTH[char] in _FULL_WIDTH_TERMINALS:
        token = Token(_FULL_WIDTH_TERMINALS[FULL_WIDTH[char]], FULL_WIDTH[char])
    elif char and ord(char) > 127:
        while end < len(text) and ord(text[end]) > 127 and text[end] not in FULL_WIDTH:
            end += 1
        token = Token("STRING", '""')
    if token is not None:
        trial = parser_state.copy()  # type: ignore[no-untyped-call]
        try:
            trial.feed_token(token)
        except UnexpectedInput:
            token = None
        if token is not None:
            parser_state.feed_token(token)
    line_counter.feed(text[start:end])


def _ascii_punctuation(line: str) -> str:
    """The line with full-width punctuation outside quoted texts made ASCII (a full-width
    quote opens or closes a quoted text, as the author meant it to)."""
    out: list[str] = []
    quoted = escaped = False
    for char in line:
        if quoted:
            if char in "“”" or (char == '"' and not escaped):
                quoted, char = False, '"'
            escaped = char == "\\" and not escaped
        else:
            char = FULL_WIDTH.get(char, char)
            quoted = char == '"'
        out.append(char)
    return "".join(out)


def _code_of_line(line: str) -> str:
    """A line without its quoted texts (kept as "") and its comment."""
    without_strings = re.sub(r'"(?:[^"\\\n]|\\.)*"', lambda m: '"' + " " * (len(m[0]) - 2)
                             + '"', line)  # the same length: columns stay
    return without_strings.split("#", 1)[0]


def _unclosed_blocks(text: str, file: str) -> list[tuple[Diagnostic, int]]:
    """Blocks opened with '{' and never closed: each with the line that shows it (a keyword
    of the same or an enclosing level while the block is open, or the end of the file)."""
    open_blocks: list[tuple[int, int, int, str]] = []  # level, line, column, first word
    unclosed: list[tuple[Diagnostic, int]] = []

    def report(block: tuple[int, int, int, str], shown_at: int) -> None:
        _, line, column, word = block
        what = f"'{word}' block" if word else "block"
        where = "the end of the file" if shown_at == 0 else f"line {shown_at}"
        unclosed.append((Diagnostic(
            "P105", f"this {what} opened with '{{' is never closed", ast.Span(
                file, line, column, line, column + 1),
            hint=f"add '}}' where the {word or 'block'} ends (before {where})"),
            shown_at or line_count + 1))

    lines = text.split("\n")
    line_count = len(lines)
    indents: dict[int, int] = {}  # line -> its indentation
    for number, raw in enumerate(lines, start=1):
        code = _code_of_line(raw)
        indents[number] = len(code) - len(code.lstrip())
        words = code.split()
        first = words[0] if words else ""
        level = _BLOCK_KEYWORDS.get(first)
        if level is not None:
            while open_blocks and open_blocks[-1][0] >= level:
                report(open_blocks.pop(), number)
        for column, char in enumerate(code, start=1):
            if char == "{":
                block_level = level if level is not None else 3
                open_blocks.append((block_level, number, column, first if level is not None
                                    else ""))
                level = None  # a second '{' on the line is an inner block
            elif char == "}" and open_blocks:
                if first == "}" and column == indents[number] + 1:
                    # a '}' alone on its line closes the block opened at its indentation:
                    # blocks opened further in were never closed
                    while (len(open_blocks) > 1
                           and indents[open_blocks[-1][1]] > indents[number]):
                        report(open_blocks.pop(), number)
                open_blocks.pop()
    for block in open_blocks:
        report(block, 0)
    return unclosed


def _syntax_diagnostic(error: UnexpectedInput, text: str, file: str) -> Diagnostic:
    line = max(1, getattr(error, "line", 1) or 1)
    column = max(1, getattr(error, "column", 1) or 1)
    hint = None
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        char = text[position] if position < len(text) else ""
        message = f"unexpected character {char!r}"
        if char in FULL_WIDTH:
            ascii_char = FULL_WIDTH[char]
            line_text = text.split("\n")[line - 1].rstrip("\r")
            fixed = _ascii_punctuation(line_text).strip()
            span = ast.Span(file, line, column, line, column + 1)
            return Diagnostic("P104", f"full-width {char!r} outside a quoted text: use the ASCII "
                              f"character {ascii_char!r}", span, hint=f"write: {fixed}")
        if char and ord(char) > 127:
            hint = 'Chinese text goes inside quotes ("..."); names use ASCII letters, digits and _'
        elif char == "'":
            hint = 'texts are quoted with double quotes ("...")'
    elif isinstance(error, UnexpectedToken):
        token = error.token
        found = "the end of the file" if token.type == "$END" else repr(str(token))
        expected = sorted({_readable(t) for t in error.expected})
        message = f"unexpected {found}; expected {_one_of(expected)}"
        hint = _hint_for(token, error.expected)
        if token.type == "$END":
            line, column = _last_position(text)
    elif isinstance(error, UnexpectedEOF):
        expected = sorted({_readable(t) for t in error.expected})
        message = f"the file ends too early; expected {_one_of(expected)}"
        line, column = _last_position(text)
    else:  # pragma: no cover - Lark raises only the three kinds above
        message = str(error)
    width = 1
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        width = max(1, len(str(error.token).split("\n")[0]))
    span = ast.Span(file, line, column, line, column + width)
    return Diagnostic("P100", message, span, hint=hint)


def _one_of(expected: list[str]) -> str:
    if len(expected) == 1:
        return expected[0]
    if len(expected) > 8:
        return ", ".join(expected[:8]) + ", ..."
    return "one of " + ", ".join(expected)


def _hint_for(token: Token, expected: set[str]) -> str | None:
    if "STRING" in expected and token.type == "NAME":
        return "every item, fact and rule needs a quoted label or reason text here"
    if "COMMA" in expected and "RBRACE" in expected:
        return "separate the entries of tiers and lookup blocks with commas"
    if "RBRACE" in expected and token.type == "$END":
        return "a '{' is not closed"
    if "PERCENT" in expected and token.type in {"DECIMAL", "INT"}:
        return "write percentages with a % sign, e.g. 80%"
    return None


def _last_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")  # lines end at \n only, as Lark counts them
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return len(lines), len(lines[-1].rstrip("\r")) + 1


def _check_tree(tree: lark.Tree[Token], file: str) -> None:
    """What the grammar admits but the later stages cannot take: nesting beyond MAX_NESTING,
    numbers beyond MAX_DIGITS, unknown escapes in quoted texts. Walks without recursion."""
    problems: list[Diagnostic] = []
    stack: list[tuple[lark.Tree[Token], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            problems.append(_too_deep(node, file))
            continue
        for child in node.children:
            if isinstance(child, lark.Tree):
                stack.append((child, depth + 1))
            elif isinstance(child, Token):
                problems.extend(_token_problems(child, file))
    if problems:
        problems.sort(key=lambda d: (d.span.line, d.span.column))
        once = [d for i, d in enumerate(problems) if d.code != "P101" or not any(
            (e.code, e.span.line) == ("P101", d.span.line) for e in problems[:i])]
        raise CompileError(once[:20])  # one P101 a line: the first level beyond the limit


def _too_deep(node: lark.Tree[Token], file: str) -> Diagnostic:
    meta = node.meta
    line, column = (1, 1) if getattr(meta, "empty", True) else (meta.line, meta.column)
    return Diagnostic("P101", f"this nests more than {MAX_NESTING} levels deep (blocks, "
                      "rules and expressions together)", ast.Span(file, line, column, line,
                                                                   column + 1),
                      hint="split a long expression into derived values (let NAME \"label\" "
                      "= ...) and use them; a chain of operators counts one level each")


def _token_problems(token: Token, file: str) -> list[Diagnostic]:
    line, column = token.line or 1, token.column or 1
    if token.type in {"DECIMAL", "PERCENT", "INT"}:
        digits = len(str(token).rstrip("%").replace(".", "").lstrip("0"))
        if digits > MAX_DIGITS:
            return [Diagnostic("P103", f"a number has at most {MAX_DIGITS} digits; this one "
                               f"has {digits}", ast.Span(file, line, column, line,
                                                         column + len(token)))]
        return []
    if token.type != "STRING":
        return []
    found = []
    for escape in re.finditer(r"\\(.)", str(token)[1:-1], re.DOTALL):
        if escape.group(1) not in ESCAPES:
            at = column + 1 + escape.start()
            found.append(Diagnostic(
                "P102", f"unknown escape '\\{escape.group(1)}' in a quoted text",
                ast.Span(file, line, at, line, at + 2),
                hint='the escapes are \\" (a quote), \\\\ (a backslash) and \\n (a new '
                'line); write \\\\ for a backslash itself, e.g. "C:\\\\new"'))
    return found


# ---------------------------------------------------------------- tree -> AST


def _decimal(token: Token | str) -> Decimal:
    try:
        return Decimal(str(token).rstrip("%"))
    except InvalidOperation:  # pragma: no cover - the grammar admits only digits
        raise ValueError(f"not a number: {token}") from None


def _unquote(token: Token) -> str:
    """A quoted text's content, its escapes decoded in one pass (so "C:\\\\new" keeps its
    backslash); `_check_tree` has refused unknown escapes already."""
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), m.group(0)), str(token)[1:-1],
                  flags=re.DOTALL)


@v_args(inline=True, meta=True)
class _AstBuilder(Transformer[Token, Any]):
    """Builds AST nodes bottom-up; every method receives the rule's Meta first."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file

    def _span(self, meta: Meta | Token) -> ast.Span:
        if isinstance(meta, Token):
            line, column = meta.line or 1, meta.column or 1
            return ast.Span(self.file, line, column, meta.end_line or line,
                            meta.end_column or column + 1)
        if getattr(meta, "empty", True):
            return ast.Span(self.file, 1, 1, 1, 1)
        return ast.Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _error(self, where: Meta | Token | ast.Span, message: str,
               hint: str | None = None, code: str = "P200") -> CompileError:
        span = where if isinstance(where, ast.Span) else self._span(where)
        return CompileError([Diagnostic(code, message, span, hint=hint)])

    # -- top level
    def start(self, meta: Meta, header: Any, *declarations: object) -> Any:
        if isinstance(header, _FrameworkParts):
            return header
        if isinstance(header, tuple):  # a derived standard's header, and its base
            header, base = header
            declarations = (base, *declarations)
        return header, declarations

    # -- a framework
    def framework_file(self, meta: Meta, name: Token, *clauses: Any) -> _FrameworkParts:
        values: dict[str, object] = {}
        found: list[ast.FrameworkClause] = []
        for clause in clauses:
            if isinstance(clause, tuple):  # region, title, version, effective, source
                key, value, where = clause
                if key in values:
                    raise self._error(where, f"'{key}' is given twice in framework {name}")
                values[key] = value
                continue
            first = next((c for c in found if type(c) is type(clause)), None)
            if first is not None and not isinstance(clause, ast.GradeRule):
                raise self._error(clause.span, f"'{clause.keyword}' is given twice in framework "
                                  f"{name} (first on line {first.span.line})",
                                  hint="give each clause once")
            found.append(clause)
        return _FrameworkParts(str(name), values, found, self._span(meta))

    def fw_deductions(self, meta: Meta, points: ast.Number,
                      reason: ast.Reason) -> ast.DeductionsTotal:
        return ast.DeductionsTotal(points.value, reason, self._span(meta))

    def fw_bonus_limit(self, meta: Meta, points: ast.Number,
                       reason: ast.Reason) -> ast.BonusLimit:
        return ast.BonusLimit(points.value, True, reason, self._span(meta))

    def fw_composite(self, meta: Meta, own: Token, subordinates: Token,
                     reason: ast.Reason) -> ast.Composite:
        return ast.Composite(_decimal(own), _decimal(subordinates), reason, self._span(meta))

    def fw_other_breach(self, meta: Meta, renewal: str,
                        reason: ast.Reason) -> ast.OtherBreach:
        return ast.OtherBreach(cast("ast.Renewal", renewal), reason, self._span(meta))

    def fw_downgrade(self, meta: Meta, national: Token, provincial: Token,
                     reason: ast.Reason) -> ast.Downgrade:
        return ast.Downgrade(self._int(national), self._int(provincial), reason,
                             self._span(meta))

    def fw_veto(self, meta: Meta, grade: Token, reason: ast.Reason) -> ast.Veto:
        return ast.Veto(_unquote(grade), reason, self._span(meta))

    def fw_tenure(self, meta: Meta, months: Token, reason: ast.Reason) -> ast.Tenure:
        return ast.Tenure(self._int(months), reason, self._span(meta))

    def fw_terminated(self, meta: Meta, refund: Token, reason: ast.Reason) -> ast.Terminated:
        return ast.Terminated(_decimal(refund), reason, self._span(meta))

    def fw_exit_violations(self, meta: Meta, grade: Token, score: ast.Number,
                           reason: ast.Reason) -> ast.ExitWithViolations:
        return ast.ExitWithViolations(_unquote(grade), score.value, reason, self._span(meta))

    def fw_exit_clean(self, meta: Meta, refund: Token,
                      reason: ast.Reason) -> ast.ExitWithoutViolations:
        return ast.ExitWithoutViolations(_decimal(refund), reason, self._span(meta))

    def fw_referral(self, meta: Meta, reason: ast.Reason) -> ast.Referral:
        return ast.Referral(reason, self._span(meta))

    def fw_evidence(self, meta: Meta, reason: ast.Reason) -> ast.Evidence:
        return ast.Evidence(reason, self._span(meta))

    def _int(self, token: Token) -> int:
        """A whole number of months or grades; the grammar admits digits only."""
        if len(token) > 9:
            raise self._error(token, f"{token} is too large a number here", code="P202")
        return int(token)

    def fw_grade(self, meta: Meta, label: Token, floor: ast.Number, refund: Token,
                 *rest: Any) -> ast.GradeRule:
        step: tuple[Decimal, Decimal] | None = None
        renewal = "none"
        repeat: tuple[str, str] | None = None
        publicize = False
        for part in rest[:-1]:
            if isinstance(part, tuple) and part[0] == "step":
                step = (part[1], part[2])
            elif isinstance(part, tuple) and part[0] == "repeat":
                repeat = (part[1], part[2])
            elif part == "publicize":
                publicize = True
            else:
                renewal = str(part)
        return ast.GradeRule(
            label=_unquote(label), floor=floor.value, refund=_decimal(refund),
            step=step[0] if step else None, below=step[1] if step else None,
            renewal=cast("ast.Renewal", renewal),
            repeat_grade=repeat[0] if repeat else None,
            repeat_renewal=cast("ast.Renewal | None", repeat[1] if repeat else None),
            publicize=publicize, reason=rest[-1], span=self._span(meta))

    def refund_step(self, meta: Meta, step: Token, below: ast.Number) -> tuple[str, Any, Any]:
        return "step", _decimal(step), below.value

    def repeat(self, meta: Meta, grade: Token, renewal: str) -> tuple[str, Any, Any]:
        return "repeat", _unquote(grade), renewal

    def publicize(self, meta: Meta) -> str:
        return "publicize"

    def based_on(self, meta: Meta, name: Token) -> ast.BaseRef:
        return ast.BaseRef(str(name), self._span(name))

    def standard(self, meta: Meta, name: Token, *fields: Any) -> Any:
        if fields and isinstance(fields[0], ast.BaseRef):
            return self._header(meta, name, fields[1:]), fields[0]
        return self._header(meta, name, fields)

    def _header(self, meta: Meta, name: Token,
                fields: tuple[tuple[str, object, Token], ...]) -> ast.Header:
        values: dict[str, object] = {}
        for key, value, where in fields:
            if key in values:
                raise self._error(where, f"'{key}' is given twice in the standard's header")
            values[key] = value
        region = cast("tuple[str, str] | None", values.get("region"))
        effective = cast("tuple[dt.date, dt.date | None] | None", values.get("effective"))
        limit = cast("tuple[Decimal, ast.Reason | None] | None", values.get("bonus_limit"))
        return ast.Header(
            name=str(name),
            region=region[0] if region else None,
            region_label=region[1] if region else None,
            title=cast("str | None", values.get("title")),
            version=cast("int | None", values.get("version")),
            effective_from=effective[0] if effective else None,
            effective_to=effective[1] if effective else None,
            applies_to=cast("str | None", values.get("applies_to")),
            framework=cast("str | None", values.get("framework")),
            total=cast("Decimal | None", values.get("total")),
            bonus_included=bool(values.get("bonus_included", False)),
            bonus_limit=limit[0] if limit else None,
            rescale=cast("Decimal | None", values.get("rescale")),
            source=cast("str | None", values.get("source")),
            span=self._span(meta),
            bonus_limit_reason=limit[1] if limit else None,
        )

    def region(self, meta: Meta, name: Token, label: Token) -> tuple[str, object, Meta]:
        return "region", (str(name), _unquote(label)), meta

    def title(self, meta: Meta, text: Token) -> tuple[str, object, Meta]:
        return "title", _unquote(text), meta

    def version(self, meta: Meta, year: Token) -> tuple[str, object, Meta]:
        return "version", int(year), meta

    def effective(self, meta: Meta, start: Token, end: Token | None) -> tuple[str, object, Meta]:
        return "effective", (self._date(start), self._date(end) if end else None), meta

    def open(self, meta: Meta) -> None:
        return None

    def _date(self, token: Token) -> dt.date:
        try:
            return dt.date.fromisoformat(str(token))
        except ValueError:
            raise self._error(token, f"{token} is not a calendar date",
                              code="P201") from None

    def applies_to(self, meta: Meta, text: Token) -> tuple[str, object, Meta]:
        return "applies_to", _unquote(text), meta

    def framework(self, meta: Meta, name: Token) -> tuple[str, object, Meta]:
        return "framework", str(name), meta

    def total(self, meta: Meta, points: ast.Number) -> tuple[str, object, Meta]:
        return "total", points.value, meta

    def bonus_included(self, meta: Meta) -> tuple[str, object, Meta]:
        return "bonus_included", True, meta

    def bonus_limit(self, meta: Meta, points: ast.Number,
                    reason: ast.Reason | None = None) -> tuple[str, object, Meta]:
        return "bonus_limit", (points.value, reason), meta

    def rescale(self, meta: Meta, points: ast.Number) -> tuple[str, object, Meta]:
        return "rescale", points.value, meta

    def source_text(self, meta: Meta, text: Token) -> tuple[str, object, Meta]:
        return "source", _unquote(text), meta

    # -- declarations
    def enum_decl(self, meta: Meta, name: Token, label: Token,
                  *members: ast.EnumMember) -> ast.EnumDecl:
        return ast.EnumDecl(str(name), _unquote(label), members, self._span(meta))

    def enum_member(self, meta: Meta, name: Token, label: Token) -> ast.EnumMember:
        return ast.EnumMember(str(name), _unquote(label), self._span(meta))

    def record_decl(self, meta: Meta, name: Token, label: Token,
                    *fields: ast.FactDecl) -> ast.RecordDecl:
        return ast.RecordDecl(str(name), _unquote(label), fields, self._span(meta))

    def fact_decl(self, meta: Meta, name: Token, label: Token, type_ref: ast.TypeRef,
                  *options: tuple[str, Any, Meta]) -> ast.FactDecl:
        low: Decimal | None = None
        high: Decimal | None = None
        presence: Literal["required", "optional", "conditional"] = "required"
        required_when: ast.Expr | None = None
        default: ast.Expr | None = None
        seen: set[str] = set()
        for kind, value, where in options:
            group = "presence" if kind in {"optional", "required_when", "default"} else kind
            if group in seen:
                raise self._error(
                    where, f"fact '{name}' says more than once whether it is required",
                    hint="use one of: optional, required when <condition>, default <value>",
                ) if group == "presence" else self._error(where, f"fact '{name}' has two ranges")
            seen.add(group)
            if kind == "bounds":
                low, high = value
            elif kind == "optional":
                presence = "optional"
            elif kind == "required_when":
                presence, required_when = "conditional", value
            elif kind == "default":
                presence, default = "optional", value
        return ast.FactDecl(str(name), _unquote(label), type_ref, low, high, presence,
                            required_when, default, self._span(meta))

    field_decl = fact_decl

    def simple_type(self, meta: Meta, name: Token) -> ast.TypeRef:
        return ast.TypeRef(str(name), None, self._span(meta))

    def list_type(self, meta: Meta, name: Token) -> ast.TypeRef:
        return ast.TypeRef(str(name), "list", self._span(meta))

    def set_type(self, meta: Meta, name: Token) -> ast.TypeRef:
        return ast.TypeRef(str(name), "set", self._span(meta))

    def bounds(self, meta: Meta, low: Decimal,
               high: Decimal | None = None) -> tuple[str, object, Meta]:
        return "bounds", (low, high), meta

    def bound(self, meta: Meta, value: Decimal) -> Decimal:
        return value

    def optional(self, meta: Meta) -> tuple[str, object, Meta]:
        return "optional", None, meta

    def required_when(self, meta: Meta, condition: ast.Expr) -> tuple[str, object, Meta]:
        return "required_when", condition, meta

    def default(self, meta: Meta, value: ast.Expr) -> tuple[str, object, Meta]:
        return "default", value, meta

    def let_decl(self, meta: Meta, name: Token, label: Token, expr: ast.Expr) -> ast.LetDecl:
        return ast.LetDecl(str(name), _unquote(label), expr, self._span(meta))

    def cohort_decl(self, meta: Meta, name: Token, label: Token,
                    spec: dict[str, Any]) -> ast.CohortDecl:
        span = self._span(meta)
        if spec["kind"] == "mean":
            return ast.CohortMean(str(name), _unquote(label), spec["value"], spec["group"],
                                  spec["min_size"], spec["override"], span)
        return ast.CohortRank(str(name), _unquote(label), spec["value"], spec["order"],
                              spec["ties"], spec["top"], spec["bottom"], spec["unranked"], span)

    def cohort_mean(self, meta: Meta, value: ast.Expr, group: ast.Expr,
                    *options: tuple[str, object]) -> dict[str, Any]:
        spec: dict[str, Any] = {"kind": "mean", "value": value, "group": group,
                                "min_size": 1, "override": None}
        spec.update(dict(options))
        return spec

    def min_size(self, meta: Meta, size: Token) -> tuple[str, object]:
        return "min_size", int(size)

    def given_override(self, meta: Meta, name: Token) -> tuple[str, object]:
        return "override", str(name)

    def cohort_rank(self, meta: Meta, value: ast.Expr, order: str, ties: str,
                    top: ast.RankBand, bottom: ast.RankBand,
                    unranked: ast.Expr | None = None) -> dict[str, Any]:
        return {"kind": "rank", "value": value, "order": order, "ties": ties, "top": top,
                "bottom": bottom, "unranked": unranked}

    def order(self, meta: Meta, word: Token) -> str:
        return str(word)

    ties = order
    renewal = order
    sign = order
    direction = order
    rounding = order
    text_kind = order
    aggregate_fn = order

    def top_band(self, meta: Meta, size: Token, start: Decimal, step: Decimal) -> ast.RankBand:
        return ast.RankBand(int(size), start, step, self._span(meta))

    bottom_band = top_band

    def unranked(self, meta: Meta, expr: ast.Expr) -> ast.Expr:
        return expr

    # -- categories, items, parts
    def category(self, meta: Meta, label: Token, points: ast.Number,
                 *entries: ast.Item | ast.TakeItem) -> ast.Category:
        takes = tuple(dataclasses.replace(entry, position=index)
                      for index, entry in enumerate(entries) if isinstance(entry, ast.TakeItem))
        items = tuple(entry for entry in entries if isinstance(entry, ast.Item))
        return ast.Category(_unquote(label), points.value, items, self._span(meta), takes)

    def taken_item(self, meta: Meta, number: Token, source: Token, source_number: Token,
                   *rest: Any) -> ast.TakeItem:
        cites: tuple[ast.CiteFor, ...] = ()
        texts: list[tuple[Any, str, ast.Span]] = []
        for entry in rest:
            if isinstance(entry, tuple) and entry and isinstance(entry[0], ast.CiteFor):
                cites = entry
                continue
            kind, text, where = entry
            if any(kind == known for known, _, _ in texts):
                raise self._error(where, f"item {number} has two '{kind}' texts",
                                  hint="join them into one: several quoted lines may follow")
            texts.append((kind, text, self._span(where)))
        return ast.TakeItem(int(number), ast.BaseRef(str(source), self._span(source)),
                            int(source_number), cites, tuple(texts), 0, self._span(meta))

    def cite_for(self, meta: Meta, *pairs: ast.CiteFor) -> tuple[ast.CiteFor, ...]:
        return pairs

    def cite_pair(self, meta: Meta, new: Token, old: Token) -> ast.CiteFor:
        return ast.CiteFor(str(new), str(old), self._span(meta))

    def bonus(self, meta: Meta) -> str:
        return "bonus"

    def item(self, meta: Meta, *children: Any) -> ast.Item:
        is_bonus = children[0] == "bonus"
        number, label, points, *entries = children[1:] if is_bonus else children
        texts: dict[str, str] = {}
        not_applicable: ast.NotApplicable | None = None
        cap: ast.DeductionCap | None = None
        body: list[ast.Part | ast.Rule] = []
        for entry in entries:
            if isinstance(entry, tuple):
                kind, text, where = entry
                if kind in texts:
                    raise self._error(where, f"item {number} has two '{kind}' texts",
                                      hint="join them into one: several quoted lines may follow")
                texts[kind] = text
            elif isinstance(entry, ast.NotApplicable):
                if not_applicable is not None:
                    raise self._error(meta, f"item {number} has two 'not applicable' rules",
                                      hint="join the conditions with 'or'")
                not_applicable = entry
            elif isinstance(entry, ast.DeductionCap):
                if cap is not None:
                    raise self._error(meta, f"item {number} caps its deductions twice")
                cap = entry
            else:
                body.append(entry)
        return ast.Item(int(number), _unquote(label), points.value, is_bonus,
                        ast.ItemTexts(**texts), not_applicable, cap, tuple(body), self._span(meta))

    # -- a derived standard's changes to its base
    def replace_item(self, meta: Meta, item: ast.Item) -> ast.ReplaceItem:
        return ast.ReplaceItem(item, self._span(meta))

    def replace_fact(self, meta: Meta, fact: ast.FactDecl) -> ast.ReplaceFact:
        return ast.ReplaceFact(fact, self._span(meta))

    def remove_item(self, meta: Meta, number: Token) -> ast.RemoveItem:
        return ast.RemoveItem(int(number), self._span(meta))

    def remove_fact(self, meta: Meta, name: Token) -> ast.RemoveFact:
        return ast.RemoveFact(str(name), self._span(meta))

    def item_points(self, meta: Meta, number: Token, points: ast.Number) -> ast.ItemPoints:
        return ast.ItemPoints(int(number), points.value, self._span(meta))

    def item_cap(self, meta: Meta, number: Token, points: ast.Number,
                 reason: ast.Reason) -> ast.ItemCap:
        span = self._span(meta)
        return ast.ItemCap(int(number), ast.DeductionCap(points.value, reason, span), span)

    def item_text(self, meta: Meta, number: Token, kind: Literal[
            "content", "method", "procedure", "basis"], *lines: Token) -> ast.ItemText:
        return ast.ItemText(int(number), kind, "\n".join(_unquote(line) for line in lines),
                            self._span(meta))

    def add_items(self, meta: Meta, label: Token, *items: ast.Item) -> ast.AddItems:
        return ast.AddItems(_unquote(label), items, self._span(meta))

    def text_field(self, meta: Meta, kind: str, *lines: Token) -> tuple[str, str, Meta]:
        return kind, "\n".join(_unquote(line) for line in lines), meta

    def not_applicable(self, meta: Meta, condition: ast.Expr,
                       reason: ast.Reason) -> ast.NotApplicable:
        return ast.NotApplicable(condition, reason, self._span(meta))

    def deduction_cap(self, meta: Meta, points: ast.Number,
                      reason: ast.Reason) -> ast.DeductionCap:
        return ast.DeductionCap(points.value, reason, self._span(meta))

    def part(self, meta: Meta, label: Token, points: ast.Number, *entries: Any) -> ast.Part:
        not_applicable = [e for e in entries if isinstance(e, ast.NotApplicable)]
        if len(not_applicable) > 1:
            raise self._error(meta, f"part {_unquote(label)} has two 'not applicable' rules",
                              hint="join the conditions with 'or'")
        rules = tuple(e for e in entries if not isinstance(e, ast.NotApplicable))
        return ast.Part(_unquote(label), points.value,
                        not_applicable[0] if not_applicable else None, rules, self._span(meta))

    # -- rules
    def amount_rule(self, meta: Meta, sign: ast.Sign, amount: ast.Expr,
                    *rest: Any) -> ast.AmountRule:
        options = dict(r for r in rest[:-1])
        return ast.AmountRule(sign, amount, options.get("per"), options.get("when"),
                              options.get("cap"), rest[-1], self._span(meta))

    def step_rule(self, meta: Meta, sign: ast.Sign, amount: ast.Expr, step: ast.Expr,
                  value: ast.Expr, direction: Literal["below", "above"], threshold: ast.Expr,
                  rounding: ast.Rounding, *rest: Any) -> ast.StepRule:
        options = dict(r for r in rest[:-1])
        return ast.StepRule(sign, amount, step, value, direction, threshold, rounding,
                            options.get("cap"), rest[-1], self._span(meta))

    def each_rule(self, meta: Meta, sign: ast.Sign, variable: Token, source: ast.Expr,
                  amount: ast.Expr, *rest: Any) -> ast.EachRule:
        options = dict(r for r in rest[:-1])
        return ast.EachRule(sign, str(variable), source, amount, options.get("when"),
                            options.get("cap"), rest[-1], self._span(meta))

    def entries_rule(self, meta: Meta, sign: ast.Sign, source: Token,
                     *rest: Any) -> ast.EntriesRule:
        options = dict(r for r in rest[:-1])
        return ast.EntriesRule(sign, str(source), options.get("cap"), rest[-1], self._span(meta))

    def zero_rule(self, meta: Meta, condition: ast.Expr, reason: ast.Reason) -> ast.ZeroRule:
        return ast.ZeroRule(condition, reason, self._span(meta))

    def per(self, meta: Meta, expr: ast.Expr) -> tuple[str, object]:
        return "per", expr

    def condition(self, meta: Meta, expr: ast.Expr) -> tuple[str, object]:
        return "when", expr

    def cap(self, meta: Meta, points: ast.Number) -> tuple[str, object]:
        return "cap", points.value

    def reason(self, meta: Meta, text: Token, citations: tuple[str, ...] = ()) -> ast.Reason:
        return ast.Reason(_unquote(text), citations, self._span(meta))

    def citation(self, meta: Meta, *ids: Token) -> tuple[str, ...]:
        return tuple(str(i) for i in ids)

    # -- expressions
    def number(self, meta: Meta, token: Token) -> ast.Number:
        return ast.Number(_decimal(token), self._span(token), str(token))

    def signed_number(self, meta: Meta, *tokens: Token) -> Decimal:
        value = _decimal(tokens[-1])
        return -value if len(tokens) == 2 else value

    def percent(self, meta: Meta, token: Token) -> ast.Percent:
        return ast.Percent(_decimal(token), self._span(token), str(token))

    def true(self, meta: Meta) -> ast.Boolean:
        return ast.Boolean(True, self._span(meta))

    def false(self, meta: Meta) -> ast.Boolean:
        return ast.Boolean(False, self._span(meta))

    def name(self, meta: Meta, token: Token) -> ast.Name:
        return ast.Name(str(token), self._span(token))

    def field(self, meta: Meta, record: Token, field: Token) -> ast.Field:
        return ast.Field(str(record), str(field), self._span(meta))

    def call(self, meta: Meta, function: Token, *args: ast.Expr) -> ast.Call:
        return ast.Call(str(function), args, self._span(meta))

    def builtin_call(self, meta: Meta, function: str, *args: ast.Expr) -> ast.Call:
        return ast.Call(function, args, self._span(meta))

    def aggregate(self, meta: Meta, function: str, variable: Token, source: ast.Expr,
                  body: ast.Expr) -> ast.Aggregate:
        return ast.Aggregate(function, str(variable), source, body, self._span(meta))

    def neg(self, meta: Meta, operand: ast.Expr) -> ast.Expr:
        if isinstance(operand, ast.Number):
            return ast.Number(-operand.value, self._span(meta),
                              f"-{operand.text}" if operand.text else "")
        return ast.Negate(operand, self._span(meta))

    def _arith(self, meta: Meta, op: ast.ArithmeticOp, left: ast.Expr,
               right: ast.Expr) -> ast.Arithmetic:
        return ast.Arithmetic(op, left, right, self._span(meta))

    def add(self, meta: Meta, left: ast.Expr, right: ast.Expr) -> ast.Arithmetic:
        return self._arith(meta, "+", left, right)

    def sub(self, meta: Meta, left: ast.Expr, right: ast.Expr) -> ast.Arithmetic:
        return self._arith(meta, "-", left, right)

    def mul(self, meta: Meta, left: ast.Expr, right: ast.Expr) -> ast.Arithmetic:
        return self._arith(meta, "*", left, right)

    def div(self, meta: Meta, left: ast.Expr, right: ast.Expr) -> ast.Arithmetic:
        return self._arith(meta, "/", left, right)

    def compare(self, meta: Meta, left: ast.Expr, op: Token, right: ast.Expr) -> ast.Compare:
        return ast.Compare(cast("ast.CompareOp", str(op)), left, right, self._span(meta))

    def is_member(self, meta: Meta, subject: ast.Expr, member: Token) -> ast.IsMember:
        return ast.IsMember(subject, str(member), False, self._span(meta))

    def is_not_member(self, meta: Meta, subject: ast.Expr, member: Token) -> ast.IsMember:
        return ast.IsMember(subject, str(member), True, self._span(meta))

    def has_member(self, meta: Meta, subject: ast.Expr, member: Token) -> ast.HasMember:
        return ast.HasMember(subject, str(member), self._span(meta))

    def given(self, meta: Meta, name: Token) -> ast.Given:
        return ast.Given(str(name), self._span(meta))

    def and_(self, meta: Meta, left: ast.Expr, right: ast.Expr) -> ast.Logical:
        return ast.Logical("and", left, right, self._span(meta))

    def or_(self, meta: Meta, left: ast.Expr, right: ast.Expr) -> ast.Logical:
        return ast.Logical("or", left, right, self._span(meta))

    def not_(self, meta: Meta, operand: ast.Expr) -> ast.Not:
        return ast.Not(operand, self._span(meta))

    def if_expr(self, meta: Meta, condition: ast.Expr, then: ast.Expr,
                otherwise: ast.Expr) -> ast.IfThenElse:
        return ast.IfThenElse(condition, then, otherwise, self._span(meta))

    def tiers(self, meta: Meta, subject: ast.Expr, *rest: Any) -> ast.Tiers:
        tiers = tuple(r for r in rest if isinstance(r, ast.Tier))
        otherwise = rest[-1] if rest and not isinstance(rest[-1], ast.Tier) else None
        return ast.Tiers(subject, tiers, otherwise, self._span(meta))

    def tier(self, meta: Meta, op: Token, threshold: ast.Expr, result: ast.Expr) -> ast.Tier:
        return ast.Tier(cast("ast.CompareOp", str(op)), threshold, result, self._span(meta))

    def lookup(self, meta: Meta, subject: ast.Expr, *cases: ast.LookupCase) -> ast.Lookup:
        return ast.Lookup(subject, cases, self._span(meta))

    def lookup_case(self, meta: Meta, member: Token, result: ast.Expr) -> ast.LookupCase:
        return ast.LookupCase(str(member), result, self._span(meta))
