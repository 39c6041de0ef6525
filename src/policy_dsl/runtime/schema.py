"""The JSON Schema of one result line: what `policyc score` writes and the service returns.

Written once, here: the OpenAPI document of the scoring service embeds it, and a test
validates real `policyc score` output against it. Every number is a decimal string (exact),
never a JSON number.
"""

from __future__ import annotations

from typing import Any

from .framework import SETTLEMENT_STEPS

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# 2 decimals, half-up (G2): "93.00", "-0.50".
ROUNDED = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$"}
# A plain decimal without exponent or trailing zeros: "3", "2.5", "0.1".
PLAIN = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]*[1-9])?$"}
# An amount of money in yuan: its cents, or more decimals as given ("17800.00", "0.005").
MONEY = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2,}$"}
# Any exact decimal as Python writes it (a framework's own and final scores).
DECIMAL = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?(E[-+]?[0-9]+)?$"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


REASON_LINE: dict[str, Any] = {
    "type": "object",
    "description": "What one rule did to an item: its text, signed points, cited reading "
                   "ids (POLICY-NOTES) and its line in the rule file (0: the runtime's own "
                   "clamping to [0, points], G3); `file` is given when that line is in "
                   "another rule file than the pack's own (a rule inherited with `based on` "
                   "or taken with `item N from`).",
    "required": ["reason", "points", "cites", "line"],
    "additionalProperties": False,
    "properties": {
        "reason": {"type": "string"},
        "points": PLAIN,
        "cites": {"type": "array", "items": {"type": "string"}},
        "line": {"type": "integer", "minimum": 0},
        "file": {"type": "string"},
    },
}

ADJUSTMENT: dict[str, Any] = {
    "type": "object",
    "description": "A downgrade for a public-opinion event, or the veto (JL-11, JL-12).",
    "required": ["kind", "event", "grades", "applied", "reason", "cites"],
    "additionalProperties": False,
    "properties": {
        "kind": {"enum": ["downgrade", "veto"]},
        "event": {"anyOf": [{"enum": ["national", "provincial"]}, {"type": "null"}]},
        "grades": {"type": "integer", "minimum": 0},
        "applied": {"type": "boolean"},
        "reason": {"type": "string"},
        "cites": {"type": "array", "items": {"type": "string"}},
    },
}

SETTLEMENT_LINE: dict[str, Any] = {
    "type": "object",
    "description": "One step the framework's settlement took: the clause it applied (text, "
                   "reading ids, line in the framework file) and, in `detail`, the numbers "
                   "it used, as a sentence: Chinese, or English when asked for (`--lang "
                   "en`). The other fields are the same in every language.",
    "required": ["step", "reason", "cites", "line", "detail"],
    "additionalProperties": False,
    "properties": {
        "step": {"enum": list(SETTLEMENT_STEPS)},
        "reason": {"type": "string"},
        "cites": {"type": "array", "items": {"type": "string"}},
        "line": {"type": "integer", "minimum": 0},
        "detail": {"type": "string"},
    },
}

# Present on every line of a pack under a framework (null where the record has an error).
FRAMEWORK_PROPERTIES: dict[str, Any] = {
    "status": _nullable({"enum": ["assessed", "deferred", "terminated", "voluntary_exit"]}),
    "own_score": _nullable(DECIMAL),
    "final_score": _nullable(DECIMAL),
    "grade_before_adjustment": _nullable({"type": "string"}),
    "grade": _nullable({"type": "string"}),
    "adjustments": _nullable({"type": "array", "items": ADJUSTMENT}),
    "refund_ratio": _nullable(ROUNDED),
    "refund_amount": _nullable(ROUNDED),
    "deposit": _nullable(MONEY | {"description": "The quality deposit (an input), yuan."}),
    "withheld": _nullable(MONEY | {"description": "The deposit not refunded: deposit − "
                                                  "refund_amount, exact; null where no refund "
                                                  "is decided (a deferred assessment)."}),
    "renewal": _nullable({"enum": ["direct", "review", "with_suspension", "none"]}),
    "publicize": _nullable({"type": "boolean"}),
    "referral": _nullable({"type": "boolean"}),
}

RESULT_LINE: dict[str, Any] = {
    "$schema": SCHEMA_DIALECT,
    "title": "Result line",
    "description": "One institution's result: one per input record, in input order. A record "
                   "that cannot be scored has `error` (naming the record and field) and null "
                   "scores. Packs under a framework add the settlement fields; `--explain` "
                   "(or /explain) adds `explanation` (and `settlement_explanation`).",
    "type": "object",
    "required": ["id", "total", "earned", "applicable_max", "items", "error", "pack",
                 "pack_sha256"],
    "additionalProperties": False,
    "properties": {
        "id": {"description": "The input record's id.",
               "anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
        "total": _nullable(ROUNDED | {"description": "Rescaled over the applicable maximum, "
                                                     "2 decimals, half-up (G2, G5)."}),
        "earned": _nullable(PLAIN),
        "applicable_max": _nullable(PLAIN),
        "items": _nullable({
            "type": "object", "description": "Item number → points; null: not applicable.",
            "propertyNames": {"pattern": "^[0-9]+$"},
            "additionalProperties": _nullable(PLAIN)}),
        "error": _nullable({"type": "string"}),
        # Provenance, on every line: the pack's name and the SHA-256 of its file's bytes.
        "pack": {"type": "string"},
        "pack_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        **FRAMEWORK_PROPERTIES,
        "explanation": {
            "type": "object", "description": "Item number → its reason lines.",
            "propertyNames": {"pattern": "^[0-9]+$"},
            "additionalProperties": {"type": "array", "items": REASON_LINE}},
        "settlement_explanation": {
            "type": "array", "description": "The settlement's steps (under a framework).",
            "items": SETTLEMENT_LINE},
    },
    # An error leaves no score behind: a record is scored, or it has an error.
    "if": {"properties": {"error": {"type": "string"}}, "required": ["error"]},
    "then": {"properties": {"total": {"type": "null"}, "items": {"type": "null"}}},
}


def result_line_schema() -> dict[str, Any]:
    """The schema of one result line (a fresh copy: callers may embed or change it)."""
    import copy

    return copy.deepcopy(RESULT_LINE)
