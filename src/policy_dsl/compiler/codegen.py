"""Checked AST -> the Python source of one rule pack, through jinja2 templates.

The template lays the module out (header, tables, record types, functions); this module turns
expressions and rules into straight-line Python. Text from a rule file reaches the generated
code only through `repr()` (string literals) or `one_line()` (comments), and names only after
the grammar and the checker admitted them as plain ASCII identifiers, so no rule file text can
become code.
"""

from __future__ import annotations

import ast as python_ast
import hashlib
import io
import re
import tokenize
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields, is_dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import jinja2

from .. import __version__
from ..runtime import PACK_API
from ..runtime.packs import runtime_range
from ..runtime.values import MAGNITUDE_DIGITS
from . import ast
from .checker import FULL_POINTS, Checked, Type, is_weight
from .columngen import COLUMN_HELPERS, ColumnBackend
from .lints import Analysis, part_within_points

READERS = {"bool": "bool", "count": "count", "number": "number", "score": "number",
           "points": "number", "money": "number", "percent": "percent", "date": "date",
           "text": "text"}
PYTHON_TYPES = {"bool": "bool", "count": "int", "number": "Decimal", "score": "Decimal",
                "points": "Decimal", "money": "Decimal", "percent": "Decimal",
                "date": "dt.date", "text": "str"}


UNDEFINED_RAISERS = frozenset({"need", "divide", "growth", "share"})  # runtime.arithmetic
COUNT_LIMIT = 10**MAGNITUDE_DIGITS  # a count is less than this (runtime.values.LIMIT)
NOT_APPLICABLE = "Operand('not_applicable', '', True, 'bool')"


@dataclass(frozen=True, slots=True)
class GeneratedPack:
    name: str  # suzhou/inpatient-2023
    module: str  # suzhou_inpatient_2023
    source: str  # the Python source
    index_entry: dict[str, object]  # its entry in the manifest, generated/index.json
    source_path: str  # the rule file it is built from


def pack_name(standard: ast.Standard) -> str:
    header = standard.header
    return f"{header.region}/{header.name.replace('_', '-')}-{header.version}"


def module_name(standard: ast.Standard) -> str:
    header = standard.header
    return f"{header.region}_{header.name}_{header.version}"


def one_line(text: str | None) -> str:
    """Text safe inside a `#` comment: line breaks and other control characters become spaces."""
    return "".join(" " if unicodedata.category(char) in {"Cc", "Zl", "Zp"} else char
                   for char in (text or ""))


def docstring_text(text: str | None) -> str:
    """Text safe inside a triple-quoted docstring: one line, backslashes and quotes escaped."""
    return one_line(text).replace("\\", "\\\\").replace('"', '\\"')


def py_string(text: str | None) -> str:
    return repr(text)


def tuple_code(values: object) -> str:
    """A tuple of strings as Python source: (), ('a',), ('a', 'b')."""
    texts = [repr(str(v)) for v in values]  # type: ignore[attr-defined]
    return "(" + ", ".join(texts) + ("," if len(texts) == 1 else "") + ")"


def class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Entry"


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("policy_dsl.compiler", "templates"),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["py"] = py_string
    environment.filters["comment"] = one_line
    environment.filters["doc"] = docstring_text
    environment.filters["tuple_code"] = tuple_code
    return environment


def generate(standard: ast.Standard, checked: Checked, source_text: str,
             framework: ast.Framework | None = None,
             plugin_sources: Sequence[tuple[str, str]] = ()) -> GeneratedPack:
    """The pack module for one checked standard (and the framework it names, if any;
    `plugin_sources` are the city plugins, path and SHA-256, that shaped it)."""
    builder = _PackBuilder(standard, checked, source_text, framework)
    context = builder.context()
    context["plugin_sources"] = list(plugin_sources)
    template = _environment().get_template("pack.py.jinja")
    unimported = template.render(**context, uses=None)  # the module without its imports
    source = template.render(**context, uses=_runtime_names(unimported))
    header = standard.header
    sources = [{"role": "rule file", "path": standard.path, "sha256": standard.source_sha256}]
    sources += [{"role": "base", "path": base.path, "sha256": base.sha256}
                for base in standard.bases]
    if framework is not None:
        sources.append({"role": "framework", "path": framework.path,
                        "sha256": framework.source_sha256})
    sources += [{"role": "plugin", "path": path, "sha256": digest}
                for path, digest in plugin_sources]
    entry: dict[str, object] = {  # the pack's manifest entry (runtime/packs.py reads it)
        "name": pack_name(standard),
        "region": header.region,
        "standard": header.name.replace("_", "-"),
        "version": header.version,
        "title": header.title,
        "effective_from": header.effective_from.isoformat() if header.effective_from else None,
        "effective_to": header.effective_to.isoformat() if header.effective_to else None,
        "applies_to": header.applies_to,
        "framework": header.framework,
        "module": module_name(standard),
        "module_file": f"{module_name(standard)}.py",
        "pack_sha256": hashlib.sha256(source.encode("utf-8")).hexdigest(),
        "sources": sources,
        "compiler_version": __version__,
        "runtime_requires": runtime_range(__version__),
    }
    return GeneratedPack(pack_name(standard), module_name(standard), source, entry,
                         standard.path)


@dataclass(frozen=True, slots=True)
class _Names:
    """How a function of the pack spells the names of the rule file."""

    prefix: str  # "r." in items and cohorts, "v_" in read_record
    full_points: str  # the constant holding the points of the item or part being written
    declared: frozenset[str]  # facts and derived values; any other name is a loop variable
    cohorts: frozenset[str]
    maybe_missing: frozenset[str]  # optional and conditional facts: None when not given

    def slot(self, identifier: str) -> str:
        if identifier in self.cohorts:
            return f"c.{identifier}"
        if identifier not in self.declared:
            return f"each_{identifier}"
        return f"{self.prefix}{identifier}"

    def given(self, condition: ast.Expr) -> _Names:
        """The names as spelt where `condition` holds: a fact it tests with `given` is
        there, so it is read as it is (no need())."""
        known = _given_names(condition)
        if not known & self.maybe_missing:
            return self
        return _Names(self.prefix, self.full_points, self.declared, self.cohorts,
                      self.maybe_missing - known)

    def value(self, identifier: str) -> str:
        """A fact that may be missing is taken through need(), which fails the record only
        if the rule actually needs it (a conditional fact outside its condition)."""
        if identifier == FULL_POINTS:
            return self.full_points
        if identifier in self.maybe_missing:
            return f"need({self.slot(identifier)}, {identifier!r})"
        return self.slot(identifier)

_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")  # a name or a field, e.g. r.violations


class _Writer:
    """Lines of Python at an indentation level (jinja2's writeline/indent, in small)."""

    def __init__(self, level: int = 1) -> None:
        self.lines: list[str] = []
        self.level = level

    def writeline(self, text: str) -> None:
        self.lines.append("    " * self.level + text)

    def indent(self) -> _Writer:
        self.level += 1
        return self

    def outdent(self) -> None:
        self.level -= 1

    def text(self) -> str:
        return "\n".join(self.lines)


class _PackBuilder:
    def __init__(self, standard: ast.Standard, checked: Checked, source_text: str,
                 framework: ast.Framework | None) -> None:
        self.standard = standard
        self.framework = framework
        self.current_item = 0
        self.explaining = True  # whether the item being written keeps reason lines
        self.rule_infos: list[tuple[str, int, str, bool]] = []  # reason, item, kind, two-sided
        self.current_points = Decimal(0)  # of the item or part whose rules are being written
        self.checked = checked
        self.analysis = Analysis(standard, checked)  # the ranges that spare `score` a clamp
        # each rule file's lines: a derived standard's rules may come from its bases
        self.source_lines = {standard.path: source_text.splitlines(),
                             **{b.path: b.text.splitlines() for b in standard.bases}}
        self.constants: dict[str, str] = {}  # Decimal literal -> constant name
        # constant -> reason, rule line, and its rule file when not this standard's own
        self.reasons: dict[str, tuple[ast.Reason, int, str | None]] = {}
        self.lookups: dict[str, str] = {}  # table name -> dict display
        self.facts = {f.name: f for f in standard.facts}
        self.lets = {x.name for x in standard.lets}
        self.cohorts = frozenset(c.name for c in standard.cohorts)
        self.records = {r.name: r for r in standard.records}
        self.declared = frozenset(self.facts) | frozenset(self.lets)
        self.maybe_missing = frozenset(f.name for f in standard.facts if self.optional(f))

    # ------------------------------------------------------------ constants and reasons
    def decimal(self, value: Decimal) -> str:
        text = str(value)
        if text not in self.constants:
            mangled = text.replace("-", "m").replace(".", "_")
            self.constants[text] = f"_D{mangled}"
        return self.constants[text]

    def reason_of(self, node: ast.Rule | ast.NotApplicable | ast.DeductionCap) -> str:
        """The constant holding a rule's reason, with the line where the rule starts; each
        rule is also listed in RULES, for coverage."""
        name = self._reason_constant(node)
        if not any(info[0] == name for info in self.rule_infos):
            kind = "shown" if isinstance(node, ast.NotApplicable | ast.DeductionCap) else "delta"
            one_sided = (isinstance(node, ast.AmountRule) and node.per is None
                         and node.condition is None
                         and isinstance(node.amount, ast.Number | ast.Name)
                         and (not isinstance(node.amount, ast.Name)
                              or node.amount.name == FULL_POINTS))
            self.rule_infos.append((name, self.current_item, kind, not one_sided))
        return name

    def _reason_constant(self, node: ast.Rule | ast.NotApplicable | ast.DeductionCap) -> str:
        reason, line = node.reason, node.span.line
        name = f"_R{line}"
        suffix = 2
        while name in self.reasons and self.reasons[name][0] is not reason:
            name = f"_R{line}_{suffix}"
            suffix += 1
        self.reasons[name] = (reason, line, self.file_of(node.span))
        return name

    def file_of(self, span: ast.Span) -> str | None:
        """The rule file a rule was written in, when it is not this standard's own (a rule
        inherited with `based on` or taken with `item N from`); None for its own."""
        return None if span.file == self.standard.path else span.file

    def source_of(self, expr: ast.Expr) -> str:
        span = expr.span
        lines = self.source_lines.get(span.file, [])
        if span.line != span.end_line or not 1 <= span.line <= len(lines):
            return "the condition on line " + str(span.line)
        return lines[span.line - 1][span.column - 1:span.end_column - 1]

    # ------------------------------------------------------------ expressions
    def expr(self, node: ast.Expr, name: _Names) -> str:
        """Python for an expression; `name` gives the code for a fact, let or cohort name.
        One method per kind of node, `visit_<Node>`, as jinja2's CodeGenerator has."""
        visit: Callable[[Any, _Names], str] = getattr(self, f"visit_{type(node).__name__}")
        return visit(node, name)

    def visit_Number(self, node: ast.Number, name: _Names) -> str:
        return self.decimal(node.value)

    def visit_Percent(self, node: ast.Percent, name: _Names) -> str:
        return self.decimal(node.value)

    def visit_Boolean(self, node: ast.Boolean, name: _Names) -> str:
        return "True" if node.value else "False"

    def visit_Name(self, node: ast.Name, name: _Names) -> str:
        return name.value(node.name)

    def visit_Field(self, node: ast.Field, name: _Names) -> str:
        return f"each_{node.record}.{node.field}"

    def visit_Negate(self, node: ast.Negate, name: _Names) -> str:
        return f"(-{self.expr(node.operand, name)})"

    def visit_Arithmetic(self, node: ast.Arithmetic, name: _Names) -> str:
        left, right = node.left, node.right
        if is_weight(node):
            weighed, percent = (right, left) if isinstance(left, ast.Percent) else (left, right)
            return f"weight({self.expr(weighed, name)}, {self.expr(percent, name)})"
        if node.op == "/":
            return (f"divide({self.expr(left, name)}, {self.expr(right, name)}, "
                    f"{py_string(self.source_of(right))})")
        return f"({self.expr(left, name)} {node.op} {self.expr(right, name)})"

    def visit_Compare(self, node: ast.Compare, name: _Names) -> str:
        return f"({self.expr(node.left, name)} {node.op} {self.expr(node.right, name)})"

    def visit_Logical(self, node: ast.Logical, name: _Names) -> str:
        inner = name.given(node.left) if node.op == "and" else name  # `given x and x > 0`
        return f"({self.expr(node.left, name)} {node.op} {self.expr(node.right, inner)})"

    def visit_Not(self, node: ast.Not, name: _Names) -> str:
        return f"(not {self.expr(node.operand, name)})"

    def visit_IsMember(self, node: ast.IsMember, name: _Names) -> str:
        return (f"({self.expr(node.subject, name)} {'!=' if node.negated else '=='} "
                f"{node.member!r})")

    def visit_HasMember(self, node: ast.HasMember, name: _Names) -> str:
        return f"({node.member!r} in {self.expr(node.subject, name)})"

    def visit_Given(self, node: ast.Given, name: _Names) -> str:
        return f"({name.slot(node.name)} is not None)"

    def visit_IfThenElse(self, node: ast.IfThenElse, name: _Names) -> str:
        return (f"({self.expr(node.then, name.given(node.condition))} if "
                f"{self.expr(node.condition, name)} else {self.expr(node.otherwise, name)})")

    def visit_Tiers(self, node: ast.Tiers, name: _Names) -> str:
        code = self.expr(node.otherwise, name) if node.otherwise is not None else "ZERO"
        subject = self.expr(node.subject, name)
        for tier in reversed(node.tiers):
            code = (f"({self.expr(tier.result, name)} if {subject} {tier.op} "
                    f"{self.expr(tier.threshold, name)} else {code})")
        return code

    def visit_Lookup(self, node: ast.Lookup, name: _Names) -> str:
        subject = self.expr(node.subject, name)
        if all(isinstance(case.result, ast.Number | ast.Percent) for case in node.cases):
            return f"{self.lookup_table(node)}[{subject}]"
        code = self.expr(node.cases[-1].result, name)
        for case in reversed(node.cases[:-1]):
            code = f"({self.expr(case.result, name)} if {subject} == {case.member!r} else {code})"
        return code

    def lookup_table(self, node: ast.Lookup) -> str:
        """A lookup whose values are all constants, as a module-level table."""
        table = f"_LOOKUP_{node.span.line}_{node.span.column}"
        entries = ", ".join(f"{case.member!r}: {self.decimal(case.result.value)}"
                            for case in node.cases
                            if isinstance(case.result, ast.Number | ast.Percent))
        self.lookups[table] = f"{{{entries}}}"
        return table

    def decimal_expr(self, node: ast.Expr, name: _Names) -> str:
        code = self.expr(node, name)
        return f"Decimal({code})" if self.is_int(node) else code

    def is_int(self, node: ast.Expr) -> bool:
        """Whether the generated code for `node` gives an int (counts) rather than a Decimal."""
        match node:
            case ast.Name() | ast.Field():
                return self.checked.type_of(node).base == "count"
            case ast.Call(function="count"):
                return True
            case ast.Aggregate(function="count"):
                return True
            case ast.Negate(operand=operand):
                return self.is_int(operand)
            case ast.Arithmetic(op=op, left=left, right=right):
                return op != "/" and self.is_int(left) and self.is_int(right)
            case ast.IfThenElse(then=then, otherwise=otherwise):
                return self.is_int(then) and self.is_int(otherwise)
        return False

    def visit_Call(self, node: ast.Call, name: _Names) -> str:
        args = [self.expr(arg, name) for arg in node.args]
        denominator = py_string(self.source_of(node.args[-1]))
        if node.function in {"growth", "share"}:
            return f"{node.function}({args[0]}, {args[1]}, {denominator})"
        if node.function == "ratio":
            return f"divide({args[0]}, {args[1]}, {denominator})"
        if node.function == "count":
            return f"len({args[0]})"
        decimals = [self.decimal_expr(arg, name) for arg in node.args]
        return f"{node.function}({', '.join(decimals)})"

    def visit_Aggregate(self, node: ast.Aggregate, name: _Names) -> str:
        variable = f"each_{node.variable}"
        source = self.expr(node.source, name)
        if node.function == "count":
            code, empty = f"sum(1 for {variable} in {source} if {self.expr(node.body, name)})", "0"
        elif node.function in {"any", "all"}:
            code = f"{node.function}({self.expr(node.body, name)} for {variable} in {source})"
            empty = "False" if node.function == "any" else "True"
        elif node.function == "sum":
            code = f"sum(({self.decimal_expr(node.body, name)} for {variable} in {source}), ZERO)"
            empty = "ZERO"
        else:
            body = self.decimal_expr(node.body, name)
            code = f"{node.function}(({body} for {variable} in {source}), default=ZERO)"
            empty = "ZERO"
        return _unless_empty(code, source, empty)

    # ------------------------------------------------------------ names in each function
    @property
    def record_name(self) -> _Names:
        """In items and cohorts: facts and derived values are fields of `r`, cohorts of `c`."""
        return _Names("r.", self.decimal(self.current_points), self.declared, self.cohorts,
                      self.maybe_missing)

    @property
    def local_name(self) -> _Names:
        """In read_record: facts and derived values are locals while they are read."""
        return _Names("v_", "ZERO", self.declared, frozenset(), self.maybe_missing)

    # ------------------------------------------------------------ facts
    def python_type(self, type_ref: ast.TypeRef) -> str:
        if type_ref.container == "list":
            return f"tuple[{class_name(type_ref.name)}, ...]"
        if type_ref.container == "set":
            return "frozenset[str]"
        if type_ref.name in PYTHON_TYPES:
            return PYTHON_TYPES[type_ref.name]
        return "str"  # an enum member's code

    def optional(self, fact: ast.FactDecl) -> bool:
        """Whether the fact may be None once read (lists and sets are read as empty)."""
        return (fact.presence == "conditional"
                or (fact.presence == "optional" and fact.default is None)) \
            and fact.type.container is None

    def bounds(self, fact: ast.FactDecl) -> tuple[Decimal | None, Decimal | None]:
        """A fact's bounds as its reader checks them (a score is 0..100 unless it says)."""
        if fact.type.name == "score" and fact.low is None and fact.high is None:
            return Decimal(0), Decimal(100)
        return fact.low, fact.high

    def read_call(self, fact: ast.FactDecl, raw: str, path: str | None) -> str:
        """The runtime call that reads one fact or record field (every shape of value, and
        the error messages)."""
        path_arg = f", path={path}" if path else ""
        ref = fact.type
        if ref.container == "list":
            required = "" if fact.presence == "required" else ", required=False"
            return f"read_list({raw}, {fact.name!r}, errors, _read_{ref.name}{required})"
        if ref.container == "set":
            required = "" if fact.presence == "required" else ", required=False"
            return (f"read_enum_set({raw}, {fact.name!r}, errors, _ENUM_{ref.name.upper()}"
                    f"{path_arg}{required})")
        optional = "optional_" if fact.presence != "required" else ""
        if ref.name in READERS:
            kind = READERS[ref.name]
            low, high = self.bounds(fact)
            bounds = ""
            if low is not None:
                bounds += f", low={self.decimal(low)}"
            if high is not None:
                bounds += f", high={self.decimal(high)}"
            call = f"read_{optional}{kind}({raw}, {fact.name!r}, errors{bounds}{path_arg})"
        else:
            call = (f"read_{optional}enum({raw}, {fact.name!r}, errors, "
                    f"_ENUM_{ref.name.upper()}{path_arg})")
        return call

    def write_read(self, out: _Writer, fact: ast.FactDecl, target: str, type_: str,
                   path: str | None) -> None:
        """`target: type_ = ...`: the fact read from `raw`. The common case (the right type,
        within bounds) is checked here in line; any other value goes to the runtime's reader,
        which accepts every other spelling and words every error (so both give the same)."""
        call = self.read_call(fact, "raw", path)
        fast = self.fast_read(fact)
        if fast is None:
            out.writeline(f"{target}: {type_} = {call}")
            return
        fetch, condition, value = fast
        for statement in fetch.split("\n"):
            out.writeline(statement)
        otherwise = call
        if fact.presence != "required" and fact.type.container is None:
            otherwise = f"None if v is None else {call}"
        if value is None:  # an enum: the lookup is the value, None when not found
            out.writeline(f"{target}: {type_} = {condition} or ({otherwise})")
        else:
            out.writeline(f"{target}: {type_} = {value} if {condition} else {otherwise}")

    def fast_read(self, fact: ast.FactDecl) -> tuple[str, str, str | None] | None:
        """How to read the fact's common case in line: the statement that takes its raw
        value into `v` (or its number into `n`), the condition under which that value is the
        fact's, and the value (None: the condition is itself the value, or None). None: no
        fast path for this type (texts, dates, non-empty lists take the runtime's reader)."""
        ref = fact.type
        fetch = f"v = get({fact.name!r})"
        if ref.container == "list":
            return fetch, "type(v) is list and not v", "()"
        if ref.container == "set":
            if not self.plain_spellings(ref.name):
                return None
            fetch = f"codes = plain_codes(get({fact.name!r}), _ENUM_{ref.name.upper()})"
            return fetch, "codes is not None", "codes"
        name = ref.name
        if name == "bool":
            return fetch, "type(v) is bool", "v"
        if name == "count":
            low, high = self.bounds(fact)
            if any(b is not None and b != b.to_integral_value() for b in (low, high)):
                return None
            lowest = max(0, int(low)) if low is not None else 0
            check = f"{lowest} <= v < {COUNT_LIMIT:_}"
            if high is not None:
                check = f"{lowest} <= v <= {min(int(high), COUNT_LIMIT - 1):_}"
            return fetch, f"type(v) is int and {check}", "v"
        if name in READERS and READERS[name] in ("number", "percent"):
            low, high = self.bounds(fact)
            checks = ["n is not None"]
            if low is not None and high is not None:
                checks.append(f"{self.decimal(low)} <= n <= {self.decimal(high)}")
            elif low is not None:
                checks.append(f"n >= {self.decimal(low)}")
            elif high is not None:
                checks.append(f"n <= {self.decimal(high)}")
            if fact.presence == "required":
                fetch = f"n = plain_number(get({fact.name!r}))"
            else:
                fetch += "\nn = plain_number(v)"
            return fetch, " and ".join(checks), "n"
        if name in READERS:
            return None
        if not self.plain_spellings(name):
            return None
        return fetch, f"(_ENUM_{name.upper()}.get(v) if type(v) is str else None)", None

    def plain_spellings(self, enum_name: str) -> bool:
        """Whether every spelling of the enum's members is found as it is: the reader strips
        a text before looking it up, so a spelling with spaces around it is read there only."""
        enum = next(e for e in self.standard.enums if e.name == enum_name)
        return all(s and s == s.strip() for m in enum.members for s in (m.name, m.label))

    def fact_info(self, fact: ast.FactDecl, type_: Type | None = None) -> str:
        ref = fact.type
        type_text = f"{ref.container} of {ref.name}" if ref.container else ref.name
        presence: str = fact.presence
        if fact.required_when is not None:
            presence = f"required when {self.source_of(fact.required_when)}"
        default = self.source_of(fact.default) if fact.default is not None else None
        members = ""
        enum_name = ref.name
        enum = next((e for e in self.standard.enums if e.name == enum_name), None)
        if enum is not None:
            pairs = ", ".join(f"({m.name!r}, {m.label!r})" for m in enum.members)
            members = f", members=({pairs},)"
        fields = ""
        if ref.container == "list":
            record = self.records[ref.name]
            inner = ", ".join(self.fact_info(f) for f in record.fields)
            fields = f", fields=({inner},)"
        low, high = (f'Decimal("{bound}")' if bound is not None else "None"
                     for bound in self.bounds(fact))
        return (f"FactInfo(name={fact.name!r}, label={fact.label!r}, type={type_text!r}, "
                f"low={low}, high={high}, presence={presence!r}, default={default!r}"
                f"{members}{fields})")

    # ------------------------------------------------------------ read_record
    def read_record_body(self) -> str:
        out = _Writer()
        out.writeline("errors: list[FieldError] = []")
        out.writeline("get = raw.get")
        out.writeline("if not raw.keys() <= _KNOWN_FIELDS:")
        out.indent().writeline("check_unknown_fields(raw, _KNOWN_FIELDS, errors)")
        out.outdent()
        for fact in self.standard.facts:
            type_ = self.python_type(fact.type)
            optional = " | None" if self.optional(fact) or fact.default is not None else ""
            self.write_read(out, fact, f"v_{fact.name}", type_ + optional, None)
            if fact.default is not None:
                default = self.expr(fact.default, self.local_name)
                if fact.type.name == "count":
                    default = f"int({default})"
                out.writeline(f"if v_{fact.name} is None:")
                out.indent().writeline(f"v_{fact.name} = {default}")
                out.outdent()
        for fact in self.standard.facts:
            if fact.required_when is not None:
                condition = self.expr(fact.required_when, self.local_name)
                when = py_string(self.source_of(fact.required_when))
                # the condition only when the fact is missing: `require` on the error path
                out.writeline(f"if v_{fact.name} is None:")
                out.indent().writeline(
                    f"require({condition}, v_{fact.name}, {fact.name!r}, {when}, errors)")
                out.outdent()
        for source in sorted(self.catalogues()):
            out.writeline(f"check_entries(v_{source}, {source!r}, _CATALOGUE_{source.upper()}, "
                     "errors)")
        if self.framework is not None:
            out.writeline("v_settlement = read_framework_inputs(raw, FRAMEWORK, errors)")
        out.writeline("if errors:")
        out.indent().writeline("raise RecordInvalid(errors)")
        out.outdent()
        fallible = False
        for let in self.standard.lets:
            out.writeline(f"# {let.name}: {one_line(let.label)} (line {let.span.line})")
            code = self.expr(let.expr, self.local_name)
            if not _can_fail(code):
                out.writeline(f"v_{let.name} = {code}")
                continue
            fallible = True
            out.writeline("try:")
            out.indent().writeline(f"v_{let.name} = {code}")
            out.outdent()
            out.writeline("except Undefined as problem:")
            out.indent().writeline(f"errors.append(FieldError({let.name!r}, "
                              f"f\"cannot be derived: {{problem}}\"))")
            out.writeline(f"v_{let.name} = ZERO")
            out.outdent()
        if fallible:
            out.writeline("if errors:")
            out.indent().writeline("raise RecordInvalid(errors)")
            out.outdent()
        names = [f.name for f in self.standard.facts] + [x.name for x in self.standard.lets]
        if self.framework is not None:
            names.append("settlement")
        # by position, in the order of Facts' fields (the template lists them in this order):
        # half the cost of keywords at this many fields
        out.writeline("return Facts(  # by position, in the order of the fields")
        out.indent()
        for name in names:
            out.writeline(f"v_{name},")
        out.outdent()
        out.writeline(")")
        return out.text()

    def read_entry_body(self, record: ast.RecordDecl) -> str:
        """The body of `_read_<record>(raw, path, errors)`: one entry of a list of records."""
        out = _Writer()
        known = f"_KNOWN_{record.name.upper()}"
        out.writeline("get = raw.get")
        out.writeline(f"if not raw.keys() <= {known}:")
        out.indent().writeline(f"check_unknown_fields(raw, {known}, errors, prefix=path + '.')")
        out.outdent()
        for field in record.fields:
            type_ = self.python_type(field.type)
            optional = " | None" if self.optional(field) else ""
            self.write_read(out, field, f"v_{field.name}", type_ + optional,
                            f"path + {'.' + field.name!r}")
        out.writeline(f"return {class_name(record.name)}(")
        out.indent()
        for field in record.fields:
            out.writeline(f"{field.name}=v_{field.name},")
        out.outdent()
        out.writeline(")")
        return out.text()

    def let_type(self, let: ast.LetDecl) -> str:
        type_ = self.checked.let_types[let.name]
        if type_.kind == "bool":
            return "bool"
        if self.is_int(let.expr):
            return "int"
        return {"number": "Decimal", "percent": "Decimal", "enum": "str", "text": "str",
                "date": "dt.date"}.get(type_.kind, "Decimal")

    # ------------------------------------------------------------ cohorts
    def cohorts_body(self) -> str:
        out = _Writer()
        for cohort in self.standard.cohorts:
            if isinstance(cohort, ast.CohortRank):
                assert isinstance(cohort.value, ast.Name)  # the checker made sure
                value = self.record_name.slot(cohort.value.name)
                top, bottom = self.band(cohort.top), self.band(cohort.bottom)
                out.writeline(f"ranks_{cohort.name} = competition_ranks(")
                out.indent().writeline(f"[{value} for r in batch], "
                                  f"descending={cohort.order == 'descending'}, "
                                  f"ties_best={cohort.ties == 'best'})")
                out.outdent()
                out.writeline(f"ranked_{cohort.name} = adjustments_for_ranks(ranks_{cohort.name}, "
                         f"top={top}, bottom={bottom})")
                out.writeline(f"count_{cohort.name} = sum(1 for rank in ranks_{cohort.name} "
                         "if rank is not None)")
            else:
                value = self.decimal_expr(cohort.value, self.record_name)
                group = self.expr(cohort.group, self.record_name)
                out.writeline(f"groups_{cohort.name} = group_means([{value} for r in batch], "
                         f"[{group} for r in batch])")
        out.writeline("cohorts: list[Cohorts | RecordInvalid] = []")
        out.writeline("for index, r in enumerate(batch):")
        out.indent()
        means = any(not isinstance(c, ast.CohortRank) for c in self.standard.cohorts)
        if means:  # a mean over too small a group is the record's error
            out.writeline("errors: list[FieldError] = []")
        for cohort in self.standard.cohorts:
            out.writeline(f"# {cohort.name}: {one_line(cohort.label)} (line {cohort.span.line})")
            if isinstance(cohort, ast.CohortRank):
                unranked = (self.decimal_expr(cohort.unranked, self.record_name)
                            if cohort.unranked is not None else "ZERO")
                out.writeline(f"rank_{cohort.name} = ranked_{cohort.name}[index]")
                out.writeline(f"v_{cohort.name} = rank_{cohort.name} if rank_{cohort.name} is not "
                         f"None else {unranked}")
                continue
            out.writeline(f"group_{cohort.name} = groups_{cohort.name}[index]")
            if cohort.override is not None:
                out.writeline(f"if r.{cohort.override} is not None:")
                out.indent().writeline(f"v_{cohort.name} = r.{cohort.override}")
                out.outdent()
                out.writeline(f"elif group_{cohort.name}.size >= {cohort.min_size}:")
            else:
                out.writeline(f"if group_{cohort.name}.size >= {cohort.min_size}:")
            out.indent().writeline(f"v_{cohort.name} = group_{cohort.name}.mean")
            out.outdent()
            out.writeline("else:")
            out.indent().writeline(f"v_{cohort.name} = ZERO")
            field = cohort.override or cohort.name
            rest = (f" (grouped by {self.source_of(cohort.group)}), and the mean needs at "
                    f"least {cohort.min_size}")
            if cohort.override is not None:
                rest += ": give the group's value in this field"
            message = (f"f\"is needed: the batch holds {{group_{cohort.name}.size}} "
                       f"institution(s) of this group\" + {py_string(rest)}")
            out.writeline(f"errors.append(FieldError({field!r}, {message}))")
            out.outdent()
        if means:
            out.writeline("if errors:")
            out.indent().writeline("cohorts.append(RecordInvalid(errors))")
            out.writeline("continue")
            out.outdent()
        out.writeline("cohorts.append(Cohorts(")
        out.indent()
        for cohort in self.standard.cohorts:
            out.writeline(f"{cohort.name}=v_{cohort.name},")
            if isinstance(cohort, ast.CohortRank):
                out.writeline(f"{cohort.name}_rank=ranks_{cohort.name}[index],")
                out.writeline(f"{cohort.name}_ranked=count_{cohort.name},")
            else:
                group = self.expr(cohort.group, self.record_name)
                out.writeline(f"{cohort.name}_group=str({group}),")
                out.writeline(f"{cohort.name}_group_size=group_{cohort.name}.size,")
        out.outdent()
        out.writeline("))")
        out.outdent()
        out.writeline("return cohorts")
        return out.text()

    def cohort_infos(self) -> list[str]:
        """`CohortInfo(...)` for each cohort value: what a snapshot stores and checks."""
        infos = []
        for cohort in self.standard.cohorts:
            if isinstance(cohort, ast.CohortRank):
                kind, group = "rank", None
                own = None if cohort.unranked is None else self.source_of(cohort.unranked)
            else:
                kind, group, own = "mean", self.source_of(cohort.group), cohort.override
            infos.append(f"CohortInfo(name={py_string(cohort.name)}, "
                         f"label={py_string(cohort.label)}, kind={py_string(kind)}, "
                         f"of={py_string(self.source_of(cohort.value))}, "
                         f"group={py_string(group)}, own={py_string(own)}, "
                         f"line={cohort.span.line})")
        return infos

    def cohort_facts(self) -> list[str]:
        """The facts and derived values the cohort values are computed from (what they rank
        or average, group by, or take instead): all a batch's first pass keeps of a record."""
        names: set[str] = set()
        for cohort in self.standard.cohorts:
            if isinstance(cohort, ast.CohortRank):
                parts = [cohort.value] + ([cohort.unranked] if cohort.unranked else [])
            else:
                parts = [cohort.value, cohort.group]
                if cohort.override is not None:
                    names.add(cohort.override)
            names.update(child.name for part in parts for child in _walk(part)
                         if isinstance(child, ast.Name | ast.Given))
        return sorted(name for name in names if name in self.declared)

    def cohort_bases(self) -> list[tuple[str, str]]:
        """Per cohort value, the code of its `CohortBasis` for a record `r`: the value ranked
        or averaged, the group, and the record's own value where it takes one."""
        bases = []
        for cohort in self.standard.cohorts:
            if isinstance(cohort, ast.CohortRank):
                assert isinstance(cohort.value, ast.Name)  # the checker made sure
                value = self.record_name.slot(cohort.value.name)
                own = ("None" if cohort.unranked is None else
                       f"{self.decimal_expr(cohort.unranked, self.record_name)} "
                       f"if {value} is None else None")
                bases.append((cohort.name, f"CohortBasis(value={value}, group=None, own={own})"))
            else:
                value = self.decimal_expr(cohort.value, self.record_name)
                group = self.expr(cohort.group, self.record_name)
                own = "None" if cohort.override is None else f"r.{cohort.override}"
                bases.append((cohort.name,
                              f"CohortBasis(value={value}, group=str({group}), own={own})"))
        return bases

    def band(self, band: ast.RankBand) -> str:
        return (f"Band(size={band.size}, start={self.decimal(band.start)}, "
                f"step={self.decimal(band.step)})")

    # ------------------------------------------------------------ operands (explanations)
    def unit_of(self, node: ast.Expr) -> str:
        """How an explanation shows a value of this expression."""
        if self.is_int(node):
            return "count"
        type_ = self.checked.type_of(node)
        if type_.kind == "number":
            return type_.base if type_.base in {"money", "score", "points"} else "number"
        return type_.kind

    def unit_of_name(self, identifier: str) -> str:
        if identifier in self.facts:
            base = self.facts[identifier].type.name
            return base if base in READERS and base != "number" else "number"
        let = next((x for x in self.standard.lets if x.name == identifier), None)
        if let is not None:
            if self.is_int(let.expr):
                return "count"
            type_ = self.checked.let_types[identifier]
        else:
            type_ = self.checked.cohort_types[identifier]
        return "number" if type_.kind == "number" else type_.kind

    def label_of(self, node: ast.Expr) -> str:
        """A name's label from the rule file (`count(x)`: x's); else its source text."""
        if isinstance(node, ast.Call) and node.function == "count":
            return self.label_of(node.args[0])
        if isinstance(node, ast.Name):
            if node.name in self.facts:
                return self.facts[node.name].label
            for declared in (*self.standard.lets, *self.standard.cohorts):
                if declared.name == node.name:
                    return declared.label
        return self.source_of(node)

    def name_operands(self, node: ast.Expr, seen: set[str]) -> list[str]:
        """An Operand for every fact, derived value and cohort value the expression reads
        (a derived value with the facts it is computed from; a rank with its place)."""
        found: list[str] = []
        for child in _walk(node):
            if not isinstance(child, ast.Name | ast.Given) or child.name in seen:
                continue
            identifier = child.name
            if identifier not in self.declared and identifier not in self.cohorts:
                continue
            seen.add(identifier)
            found += self.operands_of_name(identifier)
        return found

    def operands_of_name(self, identifier: str) -> list[str]:
        label = py_string(self.label_of(ast.Name(identifier, self.standard.header.span)))
        slot = self.record_name.slot(identifier)
        if identifier in self.facts:
            fact = self.facts[identifier]
            if fact.type.container is not None:
                return [f"Operand('entries', {label}, len({slot}), 'count')"]
            enum = next((e for e in self.standard.enums if e.name == fact.type.name), None)
            if enum is not None:
                table = f"_LABELS_{enum.name.upper()}"
                value = (f"None if {slot} is None else {table}[{slot}]"
                         if self.optional(fact) else f"{table}[{slot}]")
                return [f"Operand('fact', {label}, {value}, 'enum')"]
            return [f"Operand('fact', {label}, {slot}, {self.unit_of_name(identifier)!r})"]
        let = next((x for x in self.standard.lets if x.name == identifier), None)
        if let is not None:
            inputs = [operand.replace("Operand('fact',", "Operand('input',", 1)
                      for operand in self.name_operands(let.expr, {identifier})]
            return [f"Operand('derived', {label}, {slot}, {self.unit_of_name(identifier)!r})",
                    *inputs]
        cohort = next(c for c in self.standard.cohorts if c.name == identifier)
        found = [f"Operand('cohort', {label}, {slot}, {self.unit_of_name(identifier)!r})"]
        if isinstance(cohort, ast.CohortRank):
            assert isinstance(cohort.value, ast.Name)  # the checker made sure
            found += [operand.replace("Operand('fact',", "Operand('input',", 1)
                      for operand in self.name_operands(cohort.value, {identifier})]
            found += [f"Operand('rank', {label}, c.{identifier}_rank, 'count')",
                      f"Operand('ranked', {label}, c.{identifier}_ranked, 'count')"]
        else:
            source = "'batch'"
            if cohort.override is not None:
                source = f"'given' if r.{cohort.override} is not None else 'batch'"
            found += [f"Operand('group', {py_string(self.label_of(cohort.group))}, "
                      f"c.{identifier}_group, 'text')",
                      f"Operand('group_size', {label}, c.{identifier}_group_size, 'count')",
                      f"Operand('source', '', {source}, 'text')"]
        return found

    def shape_operands(self, node: ast.Expr, guard: str | None = None) -> list[str]:
        """Operands for what an expression resolves for this institution: the tier that held,
        the value a lookup chose, a weight. A part under `if`/`and`/`or` is guarded by the
        same condition (None when it is not evaluated), so it reads only what the rule read;
        nothing inside a loop (`sum(x in LIST: ...)`) is shown."""
        def guarded(code: str) -> str:
            return code if guard is None else f"({code} if {guard} else None)"

        def within(condition: str) -> str:
            return condition if guard is None else f"({guard} and {condition})"

        name = self.record_name
        match node:
            case ast.IfThenElse(condition=condition, then=then, otherwise=otherwise):
                test = self.expr(condition, name)
                return [*self.shape_operands(condition, guard),
                        *self.shape_operands(then, within(test)),
                        *self.shape_operands(otherwise, within(f"not {test}"))]
            case ast.Logical(op=op, left=left, right=right):
                test = self.expr(left, name)
                return [*self.shape_operands(left, guard),
                        *self.shape_operands(right, within(test if op == "and"
                                                          else f"not {test}"))]
            case ast.Aggregate():
                return self.shape_operands(node.source, guard)
            case ast.Tiers(subject=subject, tiers=tiers):
                unit = self.unit_of(subject)
                subject_code = self.expr(subject, name)
                code = f"Operand('tier', 'else', None, {unit!r})"
                for tier in reversed(tiers):
                    threshold = self.expr(tier.threshold, name)
                    code = (f"(Operand('tier', {tier.op!r}, {threshold}, {unit!r}) "
                            f"if {subject_code} {tier.op} {threshold} else {code})")
                return [guarded(code)]
            case ast.Lookup(subject=subject):
                return [guarded(f"Operand('threshold', {py_string(self.label_of(subject))}, "
                                f"{self.expr(node, name)}, {self.unit_of(node)!r})")]
            case ast.Arithmetic() if is_weight(node):
                percent = node.left if isinstance(node.left, ast.Percent) else node.right
                weighed = node.right if percent is node.left else node.left
                return [*self.shape_operands(weighed, guard),
                        guarded(f"Operand('weight', '', {self.expr(percent, name)}, "
                                "'percent')")]
        found: list[str] = []
        for child in _children(node):
            found += self.shape_operands(child, guard)
        return found

    def rule_operands(self, rule: ast.AmountRule | ast.StepRule | ast.EachRule
                      | ast.EntriesRule | ast.ZeroRule) -> list[str]:
        """The Operand values a rule used, as Python source (read only when explaining)."""
        name = self.record_name
        seen: set[str] = set()
        found: list[str] = []
        match rule:
            case ast.ZeroRule(condition=condition):
                found += self.name_operands(condition, seen)
                found.append(f"Operand('condition', '', {self.expr(condition, name)}, 'bool')")
            case ast.EntriesRule(source=source):
                code_type = self.entry_item_type(source)
                item = repr(str(self.current_item)) if code_type == "text" \
                    else str(self.current_item)
                found.append(f"*(Operand('entry', each.evidence, each.points, 'points') "
                             f"for each in r.{source} if each.item == {item})")
            case ast.StepRule():
                value_unit = self.unit_of(rule.value)
                found += self.name_operands(rule.value, seen)
                found += self.name_operands(rule.threshold, seen)
                key = rule.threshold.subject if isinstance(rule.threshold, ast.Lookup) \
                    else rule.threshold
                found += [
                    f"Operand('threshold', {py_string(self.label_of(key))}, "
                    f"{self.expr(rule.threshold, name)}, {value_unit!r})",
                    f"Operand('direction', '', {rule.direction!r}, 'text')",
                    f"Operand('step', '', {self.expr(rule.step, name)}, {value_unit!r})",
                    f"Operand('steps', {rule.rounding!r}, steps({self.expr(rule.value, name)}, "
                    f"{self.expr(rule.threshold, name)}, {self.expr(rule.step, name)}, "
                    f"{rule.direction!r}, {rule.rounding!r}), 'count')",
                    f"Operand('amount', '', {self.decimal_expr(rule.amount, name)}, 'points')",
                ]
            case ast.EachRule():
                found += self.name_operands(rule.source, seen)
            case ast.AmountRule(amount=amount, per=per, condition=condition):
                guard = None  # what the rule reads only `when` its condition holds
                if condition is not None:
                    guard = self.expr(condition, name)
                    found += self.name_operands(condition, seen)
                    found.append(f"Operand('condition', '', {guard}, 'bool')")
                found += self.name_operands(amount, seen)
                found += self.shape_operands(amount, guard)
                if per is not None:
                    count = (f"Operand('count', {py_string(self.label_of(per))}, "
                             f"{self.expr(per, name)}, {self.unit_of(per)!r})")
                    each = f"Operand('amount', '', {self.decimal_expr(amount, name)}, 'points')"
                    found += [f"({code} if {guard} else None)" if guard else code
                              for code in (count, each)]
        if not isinstance(rule, ast.ZeroRule | ast.EntriesRule) and rule.cap is not None:
            found.append(f"Operand('cap', '', {self.decimal(rule.cap)}, 'points')")
        if not isinstance(rule, ast.ZeroRule):
            found.append(f"Operand('sign', '', {rule.sign!r}, 'text')")
        return found

    def write_used(self, out: _Writer, operands: Sequence[str]) -> None:
        """`used(lines, ...)` after a rule's note, in an explaining item only (and not for a
        fixed award: its sign alone says nothing its reason does not)."""
        if not self.explaining or all(operand.startswith("Operand('sign',")
                                      for operand in operands):
            return
        out.writeline("used(")
        out.indent().writeline("lines,")
        for operand in operands:
            out.writeline(operand + ",")
        out.outdent()
        out.writeline(")")

    def write_note(self, out: _Writer, target: str, reason: str, delta: str) -> None:
        """`target op= delta`, e.g. `awards += ...`; an explaining item notes the rule's line
        (what it did) on the way."""
        if self.explaining:
            delta = f"note(lines, {reason}, {delta})"
        out.writeline(f"{target} {delta}")

    # ------------------------------------------------------------ items
    def visit_Item(self, item: ast.Item, explaining: bool, into: str = "") -> str:
        """An item's code: with `explaining`, the function that keeps a reason line per rule
        (`_explain_<n>`); without, the statements that leave the points only in the local
        `into` of `score` (None: not applicable), written into its body (a call per item
        costs more than the item's arithmetic). Both are written here from the same rules,
        one statement for another, so that they compute the same points in the same
        order."""
        self.explaining = explaining
        self.current_item = item.number
        self.current_points = item.points
        out = _Writer()
        name = self.record_name
        number, points = item.number, self.decimal(item.points)
        if item.not_applicable is not None:
            condition = self.expr(item.not_applicable.condition, name)
            out.writeline(f"if {condition}:")
            out.indent()
            reason = self.reason_of(item.not_applicable)
            if explaining:
                out.writeline("uses = (")
                out.indent()
                for operand in [*self.name_operands(item.not_applicable.condition, set()),
                                NOT_APPLICABLE]:
                    out.writeline(operand + ",")
                out.outdent()
                out.writeline(")")
                out.writeline(f"return not_applicable({number}, {points}, {reason}, True, uses)")
            else:
                out.writeline(f"{into} = None")
                out.outdent()
                out.writeline("else:")
                out.indent()
            if explaining:
                out.outdent()
        if explaining:
            out.writeline("lines: list[Line] = []")
        out.writeline("awards = ZERO")
        deducts = explaining or any(not isinstance(entry, ast.Part | ast.ZeroRule)
                                    and entry.sign != "award" for entry in item.body)
        if deducts:
            out.writeline("deductions = ZERO")
        zero_rules: list[ast.ZeroRule] = []
        for entry in item.body:
            if isinstance(entry, ast.Part):
                self.visit_Part(entry, out)
            elif isinstance(entry, ast.ZeroRule):
                zero_rules.append(entry)
            else:
                out.writeline(f"# {entry.span.line}: {one_line(entry.reason.text)}")
                target = "awards +=" if entry.sign == "award" else "deductions -="
                self.write_note(out, target, self.reason_of(entry), self.rule_delta(entry))
                self.write_used(out, self.rule_operands(entry))
        cap_reason, cap = "None", "ZERO"
        if item.deduction_cap is not None:
            cap_reason = self.reason_of(item.deduction_cap)
            cap = self.decimal(item.deduction_cap.points)
        if explaining:
            if zero_rules:
                out.writeline("zero_rules = (")
                out.indent()
                for rule in zero_rules:  # (reason, whether it holds, the values it used)
                    out.writeline("(")
                    out.indent().writeline(f"{self.reason_of(rule)},")
                    out.writeline(f"{self.expr(rule.condition, name)},")
                    out.writeline("(")
                    out.indent()
                    for operand in self.rule_operands(rule):
                        out.writeline(operand + ",")
                    out.outdent()
                    out.writeline("),")
                    out.outdent()
                    out.writeline("),")
                out.outdent()
                out.writeline(")")
            zeros = "zero_rules" if zero_rules else "()"
            out.writeline(f"return close_item({number}, {points}, awards, deductions, "
                     f"{cap_reason}, {cap}, {zeros}, lines)")
            return out.text()
        # close_item's arithmetic, without its lines: every `zero when` condition is
        # evaluated (as close_item's caller does), then the deduction cap, then [0, points].
        for index, rule in enumerate(zero_rules, 1):
            out.writeline(f"zero_{index} = {self.expr(rule.condition, name)}  "
                     f"# {rule.span.line}: {one_line(rule.reason.text)}")
        if not deducts:  # `awards - 0` is `awards`, digits and exponent (awards starts at 0)
            out.writeline(f"{into} = awards  # no deduction rules")
        else:
            if item.deduction_cap is not None:
                out.writeline(f"if deductions > {cap}:")
                out.indent().writeline(f"deductions = {cap}")
                out.outdent()
            out.writeline(f"{into} = awards - deductions")
        zeroed = "".join(f"zero_{index} or " for index in range(1, len(zero_rules) + 1))
        out.writeline(f"if {zeroed}{into} < ZERO:")
        out.indent().writeline(f"{into} = ZERO")
        out.outdent()
        out.writeline(f"elif {into} > {points}:")
        out.indent().writeline(f"{into} = {points}")
        out.outdent()
        return out.text()

    def score_body(self) -> str:
        """`score`'s body: each item's statements under a heading, leaving its points in
        `e<n>`; the ItemScores (made by `tuple.__new__(ItemScore, ...)`, the quickest way);
        then runtime `total()` written out for this pack. The applicable items are summed
        in the order `total()` sums them; the points of the items that always apply are
        added up here, at build time (exact sums of the rule file's points); an item that
        may not apply (G5) adds its points and maximum only when it does; bonus items
        counted apart are capped as `total()` caps them."""
        out = _Writer()
        items = [item for category in self.standard.categories for item in category.items]
        limit = self.bonus_limit()
        apart = limit != "None"
        in_maximum = self.standard.header.bonus_included and apart
        for item in items:
            unit = "point" if item.points == 1 else "points"
            bonus = " (bonus)" if item.bonus else ""
            not_applicable = " (None: not applicable)" if item.not_applicable else ""
            out.writeline(f"# item {item.number} {one_line(item.label)}: {item.points} {unit}"
                          f"{bonus}, line {item.span.line}{not_applicable}")
            if item.not_applicable is not None:
                out.writeline(f"e{item.number}: Decimal | None")
            out.lines.append(self.visit_Item(item, explaining=False, into=f"e{item.number}"))
        out.writeline("items = (")
        out.indent()
        for item in items:
            out.writeline(f"tuple.__new__(ItemScore, ({item.number}, "
                          f"{self.decimal(item.points)}, e{item.number}, ())),")
        out.outdent()
        out.writeline(")")
        # the maximum of the items that always apply, added up here
        fixed_max = sum((item.points for item in items if item.not_applicable is None
                         and (in_maximum or not (apart and item.bonus))), Decimal(0))
        out.writeline(f"applicable_max = {self.decimal(fixed_max)}")
        pending: list[str] = []  # the always-applicable items not yet summed, in order

        def flush(total: str, started: bool) -> None:
            if not started:
                out.writeline(f"{total} = {' + '.join(['ZERO', *pending])}")
            elif pending:
                out.writeline(f"{total} = {' + '.join([total, *pending])}")
            pending.clear()

        for total in ("earned", "bonus") if apart else ("earned",):
            started = False
            for item in items:
                if (total == "bonus") != (apart and item.bonus):
                    continue
                name = f"e{item.number}"
                if item.not_applicable is None:
                    pending.append(name)
                    continue
                flush(total, started)
                started = True
                out.writeline(f"if {name} is not None:")
                out.indent().writeline(f"{total} += {name}")
                if total == "earned" or in_maximum:
                    out.writeline(f"applicable_max += {self.decimal(item.points)}")
                out.outdent()
            flush(total, started)
        if apart:
            out.writeline(f"earned += min(bonus, {limit})")
        rescale = self.standard.header.rescale
        out.writeline(f"return close_total(items, earned, applicable_max, "
                      f"{'None' if rescale is None else self.decimal(rescale)})")
        return out.text()

    def visit_Part(self, part: ast.Part, out: _Writer) -> None:
        item_points, self.current_points = self.current_points, part.points
        self.write_part(part, out)
        self.current_points = item_points

    def write_part(self, part: ast.Part, out: _Writer) -> None:
        points = self.decimal(part.points)
        unit = "point" if part.points == 1 else "points"
        out.writeline(f"# part {one_line(part.label)} ({part.points} {unit}, "
                      f"line {part.span.line})")
        if part.not_applicable is not None:
            condition = self.expr(part.not_applicable.condition, self.record_name)
            out.writeline(f"if {condition}:")
            out.indent()
            self.write_note(out, "awards +=", self.reason_of(part.not_applicable), points)
            self.write_used(out, [*self.name_operands(part.not_applicable.condition, set()),
                                  NOT_APPLICABLE])
            out.outdent()
            out.writeline("else:")
            out.indent()
        # a part of one rule, proven within its points at build time: the rule's points go
        # straight to `awards` (`awards + (0 + x)` is `awards + x`, digits and exponent:
        # `awards` starts at 0; not so for two rules, whose sum could round otherwise)
        within = not self.explaining and part_within_points(part, self.analysis)
        proven = within and len(part.rules) == 1
        if proven:
            out.writeline(f"# within [0, {part.points}] for every input (the facts' declared "
                          "bounds): no clamp")
        else:
            out.writeline("part = ZERO")
        for rule in part.rules:
            if proven:
                assert not isinstance(rule, ast.ZeroRule)  # part_within_points refuses them
                self.write_note(out, "awards +=", self.reason_of(rule), self.rule_delta(rule))
                continue
            if isinstance(rule, ast.ZeroRule):
                condition = self.expr(rule.condition, self.record_name)
                out.writeline(f"if {condition}:")
                out.indent()
                if self.explaining:
                    out.writeline(f"note(lines, {self.reason_of(rule)}, -part)")
                else:
                    self.reason_of(rule)
                self.write_used(out, self.rule_operands(rule))
                out.writeline("part = ZERO")
                out.outdent()
                continue
            self.write_note(out, "part +=", self.reason_of(rule), self.rule_delta(rule))
            self.write_used(out, self.rule_operands(rule))
        if self.explaining:
            out.writeline(f"awards += close_part(part, {points}, lines)")
        elif proven:
            pass
        elif within:
            out.writeline(f"awards += part  # within [0, {part.points}] for every input "
                          "(the facts' declared bounds)")
        else:  # close_part's arithmetic: the part's points kept within [0, its points]
            out.writeline(f"awards += part if ZERO <= part <= {points} else "
                     f"(ZERO if part < ZERO else {points})")
        if part.not_applicable is not None:
            out.outdent()

    def rule_delta(self, rule: ast.AmountRule | ast.StepRule | ast.EachRule
                   | ast.EntriesRule) -> str:
        """The signed points a rule gives (awards positive, deductions negative): the
        rule's own `delta_<Rule>` method, then its cap and sign."""
        delta: Callable[[Any], str] = getattr(self, f"delta_{type(rule).__name__}")
        code = delta(rule)
        if rule.cap is not None:
            code = f"min({code}, {self.decimal(rule.cap)})"
        if rule.sign == "award":
            return code
        return f"-{code}" if _parenthesized(code) else f"-({code})"

    def delta_EntriesRule(self, rule: ast.EntriesRule) -> str:
        code_type = self.entry_item_type(rule.source)
        item = repr(str(self.current_item)) if code_type == "text" else str(self.current_item)
        return f"sum((each.points for each in r.{rule.source} if each.item == {item}), ZERO)"

    def delta_AmountRule(self, rule: ast.AmountRule) -> str:
        name = self.record_name
        code = self.decimal_expr(rule.amount, name)
        if rule.per is not None:
            code = f"{code} * {self.expr(rule.per, name)}"
        if rule.condition is not None:
            code = f"({code} if {self.expr(rule.condition, name)} else ZERO)"
        return code

    def delta_StepRule(self, rule: ast.StepRule) -> str:
        name = self.record_name
        return (f"{self.decimal_expr(rule.amount, name)} * steps("
                f"{self.expr(rule.value, name)}, {self.expr(rule.threshold, name)}, "
                f"{self.expr(rule.step, name)}, {rule.direction!r}, {rule.rounding!r})")

    def delta_EachRule(self, rule: ast.EachRule) -> str:
        name = self.record_name
        body = self.decimal_expr(rule.amount, name)
        guard = f" if {self.expr(rule.condition, name)}" if rule.condition is not None else ""
        source = self.expr(rule.source, name)
        return _unless_empty(f"sum(({body} for each_{rule.variable} in {source}{guard}), ZERO)",
                             source, "ZERO")

    def entry_item_type(self, source: str) -> str:
        record = self.records[self.facts[source].type.name]
        return next(f.type.name for f in record.fields if f.name == "item")

    def catalogues(self) -> dict[str, dict[str, Decimal]]:
        """For each list of entries: the items that take its entries, and their points."""
        found: dict[str, dict[str, Decimal]] = {}
        for item in self.standard.items:
            rules = [e for e in item.body if isinstance(e, ast.EntriesRule)]
            rules += [r for p in item.body if isinstance(p, ast.Part) for r in p.rules
                      if isinstance(r, ast.EntriesRule)]
            for rule in rules:
                found.setdefault(rule.source, {})[str(item.number)] = item.points
        return found

    def framework_rules(self) -> str | None:
        """The framework's clauses as a FrameworkRules value for the pack: one keyword
        argument per clause, each clause a typed value with its reason (None: not given)."""
        framework = self.framework
        if framework is None:
            return None
        limit = framework.bonus_limit
        total = framework.deductions_total
        assert total is not None  # the checker requires it (C221)
        return _call("FrameworkRules", [
            ("name", repr(framework.name)),
            ("title", repr(framework.title)),
            ("grades", "(\n" + "".join(
                _indented(_clause_code(g)) + ",\n" for g in framework.grades) + ")"),
            ("bonus_limit", "None" if limit is None else _decimal_code(limit.points)),
            ("deductions_total", _decimal_code(total.points)),
            ("composite", _clause_code(framework.composite)),
            ("other_breach", _clause_code(framework.other_breach)),
            ("downgrade", _clause_code(framework.downgrade)),
            ("veto", _clause_code(framework.veto)),
            ("tenure", _clause_code(framework.tenure)),
            ("terminated", _clause_code(framework.terminated)),
            ("exit_with_violations", _clause_code(framework.exit_with_violations)),
            ("exit_without_violations", _clause_code(framework.exit_without_violations)),
            ("referral", _clause_code(framework.referral)),
        ])

    def bonus_limit(self) -> str:
        """Bonus counted apart and capped: the standard's own limit, else its framework's."""
        header = self.standard.header
        if header.bonus_limit is not None:
            return self.decimal(header.bonus_limit)
        if header.bonus_included:
            return "None"
        limit = self.framework.bonus_limit if self.framework else None
        return "None" if limit is None else self.decimal(limit.points)

    # ------------------------------------------------------------ the template's context
    def columns(self) -> dict[str, object]:
        """The column form (compiler/columngen.py): the plan, check_columns' and
        score_columns' bodies and the runtime.columns names they use; or why there is none."""
        plan, reason, check, score = ColumnBackend(self).generate()
        used = sorted(name for name in COLUMN_HELPERS if re.search(rf"\b{name}\(", score + check))
        return {"plan": plan, "reason": reason, "check": check, "score": score,
                "uses": used}

    def context(self) -> dict[str, object]:
        standard = self.standard
        header = standard.header
        items = []
        for category in standard.categories:
            for item in category.items:
                items.append({"item": item, "category": category,
                              "explain": self.visit_Item(item, explaining=True)})
        score_body = self.score_body()
        columns = self.columns()
        read_body = self.read_record_body()
        framework_rules = self.framework_rules()
        cohorts_body = self.cohorts_body() if standard.cohorts else None
        fact_infos = [self.fact_info(f) for f in standard.facts]
        enums = []
        for enum in standard.enums:
            accepted: dict[str, str] = {}
            for member in enum.members:
                accepted[member.name] = member.name
                accepted[member.label] = member.name
            enums.append({"decl": enum, "accepted": accepted,
                          "labels": {m.name: m.label for m in enum.members}})
        records = []
        for record in standard.records:
            records.append({
                "decl": record, "class_name": class_name(record.name),
                "fields": [(f, self.python_type(f.type)) for f in record.fields],
                "body": self.read_entry_body(record),
                "known": sorted(f.name for f in record.fields),
            })
        facts_fields = [(f.name, self.python_type(f.type) + (" | None" if self.optional(f)
                                                             else ""), f.label)
                        for f in standard.facts]
        lets_fields = [(x.name, self.let_type(x), x.label) for x in standard.lets]
        cohort_fields: list[tuple[str, str, str]] = []
        # Per field of `Cohorts`, the code that takes it from a snapshot's entry.
        cohort_rebuild: list[tuple[str, str]] = []
        for cohort in standard.cohorts:
            name = cohort.name
            cohort_fields.append((name, "Decimal", cohort.label))
            cohort_rebuild.append((name, f"values[{py_string(name)}]"))
            if isinstance(cohort, ast.CohortRank):
                cohort_fields += [(f"{name}_rank", "int | None", "its rank (None: unranked)"),
                                  (f"{name}_ranked", "int", "how many were ranked")]
                cohort_rebuild += [
                    (f"{name}_rank", f"snapshot_rank(details, {py_string(name + '_rank')})"),
                    (f"{name}_ranked",
                     f"snapshot_count(details, {py_string(name + '_ranked')})")]
            else:
                cohort_fields += [(f"{name}_group", "str", "its group"),
                                  (f"{name}_group_size", "int",
                                   "how many of its group were scored together")]
                cohort_rebuild += [
                    (f"{name}_group", f"snapshot_text(details, {py_string(name + '_group')})"),
                    (f"{name}_group_size",
                     f"snapshot_count(details, {py_string(name + '_group_size')})")]
        cohort_infos = self.cohort_infos()
        cohort_bases = self.cohort_bases()
        rescale = self.decimal(header.rescale) if header.rescale is not None else "None"
        bonus_limit = self.bonus_limit()  # before the constants are listed
        constants = sorted(self.constants.items(), key=lambda kv: (Decimal(kv[0]), kv[0]))
        reasons = [(name, reason, line, file) for name, (reason, line, file) in
                   sorted(self.reasons.items(), key=lambda kv: (kv[1][1], kv[0]))]
        return {
            "standard": standard, "header": header, "name": pack_name(standard),
            "compiler_version": __version__, "items": items, "enums": enums,
            "records": records, "facts_fields": facts_fields, "lets_fields": lets_fields,
            "cohort_fields": cohort_fields, "cohort_rebuild": cohort_rebuild,
            "cohort_infos": cohort_infos,
            "cohort_bases": cohort_bases, "cohort_facts": tuple_code(self.cohort_facts()),
            "read_body": read_body,
            "cohorts_body": cohorts_body, "fact_infos": fact_infos,
            "known_fields": sorted({"id", "name"} | {f.name for f in standard.facts}),
            "framework_fields": self.framework is not None,
            "framework_rules": framework_rules, "framework": self.framework,
            "bonus_limit": bonus_limit,
            "bonus_items": sorted(i.number for i in standard.items if i.bonus),
            "bonus_in_maximum": header.bonus_included and header.bonus_limit is not None,
            "catalogues": sorted((source, ", ".join(f"{code!r}: {self.decimal(points)}"
                                                    for code, points in items.items()))
                                 for source, items in self.catalogues().items()),
            "rescale": rescale, "constants": constants, "reasons": reasons,
            "score_body": score_body,
            "columns": columns,
            "lookups": sorted(self.lookups.items()),
            "rule_infos": self.rule_infos,
        }


def _unless_empty(code: str, source: str, empty: str) -> str:
    """A loop over a list read from a record (a field: never None, lists are read as empty),
    skipped when the list is empty: `empty` is the value the loop gives for no entries
    (sum's start, max's default), without making a generator."""
    if not _DOTTED.fullmatch(source):
        return code
    return f"({code} if {source} else {empty})"


def _parenthesized(code: str) -> bool:
    """Whether an expression is one parenthesized group, `(...)`, as a whole."""
    depth = 0
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline)
              if t.type not in {tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER}]
    for index, token in enumerate(tokens):
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        if depth == 0 and index < len(tokens) - 1:
            return False
    return bool(tokens) and tokens[0].string == "("


def _runtime_names(source: str) -> list[str]:
    """The names of the runtime's pack API that a pack's code uses (read from its syntax
    tree, so a name in a string or a comment does not count), in isort's order."""
    used = {node.id for node in python_ast.walk(python_ast.parse(source))
            if isinstance(node, python_ast.Name)}
    return sorted(used & set(PACK_API), key=_import_order)


def _call(function: str, arguments: Sequence[tuple[str, str]]) -> str:
    """`function(` and one keyword argument a line, indented, then `)`."""
    lines = [f"{function}("]
    lines += [_indented(f"{name}={value}") + "," for name, value in arguments]
    return "\n".join([*lines, ")"])


def _indented(code: str) -> str:
    return "\n".join("    " + line if line else line for line in code.split("\n"))


def _decimal_code(value: Decimal) -> str:
    return f"Decimal({str(value)!r})"


def _reason_code(reason: ast.Reason, line: int) -> str:
    return (f"Reason(text={reason.text!r}, citations={tuple_code(reason.citations)}, "
            f"line={line})")


def _clause_code(clause: ast.FrameworkClause | None) -> str:
    """A framework clause as the runtime's value of the same name: its values, then its
    reason (the line is where the clause starts). None: the framework does not give it."""
    decimal = _decimal_code
    fields: list[tuple[str, str]]
    match clause:
        case None:
            return "None"
        case ast.GradeRule():
            fields = [
                ("label", repr(clause.label)),
                ("floor", decimal(clause.floor)),
                ("refund", decimal(clause.refund)),
                ("step", "None" if clause.step is None else decimal(clause.step)),
                ("below", "None" if clause.below is None else decimal(clause.below)),
                ("renewal", repr(clause.renewal)),
                ("repeat_grade", repr(clause.repeat_grade)),
                ("repeat_renewal", repr(clause.repeat_renewal)),
                ("publicize", repr(clause.publicize)),
            ]
        case ast.Composite():
            fields = [("own", decimal(clause.own)),
                      ("subordinates", decimal(clause.subordinates))]
        case ast.OtherBreach():
            fields = [("renewal", repr(clause.renewal))]
        case ast.Downgrade():
            fields = [("national", repr(clause.national)),
                      ("provincial", repr(clause.provincial))]
        case ast.Veto():
            fields = [("grade", repr(clause.grade))]
        case ast.Tenure():
            fields = [("months", repr(clause.months))]
        case ast.Terminated() | ast.ExitWithoutViolations():
            fields = [("refund", decimal(clause.refund))]
        case ast.ExitWithViolations():
            fields = [("grade", repr(clause.grade)), ("score", decimal(clause.score))]
        case ast.Referral():
            fields = []
        case ast.DeductionsTotal() | ast.BonusLimit() | ast.Evidence():
            raise ValueError(f"'{clause.keyword}' is checked when building, not compiled")
    reason = _reason_code(clause.reason, clause.span.line)
    return _call(type(clause).__name__, [*fields, ("reason", reason)])


def _given_names(condition: ast.Expr) -> frozenset[str]:
    """The facts that are given wherever `condition` holds: those it tests with `given`,
    alone or in a conjunction."""
    match condition:
        case ast.Given(name=identifier):
            return frozenset((identifier,))
        case ast.Logical(op="and", left=left, right=right):
            return _given_names(left) | _given_names(right)
    return frozenset()


def _can_fail(code: str) -> bool:
    """Whether generated code calls a runtime function that raises Undefined (a missing
    fact a rule needs, a division by 0)."""
    return any(isinstance(node, python_ast.Call) and isinstance(node.func, python_ast.Name)
               and node.func.id in UNDEFINED_RAISERS
               for node in python_ast.walk(python_ast.parse(code, mode="eval")))


def _import_order(name: str) -> tuple[int, str]:
    """isort's order by type: CONSTANTS, then Classes, then functions."""
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name.lower()


def _walk(node: ast.Expr) -> Iterator[ast.Expr]:
    """An expression and every expression inside it, in source order."""
    yield node
    for child in _children(node):
        yield from _walk(child)


def _children(node: ast.Expr) -> Iterator[ast.Expr]:
    """The expressions directly inside an expression (a tier's threshold and result, a
    lookup case's result), in source order."""
    for field in fields(node):
        value = getattr(node, field.name)
        children = value if isinstance(value, tuple) else (value,)
        for child in children:
            if isinstance(child, ast.Tier):
                yield child.threshold
                yield child.result
            elif isinstance(child, ast.LookupCase):
                yield child.result
            elif is_dataclass(child) and hasattr(child, "span") \
                    and not isinstance(child, ast.Span):
                yield child  # type: ignore[misc]
