"""`policyc validate`: the input checks alone, without scoring, summed up by field.

Each record is read as `policyc score` reads it (the file's format and header, then the
pack's own field checks, then repeated ids); what fails is counted by field and by kind of
check (missing, out of range, not a value of the field's type), with the first record that
failed each, so a person fixing a sheet of 1,000 institutions sees 3 problems, not 3,000
lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import localcontext

from .runtime import Pack
from .runtime.arithmetic import DIVISION, Undefined
from .runtime.batch import repeated_ids
from .runtime.inputs import InputRecord
from .runtime.values import MISSING, RecordInvalid

RECORD = "(record)"  # the field of a problem with the record as a whole


@dataclass
class Check:
    """One check of one field: how many records fail it, and the first that did."""

    field: str
    kind: str  # "missing", "out of range", "wrong value", "unreadable record", "repeated id"
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
    return "wrong value"


def validate(pack: Pack, records: Sequence[InputRecord]) -> Validation:
    """Every record's checks, counted by field and kind; nothing is scored."""
    result = Validation(records=len(records))
    repeated = repeated_ids(records)
    with localcontext(DIVISION):
        for index, record in enumerate(records):
            failed = False
            if index in repeated:
                result.count("id", "repeated id", f"{record.where}: {repeated[index]}")
                failed = True
            if record.raw is None:
                result.count(RECORD, "unreadable record",
                             f"{record.where}: {record.error or 'unreadable record'}")
                failed = True
            else:
                try:
                    pack.read_record(record.raw)
                except RecordInvalid as invalid:
                    for error in invalid.errors:
                        result.count(error.field, _kind(error.message),
                                     f"{record.where}: {error}")
                    failed = True
                except Undefined as problem:
                    result.count(RECORD, "wrong value", f"{record.where}: {problem}")
                    failed = True
                except Exception as fault:  # a fault of policyc, not of the input
                    result.count(RECORD, "internal fault",
                                 f"{record.where}: {type(fault).__name__}: {fault}")
                    result.faults += 1
                    failed = True
            result.failed_records += failed
    return result


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
