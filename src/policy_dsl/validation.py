"""`policyc validate`: the input checks alone, without scoring, summed up by field.

Each record is read as `policyc score` reads it (the file's format and header, then the
pack's own field checks, then repeated ids); what fails is counted by field and by kind of
check (missing, out of range, not a value of the field's type), with the first record that
failed each, so a person fixing a sheet of 1,000 institutions sees 3 problems, not 3,000
lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import localcontext

from .runtime import Pack
from .runtime.arithmetic import DIVISION, Undefined
from .runtime.batch import RepeatedIds
from .runtime.inputs import InputRecord
from .runtime.values import MISSING, RecordInvalid

RECORD = "(record)"  # the field of a problem with the record as a whole


@dataclass
class Check:
    """One check of one field: how many records fail it, and the first that did."""

    field: str
    kind: str  # "missing", "out of range", "wrong value", "not a fact", "unreadable record",
    # "repeated id"
    failed: int = 0
    example: str = ""


@dataclass
class Validation:
    records: int = 0
    failed_records: int = 0
    checks: dict[tuple[str, str], Check] = field(default_factory=dict)
    faults: int = 0  # records whose checking raised unexpectedly (a fault of policyc)

    def count(self, field_name: str, kind: str, example: str) -> None:
        check = self.checks.setdefault((field_name, kind), Check(field_name, kind))
        check.failed += 1
        check.example = check.example or example


def _kind(message: str) -> str:
    if message == MISSING or message.startswith("is missing"):  # also "required when ..."
        return "missing"
    if "out of range" in message:
        return "out of range"
    if message.startswith("is not a fact of this standard"):
        return "not a fact"
    return "wrong value"


def validate(pack: Pack, records: Iterable[InputRecord]) -> Validation:
    """Every record's checks, counted by field and kind; nothing is scored. One pass, record by
    record: what is kept per record is its id and position (for repeated ids, counted at the
    end) and one byte saying whether it failed a check, so a file of any size is checked in
    little memory."""
    result = Validation()
    ids = RepeatedIds()
    failed = bytearray()  # per record: 1 when it failed a check of its own
    with localcontext(DIVISION):
        for index, record in enumerate(records):
            ids.see(index, record)
            failed.append(_check(pack, record, result))
    result.records = ids.count
    for index, problem in ids.problems().items():
        result.count("id", "repeated id", f"{ids.where(index)}: {problem}")
        failed[index] = 1
    result.failed_records = failed.count(1)
    return result


def _check(pack: Pack, record: InputRecord, result: Validation) -> bool:
    """One record's own checks counted into `result`; whether it failed any."""
    if record.raw is None:
        result.count(RECORD, "unreadable record",
                     f"{record.where}: {record.error or 'unreadable record'}")
        return True
    try:
        pack.read_record(record.raw)
    except RecordInvalid as invalid:
        for error in invalid.errors:
            result.count(error.field, _kind(error.message), f"{record.where}: {error}")
        return True
    except Undefined as problem:
        result.count(RECORD, "wrong value", f"{record.where}: {problem}")
        return True
    except Exception as fault:  # a fault of policyc, not of the input
        result.count(RECORD, "internal fault", f"{record.where}: {type(fault).__name__}: {fault}")
        result.faults += 1
        return True
    return False


def summary(validation: Validation, name: str) -> str:
    """The report `policyc validate` prints: one line per failing check, most failed first."""
    lines = [f"{name}: {validation.records} record(s), {validation.failed_records} failing "
             f"the input checks"]
    checks = sorted(validation.checks.values(), key=lambda check: (-check.failed, check.field))
    if checks:
        width = max(len(check.field) for check in checks)
        lines.append(f"  {'field':{width}}  {'check':17}  records  first example")
        for check in checks:
            lines.append(f"  {check.field:{width}}  {check.kind:17}  {check.failed:7}  "
                         f"{check.example}")
    return "\n".join(lines) + "\n"
