"""A result's JSON Lines text, written directly: the same characters as
`json.dumps(outcome_json(outcome), ensure_ascii=False) + "\\n"`, without the dict.

Most of a line's text is known in advance: its keys, the pack's name and hash (the same on
every line of a pack), and its numbers, which `outcome_json` gives as strings of digits, a
sign and a point (`plain`, `str` of a rounded total) and so need no escaping. Only the id,
the error and a framework's fields (texts from the input and the rule files) go through the
JSON encoder, the one `json.dumps` uses. With an explanation the line is made by
`outcome_json` (the explanation's texts and lists are the bulk of such a line).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from json.encoder import encode_basestring
from operator import itemgetter

from .arithmetic import plain
from .batch import Outcome, outcome_json
from .framework import SETTLEMENT_FIELDS, Lang, settlement_json
from .packs import Provenance

# json.dumps(value, ensure_ascii=False), without making an encoder at every call; for a
# string, the function that encoder calls.
_json = json.JSONEncoder(ensure_ascii=False).encode

_NO_SCORE = '"total": null, "earned": null, "applicable_max": null, "items": null'
_NO_SETTLEMENT = ", " + _json(dict.fromkeys(SETTLEMENT_FIELDS))[1:-1]
_LIMIT = 16384  # entries in each cache below; once full, what is not in it is made each time

_number = itemgetter(0)  # an ItemScore's number
_earned = itemgetter(2)  # an ItemScore's points earned


class _Quoted(dict[str, str]):
    """The JSON text of points (`plain` in quotes) by the points' `str`, and of no points
    (None: null) by "None", which no decimal's `str` is. By `str`, not by the decimal: a
    decimal computes its hash anew each time, which costs several times as much; and the
    text depends on the `str` alone (`Decimal(str(x))` is x, digits and exponent)."""

    def __missing__(self, key: str) -> str:
        text = f'"{plain(Decimal(key))}"'
        if len(self) < _LIMIT:
            self[key] = text
        return text


_quoted = _Quoted({"None": "null"})


class _ItemTexts(dict[tuple[int, str], str]):
    """An item's JSON text, `"3": "1.5"` or `"4": null`, by its number and its points' `str`
    (as `_Quoted`)."""

    def __missing__(self, key: tuple[int, str]) -> str:
        number, points = key
        text = f'"{number}": {_quoted[points]}'
        if len(self) < _LIMIT:
            self[key] = text
        return text


_item_texts = _ItemTexts()

# Each pack's line ending, `, "pack": ..., "pack_sha256": ...}` and the line break, by the
# pack's name and hash (a Provenance's own hash is computed in Python, several times slower).
_TAILS: dict[tuple[str, str], str] = {}


LINES_PER_WRITE = 256  # a write per line costs about four times as much as one per 256


def write_result_lines(outcomes: Iterable[Outcome], write: Callable[[str], object],
                       explain: bool = False, lang: Lang = "zh") -> None:
    """Each outcome's `result_line`, in order, given to `write` a few hundred lines at a
    time (the last ones when the outcomes end)."""
    pending: list[str] = []
    for outcome in outcomes:
        pending.append(result_line(outcome, explain, lang))
        if len(pending) == LINES_PER_WRITE:
            write("".join(pending))
            pending.clear()
    if pending:
        write("".join(pending))


def result_line(outcome: Outcome, explain: bool = False, lang: Lang = "zh") -> str:
    """The JSON Lines text of an outcome, line break included (see the module's doc)."""
    if explain:
        return _json(outcome_json(outcome, explain, lang)) + "\n"
    settlement = outcome.settlement
    score = outcome.score if settlement is None or settlement.status == "assessed" else None
    if score is None:
        numbers = _NO_SCORE
    else:
        each = score.items
        items = ", ".join(map(_item_texts.__getitem__, zip(
            map(_number, each), map(str, map(_earned, each)), strict=True)))
        numbers = (f'"total": "{score.total!s}", "earned": {_quoted[str(score.earned)]}, '
                   f'"applicable_max": {_quoted[str(score.applicable_max)]}, "items": {{{items}}}')
    error = "null" if outcome.error is None else encode_basestring(outcome.error)
    if settlement is not None:
        framework = ", " + _json(settlement_json(settlement))[1:-1]
    else:
        framework = _NO_SETTLEMENT if outcome.framework else ""
    provenance = outcome.provenance
    tail = _TAILS.get((provenance.pack, provenance.pack_sha256)) or _tail(provenance)
    shown = outcome.record.id
    if type(shown) is str:
        shown = encode_basestring(shown)
    else:  # an int is its repr, as json writes it (True and False are not of type int)
        shown = repr(shown) if type(shown) is int else _json(shown)
    return f'{{"id": {shown}, {numbers}, "error": {error}{framework}{tail}'


def line_tail(provenance: Provenance) -> str:
    """The end of every line a pack makes: `, "pack": ..., "pack_sha256": ...}` and the line
    break."""
    return _TAILS.get((provenance.pack, provenance.pack_sha256)) or _tail(provenance)


def _tail(provenance: Provenance) -> str:
    tail = ", " + _json(provenance.fields())[1:-1] + "}\n"
    if len(_TAILS) < _LIMIT:
        _TAILS[provenance.pack, provenance.pack_sha256] = tail
    return tail
