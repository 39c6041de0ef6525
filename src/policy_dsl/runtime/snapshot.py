"""Cohort snapshots: the cohort values of one batch, kept so that an institution scored
alone later gets exactly its batch result (POLICY-NOTES SZ-C, SZ-12, SZ2-4).

Cohort values (the satisfaction ranking, the peer-group means) are computed over the
institutions scored together. `make_snapshot` keeps them per institution id, with what each
was computed from (the value ranked or averaged, the group) and each group's mean and size;
`iter_outcomes(pack, records, cohorts=snapshot)` then takes them from the snapshot instead of
computing them over the records given. A snapshot belongs to one pack: its hash is checked
before anything is scored. An institution missing from the snapshot, or whose cohort inputs
differ from those the snapshot was made from, gets an error of its own, never a value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from .batch import validated_batch
from .cohorts import CohortBasis, GroupMean, SnapshotDetail, SnapshotInvalid, group_means
from .inputs import InputRecord
from .packs import Pack

SNAPSHOT_FORMAT = "policy_dsl cohort snapshot"
SNAPSHOT_VERSION = 1


def pack_sha256(pack: Pack) -> str:
    """The hash that ties a snapshot to its pack: the SHA-256 of the pack file's bytes, as
    the verified loader computed it (the `pack_sha256` of every result line)."""
    return pack.provenance.pack_sha256


class NotInSnapshot(Exception):
    """One record's cohort values cannot be taken from the snapshot; the message says why."""


def snapshot_key(record_id: object) -> str | None:
    """The key an institution has in a snapshot: its id as text (7 and "7" are one id)."""
    if isinstance(record_id, str):
        return record_id
    if isinstance(record_id, int) and not isinstance(record_id, bool):
        return str(record_id)
    return None


@dataclass(frozen=True, slots=True)
class Institution:
    """One institution's entry: its cohort values, their details (each ranking's rank and
    how many were ranked, each mean's group and its size: what explanations show) and what
    they were computed from, or the error the batch gave its cohort values (alone in its
    peer group, ...)."""

    values: Mapping[str, Decimal] | None
    basis: Mapping[str, CohortBasis]
    error: str | None = None
    details: Mapping[str, SnapshotDetail] | None = None


@dataclass(frozen=True, slots=True)
class CohortSnapshot:
    pack: str
    pack_sha256: str
    created: str  # UTC, ISO 8601
    source_name: str
    source_sha256: str
    records: int  # records in the input
    valid_records: int  # records that took part in the cohort values
    cohorts: tuple[str, ...]  # the pack's cohort value names
    groups: Mapping[str, Mapping[str, GroupMean]]  # mean cohort → group → mean and size
    institutions: Mapping[str, Institution]
    where: str = "the cohort snapshot"  # the file it was read from, for messages
    # When made: the errors of the input's records that took no part (not written out).
    left_out: tuple[str, ...] = ()
    faults: int = 0  # how many of those are internal faults of policy_dsl

    def check_pack(self, pack: Pack) -> None:
        """Refuse a pack other than the one the snapshot was made with."""
        name, digest = pack.INFO.name, pack_sha256(pack)
        if self.pack != name or self.pack_sha256 != digest:
            raise SnapshotInvalid(
                f"{self.where} was made with pack {self.pack} (sha256 {self.pack_sha256}), "
                f"not with {name} (sha256 {digest}); make a new snapshot with "
                f"`policyc cohorts --pack {name}`")
        names = tuple(info.name for info in pack.COHORTS)
        if self.cohorts != names:
            raise SnapshotInvalid(f"{self.where} holds cohort values {list(self.cohorts)}, but "
                                  f"pack {name} has {list(names)}")
        # The details only the pack can check (a rank, a count, a group): every entry, so
        # that a malformed one refuses the snapshot before anything is scored.
        for key, entry in self.institutions.items():
            if entry.values is None:
                continue
            if entry.details is None:
                raise SnapshotInvalid(f"{self.where}: institutions.{key}.details: expected an "
                                      "object {...}")
            try:
                pack.rebuild_cohorts(entry.values, entry.details)
            except SnapshotInvalid as error:
                raise SnapshotInvalid(f"{self.where}: institutions.{key}.{error}") from None

    def cohorts_for(self, pack: Pack,
                    batch: Sequence[tuple[InputRecord, Any]]) -> list[Any]:
        """For each valid record (its input and facts) its `Cohorts` from the snapshot, or a
        `NotInSnapshot` saying why there are none."""
        self.check_pack(pack)
        return [self._lookup(pack, record, facts) for record, facts in batch]

    def _lookup(self, pack: Pack, record: InputRecord, facts: Any) -> Any:
        key = snapshot_key(record.id)
        if key is None:
            return NotInSnapshot(f"the record has no id, so its cohort values cannot be looked "
                                 f"up in {self.where}; give the institution's id")
        entry = self.institutions.get(key)
        if entry is None:
            return NotInSnapshot(
                f"id {key} is not in {self.where} ({len(self.institutions)} institutions); "
                "score it with the batch, or make a new snapshot")
        basis = pack.cohort_basis(facts)
        for info in pack.COHORTS:
            now, then = basis[info.name], entry.basis.get(info.name)
            if then is None:  # an id repeated in the batch: no values, its error below
                continue
            if now.group != then.group:
                return NotInSnapshot(
                    f"{info.group} is {now.group} here but {then.group} in {self.where}, "
                    f"whose {info.name} was computed in group {then.group}; score it with the "
                    "batch, or make a new snapshot")
            if now.value != then.value:
                return NotInSnapshot(
                    f"{info.of} is {_shown(now.value)} here but {_shown(then.value)} in "
                    f"{self.where}, whose {info.name} was computed from it; score it with the "
                    "batch, or make a new snapshot")
            if now.own != then.own:
                own = (f"{info.name} without a rank ({info.own})" if info.kind == "rank"
                       else info.own)
                return NotInSnapshot(
                    f"{own} is {_shown(now.own)} here but {_shown(then.own)} in "
                    f"{self.where}, whose {info.name} was taken from it; score it with the "
                    "batch, or make a new snapshot")
        if entry.error is not None or entry.values is None or entry.details is None:
            return NotInSnapshot(f"{entry.error} (in the batch of {self.where})")
        return pack.rebuild_cohorts(entry.values, entry.details)  # checked by check_pack


def _shown(value: Decimal | None) -> str:
    return "not given" if value is None else str(value)


def make_snapshot(pack: Pack, records: Iterable[InputRecord], source_name: str,
                  source: bytes, created: dt.datetime | None = None, *,
                  source_sha256: str | None = None) -> CohortSnapshot:
    """The cohort values `iter_outcomes(pack, records)` computes, per institution id.

    The records are read once, as they come (`validated_batch`). Records that cannot be read
    or validated take no part, as in scoring. Records without an id take part but cannot be
    looked up; an id given more than once takes no part either, and is kept as an error
    (looked up, it says why it has no values). `source`: the input's bytes, for its SHA-256;
    or `source_sha256`, computed by the caller (who read the file in pieces).
    """
    batch = validated_batch(pack, records)
    problems, valid, cohorts = batch.problems, batch.valid, batch.cohorts
    bases = [pack.cohort_basis(facts) for _, facts in valid]
    groups: dict[str, dict[str, GroupMean]] = {}
    for info in pack.COHORTS:
        if info.kind != "mean":
            continue
        # A mean's value is always given (an expression of the record's facts).
        pairs = [(basis[info.name].value, basis[info.name].group) for basis in bases]
        values = [value for value, _ in pairs if value is not None]
        keys = [group for value, group in pairs if value is not None]
        means = group_means(values, keys)
        groups[info.name] = {str(key): mean for key, mean in sorted(
            zip(keys, means, strict=True), key=lambda pair: str(pair[0]))}
    institutions: dict[str, Institution] = {}
    for index, record_id in batch.repeated_ids.items():
        key = snapshot_key(record_id)
        if key is not None and key not in institutions:
            institutions[key] = Institution(
                None, {}, f"{batch.repeated[index]}, so it took no part in the cohort values "
                "and has none")
    for record_id, basis, cohort in zip(batch.valid_ids, bases, cohorts, strict=True):
        key = snapshot_key(record_id)
        if key is None:
            continue
        if isinstance(cohort, Exception):
            institutions[key] = Institution(None, basis, str(cohort))
        else:
            names = {info.name for info in pack.COHORTS}
            institutions[key] = Institution(
                {info.name: getattr(cohort, info.name) for info in pack.COHORTS}, basis,
                details={field.name: getattr(cohort, field.name) for field in fields(cohort)
                         if field.name not in names})
    when = (created or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return CohortSnapshot(
        pack=pack.INFO.name, pack_sha256=pack_sha256(pack),
        created=when.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        source_name=source_name,
        source_sha256=source_sha256 or hashlib.sha256(source).hexdigest(),
        records=batch.count, valid_records=len(valid),
        cohorts=tuple(info.name for info in pack.COHORTS),
        groups=groups, institutions=institutions,
        left_out=tuple(problems[index] for index in sorted(problems)),
        faults=len(batch.faults))


def snapshot_json(snapshot: CohortSnapshot) -> dict[str, object]:
    """The snapshot file's content; every decimal is an exact string."""
    return {
        "format": SNAPSHOT_FORMAT,
        "format_version": SNAPSHOT_VERSION,
        "pack": snapshot.pack,
        "pack_sha256": snapshot.pack_sha256,
        "created": snapshot.created,
        "input": {"name": snapshot.source_name, "sha256": snapshot.source_sha256},
        "records": snapshot.records,
        "valid_records": snapshot.valid_records,
        "cohorts": list(snapshot.cohorts),
        "groups": {name: {group: {"mean": str(mean.mean), "size": mean.size}
                          for group, mean in by_group.items()}
                   for name, by_group in snapshot.groups.items()},
        "institutions": {key: _institution_json(entry)
                         for key, entry in snapshot.institutions.items()},
    }


def _institution_json(entry: Institution) -> dict[str, object]:
    out: dict[str, object] = {
        "values": None if entry.values is None else {
            name: str(value) for name, value in entry.values.items()},
        "basis": {name: {"value": _text(basis.value), "group": basis.group,
                         "own": _text(basis.own)}
                  for name, basis in entry.basis.items()},
    }
    if entry.details is not None:
        out["details"] = dict(entry.details)
    if entry.error is not None:
        out["error"] = entry.error
    return out


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def read_snapshot(data: object, name: str) -> CohortSnapshot:
    """A snapshot from its JSON (decoded), checked field by field; `name` names it in
    messages ("the cohort snapshot NAME": its file, or "in the request")."""
    where = f"the cohort snapshot {name}"
    reader = _Reader(where)
    top = reader.mapping(data, "the snapshot")
    if top.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotInvalid(f"{where} is not a cohort snapshot (no \"format\": "
                              f"\"{SNAPSHOT_FORMAT}\"); make one with `policyc cohorts`")
    version = top.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version != SNAPSHOT_VERSION:
        raise SnapshotInvalid(f"{where} has format_version {top.get('format_version')!r}; "
                              f"this runtime reads version {SNAPSHOT_VERSION}")
    source = reader.mapping(top.get("input"), "input")
    cohorts = tuple(reader.text(name, "cohorts[]")
                    for name in reader.sequence(top.get("cohorts"), "cohorts"))
    groups = {
        reader.text(name, "groups"): {
            reader.text(group, f"groups.{name}"): GroupMean(
                reader.decimal(reader.mapping(mean, f"groups.{name}.{group}").get("mean"),
                               f"groups.{name}.{group}.mean"),
                reader.count(reader.mapping(mean, f"groups.{name}.{group}").get("size"),
                             f"groups.{name}.{group}.size"))
            for group, mean in reader.mapping(by_group, f"groups.{name}").items()}
        for name, by_group in reader.mapping(top.get("groups"), "groups").items()}
    institutions = {
        reader.text(key, "institutions"): reader.institution(entry, key, cohorts)
        for key, entry in reader.mapping(top.get("institutions"), "institutions").items()}
    return CohortSnapshot(
        pack=reader.text(top.get("pack"), "pack"),
        pack_sha256=reader.text(top.get("pack_sha256"), "pack_sha256"),
        created=reader.text(top.get("created"), "created"),
        source_name=reader.text(source.get("name"), "input.name"),
        source_sha256=reader.text(source.get("sha256"), "input.sha256"),
        records=reader.count(top.get("records"), "records"),
        valid_records=reader.count(top.get("valid_records"), "valid_records"),
        cohorts=cohorts, groups=groups, institutions=institutions, where=where)


def load_snapshot(data: bytes, name: str) -> CohortSnapshot:
    """A snapshot from a file's bytes (UTF-8 JSON; numbers read as exact decimals)."""
    try:
        decoded = json.loads(data.decode("utf-8-sig"), parse_float=Decimal,
                             parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise SnapshotInvalid(f"the cohort snapshot {name} is not UTF-8 JSON ({error})"
                              ) from None
    return read_snapshot(decoded, name)


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number")


class _Reader:
    """Checks each field of a snapshot, naming the file and the field when one is wrong."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field: str, expected: str) -> SnapshotInvalid:
        return SnapshotInvalid(f"{self.where}: {field}: expected {expected}")

    def mapping(self, value: object, field: str) -> Mapping[str, object]:
        if not isinstance(value, dict):
            raise self.fail(field, "an object {...}")
        return value

    def sequence(self, value: object, field: str) -> list[object]:
        if not isinstance(value, list):
            raise self.fail(field, "a list [...]")
        return value

    def text(self, value: object, field: str) -> str:
        if not isinstance(value, str):
            raise self.fail(field, "text")
        return value

    def count(self, value: object, field: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(field, "a whole number, 0 or more")
        return value

    def decimal(self, value: object, field: str) -> Decimal:
        if not isinstance(value, str) or len(value) > 100:
            raise self.fail(field, "a decimal as a string, such as \"0.05\"")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise self.fail(field, "a decimal as a string, such as \"0.05\"") from None
        if not number.is_finite():
            raise self.fail(field, "a finite decimal")
        # What policyc writes: at most 28 significant digits (the runtime's precision), and
        # nothing near the limits of the decimal context (a hostile 1E+999999 is refused).
        if len(number.as_tuple().digits) > 28 or not -100 <= number.adjusted() <= 100:
            raise self.fail(field, "a decimal of at most 28 significant digits, between "
                                   "1E-100 and 1E+100 in size")
        return number

    def optional_decimal(self, value: object, field: str) -> Decimal | None:
        return None if value is None else self.decimal(value, field)

    def institution(self, value: object, key: str, cohorts: tuple[str, ...]) -> Institution:
        field = f"institutions.{key}"
        entry = self.mapping(value, field)
        basis_json = self.mapping(entry.get("basis"), f"{field}.basis")
        basis = {}
        error = entry.get("error")
        for name in cohorts:
            if error is not None and name not in basis_json:  # an id repeated in the batch
                continue
            one = self.mapping(basis_json.get(name), f"{field}.basis.{name}")
            raw_group = one.get("group")
            basis[name] = CohortBasis(
                self.optional_decimal(one.get("value"), f"{field}.basis.{name}.value"),
                None if raw_group is None else self.text(raw_group,
                                                         f"{field}.basis.{name}.group"),
                self.optional_decimal(one.get("own"), f"{field}.basis.{name}.own"))
        if error is not None:
            return Institution(None, basis, self.text(error, f"{field}.error"))
        values_json = self.mapping(entry.get("values"), f"{field}.values")
        values = {name: self.decimal(values_json.get(name), f"{field}.values.{name}")
                  for name in cohorts}
        details = {self.text(name, f"{field}.details"): self.detail(value,
                                                                    f"{field}.details.{name}")
                   for name, value in self.mapping(entry.get("details"),
                                                   f"{field}.details").items()}
        return Institution(values, basis, details=details)

    def detail(self, value: object, field: str) -> SnapshotDetail:
        """A rank, a count or a group: which one the pack checks when it rebuilds."""
        if value is None or (isinstance(value, str) and len(value) <= 1000):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**12:
            return value
        raise self.fail(field, "a whole number, a text of at most 1000 characters, or null")
