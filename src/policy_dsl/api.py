"""Scoring from Python: records (dicts, DataFrame rows) in, typed results out.

    from policy_dsl import score_records
    for result in score_records("suzhou/outpatient-2023", rows):
        print(result.id, result.total, result.error)

Every input record gives exactly one `Result`, in input order: its scores as exact `Decimal`
values, or its `error` (naming the record and its fields). Bad input never raises: a missing
value, NaN, pandas NA, Infinity or a number of the wrong kind is that record's error or missing
fact, as the pack's rules say. Only a pack that cannot be found or is refused raises
(`PackNotFound`, `PackRefused`), before any record is read.

This module uses the runtime only; pandas is imported by `score_frame` alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .reading import Columns
from .runtime import Outcome, Pack, iter_outcomes, load_pack, plain
from .runtime.framework import Adjustment, yuan
from .runtime.inputs import InputRecord, python_value
from .runtime.schema import result_line_schema

if TYPE_CHECKING:
    import pandas


@dataclass(frozen=True, slots=True)
class Result:
    """One institution's result, as its JSON line says it, with `Decimal` values.

    `items` maps each item number to its points (None: the item does not apply). The
    settlement fields (status … referral) are None for packs without a framework, for records
    with an error, and (the scores) for institutions not assessed this year.
    """

    id: object  # the record's `id` as given (a numpy integer becomes an int)
    total: Decimal | None  # 2 decimals, half-up (G2)
    earned: Decimal | None
    applicable_max: Decimal | None
    items: Mapping[int, Decimal | None] | None
    error: str | None
    pack: str
    pack_sha256: str
    status: str | None = None
    own_score: Decimal | None = None
    final_score: Decimal | None = None
    grade_before_adjustment: str | None = None
    grade: str | None = None
    adjustments: tuple[Adjustment, ...] | None = None
    refund_ratio: Decimal | None = None  # percent, 2 decimals
    refund_amount: Decimal | None = None  # yuan, 2 decimals
    deposit: Decimal | None = None  # yuan, the quality deposit (an input)
    withheld: Decimal | None = None  # yuan, deposit − refund_amount, exact
    renewal: str | None = None
    publicize: bool | None = None
    referral: bool | None = None


# The result line's schema version: raised when a field is removed, renamed or changes
# meaning (an added optional field keeps it). `$id` names it.
# 2: `deposit` and `withheld` added; `settlement_explanation`'s `detail` is Chinese unless
# English is asked for (`--lang en`).
RESULT_SCHEMA_VERSION = 2


def result_schema() -> dict[str, Any]:
    """The versioned JSON Schema of one result line, as `policyc schema` prints it and
    docs/result-line.schema.json holds it."""
    schema = result_line_schema()  # requires PROVENANCE_FIELDS, as every line has them
    return {"$schema": schema.pop("$schema"),
            "$id": f"urn:policy-dsl:result-line:v{RESULT_SCHEMA_VERSION}",
            "version": RESULT_SCHEMA_VERSION, **schema}


def _exact(value: Decimal) -> Decimal:
    """The value as the JSON line writes it (no trailing zeros, no exponent)."""
    return Decimal(plain(value))


def _money(value: Decimal | None) -> Decimal | None:
    """An amount as the JSON line writes it (with its cents: 17800.00)."""
    return None if value is None else Decimal(yuan(value))


def result_of(outcome: Outcome) -> Result:
    """The `Result` of an outcome: the same values as `outcome_json` gives, typed."""
    settlement = outcome.settlement
    assessed = settlement is None or settlement.status == "assessed"
    score = outcome.score if assessed else None
    provenance = outcome.provenance
    common: dict[str, Any] = {
        "id": outcome.record.id,
        "total": None if score is None else score.total,
        "earned": None if score is None else _exact(score.earned),
        "applicable_max": None if score is None else _exact(score.applicable_max),
        "items": None if score is None else {
            item.number: None if item.earned is None else _exact(item.earned)
            for item in score.items},
        "error": outcome.error,
        "pack": provenance.pack,
        "pack_sha256": provenance.pack_sha256,
    }
    if settlement is not None:
        common.update(
            status=settlement.status, own_score=settlement.own_score,
            final_score=settlement.final_score,
            grade_before_adjustment=settlement.grade_before_adjustment,
            grade=settlement.grade, adjustments=settlement.adjustments,
            refund_ratio=settlement.refund_ratio, refund_amount=settlement.refund_amount,
            deposit=_money(settlement.deposit), withheld=_money(settlement.withheld),
            renewal=settlement.renewal, publicize=settlement.publicize,
            referral=settlement.referral)
    return Result(**common)


def _pack(pack: Pack | str, packs_dir: Path | str | None) -> Pack:
    return load_pack(pack, packs_dir=packs_dir) if isinstance(pack, str) else pack


def score_records(pack: Pack | str, records: Iterable[Mapping[Any, Any]], *,
                  packs_dir: Path | str | None = None) -> Iterator[Result]:
    """Score `records` (mappings of fact name or label → value, and `id`) with `pack` (a loaded pack
    or a pack name such as "suzhou/inpatient-2023"; `packs_dir` as for `load_pack`).

    Yields one `Result` per record, in order. The records are all read (and cohort values
    such as a ranking computed over the valid ones) before the first result; each result is
    then made when asked for. Values are taken as Python (and numpy and pandas) give them:
    None, NaN, pandas NA and NaT are missing values; a numpy number counts as the Python
    number it holds (a float by its shortest representation, 0.1 → Decimal("0.1")); Infinity
    is that record's error. Something that is not a mapping is that record's error."""
    chosen = _pack(pack, packs_dir)
    labels = Columns(chosen, "records")  # a key may be a fact's label, as a header may
    read = list(labels.named_keys(_input_record(position, record)
                                  for position, record in enumerate(records, start=1)))
    for outcome in iter_outcomes(chosen, read, explain=False):
        yield result_of(outcome)


def _input_record(position: int, record: object) -> InputRecord:
    if not isinstance(record, Mapping):
        return InputRecord(position, None, None, "expected a mapping of fact names to values, "
                           f"got {type(record).__name__}")
    raw: dict[str, object] = {}
    for key, value in record.items():
        plain_value = python_value(value)
        if plain_value is not None:  # a missing value is left out, as an empty CSV cell is
            raw[str(key)] = plain_value
    return InputRecord(position, raw.get("id"), raw)


def score_frame(pack: Pack | str, frame: pandas.DataFrame, *,
                packs_dir: Path | str | None = None) -> pandas.DataFrame:
    """Score each row of `frame` (columns: `id` and the pack's facts, by name or by label as
    `policyc describe` prints them); return a DataFrame with
    one row per input row, in order and with the same index.

    Its columns are those of `policyc score -o FILE.csv` under their plain names: id, total,
    earned, applicable_max, item_1 … item_N, the framework's fields (packs under a
    framework; adjustments as a short text), pack, pack_sha256, error. Numbers are
    `Decimal` values in object columns (exact; None where there is none), never floats.
    Needs pandas (`pip install 'policy-dsl[pandas]'`)."""
    import pandas

    from .tables import columns_for, row_values

    chosen = _pack(pack, packs_dir)
    columns = columns_for(chosen)
    narrow = {name: [python_value(value) for value in frame[name].to_numpy()]
              for name in frame.columns if str(frame[name].dtype) in ("float32", "float16")}
    if narrow:  # to_dict would widen them to doubles (85.3 → 85.30000305175781)
        frame = frame.copy()
        for name, values in narrow.items():
            frame[name] = pandas.Series(values, index=frame.index, dtype=object)
    rows = (row_values(columns, result)
            for result in score_records(chosen, frame.to_dict(orient="records")))
    return pandas.DataFrame(list(rows), columns=[column.name for column in columns],
                            index=frame.index, dtype=object)
