"""The column lane's data: a batch as fixed-point numpy columns, and what generated packs
compute over them (issue 10; `benchmarks/columnar_probe.py` measured the idea).

A pack that codegen could prove exact in fixed point carries a `COLUMNS` plan (a
`ColumnPlan`), a `check_columns(block)` and a `score_columns(block, cohorts)`; a pack that
could not has `COLUMNS = None` (with a comment saying why) and is scored record by record.

Fixed point. Every number scored here is an int64 at `SCALE` (10**6, six decimals): decimal
facts are read from Arrow's decimal256(76, 4) (pyarrow parses JSON numbers as decimal text,
never a binary float) and turned into int64 by a checked cast; counts stay whole int64s.
Codegen tracks, for each expression, its decimals, its scale and its largest magnitude, and
writes a pack only when every sum and product stays exact and below 2**62.

Vouching, not validating. `read_columns` never decides that a record is wrong; it marks
`vouched[i]` True only when the record path's `read_record` would accept record i and
`score` would score it as `score_columns` does. Everything else goes to the record path,
which gives today's result or error. A check too strict costs speed, one too lax is a
defect. The checks, each with the case it covers:

- the id is a text of 1..200 printable ASCII characters, without `"` or `\\`, not starting
  or ending with a space (an id the result line writes as it is: no escaping needed);
- a required fact is given (not null); a fact required only when a condition holds is
  checked by the pack's `check_columns` (required-when), as `read_record`'s `require`;
- a decimal is within the fact's declared bounds and the lane's limits (`NUMBER_LIMIT`),
  so that its value at SCALE fits int64 with room for the products codegen proved;
- a count is whole (Arrow's int64 refuses anything else), within 0..`COUNT_LIMIT` and the
  fact's declared bounds;
- an enum is one of its canonical codes (a label or an alias such as 三级 is read by the
  record path, not here);
- a list is given (not null), has at most `LIST_LIMIT` entries (a sum over them stays
  within what codegen proved), and each of its entries is valid as above, recursively;
- what `read_record` derives (a share: its denominator not 0) and what `score` needs (a
  missing optional fact a rule needs: `need()`) are checked by the pack's `check_columns`.

What it cannot see once Arrow has parsed a block, and relies on the lane's raw-bytes guards
for (runtime/lane.py): a number written as a text (`"85.5"`, which Arrow's decimal reads),
`-0`, an exponent, a key given twice, a null written where a key could be missing. Parse
with `arrow_schema(plan)` and `unexpected_field_behavior="error"` (an unknown key, at any
depth, then fails the block).

Division. `share(a, b)` (a·100/b, a 28-digit Decimal in the record path) is kept as the
exact ratio (a·100, b) and only compared with a constant c of at most 6 decimals, by
cross-multiplication. It agrees with the 28-digit comparison: when a·100/b ≠ c, the two
differ by at least 1/(b·10**6) ≥ 10**-15 (b ≤ COUNT_LIMIT), far beyond what rounding to 28
digits moves a value below 10**12. `steps` divides by a constant step: the floor (or
ceiling) of an exact fraction whose distance to the next whole number is at least
1/(step·10**6), again far beyond 28-digit rounding. The total (G2, `close_total`): half-up
cents of earned·rescale/applicable_max computed in integers from the exact rational; the
record path rounds a 28-digit quotient half-up, the same cents because a quotient that is
not a cent tie lies at least 1/(200·applicable_max·10**6) from one.

numpy and pyarrow are imported inside functions, never at module import: a runtime-only
install stays free of them, and every generated pack imports without them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    Ints = npt.NDArray[np.int64]
    Bools = npt.NDArray[np.bool_]
else:
    Ints = Bools = Any

SCALE_DIGITS = 6
SCALE = 10**SCALE_DIGITS
INPUT_DIGITS = 4  # decimals an input number may have (Arrow's decimal256(76, 4))
COUNT_LIMIT = 10**9  # a count the lane vouches for is at most this
NUMBER_LIMIT = 10**12  # a decimal (money, an unbounded number) is within ±this
LIST_LIMIT = 10_000  # entries a list of a vouched record has at most
PRODUCT_LIMIT = 2**62  # every value codegen writes stays below this in magnitude (int64)
_INPUT_UNIT = Decimal(1).scaleb(-INPUT_DIGITS)
_EXACT = Context(prec=80)  # more digits than decimal256 holds: nothing rounds
MAX_ID = 200  # characters in an id (runtime.inputs.MAX_ID)

FactKind = Literal["decimal", "count", "bool", "enum", "enum_set", "enum_list", "records"]


@dataclass(frozen=True, slots=True)
class ColumnFact:
    """One input field as the lane reads it: its column kind, whether it must be given in
    every record (False: optional, or required only when a condition holds, which the
    pack's check_columns checks), its declared bounds, an enum's canonical codes (in the
    order of `codes` columns), a list's entry fields."""

    name: str
    kind: FactKind
    required: bool = True
    low: Decimal | None = None
    high: Decimal | None = None
    codes: tuple[str, ...] = ()
    fields: tuple[ColumnFact, ...] = ()

    def limits(self) -> tuple[Decimal, Decimal]:
        """The values vouched for: the declared bounds within the lane's limits."""
        limit = Decimal(COUNT_LIMIT if self.kind == "count" else NUMBER_LIMIT)
        low = -limit if self.kind != "count" else Decimal(0)
        high = limit
        if self.low is not None:  # a bound of more decimals than an input: the nearest one in
            low = max(low, self.low.quantize(_INPUT_UNIT, ROUND_CEILING, _EXACT))
        if self.high is not None:
            high = min(high, self.high.quantize(_INPUT_UNIT, ROUND_FLOOR, _EXACT))
        return low, high


@dataclass(frozen=True, slots=True)
class CohortBound:
    """The values of a cohort value codegen's proof assumed (the lane vouches only records
    whose cohort values are exact at SCALE and within them)."""

    name: str
    low: Decimal
    high: Decimal


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """What a pack's column form reads: written by codegen as `COLUMNS = ColumnPlan(...)`."""

    facts: tuple[ColumnFact, ...]
    item_numbers: tuple[str, ...]  # the output keys of `items`, in order
    cohort_facts: tuple[str, ...] = ()  # the facts cohort values are computed from
    cohorts: tuple[CohortBound, ...] = ()
    id_field: str = "id"
    text_fields: tuple[str, ...] = ("name",)  # read (as text) and not scored


class ColumnPack(Protocol):
    """What the lane needs of a pack (a generated module or a `Pack`)."""

    @property
    def COLUMNS(self) -> ColumnPlan | None: ...

    def check_columns(self, block: ColumnBlock) -> Bools: ...

    def score_columns(self, block: ColumnBlock,
                      cohorts: Mapping[str, Ints]) -> ColumnScores: ...


@dataclass(frozen=True, slots=True)
class Columns:
    """Records (or a list's entries) as columns, each of length `count`:

    - `numbers`: decimals as int64 at SCALE, counts as whole int64s (0 where not given);
    - `given`: per optional fact, whether it is given;
    - `flags`: bools (False where not given); `codes`: an enum's index into its codes (-1
      where not given or unknown); `members`: a set of enums as a (count, codes) bool
      matrix; `lists`: a list's offsets (entries of row i: offsets[i]..offsets[i + 1]) and
      its entries' columns;
    - `valid`: per row, every value given where required and within the limits."""

    count: int
    numbers: dict[str, Ints] = field(default_factory=dict)
    given: dict[str, Bools] = field(default_factory=dict)
    flags: dict[str, Bools] = field(default_factory=dict)
    codes: dict[str, Ints] = field(default_factory=dict)
    members: dict[str, Bools] = field(default_factory=dict)
    lists: dict[str, tuple[Ints, Columns]] = field(default_factory=dict)
    valid: Bools | None = None


@dataclass(frozen=True, slots=True)
class ColumnBlock:
    """A block of records read by `read_columns`: the columns the generated code reads,
    the ids, and which records the lane vouches for."""

    pack: ColumnPack
    plan: ColumnPlan
    table: pa.Table
    columns: Columns
    ids: list[str]
    vouched: Bools

    @property
    def count(self) -> int:
        return self.columns.count

    def cohort_facts(self, name: str) -> list[Decimal | None]:
        """The exact values of a fact cohort values are computed from, one per record (None
        where not given; for records not vouched, whatever Arrow read or None)."""
        fact = _fact(self.plan, name)
        if fact.kind not in ("decimal", "count"):
            raise ValueError(f"{name} is a {fact.kind}: cohort_facts reads numbers only")
        # each distinct value converted once (a batch repeats a few hundred scores), then
        # spread over the records by its dictionary index
        encoded = self.table.column(name).combine_chunks().dictionary_encode()
        distinct: list[Decimal | None] = []
        for value in encoded.dictionary.to_pylist():
            if value is None or isinstance(value, bool):
                distinct.append(None)
            elif fact.kind == "count":
                distinct.append(Decimal(int(value)))
            else:
                distinct.append(_plain_decimal(Decimal(value)))
        return [None if index is None else distinct[index]
                for index in encoded.indices.to_pylist()]

    def take(self, indexes_or_mask: Sequence[int] | Ints | Bools) -> ColumnBlock:
        """The records at `indexes_or_mask` (indexes, or a bool mask), in order."""
        import numpy as np

        chosen = np.asarray(indexes_or_mask)
        if chosen.dtype == np.bool_:
            chosen = np.flatnonzero(chosen)
        return read_columns(self.pack, self.table.take(chosen.astype(np.int64)))


@dataclass(frozen=True, slots=True)
class ColumnScores:
    """The scores of a block: items (k, n) and the rest (n,), all int64 at SCALE; `total`
    already rounded to cents (G2) as close_total rounds it."""

    items: Ints
    applicable: Bools
    earned: Ints
    applicable_max: Ints
    total: Ints
    item_numbers: tuple[str, ...]


# ---------------------------------------------------------------- reading


def _fact(plan: ColumnPlan, name: str) -> ColumnFact:
    for fact in plan.facts:
        if fact.name == name:
            return fact
    raise KeyError(f"{name} is not a fact of the column plan")


def _plain_decimal(value: Decimal) -> Decimal:
    """85.5000 (Arrow's scale) as 85.5, 100.0000 as 100: the value, without trailing zeros
    (exactly, whatever the caller's decimal context: decimal256 holds 76 digits)."""
    if value == value.to_integral_value():
        return Decimal(int(value))
    return value.normalize(_EXACT)


def arrow_schema(plan: ColumnPlan) -> pa.Schema:
    """The explicit schema the lane parses JSON Lines with: ids and texts as strings,
    decimals as decimal256(76, 4), counts as int64, bools, enums as strings, lists."""
    import pyarrow as pa

    fields: list[Any] = [pa.field(plan.id_field, pa.string())]
    fields += [pa.field(name, pa.string()) for name in plan.text_fields]
    fields += [pa.field(fact.name, _arrow_type(fact)) for fact in plan.facts]
    return pa.schema(fields)


def _arrow_type(fact: ColumnFact) -> pa.DataType:
    import pyarrow as pa

    if fact.kind == "decimal":
        return pa.decimal256(76, INPUT_DIGITS)
    if fact.kind == "count":
        return pa.int64()
    if fact.kind == "bool":
        return pa.bool_()
    if fact.kind == "enum":
        return pa.string()
    if fact.kind in ("enum_set", "enum_list"):
        return pa.list_(pa.string())
    return pa.list_(pa.struct([pa.field(entry.name, _arrow_type(entry))
                               for entry in fact.fields]))


def read_columns(pack: ColumnPack, table: pa.Table) -> ColumnBlock:
    """A table parsed with `arrow_schema(pack.COLUMNS)` as a block of columns, with the
    records the lane vouches for (the checks in this module's docstring, then the pack's
    `check_columns`)."""
    import numpy as np

    plan = pack.COLUMNS
    if plan is None:
        raise ValueError("the pack has no column form (COLUMNS is None)")
    count = table.num_rows
    columns = _read_level(plan.facts, {fact.name: _whole(table.column(fact.name))
                                       for fact in plan.facts}, count)
    ids_column = _whole(table.column(plan.id_field))
    ids: list[str] = [value if value is not None else "" for value in ids_column.to_pylist()]
    vouched = _ids_ok(ids_column) & _valid(columns)
    block = ColumnBlock(pack, plan, table, columns, ids, vouched)
    checked = np.asarray(pack.check_columns(block), dtype=np.bool_)
    return ColumnBlock(pack, plan, table, columns, ids, vouched & checked)


def _valid(columns: Columns) -> Bools:
    import numpy as np

    if columns.valid is None:
        return np.ones(columns.count, dtype=np.bool_)
    return columns.valid


def _whole(array: Any) -> Any:
    import pyarrow as pa

    if not isinstance(array, pa.ChunkedArray):
        return array
    return array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()


def _ids_ok(ids: Any) -> Bools:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(ids) == 0:
        return np.zeros(0, dtype=np.bool_)
    shaped = pc.match_substring_regex(ids, r'^[!#-\[\]-~](?:[ -!#-\[\]-~]*[!#-\[\]-~])?$')
    short = pc.less_equal(pc.utf8_length(ids), pa.scalar(MAX_ID, pa.int32()))
    both = pc.and_(shaped, short).fill_null(False)
    return np.asarray(both, dtype=np.bool_).copy()


def _read_level(facts: Sequence[ColumnFact], arrays: Mapping[str, Any],
                count: int) -> Columns:
    """Facts (or a record's fields) from their Arrow arrays, each of length `count`."""
    import numpy as np

    valid = np.ones(count, dtype=np.bool_)
    out = Columns(count, valid=valid)
    for fact in facts:
        array = arrays[fact.name]
        given = np.asarray(array.is_valid(), dtype=np.bool_)
        if fact.required:
            valid &= given
        else:
            out.given[fact.name] = given
        reader = _READERS[fact.kind]
        valid &= reader(fact, array, given, out) | ~given
    return out


def _read_decimal(fact: ColumnFact, array: Any, given: Bools, out: Columns) -> Bools:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    low, high = fact.limits()
    kind = pa.decimal256(76, INPUT_DIGITS)
    inside = pc.and_(pc.greater_equal(array, pa.scalar(low, kind)),
                     pc.less_equal(array, pa.scalar(high, kind))).fill_null(False)
    kept = pc.if_else(inside, array, pa.scalar(Decimal(0), kind))
    small: Any = pc.cast(kept, pa.decimal128(18, INPUT_DIGITS))  # within ±10**12: it fits
    words = np.frombuffer(small.buffers()[1], dtype=np.int64)
    unscaled = words[2 * small.offset: 2 * (small.offset + len(small)): 2]
    out.numbers[fact.name] = unscaled * 10**(SCALE_DIGITS - INPUT_DIGITS)
    return np.asarray(inside, dtype=np.bool_)


def _read_count(fact: ColumnFact, array: Any, given: Bools, out: Columns) -> Bools:
    import numpy as np

    low, high = fact.limits()
    values = np.asarray(array.fill_null(0), dtype=np.int64)
    inside = (values >= int(low)) & (values <= int(high))
    out.numbers[fact.name] = np.where(inside, values, 0)
    return inside


def _read_bool(fact: ColumnFact, array: Any, given: Bools, out: Columns) -> Bools:
    import numpy as np

    out.flags[fact.name] = np.asarray(array.fill_null(False), dtype=np.bool_)
    return np.ones(len(given), dtype=np.bool_)


def _enum_codes(fact: ColumnFact, values: Any) -> Ints:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    index = pc.index_in(values, value_set=pa.array(fact.codes, pa.string()))
    return np.asarray(index.fill_null(-1), dtype=np.int64)


def _read_enum(fact: ColumnFact, array: Any, given: Bools, out: Columns) -> Bools:
    codes = _enum_codes(fact, array)
    out.codes[fact.name] = codes
    return codes >= 0


def _read_enum_set(fact: ColumnFact, array: Any, given: Bools, out: Columns) -> Bools:
    """A set of enums: a (records, codes) membership matrix; a list given as null or with
    a null or unknown entry is not vouched."""
    import numpy as np

    offsets = _offsets(array)
    codes = _enum_codes(fact, array.flatten())
    row = np.repeat(np.arange(len(array)), np.diff(offsets))
    known = codes >= 0
    members = np.zeros((len(array), len(fact.codes)), dtype=np.bool_)
    members[row[known], codes[known]] = True
    bad = segment_sum((~known).astype(np.int64), offsets) + (np.diff(offsets) > LIST_LIMIT)
    if fact.kind == "enum_set":
        out.members[fact.name] = members
    else:  # a list of enums, duplicates kept: its entries' codes
        out.lists[fact.name] = (offsets, Columns(len(codes), codes={"value": codes},
                                                 valid=known))
    result: Bools = bad == 0
    return result


def _offsets(array: Any) -> Ints:
    """A list array's offsets from 0 (a slice's start where its values begin)."""
    import numpy as np

    offsets = np.asarray(array.offsets, dtype=np.int64)
    result: Ints = offsets - offsets[0]
    return result


def _read_records(fact: ColumnFact, array: Any, given: Bools, out: Columns) -> Bools:
    """A list of records: its offsets and its entries' columns; a record is vouched only
    if every entry is (an entry given as null is not)."""
    import numpy as np

    offsets = _offsets(array)
    entries = array.flatten()
    entry_count = len(entries)
    arrays = {entry.name: _whole(entries.field(entry.name)) for entry in fact.fields}
    inner = _read_level(fact.fields, arrays, entry_count)
    entry_ok = _valid(inner) & np.asarray(entries.is_valid(), dtype=np.bool_)
    out.lists[fact.name] = (offsets, inner)
    bad = segment_sum((~entry_ok).astype(np.int64), offsets) + (np.diff(offsets) > LIST_LIMIT)
    result: Bools = bad == 0
    return result


_READERS: dict[str, Callable[[ColumnFact, Any, Bools, Columns], Bools]] = {
    "decimal": _read_decimal, "count": _read_count, "bool": _read_bool, "enum": _read_enum,
    "enum_set": _read_enum_set, "enum_list": _read_enum_set, "records": _read_records,
}


def fixed_cohorts(plan: ColumnPlan, values: Mapping[str, Sequence[Decimal | None]],
                  count: int | None = None) -> tuple[dict[str, Ints], Bools]:
    """Cohort values (Decimals, one per record, as compute_cohorts gives them) as int64
    columns at SCALE, and per record whether every one of them is exact at SCALE and
    within the bounds codegen assumed (`plan.cohorts`); records where not are not vouched.
    `count`: how many records (needed when the pack has no cohort values)."""
    import numpy as np

    columns: dict[str, Ints] = {}
    if count is None:
        count = len(next(iter(values.values()))) if values else 0
    exact = np.ones(count, dtype=np.bool_)
    for bound in plan.cohorts:
        column = np.zeros(count, dtype=np.int64)
        for index, value in enumerate(values[bound.name]):
            if value is None or not value.is_finite() or not bound.low <= value <= bound.high:
                exact[index] = False
                continue
            scaled = value.scaleb(SCALE_DIGITS, _EXACT)
            if scaled != scaled.to_integral_value():
                exact[index] = False
                continue
            column[index] = int(scaled)
        columns[bound.name] = column
    return columns, exact


# ---------------------------------------------------------------- scoring


def score_block(pack: ColumnPack, block: ColumnBlock,
                cohort_values: Mapping[str, Ints]) -> ColumnScores:
    """The scores of every record of `block` (meaningful only where `block.vouched`)."""
    return pack.score_columns(block, cohort_values)


def segment_sum(values: Ints, offsets: Ints) -> Ints:
    """The sum of each segment [offsets[i], offsets[i + 1]) of values (0 when empty)."""
    import numpy as np

    running = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(values, dtype=np.int64)))
    sums: Ints = running[offsets[1:]] - running[offsets[:-1]]
    return sums


def segment_max(values: Ints, offsets: Ints, empty: int = 0) -> Ints:
    """The largest value of each segment (`empty` when it has none)."""
    return _segment_reduce("maximum", values, offsets, empty)


def segment_min(values: Ints, offsets: Ints, empty: int = 0) -> Ints:
    """The smallest value of each segment (`empty` when it has none)."""
    return _segment_reduce("minimum", values, offsets, empty)


def _segment_reduce(ufunc: Literal["maximum", "minimum"], values: Ints, offsets: Ints,
                    empty: int) -> Ints:
    import numpy as np

    sizes = np.diff(offsets)
    result: Ints = np.full(len(sizes), empty, dtype=np.int64)
    filled = sizes > 0
    if filled.any():  # reduceat over the non-empty segments' starts: each runs to the next
        result[filled] = getattr(np, ufunc).reduceat(values, offsets[:-1][filled])
    return result


def segment_any(values: Bools, offsets: Ints) -> Bools:
    result: Bools = segment_sum(values.astype("int64"), offsets) > 0
    return result


def segment_all(values: Bools, offsets: Ints) -> Bools:
    result: Bools = segment_sum((~values).astype("int64"), offsets) == 0
    return result


def clamped(values: Ints, low: int, high: int) -> Ints:
    """Each value within [low, high]."""
    import numpy as np

    result: Ints = np.clip(values, low, high)
    return result


def floor_div(values: Ints, divisor: int) -> Ints:
    """⌊value / divisor⌋ (divisor > 0)."""
    result: Ints = values // divisor
    return result


def ceil_div(values: Ints, divisor: int) -> Ints:
    """⌈value / divisor⌉ (divisor > 0)."""
    result: Ints = -((-values) // divisor)
    return result


def steps_count(gap: Ints, step: int, rounding: Literal["floor", "ceil"]) -> Ints:
    """G4: how many `step`s a gap (at the same scale) holds, 0 when it is not positive;
    the record path's steps() rounds the 28-digit quotient, the same whole number (see
    the module docstring)."""
    import numpy as np

    positive = np.maximum(gap, 0)
    counted = positive // step if rounding == "floor" else -((-positive) // step)
    return counted


def where(condition: Bools, then: Ints, otherwise: Ints | int) -> Ints:
    import numpy as np

    result: Ints = np.where(condition, then, otherwise).astype(np.int64)
    return result


def half_up_cents(earned: Ints, applicable_max: Ints, rescale: int | None) -> Ints:
    """close_total (G5, G2) in integers: earned (at SCALE) rescaled to `rescale` points over
    the applicable maximum (at SCALE), rounded half-up to cents, returned at SCALE."""
    import numpy as np

    cent = SCALE // 100
    if rescale is None:
        numerator, denominator = earned, np.full_like(earned, cent)
    else:
        same = applicable_max == rescale * SCALE
        numerator = np.where(same, earned, earned * rescale * 100)
        denominator = np.where(same, cent, np.maximum(applicable_max, 1))
    magnitude = (2 * np.abs(numerator) + denominator) // (2 * denominator)
    cents = np.where(numerator < 0, -magnitude, magnitude)
    if rescale is not None:
        cents = np.where(applicable_max == 0, 0, cents)
    result: Ints = (cents * cent).astype(np.int64)
    return result
