"""The shared runtime of policy_dsl packs. It imports nothing of the compiler.

Generated packs import only the names listed in `__all__`; downstream systems use
`load_pack`, `read_records`, `score_batch` and `outcome_json`.
"""

from .arithmetic import (
    ZERO,
    Undefined,
    clamp,
    divide,
    growth,
    need,
    plain,
    round_money,
    round_points,
    share,
    steps,
    weight,
)
from .batch import Outcome, iter_outcomes, outcome_json, score_batch
from .cohorts import Band, GroupMean, group_means, rank_adjustments
from .inputs import InputRecord, InputUnreadable, decode, guess_format, read_records
from .packs import FactInfo, ItemInfo, Pack, PackInfo, PackNotFound, find_pack, load_pack
from .results import (
    ItemScore,
    Line,
    Reason,
    Score,
    close_item,
    close_part,
    not_applicable,
    note,
    total,
)
from .values import (
    FieldError,
    Raw,
    RecordInvalid,
    check_unknown_fields,
    read_bool,
    read_count,
    read_date,
    read_enum,
    read_enum_set,
    read_list,
    read_number,
    read_optional_bool,
    read_optional_count,
    read_optional_date,
    read_optional_enum,
    read_optional_number,
    read_optional_percent,
    read_optional_text,
    read_percent,
    read_text,
    require,
)

__all__ = [
    "ZERO", "Band", "FactInfo", "FieldError", "GroupMean", "InputRecord", "InputUnreadable",
    "ItemInfo", "ItemScore", "Line", "Outcome", "Pack", "PackInfo", "PackNotFound", "Raw",
    "Reason", "RecordInvalid", "Score", "Undefined", "check_unknown_fields", "clamp",
    "close_item", "close_part", "decode", "divide", "find_pack", "group_means", "growth",
    "guess_format", "iter_outcomes", "load_pack", "need", "not_applicable", "note",
    "outcome_json", "plain",
    "rank_adjustments", "read_bool", "read_count", "read_date", "read_enum", "read_enum_set",
    "read_list", "read_number", "read_optional_bool", "read_optional_count",
    "read_optional_date", "read_optional_enum", "read_optional_number",
    "read_optional_percent", "read_optional_text", "read_percent", "read_records",
    "read_text", "require", "round_money", "round_points", "score_batch", "share", "steps",
    "total", "weight",
]
