"""Finding and loading generated rule packs by name (`suzhou/inpatient-2023`)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, cast

from .cohorts import CohortBasis, CohortInfo
from .results import Score
from .values import Raw

INDEX_FILE = "index.json"


@dataclass(frozen=True, slots=True)
class FactInfo:
    """One input fact as `policyc describe` shows it."""

    name: str
    label: str
    type: str
    low: Decimal | None
    high: Decimal | None
    presence: str  # required, optional, or "required when <condition>"
    default: str | None
    members: tuple[tuple[str, str], ...] = ()  # enum codes and labels
    fields: tuple[FactInfo, ...] = ()  # a record's fields, for a list of records


@dataclass(frozen=True, slots=True)
class ItemInfo:
    number: int
    label: str
    points: Decimal
    bonus: bool
    category: str
    content: str | None
    method: str | None
    procedure: str | None
    basis: str | None


@dataclass(frozen=True, slots=True)
class PackInfo:
    name: str
    region: str
    region_label: str
    standard: str
    version: int
    title: str
    effective_from: dt.date
    effective_to: dt.date | None
    applies_to: str
    framework: str | None
    rescale: Decimal | None
    source: str
    source_sha256: str
    compiler_version: str
    facts: tuple[FactInfo, ...]
    items: tuple[ItemInfo, ...]


class Pack(Protocol):
    """What every generated pack module provides."""

    INFO: PackInfo
    COHORTS: tuple[CohortInfo, ...]

    def read_record(self, raw: Raw) -> Any: ...

    def compute_cohorts(self, batch: Sequence[Any]) -> list[Any]: ...

    def cohort_basis(self, facts: Any) -> dict[str, CohortBasis]: ...

    def rebuild_cohorts(self, values: Mapping[str, Decimal]) -> Any: ...

    def evaluate(self, facts: Any, cohorts: Any, explain: bool = True) -> Score: ...


class PackNotFound(LookupError):
    """The name (and year) given does not pick exactly one pack; the message says why."""


@dataclass(frozen=True, slots=True)
class IndexEntry:
    name: str
    region: str
    standard: str
    version: int
    effective_from: dt.date
    effective_to: dt.date | None
    applies_to: str
    module: str

    def in_force(self, year: int) -> bool:
        starts_in_time = self.effective_from <= dt.date(year, 12, 31)
        return starts_in_time and (self.effective_to is None
                                   or self.effective_to >= dt.date(year, 1, 1))


def read_index(packs_dir: Path) -> list[IndexEntry]:
    path = packs_dir / INDEX_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackNotFound(f"no pack index at {path}; run `policyc build` first") from None
    entries = []
    for entry in cast("list[Mapping[str, Any]]", data["packs"]):
        entries.append(IndexEntry(
            name=entry["name"], region=entry["region"], standard=entry["standard"],
            version=int(entry["version"]),
            effective_from=dt.date.fromisoformat(entry["effective_from"]),
            effective_to=(dt.date.fromisoformat(entry["effective_to"])
                          if entry["effective_to"] else None),
            applies_to=entry["applies_to"], module=entry["module"]))
    return entries


def find_pack(entries: Sequence[IndexEntry], name: str, year: int | None) -> IndexEntry:
    """An exact pack name; or `region/standard` with the version in force in `year`."""
    exact = [e for e in entries if e.name == name]
    if exact:
        entry = exact[0]
        if year is not None and not entry.in_force(year):
            raise PackNotFound(f"{name} is not in force in {year} (effective "
                               f"{entry.effective_from} to {entry.effective_to or 'open'})")
        return entry
    versions = [e for e in entries if f"{e.region}/{e.standard}" == name]
    if not versions:
        known = ", ".join(sorted(e.name for e in entries)) or "none"
        raise PackNotFound(f"no pack named {name}; packs: {known}")
    if year is None:
        listed = ", ".join(str(e.version) for e in versions)
        raise PackNotFound(f"{name} has versions {listed}; give --year to pick the one in "
                           f"force, or name one such as {versions[-1].name}")
    in_force = sorted((e for e in versions if e.in_force(year)), key=lambda e: e.effective_from)
    if not in_force:
        raise PackNotFound(f"no version of {name} is in force in {year}")
    return in_force[-1]


def load_pack(name: str, year: int | None = None, packs_dir: Path = Path("generated")) -> Pack:
    entry = find_pack(read_index(packs_dir), name, year)
    return load_module(packs_dir / f"{entry.module}.py")


def load_module(path: Path) -> Pack:
    """The pack module at `path`, loaded once per process (the same file gives the same
    module, so its rule texts keep their identity across callers)."""
    module_name = f"policy_packs.{path.stem}"
    if module_name in sys.modules:
        cached = sys.modules[module_name]
        cached_file = getattr(cached, "__file__", None)
        if cached_file is not None and Path(cached_file).resolve() == path.resolve():
            return cast("Pack", cached)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PackNotFound(f"cannot load the pack module {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return cast("Pack", module)
