"""Rule file text -> the same file in its one canonical layout (`policyc fmt`).

The formatter starts from the parser's own parse (`parser.parse_syntax`: Lark's tree and the
comments the grammar skips), so `fmt` and `check` read a file the same way. Each statement
(a header field, a declaration, a rule ...) becomes a `layout` document (text, line breaks
that break only when a group does not fit in `WIDTH` columns, nesting, alignment), its
expressions laid out by `printer` (the expression printer `diff` uses too, here in its "file"
style); blocks, blank lines and comments are put together line by line by `_Layout`.

The layout, taken from the shipped rule files:
- 2 spaces per block level; no blank line after `{` or before `}`; at most one blank line
  anywhere, exactly one around a top-level block and between the items of a category;
- a rule (or `not applicable`, `cap deductions`, a standard's `bonus limit`) stays on one line
  when it fits; otherwise its reason goes on the next line, 2 spaces in, with its citations
  after it (or on a line of their own when they do not fit either); a rule's `when`, a step
  rule's `below`/`above` and `steps`, and a `for each` rule's body move to lines of their own,
  2 spaces in, when the rule's head does not fit; a framework clause's reason is always on
  the next line;
- a broken `and`/`or` chain starts each continuation line with its operator, under the
  chain's first operand; `then` and `else` go under `if`; a `tiers`/`lookup` that does not
  fit puts one case a line, each with a comma;
- texts of `content`, `method`, `procedure` and `basis`: one quoted line a line, aligned
  under the first;
- a derived standard's changes (`standard X based on Y`): `replace item` and `add to
  category` are blocks laid out as `item` and `category` are (one blank line around each);
  `remove item`, `remove fact`, `item N points`, `item N cap deductions` (reason as for a
  rule), `text item N kind` (its quoted lines aligned as an item's texts are) and `replace
  fact` are one-line statements;
- a taken item (`item 5 from inpatient item 6 cite SZ2-5 for SZ-6`) is one line, or a block
  of its texts when it gives some; one blank line around it, as around any item;
- own-line comments stay before the statement they precede (at its indentation); a trailing
  comment stays at the end of its statement's line, two spaces after the longest line of a
  run of consecutive lines with trailing comments.
Numbers print as written (`1.0` stays `1.0`); parentheses only where precedence needs them.

`format_text` refuses (raises `FormatError`) to return a text whose AST differs from the
input's (spans left out), as black compares the ASTs before and after.
"""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lark import Token, Tree

from . import ast, printer
from .layout import HARDLINE, LINE, Align, Doc, Flat, Group, Nest, Printer, join, width
from .parser import Syntax, build_ast, expression_ast, parse_file, parse_syntax

# The width a line may take (a full-width character counts 2 columns, as terminals show it).
WIDTH = 120
INDENT = "  "


class FormatError(Exception):
    """The formatted text would not mean what the input means: a bug in the formatter."""


# ---------------------------------------------------------------- expressions

Node = Tree[Token] | Token


def _token(tree: Node | None) -> str:
    """The text of a token, or of a keyword rule's one token (`sign`, `rounding` ...)."""
    if tree is None:
        raise FormatError("a keyword is missing from the tree")
    if isinstance(tree, Token):
        return str(tree)
    return "".join(_token(child) for child in tree.children)


def _tree(node: Node) -> Tree[Token]:
    if not isinstance(node, Tree):
        raise FormatError(f"expected a subtree, found the token {node!r}")
    return node


def expression(node: Node, level: int = printer.IF) -> Doc:
    """An expression subtree, laid out by the one expression printer (numbers as written)."""
    return printer.layout(expression_ast(_tree(node), "-"), level, "file")


# ---------------------------------------------------------------- statements


def _child(tree: Tree[Token], kind: str) -> Tree[Token] | None:
    return next((c for c in tree.children if isinstance(c, Tree) and c.data == kind), None)


def _reason(tree: Tree[Token]) -> Doc:
    text, *citation = tree.children
    if not citation:
        return str(text)
    cites = ", ".join(str(c) for c in _tree(citation[0]).children)
    return f"{text} [{cites}]"


def _with_reason(head: Doc, reason: Tree[Token] | None, *, always_break: bool = False) -> Doc:
    if reason is None:
        return head
    return Group([Group(head), Nest(2, [HARDLINE if always_break else LINE, _reason(reason)])])


def _number(tree: Node) -> str:
    return _token(tree)


def _statement(tree: Tree[Token]) -> Doc:
    """The document of one statement that is not a block."""
    kind, c = tree.data, tree.children
    reason = _child(tree, "reason")
    cap = _child(tree, "cap")
    cap_doc: Doc = f" cap {_number(cap.children[0])}" if cap else ""
    condition = _child(tree, "condition")
    when: Doc = (Nest(2, [LINE, "when ", expression(condition.children[0])])
                 if condition else "")
    if kind == "amount_rule":
        per = _child(tree, "per")
        per_doc: Doc = [" per ", expression(per.children[0])] if per else ""
        return _with_reason([_token(c[0]), " ", expression(c[1]), per_doc, when, cap_doc], reason)
    if kind == "step_rule":
        return _with_reason([
            _token(c[0]), " ", expression(c[1]), " per ", expression(c[2]), " of ",
            expression(c[3]), Nest(2, [LINE, _token(c[4]), " ", expression(c[5]), LINE,
                                       "steps ", _token(c[6]), cap_doc])], reason)
    if kind == "each_rule":
        return _with_reason([_token(c[0]), f" for each {c[1]} in ", expression(c[2]), ":",
                             Nest(2, [LINE, expression(c[3])]), when, cap_doc], reason)
    if kind == "zero_rule":
        return _with_reason(["zero when ", expression(c[0])], reason)
    if kind == "entries_rule":
        return _with_reason([_token(c[0]), f" entries from {c[1]}", cap_doc], reason)
    if kind == "not_applicable":
        return _with_reason(["not applicable when ", expression(c[0])], reason,
                            always_break=True)
    if kind == "deduction_cap":
        return _with_reason(f"cap deductions at {_number(c[0])}", reason)
    if kind == "text_field":
        return [_token(c[0]), " ", _texts(c[1:])]
    if kind == "taken_item":
        return _taken_item(tree)
    if kind in _OVERRIDES:
        return _OVERRIDES[kind](tree)
    if kind in _DECLARATIONS:
        return _DECLARATIONS[kind](tree)
    if kind.startswith("fw_"):
        return _with_reason(_framework_head(tree), reason, always_break=True)
    return Flat(_header_field(tree))


def _header_field(tree: Tree[Token]) -> Doc:
    kind, c = tree.data, tree.children
    words = {"title": "title", "version": "version", "applies_to": "applies to",
             "framework": "framework", "total": "total", "rescale": "rescale to",
             "source_text": "source"}
    if kind in words:
        return f"{words[kind]} {_token(c[0])}"
    if kind == "region":
        return f"region {c[0]} {c[1]}"
    if kind == "effective":
        return f"effective {c[0]} to {_token(c[1]) if isinstance(c[1], Token) else 'open'}"
    if kind == "bonus_included":
        return "bonus included"
    if kind == "bonus_limit":
        return _with_reason(f"bonus limit {_number(c[0])}", _child(tree, "reason"))
    raise FormatError(f"no layout for {kind!r}")


def _framework_head(tree: Tree[Token]) -> Doc:
    kind, c = tree.data, tree.children
    if kind == "fw_grade":
        step = _child(tree, "refund_step")
        repeat = _child(tree, "repeat")
        return ["grade ", Align([
            f"{c[0]} from {_number(c[1])} refund {c[2]}",
            f" minus {step.children[0]} per point below {_number(step.children[1])}"
            if step else "",
            f" renewal {_token(_child(tree, 'renewal'))}",
            [HARDLINE, f"after {repeat.children[0]} {_token(repeat.children[1])}"]
            if repeat else "",
            " publicize" if _child(tree, "publicize") else ""])]
    heads: dict[str, Callable[[], str]] = {
        "fw_deductions": lambda: f"deductions total {_number(c[0])}",
        "fw_bonus_limit": lambda: f"bonus limit {_number(c[0])} advisory",
        "fw_composite": lambda: f"composite own {c[0]} subordinates {c[1]}",
        "fw_other_breach": lambda: f"other breach renewal {_token(c[0])}",
        "fw_downgrade": lambda: f"downgrade national {c[0]} provincial {c[1]}",
        "fw_veto": lambda: f"veto grade {c[0]}",
        "fw_tenure": lambda: f"tenure {c[0]} months",
        "fw_terminated": lambda: f"terminated refund {c[0]}",
        "fw_exit_violations": lambda: f"exit with violations refund as {c[0]} at {_number(c[1])}",
        "fw_exit_clean": lambda: f"exit without violations refund {c[0]}",
        "fw_referral": lambda: "referral when fraud clues",
        "fw_evidence": lambda: "evidence required",
    }
    return heads[tree.data]()


def _texts(lines: list[Node]) -> Doc:
    """The quoted lines of a text (an item's `content` ..., a `text item` change): one a
    line, aligned under the first."""
    return Align(join(HARDLINE, [str(s) for s in lines]))


# A derived standard's changes that are not blocks (`replace item` and `add to category` are
# blocks: `_block_parts`).
_OVERRIDES: dict[str, Callable[[Tree[Token]], Doc]] = {
    "replace_fact": lambda t: ["replace fact ", _typed(_tree(t.children[0]))],
    "remove_item": lambda t: f"remove item {t.children[0]}",
    "remove_fact": lambda t: f"remove fact {t.children[0]}",
    "item_points": lambda t: f"item {t.children[0]} points {_number(t.children[1])}",
    "item_cap": lambda t: _with_reason(
        f"item {t.children[0]} cap deductions at {_number(t.children[1])}",
        _child(t, "reason")),
    "item_text": lambda t: [f"text item {t.children[0]} {_token(t.children[1])} ",
                            _texts(t.children[2:])],
}


def _type(tree: Tree[Token]) -> str:
    name = tree.children[0]
    return {"simple_type": f"{name}", "list_type": f"list of {name}",
            "set_type": f"set of {name}"}[tree.data]


def _option(tree: Tree[Token]) -> Doc:
    if tree.data == "bounds":
        low, *high = (_token(b) for b in tree.children)
        return f" in {low}..{high[0] if high else ''}"
    if tree.data == "optional":
        return " optional"
    if tree.data == "required_when":
        return [" required when ", expression(tree.children[0])]
    return [" default ", expression(tree.children[0])]


def _typed(tree: Tree[Token]) -> Doc:
    name, label, kind, *options = tree.children
    return Flat([f"{name} {label}: {_type(_tree(kind))}",
                 [_option(_tree(o)) for o in options]])


def _cohort(tree: Tree[Token]) -> Doc:
    name, label, spec_node = tree.children
    spec = _tree(spec_node)
    c = spec.children
    body: list[Doc]
    if spec.data == "cohort_mean":
        body = ["mean ", expression(c[0]), " by ", expression(c[1])]
        for option in map(_tree, c[2:]):
            if option.data == "min_size":
                body.append(f" at least {option.children[0]}")
            else:
                body.append(f" unless given {option.children[0]}")
    else:
        def band(node: Node) -> str:
            b = _tree(node)
            return f"{b.data.removesuffix('_band')} {b.children[0]} from " \
                   f"{_token(b.children[1])} step {_token(b.children[2])}"
        body = ["rank ", expression(c[0]), f" {_token(c[1])} ties {_token(c[2])}",
                HARDLINE, band(c[3]), HARDLINE, band(c[4])]
        if len(c) > 5:
            # `unranked` takes its value in parentheses unless it is a name or a number.
            body += [HARDLINE, "unranked ", expression(_tree(c[5]).children[0], printer.ATOM)]
    return Flat([f"cohort {name} {label} =", Nest(2, [HARDLINE, body])])


_DECLARATIONS: dict[str, Callable[[Tree[Token]], Doc]] = {
    "fact_decl": lambda t: ["fact ", _typed(t)],
    "field_decl": _typed,
    "enum_member": lambda t: f"{t.children[0]} {t.children[1]}",
    "let_decl": lambda t: Flat([f"let {t.children[0]} {t.children[1]} = ",
                                expression(t.children[2])]),
    "cohort_decl": _cohort,
}


# ---------------------------------------------------------------- blocks, blank lines, comments


def _block_parts(tree: Tree[Token]) -> tuple[str, list[Tree[Token]]] | None:
    """A block's opening line (up to its `{`) and its statements; None for a non-block."""
    kind, c = tree.data, tree.children
    trees = [x for x in c if isinstance(x, Tree)]
    if kind == "standard":
        base = _child(tree, "based_on")
        return (f"standard {c[0]}{f' based on {base.children[0]}' if base else ''} {{",
                [t for t in trees if t is not base])
    if kind == "framework_file":
        return f"framework {c[0]} {{", trees
    if kind == "enum_decl":
        return f"enum {c[0]} {c[1]} {{", trees
    if kind == "record_decl":
        return f"record {c[0]} {c[1]} {{", trees
    if kind == "replace_item":
        opening, statements = _block_parts(_tree(c[0])) or ("", [])
        return f"replace {opening}", statements
    if kind == "add_items":
        return f"add to category {c[0]} {{", trees
    if kind == "category":
        return f"category {c[0]} {_number(c[1])} {{", trees[1:]
    if kind == "part":
        return f"part {c[0]} {_number(c[1])} {{", trees[1:]
    if kind == "taken_item" and any(t.data == "text_field" for t in trees):
        return f"{_taken_item(tree)} {{", [t for t in trees if t.data == "text_field"]
    if kind == "item":
        bonus = isinstance(c[0], Tree) and c[0].data == "bonus"
        number, name, points = c[1:4] if bonus else c[0:3]
        return (f"{'bonus ' if bonus else ''}item {number} {name} {_number(points)} {{",
                trees[2:] if bonus else trees[1:])
    return None


def _taken_item(tree: Tree[Token]) -> str:
    """`item 5 from inpatient item 6 cite SZ2-5 for SZ-6`: a taken item's heading."""
    number, source, source_number = tree.children[:3]
    cites = _child(tree, "cite_for")
    pairs = ", ".join(f"{_tree(p).children[0]} for {_tree(p).children[1]}"
                      for p in cites.children) if cites else ""
    return f"item {number} from {source} item {source_number}" + (f" cite {pairs}" if pairs
                                                                 else "")


_BLANKS_AND_COMMENTS = re.compile(r"(?:\s+|#[^\n]*)*")
_ITEMS = {"item", "taken_item"}  # one blank line between the items of a category
_TOP_LEVEL_BLOCKS = {"standard", "framework_file", "enum_decl", "record_decl", "category",
                     "replace_item", "add_items"}


@dataclass
class _Out:
    text: str
    comment: str | None = None


def _offset(token: Token) -> int:
    if token.start_pos is None:
        raise FormatError(f"a comment without a position: {token!r}")
    return token.start_pos


def _line(token: Token) -> int:
    if token.line is None:
        raise FormatError(f"a comment without a position: {token!r}")
    return token.line


def _comment_text(comment: Token) -> str:
    """A comment as printed: without the carriage return of a CRLF file."""
    return str(comment).rstrip()


class _Layout:
    """Puts statements, blank lines and comments of a parsed file together, line by line."""

    def __init__(self, text: str, syntax: Syntax, line_width: int) -> None:
        self.text = text
        self.printer = Printer(line_width)
        self.comments = list(syntax.comments)
        self.lines: list[_Out] = []
        self.tree = syntax.tree

    def _own_line(self, comment: Token) -> bool:
        start = self.text.rfind("\n", 0, _offset(comment)) + 1
        return not self.text[start:_offset(comment)].strip()

    def _take(self, before: int) -> list[Token]:
        """The comments not yet placed that start before offset `before`."""
        taken = [c for c in self.comments if _offset(c) < before]
        self.comments = [c for c in self.comments if _offset(c) >= before]
        return taken

    def run(self) -> str:
        self._block([_tree(c) for c in self.tree.children], 0, end=len(self.text) + 1,
                    top_level=True)
        self._align_trailing_comments()
        while self.lines and not self.lines[-1].text and self.lines[-1].comment is None:
            self.lines.pop()
        return "".join(self._render(line) + "\n" for line in self.lines)

    @staticmethod
    def _render(line: _Out) -> str:
        if line.comment is None:
            return line.text
        return f"{line.text}{' ' * 2}{line.comment}" if line.text else line.comment

    def _align_trailing_comments(self) -> None:
        run: list[_Out] = []
        for line in [*self.lines, _Out("")]:
            if line.comment is not None and line.text:
                run.append(line)
                continue
            if run:
                column = max(width(r.text) for r in run)
                for r in run:
                    r.text += " " * (column - width(r.text))
                run = []

    def _blank(self) -> None:
        if self.lines and (self.lines[-1].text or self.lines[-1].comment is not None):
            self.lines.append(_Out(""))

    def _gap(self, previous_end_line: int | None, line: int) -> None:
        """A blank line if the source had one (or more) between the two lines."""
        if previous_end_line is not None and line - previous_end_line > 1:
            self._blank()

    def _block(self, statements: list[Tree[Token]], level: int, end: int,
               top_level: bool = False) -> None:
        indent = INDENT * level
        previous_end: int | None = None  # the source line the last thing placed ended on
        previous_kind: str | None = None
        for statement in statements:
            meta = statement.meta
            separate = (top_level and (statement.data in _TOP_LEVEL_BLOCKS
                                       or previous_kind in _TOP_LEVEL_BLOCKS)) or (
                statement.data in _ITEMS and previous_kind in _ITEMS)
            leading = self._take(meta.start_pos)
            first = True
            for comment in leading:
                if not self._own_line(comment) and self.lines and previous_end == comment.line:
                    self._attach(comment)
                    continue
                if first and separate and previous_end is not None:
                    self._blank()
                else:
                    self._gap(previous_end, _line(comment))
                first = False
                self.lines.append(_Out(indent + _comment_text(comment)))
                previous_end = _line(comment)
            if first and separate and previous_end is not None:
                self._blank()
            else:
                self._gap(previous_end, meta.line)
            self._statement(statement, level)
            previous_end, previous_kind = meta.end_line, statement.data
        for comment in self._take(end):
            if not self._own_line(comment) and previous_end == comment.line:
                self._attach(comment)
                continue
            self._gap(previous_end, _line(comment))
            self.lines.append(_Out(indent + _comment_text(comment)))
            previous_end = _line(comment)

    def _attach(self, comment: Token) -> None:
        """A trailing comment at the end of the last line placed."""
        last = self.lines[-1]
        if last.comment is None and last.text:
            last.comment = _comment_text(comment)
        else:  # a second trailing comment of one statement: on a line of its own after it
            indent = last.text[: len(last.text) - len(last.text.lstrip())]
            self.lines.append(_Out(indent + _comment_text(comment)))

    def _brace(self, block: Tree[Token], statements: list[Tree[Token]]) -> int:
        """The offset of a block's `{`: the first after its heading, past any comments."""
        if block.data == "replace_item":  # `replace` and the item's own heading
            block = _tree(block.children[0])
        heading = [c for c in block.children if not any(c is s for s in statements)]
        end = max((c.end_pos if isinstance(c, Token) else c.meta.end_pos) or 0
                  for c in heading)
        after = _BLANKS_AND_COMMENTS.match(self.text, end)
        brace = after.end() if after else end
        if self.text[brace:brace + 1] != "{":
            raise FormatError(f"no '{{' after the heading at offset {end}")
        return brace

    def _statement(self, statement: Tree[Token], level: int) -> None:
        indent = INDENT * level
        meta = statement.meta
        block = _block_parts(statement)
        if block is None:
            # Comments inside a statement: the one on its last line stays at its end, the
            # others go before it, on lines of their own.
            inside = self._take(meta.end_pos)
            trailing = [c for c in inside if c.line == meta.end_line
                        and not self._own_line(c)]
            for comment in inside:
                if comment not in trailing[:1]:
                    self.lines.append(_Out(indent + _comment_text(comment)))
            printed = self.printer.print(_statement(statement), len(indent))
            self.lines.append(_Out(indent + printed[0]))
            self.lines.extend(_Out(p) for p in printed[1:])
            for comment in trailing[:1]:
                self._attach(comment)
            return
        opening, children = block
        brace = self._brace(statement, children)
        header_line = self.text.count("\n", 0, brace) + 1
        before = self._take(brace)
        for comment in before:
            if comment.line != header_line or self._own_line(comment):
                self.lines.append(_Out(indent + _comment_text(comment)))
        self.lines.append(_Out(indent + opening))
        for comment in [*before, *self._take(brace + 1)]:
            if comment.line == header_line and not self._own_line(comment):
                self._attach(comment)
        # Comments on the `{` line after the brace trail the opening line, unless a statement
        # of the block follows on that line: then they are that statement's.
        line_end = self.text.find("\n", brace)
        limit = line_end if line_end >= 0 else len(self.text)
        if children and children[0].meta.start_pos is not None:
            limit = min(limit, children[0].meta.start_pos)
        for comment in self._take(limit):
            self._attach(comment)
        self._block(children, level + 1, end=meta.end_pos - 1)
        self.lines.append(_Out(indent + "}"))


# ---------------------------------------------------------------- the entry points


def format_syntax(text: str, syntax: Syntax, line_width: int = WIDTH) -> str:
    """The canonical layout of `text`, already parsed into `syntax`."""
    return _Layout(text, syntax, line_width).run()


def format_text(text: str, file: str, line_width: int = WIDTH) -> str:
    """The canonical layout of a rule file's text. Raises CompileError if the text does not
    parse, FormatError if the result would not parse to the same AST (a formatter bug)."""
    syntax = parse_syntax(text, file)
    formatted = format_syntax(text, syntax, line_width)
    if formatted != text:
        _check_same_meaning(text, syntax, formatted, file)
    return formatted


def _check_same_meaning(text: str, syntax: Syntax, formatted: str, file: str) -> None:
    try:
        after = parse_syntax(formatted, file)
    except Exception as error:  # any failure here is the formatter's
        raise FormatError(f"{file}: the formatted text does not parse: {error}") from None
    digest = hashlib.sha256(b"").hexdigest()
    if without_spans(build_ast(syntax.tree, file, digest)) != without_spans(
            build_ast(after.tree, file, digest)):
        raise FormatError(f"{file}: formatting would change the rules' meaning")
    if [_comment_text(c) for c in syntax.comments] != [
            _comment_text(c) for c in after.comments]:
        raise FormatError(f"{file}: formatting would lose or reorder comments")


def without_spans(node: object) -> object:
    """An AST (or any part of it) with every `Span` left out, to compare meanings."""
    if isinstance(node, ast.Span):
        return None
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__, tuple(
            (f.name, without_spans(getattr(node, f.name))) for f in dataclasses.fields(node)))
    if isinstance(node, tuple | list):
        return tuple(without_spans(x) for x in node)
    if isinstance(node, dict):
        return tuple(sorted((repr(k), without_spans(v)) for k, v in node.items()))
    return node


def format_file(path: Path, display_path: str) -> tuple[bytes, bytes]:
    """A rule file's bytes and its bytes formatted (a BOM, if any, kept). Raises CompileError
    (the file is not UTF-8 or does not parse) or FormatError."""
    data = path.read_bytes()
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        parse_file(path, display_path)  # raises the parser's own P001 diagnostic
        raise
    formatted = format_text(text.replace("\r\n", "\n"), display_path)
    return data, data[: len(data) - len(body)] + formatted.encode("utf-8")


def unified_diff(before: bytes, after: bytes, display_path: str) -> str:
    """What `fmt` would change in a file, as a unified diff."""
    return "".join(difflib.unified_diff(
        before.decode("utf-8", errors="replace").splitlines(keepends=True),
        after.decode("utf-8").splitlines(keepends=True),
        f"{display_path} (as it is)", f"{display_path} (formatted)"))
