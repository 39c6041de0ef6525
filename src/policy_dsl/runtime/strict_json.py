"""Strict JSON for input records: exact numbers, no NaN, no repeated keys, bounded nesting.

Python's `json` reads `NaN` and `Infinity`, lets a repeated key silently win, turns numbers
into binary floats (or refuses integers longer than 4,300 digits) and recurses once per level
of nesting. Input records get none of that:

- every number is an exact `Decimal` made from its text (whole numbers arrive as `int`, or as
  `Decimal` beyond Python's int digit limit); nothing here converts, normalises or formats
  it, so `9e999999` costs what its nine characters cost. The field readers judge its size.
- `NaN`, `Infinity`, `-Infinity`, a repeated key in one object, and text holding an unpaired
  surrogate (`"\\ud800"`, which is not Unicode and cannot be written as UTF-8) are problems
  reported with where they are; a record holding one is that record's error.
- nesting deeper than `MAX_DEPTH` is found by counting brackets outside strings, before the
  decoder (which recurses) sees the text.

`FastRecords` wraps a faster decoder (msgspec's, which the runtime does not import: the
reader of files gives it, `policy_dsl.reading.fast_records`) and decodes a record's bytes
with it first, numbers through `Decimal` (never a binary float), and hands every text it
cannot vouch for to the strict decoder: anything msgspec refuses (NaN, Infinity, control
characters, unpaired surrogates, bad syntax), anything nested deeper than `MAX_DEPTH`, a
`\\ud800`-style escape, and any text whose count of keys (`"` then `:`) is not the count of
keys decoded, which is how a repeated key shows (see `FastRecords.decode`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from decimal import Context, Decimal, InvalidOperation, getcontext, localcontext
from itertools import accumulate, compress
from typing import cast

MAX_DEPTH = 32  # levels of [ ] and { } in one record, its own braces included
MAX_PROBLEMS_SHOWN = 5

# A string token, closed or running to the end of the text: it always matches, so the
# search never backtracks (no quadratic time on a line of `"\"\"\"…`).
_STRING = re.compile(r'"[^"\\]*(?:\\[\s\S]?[^"\\]*)*(?:"|\Z)')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_TRAPPING = Context(traps=[InvalidOperation])  # an unreadable number raises
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


class JSONRejected(ValueError):
    """The text is not JSON an input record may hold; the message says what and where."""


class _Rejected:
    """Stands in the decoded value for something rejected (NaN, an unreadable number)."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


class _RepeatedKeys(dict[str, object]):
    """An object in which some key appears more than once (the last value was kept)."""

    repeated: list[str]


def safe_text(text: str) -> str:
    """`text` with any unpaired surrogate written as `\\udXXX`, so it can be written as UTF-8."""
    if not holds_surrogates(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def shown(text: str, limit: int = 40) -> str:
    """A piece of input quoted in a message, cut short when long (`repr` writes an unpaired
    surrogate as an escape)."""
    return repr(text if len(text) <= limit else text[:limit - 3] + "...")


def holds_surrogates(text: str) -> bool:
    """Whether `text` itself holds an unpaired surrogate (text decoded from UTF-8 cannot)."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def _may_hold_surrogates(text: str) -> bool:
    """A raw surrogate, or an escape that may decode to one: only then is a value searched."""
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        return True
    return holds_surrogates(text)


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether brackets outside strings nest deeper than `limit` anywhere in `text`."""
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > limit


class StrictDecoder:
    """Decodes JSON text into dicts, lists, str, int, Decimal, bool and None.

    One per input, not shared between threads: it remembers whether the last text it decoded
    may hold a problem, so a clean record costs no second pass over its value.
    """

    def __init__(self) -> None:
        self.suspect = False
        # Numbers go straight to int and Decimal; a number either refuses (longer than
        # Python's int digit limit, an exponent beyond Decimal's) sends the text through
        # the careful decoder, whose number hooks take any number.
        self._fast = json.JSONDecoder(
            parse_float=Decimal, parse_constant=self._constant, object_pairs_hook=self._object,
            strict=False)  # control characters inside strings are data
        self._careful = json.JSONDecoder(
            parse_float=self._number, parse_int=self._integer, parse_constant=self._constant,
            object_pairs_hook=self._object, strict=False)

    def parse(self, text: str) -> object:
        """The value of `text`; raises `json.JSONDecodeError` when it is not JSON. Check
        `too_deep(text)` first; call `problems(value)` when `suspect` is set afterwards."""
        self.suspect = _may_hold_surrogates(text)
        try:
            with localcontext(_TRAPPING):  # an unreadable number raises, whatever the caller's
                return self._fast.decode(text)  # context says
        except json.JSONDecodeError:
            raise
        except (ValueError, ArithmeticError):
            return self._careful.decode(text)

    def loads(self, text: str) -> object:
        """The value of `text`, or `JSONRejected` saying what is wrong with it."""
        if too_deep(text):
            raise JSONRejected(f"nested deeper than {MAX_DEPTH} levels")
        try:
            value = self.parse(text)
        except json.JSONDecodeError as error:
            raise JSONRejected(f"not valid JSON ({error.msg} at column {error.colno})") \
                from None
        found = problems(value) if self.suspect else []
        if found:
            raise JSONRejected(join_problems(found))
        return value

    def _integer(self, text: str) -> int | Decimal:
        try:
            return int(text)
        except ValueError:  # longer than Python's int digit limit (4,300 by default)
            return Decimal(text)

    def _number(self, text: str) -> Decimal | _Rejected:
        try:
            with localcontext(_TRAPPING):
                return Decimal(text)
        except InvalidOperation:
            pass
        self.suspect = True
        return _Rejected(f"the number {shown(text)} is beyond exact decimal arithmetic")

    def _constant(self, name: str) -> _Rejected:
        self.suspect = True
        return _Rejected(f"{name} is not a number (JSON has no NaN or Infinity)")

    def _object(self, pairs: list[tuple[str, object]]) -> dict[str, object]:
        result = dict(pairs)
        if len(result) == len(pairs):
            return result
        self.suspect = True
        seen: set[str] = set()
        repeated: dict[str, None] = {}  # in order of first repetition
        for key, _ in pairs:
            if key in seen:
                repeated[key] = None
            seen.add(key)
        marked = _RepeatedKeys(result)
        marked.repeated = list(repeated)
        return marked


def problems(value: object) -> list[str]:
    """Every problem in a decoded value, in document order, each with its path."""
    found: list[str] = []
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, node = stack.pop()
        where = f"{path}: " if path else ""
        if isinstance(node, _Rejected):
            found.append(where + node.problem)
        elif isinstance(node, str):
            if _SURROGATE.search(node):
                found.append(where + SURROGATE_PROBLEM)
        elif isinstance(node, dict):
            for key in getattr(node, "repeated", ()):
                found.append(f"{where}the key {shown(key)} appears more than once in one "
                             "object")
            children = []
            for key, item in node.items():
                if _SURROGATE.search(key):
                    found.append(f"{where}the key {shown(key)}: {SURROGATE_PROBLEM}")
                children.append((f"{path}.{safe_text(key)}" if path else safe_text(key), item))
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(reversed([(f"{path}[{i}]", item) for i, item in enumerate(node)]))
    return found


SURROGATE_PROBLEM = "text with an unpaired surrogate (\\ud800-\\udfff), which is not Unicode"


def join_problems(found: list[str]) -> str:
    more = len(found) - MAX_PROBLEMS_SHOWN
    shown_part = "; ".join(found[:MAX_PROBLEMS_SHOWN])
    return shown_part + (f"; and {more} more" if more > 0 else "")


# ---------------------------------------------------------------- the fast path (msgspec)

# A key's closing quote and its colon. In valid JSON `"` then `:` (spaces between) is always a
# key's end, except inside a string as an escaped quote followed by a colon (`"a\\":b"`): so
# the count of these is at least the count of keys written, and equal when no string holds one.
_KEY_END = re.compile(rb'"[ \t\r\n]*:')
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89abcdefABCDEF]")
SLOW = object()  # FastRecords.decode: the strict decoder must read this text


_CONTAINER = frozenset({dict, list}).__contains__


def _keys_within(node: object, depth: int = 1) -> int:
    """How many keys the objects in a decoded object or list hold, nested ones included, when
    it nests at most `MAX_DEPTH` levels (`depth`: its own level); -1 when deeper. The
    containers among a node's children are picked out without a loop in Python, so a record
    of plain values costs a few calls in C."""
    if depth > MAX_DEPTH:
        return -1
    if type(node) is dict:
        count = len(node)
        children: Iterable[object] = node.values()
    else:
        count = 0
        children = cast("list[object]", node)
    for child in compress(children, map(_CONTAINER, map(type, children))):
        keys = _keys_within(child, depth + 1)
        if keys < 0:
            return -1
        count += keys
    return count


def _keys_written(data: bytes, colons: int) -> int:
    """An upper bound of the keys written in `data` (see `_KEY_END`), which holds `colons`
    colons. When every colon follows a quote directly (json.dumps writes `"key": value`),
    `":` alone counts them."""
    quoted = data.count(b'":')
    return quoted if colons == quoted else len(_KEY_END.findall(data))


class FastRecords:
    """msgspec's JSON decoder, for the texts whose value it gives exactly as `StrictDecoder`.

    `decode(data)` gives the value, or `SLOW` when the strict decoder must read the text: so
    every rule of strict JSON holds whichever decoder read a record. msgspec refuses NaN,
    Infinity, bad syntax and nesting beyond its own depth limit; nesting deeper than
    `MAX_DEPTH` is found in the decoded value. A repeated key is found without a second
    parse: msgspec keeps the last value of a repeated key, so the decoded objects hold fewer
    keys than the text writes. Every key written ends with `"`, maybe spaces, and `:`, so the
    text's colons, and more closely its `_KEY_END`s, count the keys written from above (a
    colon inside a string counts one too many); the decoded keys count them from below. When
    one of those counts is the decoded one, the three are equal, which proves that no key
    repeats; when neither is (a repeated key, or a string holding `\\":`), the strict
    decoder reads the text.

    The decoded keys are counted in one of two ways. In general by a walk of the decoded
    value (`_keys_within`, which also measures its depth). Records of one input are alike,
    though: their objects nested in the record are found under the same few keys (a pack's
    lists of entries), so those keys are remembered (`_holders`, learnt from the last walk)
    and the objects looked for there alone. Any count of decoded keys that leaves some out
    is still a count from below, so the proof above holds whatever was remembered; the text's
    `{` (the objects written, or more) say whether all were found, and when they were not,
    the walk counts them rather than send the text to the strict decoder. The depth needs
    no walk when the text's brackets number at most `MAX_DEPTH`.
    """

    def __init__(self, decode: Callable[[bytes], object]) -> None:
        self._decode = decode
        self._holders: tuple[str, ...] = ()  # the record's keys whose values held objects

    def decode(self, data: bytes) -> object:
        if b"\\" in data and _SURROGATE_ESCAPE_BYTES.search(data):  # one byte: memchr
            return SLOW  # maybe an unpaired surrogate
        try:
            if getcontext().traps[InvalidOperation]:  # an unreadable number raises
                value = self._decode(data)
            else:
                with localcontext(_TRAPPING):
                    value = self._decode(data)
        except Exception:  # not JSON msgspec reads (NaN, control characters, too deep...),
            return SLOW    # or a number beyond int64 or Decimal: the strict decoder says what
        if type(value) is dict:
            keys = self._keys_under_holders(value, data)
            if keys < 0:
                keys = _keys_within(value)
                self._holders = tuple(compress(value, map(_CONTAINER, map(type,
                                                                           value.values()))))
        else:
            keys = _keys_within(value) if type(value) is list else 0
        if keys < 0:
            return SLOW  # too deep: too_deep() says, on the text
        colons = data.count(b":")
        if keys != colons and keys != _keys_written(data, colons):
            return SLOW  # a repeated key, or a string holding `\\":`
        return value

    def _keys_under_holders(self, record: dict[str, object], data: bytes) -> int:
        """The keys of `record` and of the objects under its `_holders` (in a list or not),
        when those are all the objects it holds (as many as the text's `{`) and it nests at
        most `MAX_DEPTH` levels; else -1 (the walk must count)."""
        objects_written = data.count(b"{")  # or more: a `{` in a string counts too
        if objects_written + data.count(b"[") > MAX_DEPTH:
            return -1  # maybe deeper than MAX_DEPTH
        keys, objects = len(record), 1
        get = record.get
        for key in self._holders:
            child = get(key)
            if type(child) is list:
                for entry in cast("list[object]", child):
                    if type(entry) is dict:
                        keys += len(entry)
                        objects += 1
            elif type(child) is dict:
                keys += len(child)
                objects += 1
        return keys if objects == objects_written else -1
