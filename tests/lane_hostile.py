"""Hostile JSON Lines batches for the column lane's differential test, and the harness that
scores one batch two ways and says where they differ (tests/test_lane_differential.py).

A batch starts from `benchmarks/generate.py`'s seeded records of a pack and changes some of
them, each change (a `Mutation`) at a known record, by one of the `KINDS` below: one for
each raw-bytes guard of the lane (its module docstring lists them) and for every edge a
fixed-point column could get wrong (bounds and one last-decimal unit beyond, 4, 5 and 28
decimals, exponents, huge counts, labels and aliases, ids, nulls, nested entries, a zero
share denominator, long lines, deep nesting). Some kinds change the file as a whole (a
byte-order mark, CRLF everywhere, no final newline, a truncated last line, percents written
as fractions). The records are written as `generate.json_text` writes them (", " and ": "
between fields, UTF-8, decimals as their digits), so an unchanged record is one the lane can
vouch for; the mutated ones are written raw, byte for byte as the kind says.

The harness (`compare`) runs `policyc score` in this process (click's runner) once per way
(`RECORD`, `COLUMNS`, `AUTO`, or `--jobs N` to prove the harness itself) and compares the
output file's bytes, stdout, stderr and the exit code; a `Difference` shows the first line
that differs on each side, the input line it comes from and the mutations of that record.

Not policy data: values are illustrative; only their spelling and edges matter here.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from helpers import GENERATED, ROOT

from policy_dsl.cli import cli
from policy_dsl.reading import ID_LABELS
from policy_dsl.runtime import Pack, load_pack
from policy_dsl.runtime.packs import FactInfo
from policy_dsl.template import facts_of

sys.path.insert(0, str(ROOT / "benchmarks"))
import generate

Record = dict[str, Any]
D = Decimal
BOM = b"\xef\xbb\xbf"
SUZHOU = ("suzhou/inpatient-2023", "suzhou/outpatient-2023", "suzhou/kunshan-outpatient-2023")
PACKS = (*SUZHOU, "jilin/medical-inpatient-2026", "jilin/medical-outpatient-2026",
         "jilin/pharmacy-2026", "jilin/changchun-medical-inpatient-2026")
# The lane's blocks: cut at about this many lines or bytes, whichever comes first (DESIGN).
BLOCK_LINES = 32 * 1024
BLOCK_BYTES = 8 << 20

# ---------------------------------------------------------------- writing records raw


class Raw(str):
    """JSON text written as it is (a key or a value), however wrong."""


def dumps(value: Any) -> str:
    """`generate.json_text`'s spelling (so an unchanged record is written as the generator
    writes it), with `Raw` text passed through and an object given as a list of pairs
    (repeated keys) allowed."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Pairs):
        return "{" + ", ".join(f"{dumps(k)}: {dumps(v)}" for k, v in value) + "}"
    if isinstance(value, dict):
        return dumps(Pairs(value.items()))
    if isinstance(value, list):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    if isinstance(value, bool | None | int | str | Decimal | dt.date):
        return generate.json_text(value)
    raise TypeError(f"no JSON for {type(value).__name__}")


class Pairs(list[tuple[Any, Any]]):
    """An object's fields in order, a key possibly twice."""


# ---------------------------------------------------------------- a pack's facts by kind

NUMBER_TYPES = frozenset({"percent", "money", "points", "score", "number"})


def enum_codes(fact: FactInfo) -> tuple[str, ...]:
    """An enum's (or a list or set of an enum's) codes: from its members, or from an inline
    type `a | b | c`."""
    if fact.members:
        return tuple(code for code, _ in fact.members)
    kind = re.sub(r"^(list|set) of ", "", fact.type)
    return tuple(part.strip() for part in kind.split("|")) if "|" in kind else ()


@dataclass(frozen=True)
class Facts:
    """A pack's input facts, sorted by what a mutation can do with them."""

    pack: str
    all: tuple[FactInfo, ...]

    @classmethod
    @cache
    def of(cls, pack: str) -> Facts:
        return cls(pack, facts_of(load(pack)))

    def where(self, test: Callable[[FactInfo], bool]) -> list[FactInfo]:
        return [fact for fact in self.all if test(fact)]

    @property
    def numbers(self) -> list[FactInfo]:
        return self.where(lambda f: f.type in NUMBER_TYPES)

    @property
    def counts(self) -> list[FactInfo]:
        return self.where(lambda f: f.type == "count")

    @property
    def bools(self) -> list[FactInfo]:
        return self.where(lambda f: f.type == "bool")

    @property
    def enums(self) -> list[FactInfo]:
        return self.where(lambda f: bool(enum_codes(f))
                          and not f.type.startswith(("list of", "set of")))

    @property
    def enum_lists(self) -> list[FactInfo]:
        return self.where(lambda f: bool(enum_codes(f))
                          and f.type.startswith(("list of", "set of")))

    @property
    def entry_lists(self) -> list[FactInfo]:
        return self.where(lambda f: bool(f.fields))

    @property
    def lists(self) -> list[FactInfo]:
        return self.where(lambda f: f.type.startswith(("list of", "set of")))

    @property
    def required(self) -> list[FactInfo]:
        return self.where(lambda f: f.presence == "required")

    @property
    def optional(self) -> list[FactInfo]:
        return self.where(lambda f: f.presence != "required")

    @property
    def labelled(self) -> list[FactInfo]:
        return self.where(lambda f: bool(f.label) and f.label != f.name)


@cache
def load(pack: str) -> Pack:
    return load_pack(pack, packs_dir=GENERATED)


# ---------------------------------------------------------------- mutations


@dataclass(frozen=True)
class Edit:
    """What a mutation makes of one record: its physical lines (without their line
    breaks; a line may end in "\\r"), how many output lines they give, and what changed."""

    lines: tuple[bytes, ...]
    note: str
    records: int = 1


@dataclass(frozen=True)
class Context:
    """What a mutation may look at beside its record: the batch's ids (to repeat one) and
    a seeded random source."""

    facts: Facts
    rng: random.Random
    ids: Sequence[str]
    index: int


Mutate = Callable[[Context, Record], Edit | None]
KINDS: dict[str, Mutate] = {}  # record-level kinds, by name
FILE_KINDS: dict[str, Callable[[Context, list[Record]], str]] = {}  # whole-file kinds


def kind(name: str) -> Callable[[Mutate], Mutate]:
    def register(function: Mutate) -> Mutate:
        assert name not in KINDS, name
        KINDS[name] = function
        return function
    return register


def line(record: Any, note: str, records: int = 1) -> Edit:
    text = record if isinstance(record, str) else dumps(record)
    return Edit((text.encode("utf-8", "surrogatepass"),), note, records)


def present(context: Context, record: Record, facts: list[FactInfo]) -> FactInfo | None:
    """A fact of `facts` the record gives (else any of them), or None."""
    given = [fact for fact in facts if fact.name in record]
    choices = given or facts
    return context.rng.choice(choices) if choices else None


def set_value(context: Context, record: Record, facts: list[FactInfo], value: Any,
              what: str = "") -> Edit | None:
    fact = present(context, record, facts)
    if fact is None:
        return None
    shown = value(fact) if callable(value) else value
    if shown is NOTHING:
        return None
    record[fact.name] = shown
    return line(record, f"{fact.name} = {dumps(shown)}{what}")


class _Nothing:
    pass


NOTHING: Any = _Nothing()  # a value function's "this fact has no such value"


def _bounded(side: str) -> Callable[[FactInfo], bool]:
    return lambda fact: fact.type in NUMBER_TYPES and getattr(fact, side) is not None


# -- the raw-bytes guards (DESIGN's list, in its order)


@kind("not_utf8")
def _not_utf8(context: Context, record: Record) -> Edit:
    record["name"] = Raw('"@@"')
    text = dumps(record).encode("utf-8").replace(b"@@", b"\xff\xfe bad")
    return Edit((text,), "name holds the bytes ff fe (not UTF-8)")


@kind("cut_utf8_character")
def _cut_utf8(context: Context, record: Record) -> Edit:
    record["name"] = Raw('"@@"')
    text = dumps(record).encode("utf-8").replace(b"@@", "示".encode()[:2])
    return Edit((text,), "name holds the first two bytes of a three-byte character")


@kind("bom_on_a_line")
def _bom_on_a_line(context: Context, record: Record) -> Edit:
    return Edit((BOM + dumps(record).encode("utf-8"),), "a byte-order mark starts the line")


@kind("escape_in_a_value")
def _escape_in_a_value(context: Context, record: Record) -> Edit:
    record["name"] = Raw('"\\u793a\\u4f8b\\n\\t"')
    return line(record, "name written with \\u escapes, \\n and \\t")


@kind("escape_in_an_id")
def _escape_in_an_id(context: Context, record: Record) -> Edit:
    record["id"] = Raw('"' + _id(context, record)[:-1] + '\\u0030"')
    return line(record, "id's last character written as \\u0030, an escaped 0 (the id of "
                "another record where it ends in 1..9)")


@kind("escaped_key")
def _escaped_key(context: Context, record: Record) -> Edit | None:
    fact = present(context, record, context.facts.required)
    if fact is None or fact.name not in record:
        return None
    value = record.pop(fact.name)
    spelled = fact.name.replace(fact.name[0], f"\\u{ord(fact.name[0]):04x}", 1)
    record[Raw(f'"{spelled}"')] = value
    return line(record, f"key {fact.name} spelled {spelled}")


@kind("lone_surrogate")
def _lone_surrogate(context: Context, record: Record) -> Edit:
    record["name"] = Raw('"a\\ud800b"')
    return line(record, "name holds an unpaired surrogate \\ud800")


@kind("surrogate_pair")
def _surrogate_pair(context: Context, record: Record) -> Edit:
    record["name"] = Raw('"\\ud83d\\ude00"')
    return line(record, "name is an escaped surrogate pair (valid)")


@kind("quote_colon_in_a_string")
def _quote_colon(context: Context, record: Record) -> Edit:
    record["name"] = Raw('"x\\": 1, \\"y\\":"')
    return line(record, 'name holds \\": twice (the count of ": differs from the keys)')


@kind("crlf_line")
def _crlf_line(context: Context, record: Record) -> Edit:
    return Edit((dumps(record).encode("utf-8") + b"\r",), "the line ends in CRLF")


@kind("lone_cr_in_a_line")
def _lone_cr(context: Context, record: Record) -> Edit:
    text = dumps(record).replace(", ", ",\r ", 1)
    return line(text, "a lone CR after the first comma (JSON whitespace)")


@kind("cr_line_before")
def _cr_line(context: Context, record: Record) -> Edit:
    return Edit((b"\r", dumps(record).encode("utf-8")), "a line holding only CR before it")


@kind("blank_line_before")
def _blank_before(context: Context, record: Record) -> Edit:
    return Edit((b"", dumps(record).encode("utf-8")), "an empty line before it")


@kind("whitespace_lines_before")
def _whitespace_before(context: Context, record: Record) -> Edit:
    return Edit((b" \t ", "\u3000".encode(), b"  ", dumps(record).encode("utf-8")),
                "lines of spaces and tabs, and of U+3000 alone, before it")


@kind("space_before_colon")
def _space_before_colon(context: Context, record: Record) -> Edit:
    key = context.rng.choice([k for k in record if k != "id"])
    value = record.pop(key)
    record[Raw(f'"{key}" ')] = value
    return line(record, f'"{key}" : (a space before the colon)')


@kind("tab_before_colon")
def _tab_before_colon(context: Context, record: Record) -> Edit:
    key = context.rng.choice([k for k in record if k != "id"])
    value = record.pop(key)
    record[Raw(f'"{key}"\t')] = value
    return line(record, f'"{key}"\\t: (a tab before the colon)')


def _repeat(context: Context, record: Record, other: Callable[[Any], Any], spaced: bool,
            first: bool) -> Edit | None:
    fact = present(context, record, context.facts.numbers + context.facts.counts)
    if fact is None or fact.name not in record:
        return None
    if not isinstance(record[fact.name], Decimal | int):
        record[fact.name] = D(1)  # an earlier change wrote it otherwise
    pairs = Pairs(record.items())
    key = Raw(f'"{fact.name}"' + (" " if spaced else ""))
    again = (key, other(record[fact.name]))
    pairs.insert(1 if first else len(pairs), again)
    where = "before" if first else "after"
    return line(pairs, f"{fact.name} given twice ({dumps(again[1])} {where} "
                f"{dumps(record[fact.name])}){' with a space before the colon' if spaced else ''}")


@kind("repeated_key")
def _repeated_key(context: Context, record: Record) -> Edit | None:
    return _repeat(context, record, lambda v: v + 1, spaced=False, first=False)


@kind("repeated_key_same_value")
def _repeated_key_same(context: Context, record: Record) -> Edit | None:
    return _repeat(context, record, lambda v: v, spaced=False, first=True)


@kind("repeated_key_spaced")
def _repeated_key_spaced(context: Context, record: Record) -> Edit | None:
    """The second key spelled `"k" :`, so the line's `":` count is the number of distinct
    keys: the count guard alone cannot see it."""
    return _repeat(context, record, lambda v: v + 1, spaced=True, first=False)


@kind("null_optional")
def _null_optional(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.optional, None)


@kind("null_required")
def _null_required(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.required, None)


@kind("null_id")
def _null_id(context: Context, record: Record) -> Edit:
    record["id"] = None
    return line(record, "id = null")


@kind("null_name")
def _null_name(context: Context, record: Record) -> Edit:
    record["name"] = None
    return line(record, "name = null")


@kind("unknown_key")
def _unknown_key(context: Context, record: Record) -> Edit:
    """An unknown key, or a fact's name spelled with other case or spaces around it."""
    fact = context.rng.choice(context.facts.all)
    key = context.rng.choice(("misspelt_fact", "备注", fact.name.upper(), f" {fact.name}",
                              f"{fact.name} ", ""))
    record[key] = record.get(fact.name, 1)
    return line(record, f"an unknown key {key!r} = {dumps(record[key])}")


@kind("unknown_key_null")
def _unknown_key_null(context: Context, record: Record) -> Edit:
    record["misspelt_fact"] = None
    return line(record, "an unknown key misspelt_fact = null")


@kind("number_as_string")
def _number_as_string(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.numbers,
                     lambda f: str(record.get(f.name, D("12.5"))) if not isinstance(
                         record.get(f.name), list) else NOTHING, " (a string)")


@kind("count_as_string")
def _count_as_string(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.counts,
                     lambda f: str(record.get(f.name, 3)), " (a string)")


@kind("bool_as_string")
def _bool_as_string(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.bools,
                     lambda f: context.rng.choice(("true", "false", "是", "否")))


@kind("bool_as_number")
def _bool_as_number(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.bools,
                     lambda f: context.rng.choice((Raw("1"), Raw("0"))))


@kind("id_as_number")
def _id_as_number(context: Context, record: Record) -> Edit:
    record["id"] = Raw(str(100_000 + context.index))
    return line(record, f"id = {record['id']} (a number)")


@kind("id_as_decimal")
def _id_as_decimal(context: Context, record: Record) -> Edit:
    record["id"] = Raw("12.5")
    return line(record, "id = 12.5")


def _number_text(context: Context, record: Record, spell: Callable[[FactInfo, Decimal],
                 str | None], facts: list[FactInfo] | None = None) -> Edit | None:
    """A number fact the record gives, written as `spell` writes its value."""
    among = facts if facts is not None else context.facts.numbers
    choices = [f for f in among if isinstance(record.get(f.name), Decimal | int)
               and not isinstance(record.get(f.name), bool)]
    if not choices:  # a fact the record leaves out, given (from 50)
        choices = [f for f in among if f.name not in record]
    if not choices:
        return None
    fact = context.rng.choice(choices)
    text = spell(fact, D(record.get(fact.name, 50)))
    if text is None:
        return None
    record[fact.name] = Raw(text)
    return line(record, f"{fact.name} = {text}")


def _plain(value: Decimal) -> str:
    return format(value, "f")


@kind("exponent_lower")
def _exponent_lower(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: f"{_plain(v / 100)}e2")


@kind("exponent_upper_plus")
def _exponent_upper(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: f"{_plain(v / 100)}E+2")


@kind("exponent_on_a_count")
def _exponent_count(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: f"{_plain(v)}e0", context.facts.counts)


@kind("leading_zero")
def _leading_zero(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: "00" + _plain(abs(v))
                        if v >= 0 else None, context.facts.counts + context.facts.numbers)


@kind("minus_zero")
def _minus_zero(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: context.rng.choice(("-0", "-0.0")),
                        context.facts.counts + context.facts.numbers)


@kind("zero_point_zero")
def _zero_point_zero(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: context.rng.choice(("0.0", "0.0000")))


@kind("trailing_zeros")
def _trailing_zeros(context: Context, record: Record) -> Edit | None:
    """85.5 written 85.50 (and 85.5000): the same number."""
    return _number_text(context, record,
                        lambda f, v: _plain(v) + ("0" if "." in _plain(v) else ".0") *
                        context.rng.choice((1, 3)))


@kind("four_decimals")
def _four_decimals(context: Context, record: Record) -> Edit | None:
    """The value moved by up to ±0.0009, within its bounds: vouched, scored at 4 decimals."""
    def spell(fact: FactInfo, value: Decimal) -> str | None:
        moved = value + D(context.rng.choice((-9, -1, 1, 7))).scaleb(-4)
        low = fact.low if fact.low is not None else D(-(10**9))
        high = fact.high if fact.high is not None else D(10**9)
        return _plain(moved) if low <= moved <= high else _plain(value) + ".0001"[
            0 if "." not in _plain(value) else 1:]
    return _number_text(context, record, spell)


@kind("five_decimals")
def _five_decimals(context: Context, record: Record) -> Edit | None:
    """A whole value below the fact's high plus 0.00005: in bounds, one decimal too many."""
    return _number_text(context, record, lambda f, v: _plain(
        min(v, (f.high or v) - 1).quantize(D(1)) + D("0.00005")))


@kind("five_decimals_zero")
def _five_decimals_zero(context: Context, record: Record) -> Edit | None:
    """85.50000: five decimals, the last zero (the same number as 85.5)."""
    return _number_text(context, record, lambda f, v: _plain(v.quantize(D("0.00001"))))


@kind("twenty_eight_decimals")
def _twenty_eight_decimals(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: _plain(
        min(v, (f.high or v) - 1).quantize(D(1)) + D("0." + "3" * 28)))


@kind("thirty_digits_exact")
def _thirty_digits(context: Context, record: Record) -> Edit | None:
    """A value with 30 significant digits that is exactly a 2-decimal number plus 10**-28."""
    return _number_text(context, record, lambda f, v: _plain(
        min(v, (f.high or v) - 1).quantize(D("0.01")) + D("1e-28")))


@kind("at_high")
def _at_high(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: _plain(f.high),
                        context.facts.where(_bounded("high")))


@kind("at_low")
def _at_low(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: _plain(f.low),
                        context.facts.where(_bounded("low")))


@kind("a_unit_above_high")
def _above_high(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: _plain(f.high + D("0.0001")),
                        context.facts.where(_bounded("high")))


@kind("a_unit_below_low")
def _below_low(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: _plain(f.low - D("0.0001")),
                        context.facts.where(_bounded("low")))


@kind("a_cent_above_high")
def _cent_above_high(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: _plain(f.high + D("0.01")),
                        context.facts.where(_bounded("high")))


@kind("high_with_five_decimals_beyond")
def _high_fifth_decimal(context: Context, record: Record) -> Edit | None:
    """100.00001: beyond the bound by less than the lane's last decimal."""
    return _number_text(context, record, lambda f, v: _plain(f.high + D("0.00001")),
                        context.facts.where(_bounded("high")))


@kind("huge_count")
def _huge_count(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: str(context.rng.choice(
        (10**9, 10**9 + 1, 2**62, 2**63 - 1, 2**63, 2**64 + 1, 10**30))), context.facts.counts)


@kind("negative_count")
def _negative_count(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: "-1", context.facts.counts)


@kind("count_with_decimals")
def _count_decimals(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: context.rng.choice(
        (f"{v}.0", f"{v}.5", f"{v}.0000", f"{v}.00001")), context.facts.counts)


@kind("huge_money")
def _huge_money(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: context.rng.choice(
        ("1000000000000", "1000000000000.0001", "999999999999.9999", "1000000000000000",
         "123456789012345678901234567890")), context.facts.where(lambda f: f.type == "money"))


@kind("huge_unbounded_number")
def _huge_unbounded(context: Context, record: Record) -> Edit | None:
    """A number fact without bounds (a survey score): far beyond ±1000."""
    return _number_text(context, record, lambda f, v: context.rng.choice(
        ("1000000", "-1000000", "99999999999999.9999", "1E+20", "1001", "-1001")),
        context.facts.where(lambda f: f.type in NUMBER_TYPES and f.low is None
                            and f.high is None))


@kind("nan_or_infinity")
def _nan(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: context.rng.choice(
        ("NaN", "Infinity", "-Infinity")))


@kind("not_json_numbers")
def _not_json_numbers(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: context.rng.choice(
        ("+5", ".5", "5.", "0x10", "1_000")))


@kind("number_as_object_or_list")
def _number_as_object(context: Context, record: Record) -> Edit | None:
    return _number_text(context, record, lambda f, v: context.rng.choice(
        ("{\"value\": 5}", "[5]", "true", "[]")), context.facts.numbers + context.facts.counts)


@kind("label_as_key")
def _label_as_key(context: Context, record: Record) -> Edit | None:
    fact = present(context, record, context.facts.labelled)
    if fact is None or fact.name not in record:
        return None
    record[fact.label] = record.pop(fact.name)
    return line(record, f"{fact.name} under its label {fact.label}")


@kind("id_under_its_label")
def _id_label(context: Context, record: Record) -> Edit:
    label = context.rng.choice(ID_LABELS)
    record[label] = record.pop("id", _id(context, record))
    return line(record, f"id under the label {label}")


@kind("enum_alias")
def _enum_alias(context: Context, record: Record) -> Edit | None:
    """An enum given by its label (三级 for tertiary)."""
    labelled = context.facts.where(lambda f: any(label for _, label in f.members)
                                   and not f.type.startswith(("list of", "set of")))
    return set_value(context, record, labelled, lambda f: context.rng.choice(
        [label for _, label in f.members if label]))


@kind("enum_respelled")
def _enum_respelled(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.enums, lambda f: context.rng.choice(
        [code.upper() for code in enum_codes(f)] + [f" {code}" for code in enum_codes(f)]
        + [f"{code} " for code in enum_codes(f)]))


@kind("enum_unknown")
def _enum_unknown(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.enums, "未知")


@kind("enum_empty")
def _enum_empty(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.enums, "")


@kind("set_with_a_label")
def _set_label(context: Context, record: Record) -> Edit | None:
    labelled = [f for f in context.facts.enum_lists if any(label for _, label in f.members)]
    return set_value(context, record, labelled, lambda f: [
        code for code, _ in f.members[:1]] + [label for _, label in f.members[1:2]])


@kind("set_with_a_repeat")
def _set_repeat(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.enum_lists,
                     lambda f: [enum_codes(f)[0]] * 2)


@kind("set_with_an_unknown_member")
def _set_unknown(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.enum_lists,
                     lambda f: [enum_codes(f)[0], "bogus"])


@kind("set_as_a_string")
def _set_string(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.enum_lists,
                     lambda f: json.dumps(list(enum_codes(f)[:2])))


@kind("set_as_one_member")
def _set_one(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.enum_lists,
                     lambda f: enum_codes(f)[0])


@kind("list_null_inside")
def _list_null(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.lists, lambda f: [None])


@kind("empty_list")
def _empty_list(context: Context, record: Record) -> Edit | None:
    """A list the record gives with entries, emptied (or a list it leaves out, given empty)."""
    return set_value(context, record, [f for f in context.facts.lists if record.get(f.name)]
                     or [f for f in context.facts.lists if f.name not in record], [])


@kind("missing_list")
def _missing_list(context: Context, record: Record) -> Edit | None:
    fact = present(context, record, context.facts.lists)
    if fact is None or fact.name not in record:
        return None
    del record[fact.name]
    return line(record, f"{fact.name} left out ({fact.presence})")


@kind("missing_required")
def _missing_required(context: Context, record: Record) -> Edit | None:
    fact = present(context, record, context.facts.where(
        lambda f: f.presence == "required" and not f.type.startswith(("list of", "set of"))))
    if fact is None or fact.name not in record:
        return None
    del record[fact.name]
    return line(record, f"{fact.name} left out (required)")


@kind("missing_required_when")
def _missing_required_when(context: Context, record: Record) -> Edit | None:
    fact = present(context, record, context.facts.where(
        lambda f: f.presence.startswith("required when")))
    if fact is None or fact.name not in record:
        return None
    del record[fact.name]
    return line(record, f"{fact.name} left out ({fact.presence})")


def _id(context: Context, record: Record) -> str:
    """The record's id as text (the batch's when an earlier change took it away)."""
    value = record.get("id")
    return str(value) if isinstance(value, str) else context.ids[context.index]


@kind("id_spaced")
def _id_spaced(context: Context, record: Record) -> Edit:
    record["id"] = context.rng.choice((" ", "", "\u3000")) + _id(context, record) + " "
    return line(record, f"id = {json.dumps(record['id'], ensure_ascii=False)}")


@kind("id_empty")
def _id_empty(context: Context, record: Record) -> Edit:
    record["id"] = context.rng.choice(("", "  "))
    return line(record, f"id = {json.dumps(record['id'])}")


@kind("id_missing")
def _id_missing(context: Context, record: Record) -> Edit:
    record.pop("id", None)
    return line(record, "id left out")


@kind("id_with_a_control_character")
def _id_control(context: Context, record: Record) -> Edit:
    raw = context.rng.choice(("\\u0001", "\\u007f", "\\t"))
    record["id"] = Raw(f'"{_id(context, record)}{raw}x"')
    return line(record, f"id holds the escape {raw}")


@kind("id_with_a_raw_tab")
def _id_raw_tab(context: Context, record: Record) -> Edit:
    record["id"] = Raw(f'"{_id(context, record)}\tx"')
    return line(record, "id holds a raw tab (not escaped)")


@kind("id_with_a_quote")
def _id_quote(context: Context, record: Record) -> Edit:
    record["id"] = Raw(f'"{_id(context, record)}\\"q"')
    return line(record, 'id holds an escaped quote (\\")')


@kind("id_non_ascii")
def _id_non_ascii(context: Context, record: Record) -> Edit:
    record["id"] = f"苏州市立医院{context.index}号"
    return line(record, f"id = {record['id']}")


@kind("id_too_long")
def _id_long(context: Context, record: Record) -> Edit:
    record["id"] = "L" * context.rng.choice((200, 201, 5000))
    return line(record, f"id of {len(record['id'])} characters")


@kind("id_with_unusual_characters")
def _id_unusual(context: Context, record: Record) -> Edit:
    """Characters inside an id (not around it) that are text but not plain: line and
    paragraph separators, NEL, a no-break space, a zero-width space, DEL, a C1 control,
    private use, an emoji (four UTF-8 bytes)."""
    inside = context.rng.choice(("\u2028", "\u2029", "\u0085", "\u00a0", "\u200b", "\x7f",
                                 "\u0080", "\ue000", "\U0001f600", "\u3000"))
    record["id"] = f"{_id(context, record)}{inside}x"
    return line(record, f"id holds U+{ord(inside):04X} (raw)")


@kind("id_lookalikes")
def _id_lookalikes(context: Context, record: Record) -> Edit:
    record["id"] = context.rng.choice(("0", "-0", "007", "1e5", "null", "true", "NaN", "{}",
                                       "[]", ":", '":', "id", "机构编码"))
    return line(record, f"id = {json.dumps(record['id'], ensure_ascii=False)}")


@kind("id_long_non_ascii")
def _id_long_non_ascii(context: Context, record: Record) -> Edit:
    record["id"] = "院" * context.rng.choice((199, 200, 201))
    return line(record, f"id of {len(record['id'])} three-byte characters")


@kind("id_repeated_nearby")
def _id_nearby(context: Context, record: Record) -> Edit:
    other = context.index - 1 if context.index else 1
    record["id"] = context.ids[other]
    return line(record, f"id {record['id']} repeated (record {other}'s)")


@kind("id_repeated_far")
def _id_far(context: Context, record: Record) -> Edit:
    other = 0 if context.index else len(context.ids) - 1
    record["id"] = context.ids[other]
    return line(record, f"id {record['id']} repeated (record {other}'s, far away)")


@kind("name_as_number")
def _name_number(context: Context, record: Record) -> Edit:
    record["name"] = 12345
    return line(record, "name = 12345")


@kind("keys_reversed")
def _keys_reversed(context: Context, record: Record) -> Edit:
    return line(dict(reversed(record.items())), "keys in reverse order (valid)")


@kind("zero_share_denominator")
def _zero_denominator(context: Context, record: Record) -> Edit | None:
    """share(evoucher_settlements, all_settlements) (inpatient-2023.policy:123,
    outpatient-2023.policy:118) with all_settlements 0; the outpatient's cost and visits
    growths divide by last year's values."""
    names = [n for n in ("all_settlements", "cost_per_visit_last_year", "persons",
                         "persons_last_year", "visits_last_year") if n in record]
    if not names:
        return None
    name = context.rng.choice(names)
    record[name] = 0
    if name == "all_settlements" and context.rng.random() < 0.5:
        record["evoucher_settlements"] = 0
    return line(record, f"{name} = 0" + (" and evoucher_settlements = 0"
                                         if record.get("evoucher_settlements") == 0 else ""))


@kind("share_above_one_hundred")
def _share_numerator_above(context: Context, record: Record) -> Edit | None:
    """More e-voucher settlements than settlements: a share above 100%."""
    if not isinstance(record.get("all_settlements"), int):
        return None
    record["evoucher_settlements"] = record["all_settlements"] + 1
    return line(record, "evoucher_settlements = all_settlements + 1")


@kind("share_at_a_threshold")
def _share_threshold(context: Context, record: Record) -> Edit | None:
    """A share exactly at, a hair under and a hair over a 30/40/50% threshold (SZ-9), over
    a denominator the decimal digits do not divide."""
    if "all_settlements" not in record:
        return None
    total = context.rng.choice((3, 7, 30_001, 999_999_937))
    share = context.rng.choice((D(30), D(40), D(50)))
    at = int(total * share / 100)
    record["all_settlements"] = total
    record["evoucher_settlements"] = at + context.rng.choice((0, 1))
    return line(record, f"evoucher_settlements = {record['evoucher_settlements']} of "
                f"all_settlements = {total}")


def _entry(context: Context, fact: FactInfo) -> Record:
    """A valid-looking entry of a list of records (each field at a value within bounds)."""
    entry: Record = {}
    for part in fact.fields:
        codes = enum_codes(part)
        if codes:
            entry[part.name] = [codes[0]] if part.type.startswith("set of") else codes[0]
        elif part.type == "count":
            entry[part.name] = max(1, int(part.low or 0))
        elif part.type in NUMBER_TYPES:
            entry[part.name] = part.high if part.high is not None else D("0.5")
        else:
            entry[part.name] = "1"
    return entry


def _entry_edit(context: Context, record: Record,
                change: Callable[[FactInfo, Record], str | None]) -> Edit | None:
    """A new entry (valid but for what `change` does to it, in place; a Pairs object when
    it repeats a key) put at a random place in one of the record's lists of records."""
    lists = context.facts.entry_lists
    for fact in context.rng.sample(lists, len(lists)):
        entry = _entry(context, fact)
        what = change(fact, entry)
        if what is not None:
            break
    else:
        return None
    if REPEAT in entry:
        name = entry.pop(REPEAT)
        entry = Pairs([(name, entry[name]), *entry.items()])
    entries = list(record.get(fact.name) or [])
    entries.insert(context.rng.randint(0, len(entries)), entry)
    record[fact.name] = entries
    return line(record, f"{fact.name} gets an entry with {what}")


def _field(fact: FactInfo, test: Callable[[FactInfo], bool]) -> FactInfo | None:
    return next((part for part in fact.fields if test(part)), None)


@kind("entry_unknown_member")
def _entry_unknown(context: Context, record: Record) -> Edit | None:
    def change(fact: FactInfo, entry: Record) -> str | None:
        part = _field(fact, lambda p: bool(enum_codes(p)))
        if part is None:
            return None
        entry[part.name] = ["bogus_document"] if part.type.startswith("set of") else "bogus"
        return f"{part.name} an unknown member"
    return _entry_edit(context, record, change)


@kind("entry_member_label")
def _entry_label(context: Context, record: Record) -> Edit | None:
    def change(fact: FactInfo, entry: Record) -> str | None:
        part = _field(fact, lambda p: any(label for _, label in p.members))
        if part is None:
            return None
        entry[part.name] = [part.members[0][1]]
        return f"{part.name} given by its label {part.members[0][1]}"
    return _entry_edit(context, record, change)


@kind("entry_number_beyond")
def _entry_beyond(context: Context, record: Record) -> Edit | None:
    """A complaint's deduction 1.5 (its bounds 0..1), or another entry number out of
    bounds."""
    def change(fact: FactInfo, entry: Record) -> str | None:
        part = _field(fact, lambda p: p.type in NUMBER_TYPES and p.high is not None)
        if part is None:
            part = _field(fact, lambda p: p.type in NUMBER_TYPES and p.low is not None)
            if part is None or part.low is None:
                return None
            entry[part.name] = part.low - D("0.5")
        else:
            entry[part.name] = part.high + D("0.5")
        return f"{part.name} = {entry[part.name]}"
    return _entry_edit(context, record, change)


@kind("entry_number_at_bounds")
def _entry_at(context: Context, record: Record) -> Edit | None:
    def change(fact: FactInfo, entry: Record) -> str | None:
        part = _field(fact, lambda p: p.type in NUMBER_TYPES)
        if part is None:
            return None
        entry[part.name] = context.rng.choice([b for b in (part.low, part.high, D("0.0001"))
                                               if b is not None])
        return f"{part.name} = {entry[part.name]}"
    return _entry_edit(context, record, change)


@kind("entry_count_zero")
def _entry_zero(context: Context, record: Record) -> Edit | None:
    """An unstocked product's cases 0 (at least 1), or a count field below its low."""
    def change(fact: FactInfo, entry: Record) -> str | None:
        part = _field(fact, lambda p: p.type == "count")
        if part is None:
            return None
        entry[part.name] = context.rng.choice((0, D("1.5"), -1))
        return f"{part.name} = {entry[part.name]}"
    return _entry_edit(context, record, change)


@kind("entry_field_missing")
def _entry_missing(context: Context, record: Record) -> Edit | None:
    def change(fact: FactInfo, entry: Record) -> str:
        name = context.rng.choice(list(entry))
        del entry[name]
        return f"{name} left out"
    return _entry_edit(context, record, change)


@kind("entry_field_null")
def _entry_null(context: Context, record: Record) -> Edit | None:
    def change(fact: FactInfo, entry: Record) -> str:
        name = context.rng.choice(list(entry))
        entry[name] = None
        return f"{name} = null"
    return _entry_edit(context, record, change)


@kind("entry_extra_field")
def _entry_extra(context: Context, record: Record) -> Edit | None:
    def change(fact: FactInfo, entry: Record) -> str:
        entry["unknown_field"] = 1
        return "an unknown field"
    return _entry_edit(context, record, change)


@kind("entry_number_as_string")
def _entry_string(context: Context, record: Record) -> Edit | None:
    def change(fact: FactInfo, entry: Record) -> str | None:
        part = _field(fact, lambda p: p.type in NUMBER_TYPES or p.type == "count")
        if part is None:
            return None
        entry[part.name] = str(entry[part.name])
        return f"{part.name} as the string {entry[part.name]!r}"
    return _entry_edit(context, record, change)


@kind("entry_not_an_object")
def _entry_not_object(context: Context, record: Record) -> Edit | None:
    fact = present(context, record, context.facts.entry_lists)
    if fact is None:
        return None
    record[fact.name] = [*(record.get(fact.name) or []), context.rng.choice((1, "x", None, []))]
    return line(record, f"{fact.name} holds {dumps(record[fact.name][-1])}")


REPEAT = "\0repeat"  # an entry's key naming the field `_entry_edit` writes twice


@kind("entry_repeated_key")
def _entry_repeated(context: Context, record: Record) -> Edit | None:
    def change(fact: FactInfo, entry: Record) -> str:
        entry[REPEAT] = next(iter(entry))
        return f"{entry[REPEAT]} given twice"
    return _entry_edit(context, record, change)


@kind("long_line")
def _long_line(context: Context, record: Record) -> Edit:
    size = context.rng.choice((70_000, 1 << 20))
    record["name"] = "长" * size
    return line(record, f"name of {size} characters")


@kind("long_unknown_list")
def _long_list(context: Context, record: Record) -> Edit:
    record["misspelt_fact"] = list(range(20_000))
    return line(record, "an unknown key holding 20,000 numbers")


@kind("deep_nesting")
def _deep(context: Context, record: Record) -> Edit:
    depth = context.rng.choice((30, 31, 32, 40, 500))
    record["misspelt_fact"] = Raw("[" * depth + "]" * depth)
    return line(record, f"an unknown key holding {depth} nested lists")


@kind("deep_nesting_in_a_list_fact")
def _deep_in_fact(context: Context, record: Record) -> Edit | None:
    fact = present(context, record, context.facts.lists)
    if fact is None:
        return None
    depth = context.rng.choice((3, 33))
    record[fact.name] = Raw("[" * depth + "]" * depth)
    return line(record, f"{fact.name} = {depth} nested lists")


@kind("not_json")
def _not_json(context: Context, record: Record) -> Edit:
    text = dumps(record)
    bad = context.rng.choice(("{not json", text[: len(text) // 2], text + "}", text[:-1] +
                              ", }", "{" + text, text.replace(": ", " ", 1)))
    return line(bad, f"not JSON: {bad[:30]!r}...")


@kind("json_but_not_an_object")
def _not_object(context: Context, record: Record) -> Edit:
    bad = context.rng.choice(('[1, 2]', '"text"', "12", "null", "true", "[]",
                              "[" + dumps(record) + "]"))
    return line(bad, f"a line of JSON that is not an object: {bad[:30]}")


@kind("empty_object")
def _empty_object(context: Context, record: Record) -> Edit:
    return line(context.rng.choice(("{}", '{"id": "E"}')), "an object without facts")


@kind("two_objects_on_a_line")
def _two_objects(context: Context, record: Record) -> Edit:
    return line(dumps(record) + " " + dumps(record), "two objects on one line")


@kind("trailing_spaces")
def _trailing_spaces(context: Context, record: Record) -> Edit:
    return line(context.rng.choice(("  ", "\t", " \u3000")) + dumps(record) + "  ",
                "spaces before and after the object")


@kind("date_respelled")
def _date_respelled(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.where(lambda f: f.type == "date"),
                     lambda f: context.rng.choice(("2026/07/01", "2026-7-1", "2026-02-30",
                                                   "20260701", Raw("20260701"))))


@kind("year_as_text_or_decimal")
def _year(context: Context, record: Record) -> Edit | None:
    return set_value(context, record, context.facts.where(lambda f: f.type == "year"),
                     lambda f: context.rng.choice(("2026", Raw("2026.0"), Raw("2026.5"),
                                                   Raw("99999"))))


def _random_number(rng: random.Random, fact: FactInfo) -> Decimal | int:
    """A value of a number or count fact with 0 to 4 decimals, mostly within its bounds
    (or the lane's limits), now and then one unit beyond them."""
    if fact.type == "count":
        low = int(fact.low if fact.low is not None else 0)
        return rng.choice((low, low + 1, rng.randint(low, 12), rng.randint(low, 10**4),
                           10**9, 10**9 + rng.choice((0, 1)), rng.randint(low, 10**9)))
    places = rng.choice((0, 1, 2, 4, 4))
    unit = D(1).scaleb(-places)
    low = fact.low if fact.low is not None else D(-(10**12) if fact.type == "money" else -2000)
    high = fact.high if fact.high is not None else D(10**12 if fact.type == "money" else 2000)
    pick = rng.random()
    if pick < 0.1:
        return low
    if pick < 0.2:
        return high
    if pick < 0.21:
        return rng.choice((low - unit, high + unit))
    span = int((high - low) / unit)
    return low + unit * rng.randint(0, span)


def _random_value(rng: random.Random, fact: FactInfo) -> Any:
    codes = enum_codes(fact)
    if fact.fields:
        entries = [{part.name: _random_value(rng, part) for part in fact.fields}
                   for _ in range(rng.choice((0, 0, 1, 2, 5)))]
        return [{k: "1" if v is NOTHING else v for k, v in e.items()} for e in entries]
    if codes and fact.type.startswith("set of"):
        return sorted(rng.sample(codes, rng.randint(0, len(codes))))
    if codes and fact.type.startswith("list of"):
        return [rng.choice(codes) for _ in range(rng.randint(0, 3))]
    if codes:
        return rng.choice(codes)
    if fact.type == "bool":
        return rng.random() < 0.5
    if fact.type == "count" or fact.type in NUMBER_TYPES:
        return _random_number(rng, fact)
    if fact.type.startswith("list of"):  # a list of numbers (scores)
        return [_random_number(rng, FactInfo("x", "", "score", fact.low, fact.high,
                                             "required", None))
                for _ in range(rng.randint(0, 4))]
    return NOTHING  # text, dates, years: left as the generator wrote them


@kind("random_values")
def _random_values(context: Context, record: Record) -> Edit:
    """About half of the record's facts drawn again at random (valid types, 0 to 4
    decimals, within bounds or a unit beyond, counts up to 10**9 + 1): the arithmetic
    everywhere, and required-when broken now and then."""
    changed = []
    for fact in context.facts.all:
        if context.rng.random() < 0.5:
            value = _random_value(context.rng, fact)
            if value is not NOTHING:
                record[fact.name] = value
                changed.append(fact.name)
    return line(record, f"{len(changed)} facts drawn again: {', '.join(changed)}")


def _extreme(context: Context, record: Record, high: bool) -> Edit:
    for fact in context.facts.all:
        if fact.type == "bool":
            record[fact.name] = context.rng.random() < 0.5
        elif fact.type == "count":
            record[fact.name] = 10**9 if high else int(fact.low or 0)
        elif fact.type in NUMBER_TYPES:
            bound = fact.high if high else fact.low
            if bound is None:
                bound = D(10**12 if fact.type == "money" else 1000) * (1 if high else -1)
                if fact.type == "money" and not high:
                    bound = D(0)
            record[fact.name] = bound
        elif fact.fields:
            entries = []
            for _ in range(50 if high else 0):
                entry: Record = {}
                for part in fact.fields:
                    codes = enum_codes(part)
                    entry[part.name] = (list(codes) if codes else 10**9 if part.type == "count"
                                        else part.high if part.high is not None
                                        else D(1000) if part.type in NUMBER_TYPES else "1")
                entries.append(entry)
            record[fact.name] = entries
        elif enum_codes(fact) and fact.type.startswith(("set of", "list of")):
            record[fact.name] = list(enum_codes(fact)) if high else []
    return line(record, f"every number at its {'high' if high else 'low'} bound (or the "
                "lane's limit), bools at random")


@kind("extremes_high")
def _extremes_high(context: Context, record: Record) -> Edit:
    return _extreme(context, record, True)


@kind("extremes_low")
def _extremes_low(context: Context, record: Record) -> Edit:
    return _extreme(context, record, False)


@kind("whole_number_edges")
def _whole_edges(context: Context, record: Record) -> Edit:
    """Every number fact the record gives at a whole number, or one last-decimal unit
    (0.0001) either side of it: where thresholds and `steps` (a deduction per whole
    percentage point below a threshold) turn."""
    changed = []
    for fact in context.facts.numbers:
        value = record.get(fact.name)
        if not isinstance(value, Decimal | int) or isinstance(value, bool):
            continue
        low = int(fact.low if fact.low is not None else -100)
        high = int(fact.high if fact.high is not None else 100)
        moved = D(context.rng.randint(low, high)) + context.rng.choice(
            (D("-0.0001"), D(0), D(0), D("0.0001")))
        if (fact.low is None or moved >= fact.low) and (fact.high is None or moved <= fact.high):
            record[fact.name] = moved
            changed.append(f"{fact.name}={moved}")
    return line(record, "at or a unit beside whole numbers: " + ", ".join(changed))


@kind("score_for_a_cent_tie")
def _cent_tie(context: Context, record: Record) -> Edit | None:
    """A score s with s × 20% ending in 5 at the third decimal (s = 60.025 + 0.05k): the
    total a half-cent tie when the other points are in cents (G2: half up)."""
    names = [n for n in ("procurement_score", "drg_score") if n in record]
    if not names:
        return None
    name = context.rng.choice(names)
    record[name] = D("60.025") + D("0.05") * context.rng.randint(0, 790)
    return line(record, f"{name} = {record[name]}")


COHORT_FACTS = ("satisfaction_score", "peer_group", "cost_per_visit", "cost_per_visit_last_year",
                "visits", "persons", "visits_last_year", "persons_last_year")


def cohort_facts(pack: str) -> list[str]:
    """The facts the pack's cohort values are computed from: its column plan's, else the
    Suzhou ones it has (SZ-12's survey ranking, SZ2-4's peer-group means)."""
    plan = getattr(load(pack), "COLUMNS", None)
    if plan is not None and getattr(plan, "cohort_facts", ()):
        return list(plan.cohort_facts)
    names = {fact.name for fact in Facts.of(pack).all}
    return [name for name in COHORT_FACTS if name in names]


def _cohort_number(context: Context, record: Record) -> str | None:
    """A cohort number fact the record gives (SZ-12's survey score given when none is)."""
    names = cohort_facts(context.facts.pack)
    given = [n for n in names
             if isinstance(record.get(n), Decimal | int) and not isinstance(record[n], bool)]
    if given:
        return context.rng.choice(given)
    if "satisfaction_score" in names:
        record["satisfaction_score"] = D("77.7")
        return "satisfaction_score"
    return None


@kind("cohort_fact_as_string")
def _cohort_string(context: Context, record: Record) -> Edit | None:
    """A cohort fact written as a string: a valid record the lane leaves to the record path,
    whose value must still join the cohort the lane's records are ranked in."""
    name = _cohort_number(context, record)
    if name is None:
        return None
    record[name] = str(record[name])
    return line(record, f"{name} = {dumps(record[name])} (a cohort fact as a string)")


@kind("cohort_fact_on_an_escaped_line")
def _cohort_escaped(context: Context, record: Record) -> Edit | None:
    """A record with its cohort facts as usual but an escape in its name (the lane cannot
    vouch for the line): its cohort values come from the record path."""
    if _cohort_number(context, record) is None:
        return None
    record["name"] = Raw('"\\u6821"')
    return line(record, "name escaped (\\u6821); cohort facts as usual")


@kind("cohort_fact_beyond_the_lane")
def _cohort_beyond(context: Context, record: Record) -> Edit | None:
    """A cohort number with 5 decimals or near the lane's limits: valid for the record path."""
    name = _cohort_number(context, record)
    if name is None:
        return None
    value = D(record[name])
    record[name] = Raw(context.rng.choice((_plain(value.quantize(D(1)) + D("0.00001")),
                                           "999999999999.9999", "1000000000001")))
    return line(record, f"{name} = {record[name]}")


# -- whole-file kinds: they change the batch's text after the records are written


def file_kind(name: str) -> Callable[[Callable[[Context, list[Record]], str]],
                                     Callable[[Context, list[Record]], str]]:
    def register(function: Callable[[Context, list[Record]], str]
                 ) -> Callable[[Context, list[Record]], str]:
        FILE_KINDS[name] = function
        return function
    return register


@file_kind("bom_at_the_start")
def _bom_start(context: Context, records: list[Record]) -> str:
    return "a byte-order mark before the first record"


@file_kind("crlf_everywhere")
def _crlf_everywhere(context: Context, records: list[Record]) -> str:
    return "every line ends in CRLF"


@file_kind("no_final_newline")
def _no_final_newline(context: Context, records: list[Record]) -> str:
    return "the last line has no line break"


@file_kind("truncated_last_line")
def _truncated(context: Context, records: list[Record]) -> str:
    return "the last line cut in half, no line break"


@file_kind("blank_lines_at_the_end")
def _blank_end(context: Context, records: list[Record]) -> str:
    return "blank lines after the last record"


@file_kind("percents_as_fractions")
def _fractions(context: Context, records: list[Record]) -> str:
    """Every value of one percent fact divided by 100 (85.5 -> 0.855): the record path
    warns that the column looks like fractions."""
    percents = [f for f in context.facts.all if f.type == "percent"
                and any(isinstance(r.get(f.name), Decimal) for r in records)]
    if not percents:
        return ""
    fact = context.rng.choice(percents)
    for record in records:
        if isinstance(record.get(fact.name), Decimal | int):
            record[fact.name] = D(record[fact.name]) / 100
    return f"every {fact.name} written as a fraction of 1"


@file_kind("percents_as_fractions_but_one_string")
def _fractions_but_one(context: Context, records: list[Record]) -> str:
    """Every value of one percent fact a fraction of 1 but one, 85.5 written as a string
    (a record the lane leaves to the record path): no warning, as the record path sees it."""
    note = _fractions(context, records)
    name = note.split()[1] if note else ""
    given = [r for r in records if isinstance(r.get(name), Decimal)]
    if not given:
        return ""
    context.rng.choice(given)[name] = "85.5"
    return note + ", but one written \"85.5\""


@file_kind("percents_as_fractions_and_zeros")
def _fractions_zeros(context: Context, records: list[Record]) -> str:
    """One percent fact 0 in most records and a fraction in a few: the warning (some not 0,
    all within 0..1)."""
    note = _fractions(context, records)
    name = note.split()[1] if note else ""
    for index, record in enumerate(records):
        if isinstance(record.get(name), Decimal) and index % 5:
            record[name] = D(0)
    return note + ", most of them 0" if note else ""


@file_kind("cohort_ties")
def _cohort_ties(context: Context, records: list[Record]) -> str:
    """Every cohort number one of three values (ties in a ranking, equal peer means)."""
    names = [n for n in cohort_facts(context.facts.pack) if n != "peer_group"]
    if not names:
        return ""
    for record in records:
        for name in names:
            if isinstance(record.get(name), Decimal) and not isinstance(record[name], bool):
                record[name] = context.rng.choice((D("80.5"), D(90), D("90.0001")))
    return f"{', '.join(names)} each one of 80.5, 90, 90.0001"


@file_kind("all_percents_as_fractions")
def _all_fractions(context: Context, records: list[Record]) -> str:
    names = set()
    for record in records:
        for fact in context.facts.all:
            if fact.type == "percent" and isinstance(record.get(fact.name), Decimal | int):
                record[fact.name] = D(record[fact.name]) / 100
                names.add(fact.name)
    return f"every percent ({len(names)} facts) written as a fraction of 1" if names else ""


# ---------------------------------------------------------------- batches


@dataclass(frozen=True)
class Mutation:
    kind: str
    record: int  # 0-based index of the record it changed
    line: int  # 1-based line of the file where its first line is
    note: str


@dataclass
class Batch:
    """A hostile batch: its bytes, its mutations, and the output line each input line
    gives (the first physical line of every record)."""

    pack: str
    data: bytes
    mutations: list[Mutation] = field(default_factory=list)
    record_lines: list[int] = field(default_factory=list)  # input line of each output line
    file_notes: list[str] = field(default_factory=list)

    def near(self, input_line: int) -> list[Mutation]:
        return [m for m in self.mutations if m.line <= input_line < m.line + 5]

    def describe(self) -> str:
        lines = [f"{self.pack}: {len(self.data):,} bytes, {len(self.record_lines)} record(s)"]
        lines += [f"  file: {note}" for note in self.file_notes]
        lines += [f"  line {m.line} (record {m.record}): {m.kind}: {m.note}"
                  for m in self.mutations]
        return "\n".join(lines)


@cache
def _base_records(pack: str, count: int, seed: int) -> tuple[str, ...]:
    """The generator's records, each as JSON (copied per batch by parsing it back)."""
    return tuple(json.dumps(r, default=_plain_json) for r in generate.records(
        pack, count, seed, pack_module=load(pack)))


def _plain_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    raise TypeError(type(value).__name__)


def _revived(value: dict[str, Any]) -> Any:
    if "$decimal" in value:
        return D(value["$decimal"])
    if "$date" in value:
        return dt.date.fromisoformat(value["$date"])
    return value


def base_records(pack: str, count: int, seed: int = 2023) -> list[Record]:
    """`count` fresh records of `pack` from benchmarks/generate.py (seeded): the same for
    the same arguments, a new copy each call."""
    return [json.loads(text, object_hook=_revived) for text in _base_records(pack, count,
                                                                              seed)]


def build(pack: str, count: int, plan: Sequence[tuple[int, str]], seed: int = 2023,
          file_kinds: Sequence[str] = (), records: list[Record] | None = None,
          padding: Mapping[int, int] | None = None) -> Batch:
    """A batch of `count` records of `pack` with the mutations of `plan` (record index,
    kind; several kinds at one record apply one after another to its record, the last one
    that writes raw text wins) and the whole-file kinds; `padding` puts that many blank
    lines before a record. Kinds that do not apply to the pack (no such fact) are left out
    of `mutations`."""
    facts = Facts.of(pack)
    rows = records if records is not None else base_records(pack, count, seed)
    rng = random.Random(f"{pack}:{seed}:{sorted(plan)}:{list(file_kinds)}")
    batch = Batch(pack, b"")
    ids = [str(row.get("id")) for row in rows]
    applied: set[str] = set()
    for name in file_kinds:
        note = FILE_KINDS[name](Context(facts, rng, ids, 0), rows)
        if note:
            batch.file_notes.append(f"{name}: {note}")
            applied.add(name)
    by_record: dict[int, list[str]] = {}
    for index, name in plan:
        by_record.setdefault(index % len(rows), []).append(name)
    chunks: list[Edit] = []
    made: list[tuple[int, str, Edit]] = []
    for index, row in enumerate(rows):
        edit = line(row, "")
        for name in by_record.get(index, ()):
            tried = KINDS[name](Context(facts, rng, ids, index), row)
            if tried is not None:
                edit = tried
                made.append((index, name, tried))
        chunks.append(edit)
    crlf = "crlf_everywhere" in applied
    out = bytearray(BOM if "bom_at_the_start" in applied else b"")
    number = 1
    firsts: list[int] = []
    for index, edit in enumerate(chunks):
        blank = (padding or {}).get(index, 0)
        out += b"\n" * blank
        number += blank
        firsts.append(number)
        for text in edit.lines:
            out += text + (b"\r\n" if crlf and not text.endswith(b"\r") else b"\n")
            number += 1
        # an edit's output lines come from its last physical line (blank ones give none)
        batch.record_lines += [number - 1] * edit.records
    for index, name, edit in made:
        batch.mutations.append(Mutation(name, index, firsts[index], edit.note))
    if "blank_lines_at_the_end" in applied:
        out += b"\n \n\r\n"
    if "no_final_newline" in applied:
        del out[-(2 if out.endswith(b"\r\n") else 1):]
    if "truncated_last_line" in applied:
        last = out.rstrip(b"\r\n").rfind(b"\n") + 1
        del out[last + (len(out) - last) // 2:]
    batch.data = bytes(out)
    return batch


def spread(count: int, kinds: Sequence[str], rng: random.Random,
           boundaries: Sequence[int] = ()) -> list[tuple[int, str]]:
    """Each kind at its own record, at the first and last records, around each boundary
    (a record index where a block starts) and elsewhere at random."""
    near = [0, count - 1]
    for start in boundaries:
        near += [start - 2, start - 1, start, start + 1]
    near = [i for i in dict.fromkeys(near) if 0 <= i < count]
    free = [i for i in range(count) if i not in near]
    rng.shuffle(free)
    places = near + free
    return [(places[i % len(places)], name) for i, name in enumerate(kinds)]


def boundary_records(batch_records: Sequence[bytes] | bytes) -> list[int]:
    """Record indexes where the lane's blocks would start if it cut exactly at BLOCK_BYTES
    or BLOCK_LINES (at the next line break): where to put mutations so that they sit on
    both sides of a cut."""
    data = batch_records if isinstance(batch_records, bytes) else b"".join(batch_records)
    starts: list[int] = []
    position = block_start = block_lines = 0
    for number, text in enumerate(data.split(b"\n")[:-1]):
        size = len(text) + 1
        if position + size - block_start > BLOCK_BYTES or block_lines >= BLOCK_LINES:
            starts.append(number)
            block_start, block_lines = position, 0
        position += size
        block_lines += 1
    return starts


# ---------------------------------------------------------------- scoring two ways

RECORD = ("--engine", "record")
COLUMNS = ("--engine", "columns")
AUTO = ("--engine", "auto")


@dataclass(frozen=True)
class Run:
    code: int
    output: bytes  # the -o file (or stdout when there is no -o)
    stdout: bytes
    stderr: str


def score(pack: str, path: Path, way: Sequence[str], to_file: bool = True,
          stdin: bytes | None = None) -> Run:
    """`policyc score --pack PACK FILE [-o OUT] WAY...` in this process."""
    named = re.sub(r"[^A-Za-z0-9]+", "-", " ".join(way)).strip("-")[-40:] or "default"
    target = path.with_name(f"{path.stem}.{named}.out.jsonl")
    target.unlink(missing_ok=True)
    args = ["score", "--pack", pack, "--packs", str(GENERATED),
            "-" if stdin is not None else str(path), *way]
    if to_file and "-o" not in way:
        args += ["-o", str(target)]
    result = CliRunner().invoke(cli, args, input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"policyc {' '.join(args)} raised") from result.exception
    if "-o" in way:
        target = Path(way[way.index("-o") + 1])
    output = target.read_bytes() if to_file and target.exists() else result.stdout_bytes
    return Run(result.exit_code, output, result.stdout_bytes, result.stderr)


def first_difference(a: bytes, b: bytes) -> tuple[int, bytes, bytes] | None:
    """The 1-based number of the first line where `a` and `b` differ, and that line of each
    (b"<none>" past the end)."""
    if a == b:
        return None
    left, right = a.split(b"\n"), b.split(b"\n")
    for number, (x, y) in enumerate(zip(left, right, strict=False), 1):
        if x != y:
            return number, x, y
    number = min(len(left), len(right)) + 1
    return (number, left[number - 1] if number <= len(left) else b"<none>",
            right[number - 1] if number <= len(right) else b"<none>")


def _short(text: bytes | str, size: int = 400) -> str:
    shown = text.decode("utf-8", "backslashreplace") if isinstance(text, bytes) else text
    return shown if len(shown) <= size else shown[:size] + f"... ({len(shown)} chars)"


@dataclass(frozen=True)
class Difference:
    """Where two ways of scoring a batch disagree, said so that it can be reproduced."""

    batch: Batch
    ways: tuple[tuple[str, ...], tuple[str, ...]]
    what: str  # "exit code", "output", "stdout" or "stderr"
    line: int  # the first differing line (of the output, stdout or stderr)
    left: str
    right: str

    def __str__(self) -> str:
        input_line = (self.batch.record_lines[self.line - 1]
                      if self.what == "output" and self.line <= len(self.batch.record_lines)
                      else None)
        lines = [f"{' '.join(self.ways[0])} and {' '.join(self.ways[1])} differ in "
                 f"{self.what}, line {self.line}:",
                 f"  {' '.join(self.ways[0]) or 'first'}: {self.left}",
                 f"  {' '.join(self.ways[1]) or 'second'}: {self.right}"]
        if input_line is not None:
            text = self.batch.data.split(b"\n")[input_line - 1]
            lines.append(f"  input line {input_line}: {_short(text)}")
            lines += [f"  mutation: {m.kind}: {m.note}" for m in self.batch.near(input_line)
                      if m.line <= input_line]
        lines.append(self.batch.describe())
        return "\n".join(lines)


def compare(batch: Batch, folder: Path, first: Sequence[str] = RECORD,
            second: Sequence[str] = COLUMNS, to_file: bool = True,
            stdin: bool = False) -> Difference | None:
    """Score `batch` the two ways; the first difference (exit code, output bytes, stdout,
    stderr), or None when they agree to the byte."""
    path = folder / "batch.jsonl"
    path.write_bytes(batch.data)
    a, b = (score(batch.pack, path, way, to_file, batch.data if stdin else None)
            for way in (first, second))
    return differ(batch, (tuple(first), tuple(second)), a, b)


def differ(batch: Batch, ways: tuple[tuple[str, ...], tuple[str, ...]], a: Run, b: Run
           ) -> Difference | None:
    if a.code != b.code:
        return Difference(batch, ways, "exit code", 0, f"{a.code}: {_short(a.stderr)}",
                          f"{b.code}: {_short(b.stderr)}")
    for what, x, y in (("output", a.output, b.output), ("stdout", a.stdout, b.stdout),
                       ("stderr", a.stderr.encode(), b.stderr.encode())):
        found = first_difference(x, y)
        if found is not None:
            number, left, right = found
            return Difference(batch, ways, what, number, _short(left), _short(right))
    return None


@cache
def has_engine_option() -> bool:
    """Whether `policyc score` has --engine (the column lane) yet."""
    result = CliRunner().invoke(cli, ["score", "--help"])
    return "--engine" in result.stdout


def lane_refusal(pack: str, folder: Path) -> str | None:
    """Why `--engine columns` refuses `pack` (its message, exit 2), or None if it scores a
    clean batch of it."""
    batch = build(pack, 3, [])
    path = folder / "clean.jsonl"
    path.write_bytes(batch.data)
    run = score(pack, path, COLUMNS)
    return run.stderr.strip() if run.code == 2 else None


def lane_or_auto(pack: str, folder: Path) -> tuple[str, ...]:
    """The way to compare against the record path: --engine columns, or --engine auto where
    the lane refuses the pack."""
    return COLUMNS if lane_refusal(pack, folder) is None else AUTO
