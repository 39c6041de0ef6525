"""A pack described as JSON: what `policyc describe --format json` prints and the service's
`GET /packs/{region}/{standard}` returns."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from decimal import Decimal

from .framework import framework_inputs
from .packs import Pack


def describe_json(pack: Pack) -> dict[str, object]:
    """The pack's info (facts with types, labels, bounds and when required; items), for a
    pack under a framework the framework's inputs, and the cohort values (what each is
    computed from: what a cohort snapshot holds). Decimals and dates are strings."""
    described = jsonable(pack.INFO)
    assert isinstance(described, dict)
    described["framework_inputs"] = jsonable(
        framework_inputs(pack.FRAMEWORK) if pack.FRAMEWORK is not None else ())
    described["cohorts"] = jsonable(pack.COHORTS)  # what a cohort snapshot holds
    return described


def jsonable(value: object) -> object:
    """Dataclasses, tuples, decimals and dates as JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return {key: jsonable(item) for key, item in asdict(value).items()}
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return str(value)
    return value
