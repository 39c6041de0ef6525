"""Finding, verifying and loading rule packs by name (`suzhou/inpatient-2023`).

Packs come with a manifest (`index.json`): per pack its name, period, source files, compiler,
the runtime versions it needs and the SHA-256 of the pack file's bytes. Packs are found in a
directory (`generated/`), in a bundle file made by `policyc bundle` (a wheel, read in place),
or in bundles installed in the environment (entry point group `policy_dsl.packs`).

Every load is verified: the loader reads the pack file once, hashes those bytes, compares the
hash with the manifest, and compiles the same bytes; a pack that differs, that needs another
runtime version, or whose module is not the pack the manifest entry names is refused
(`PackRefused`). Loading is thread-safe: a pack module is executed once per process, under a
lock, and only a completely executed module is ever handed out.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import linecache
import re
import sys
import threading
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, cast

from .cohorts import CohortBasis, CohortInfo, SnapshotDetail
from .columns import ColumnBlock, ColumnPlan, ColumnScores
from .results import RuleInfo, Score
from .values import Raw

if TYPE_CHECKING:  # framework.py imports FactInfo from here
    from .framework import FrameworkRules

# The runtime's version is the package's (policy_dsl/__init__.py). A package is imported before
# its submodules, so it is read from there without an import: the runtime imports nothing but
# the standard library and its own modules.
RUNTIME_VERSION: str = sys.modules[__name__.partition(".")[0]].__version__
MANIFEST_FILE = "index.json"
MANIFEST_VERSION = 1
ENTRY_POINT_GROUP = "policy_dsl.packs"  # installed bundles register their pack directory here
PROVENANCE_FIELDS = ("pack", "pack_sha256")  # in every result line, after the rest
MAX_BUNDLE_BYTES = 256 * 1024 * 1024  # a bundle read in place is read into memory


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


class PackModule(Protocol):
    """Everything a generated pack module defines (and nothing else is looked up on it)."""

    @property
    def NAME(self) -> str: ...

    @property
    def INFO(self) -> PackInfo: ...

    @property
    def RULES(self) -> tuple[RuleInfo, ...]: ...

    @property
    def FRAMEWORK(self) -> FrameworkRules | None: ...

    @property
    def COHORTS(self) -> tuple[CohortInfo, ...]: ...

    @property
    def COHORT_FACTS(self) -> tuple[str, ...]: ...

    def read_record(self, raw: Raw) -> Any: ...

    def compute_cohorts(self, batch: Sequence[Any]) -> list[Any]: ...

    def cohort_basis(self, facts: Any) -> dict[str, CohortBasis]: ...

    def rebuild_cohorts(self, values: Mapping[str, Decimal],
                        details: Mapping[str, SnapshotDetail]) -> Any: ...

    def evaluate(self, facts: Any, cohorts: Any, explain: bool = True) -> Score: ...

    # The column form (runtime/columns.py), when codegen could prove it exact: `COLUMNS` is
    # None otherwise, and a pack compiled before the column lane has none of the three
    # (`Pack` reads it as None).
    @property
    def COLUMNS(self) -> ColumnPlan | None: ...

    def check_columns(self, block: ColumnBlock) -> Any: ...

    def score_columns(self, block: ColumnBlock, cohorts: Mapping[str, Any]) -> ColumnScores: ...


@dataclass(frozen=True, slots=True)
class Provenance:
    """Which pack made a result: its name and the SHA-256 of its file's bytes."""

    pack: str
    pack_sha256: str

    def fields(self) -> dict[str, str]:
        """The result fields (and columns) `pack` and `pack_sha256`."""
        return {"pack": self.pack, "pack_sha256": self.pack_sha256}


class PackNotFound(LookupError):
    """The name (and year) given does not pick exactly one pack; the message says why."""


class PackRefused(PackNotFound):
    """A pack (or a whole manifest or bundle) was found but failed verification; the message
    names the pack and what differs."""

    def __init__(self, detail: str, pack: str | None = None) -> None:
        super().__init__(f"pack {pack}: {detail}" if pack else detail)
        self.pack = pack
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SourceFile:
    role: str  # "rule file", "base" (a standard it is based on), "framework" or "plugin"
    path: str  # relative to the project directory
    sha256: str


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One pack as the manifest describes it."""

    name: str
    region: str
    standard: str
    version: int
    title: str
    effective_from: dt.date
    effective_to: dt.date | None
    applies_to: str
    framework: str | None
    module: str
    module_file: str
    pack_sha256: str
    sources: tuple[SourceFile, ...]
    compiler_version: str
    runtime_requires: str

    def in_force(self, year: int) -> bool:
        starts_in_time = self.effective_from <= dt.date(year, 12, 31)
        return starts_in_time and (self.effective_to is None
                                   or self.effective_to >= dt.date(year, 1, 1))


IndexEntry = ManifestEntry  # the name it had before the index became a manifest


@dataclass(frozen=True, slots=True, eq=False)
class Pack:
    """A verified pack: the generated module, the hash of the bytes it was compiled from, and
    the manifest entry it was checked against. It offers the module's names unchanged."""

    module: PackModule
    sha256: str
    origin: str  # the file (or bundle member) the bytes came from
    entry: ManifestEntry | None  # None only for a pack compiled in memory (mutation tests)

    @property
    def NAME(self) -> str:
        return self.module.NAME

    @property
    def INFO(self) -> PackInfo:
        return self.module.INFO

    @property
    def RULES(self) -> tuple[RuleInfo, ...]:
        return self.module.RULES

    @property
    def FRAMEWORK(self) -> FrameworkRules | None:
        return self.module.FRAMEWORK

    @property
    def COHORTS(self) -> tuple[CohortInfo, ...]:
        return self.module.COHORTS

    @property
    def COHORT_FACTS(self) -> tuple[str, ...]:
        """The facts the cohort values are computed from (all a first pass keeps)."""
        return self.module.COHORT_FACTS

    @property
    def provenance(self) -> Provenance:
        return Provenance(self.module.NAME, self.sha256)

    def read_record(self, raw: Raw) -> Any:
        return self.module.read_record(raw)

    def compute_cohorts(self, batch: Sequence[Any]) -> list[Any]:
        return self.module.compute_cohorts(batch)

    def cohort_basis(self, facts: Any) -> dict[str, CohortBasis]:
        return self.module.cohort_basis(facts)

    def rebuild_cohorts(self, values: Mapping[str, Decimal],
                        details: Mapping[str, SnapshotDetail]) -> Any:
        return self.module.rebuild_cohorts(values, details)

    def evaluate(self, facts: Any, cohorts: Any, explain: bool = True) -> Score:
        return self.module.evaluate(facts, cohorts, explain)

    @property
    def COLUMNS(self) -> ColumnPlan | None:
        """The pack's column plan; None when it has no column form (or was compiled before
        the column lane existed)."""
        plan: ColumnPlan | None = getattr(self.module, "COLUMNS", None)
        return plan

    def check_columns(self, block: ColumnBlock) -> Any:
        return self.module.check_columns(block)

    def score_columns(self, block: ColumnBlock, cohorts: Mapping[str, Any]) -> ColumnScores:
        return self.module.score_columns(block, cohorts)


# ---------------------------------------------------------------- catalogues

@dataclass(frozen=True, slots=True)
class Catalogue:
    """A set of packs and their manifest: a directory, a bundle file, or an installed bundle.
    `read` gives a file's bytes by its name in the manifest (`suzhou_inpatient_2023.py`)."""

    where: str  # for messages: "generated", "bundle packs.whl", "installed bundle ..."
    entries: tuple[ManifestEntry, ...]
    read: Callable[[str], bytes]
    location: str  # how a pack file's place is shown: "generated/" + file name

    def path_of(self, file_name: str) -> str:
        return f"{self.location}{file_name}"


def parse_manifest(data: bytes, where: str) -> tuple[ManifestEntry, ...]:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PackRefused(f"the pack manifest {where} is not valid JSON ({error}); rebuild "
                          "with `policyc build`") from None
    if not isinstance(manifest, dict) or manifest.get("manifest_version") != MANIFEST_VERSION:
        found = manifest.get("manifest_version") if isinstance(manifest, dict) else None
        raise PackRefused(f"the pack manifest {where} has manifest_version {found!r}; this "
                          f"runtime reads version {MANIFEST_VERSION} (rebuild with `policyc "
                          "build`)")
    try:
        entries = tuple(_manifest_entry(entry) for entry in manifest["packs"])
    except (KeyError, TypeError, ValueError) as error:
        raise PackRefused(f"the pack manifest {where} is malformed ({type(error).__name__}: "
                          f"{error}); rebuild with `policyc build`") from None
    names = [entry.name for entry in entries]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise PackRefused(f"the pack manifest {where} lists {', '.join(twice)} more than "
                          "once; rebuild with `policyc build`")
    return entries


def _manifest_entry(entry: Mapping[str, Any]) -> ManifestEntry:
    return ManifestEntry(
        name=str(entry["name"]), region=str(entry["region"]), standard=str(entry["standard"]),
        version=int(entry["version"]), title=str(entry["title"]),
        effective_from=dt.date.fromisoformat(entry["effective_from"]),
        effective_to=(dt.date.fromisoformat(entry["effective_to"])
                      if entry["effective_to"] else None),
        applies_to=str(entry["applies_to"]),
        framework=None if entry["framework"] is None else str(entry["framework"]),
        module=str(entry["module"]), module_file=str(entry["module_file"]),
        pack_sha256=str(entry["pack_sha256"]),
        sources=tuple(SourceFile(str(s["role"]), str(s["path"]), str(s["sha256"]))
                      for s in entry["sources"]),
        compiler_version=str(entry["compiler_version"]),
        runtime_requires=str(entry["runtime_requires"]))


def directory_catalogue(directory: Path, where: str | None = None) -> Catalogue:
    manifest = directory / MANIFEST_FILE
    try:
        data = manifest.read_bytes()
    except FileNotFoundError:
        raise PackNotFound(f"no pack manifest at {manifest}; run `policyc build` first") \
            from None
    shown = where or str(directory)

    def read(file_name: str) -> bytes:
        return (directory / _plain_name(file_name)).read_bytes()

    return Catalogue(shown, parse_manifest(data, str(manifest)), read, f"{directory}/")


def bundle_catalogue(bundle: Path) -> Catalogue:
    """A bundle file, read in place: every file is checked against the wheel's RECORD, then
    the manifest inside is read."""
    try:
        with zipfile.ZipFile(bundle) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            size = sum(info.file_size for info in members)
            if size > MAX_BUNDLE_BYTES:
                raise PackRefused(f"the bundle {bundle} unpacks to {size} bytes, more than "
                                  f"the {MAX_BUNDLE_BYTES} a bundle of packs may hold")
            files = {info.filename: archive.read(info) for info in members}
    except (OSError, zipfile.BadZipFile) as error:
        raise PackNotFound(f"cannot read the bundle {bundle}: {error}") from None
    _check_record(files, bundle)
    manifests = [name for name in files if name.count("/") == 1
                 and name.endswith(f"/{MANIFEST_FILE}")]
    if len(manifests) != 1:
        raise PackRefused(f"the bundle {bundle} holds {len(manifests)} pack manifests "
                          f"(*/{MANIFEST_FILE}); expected one")
    package = manifests[0].split("/")[0]
    where = f"bundle {bundle}"

    def read(file_name: str) -> bytes:
        try:
            return files[f"{package}/{_plain_name(file_name)}"]
        except KeyError:
            raise FileNotFoundError(f"{bundle}!{package}/{file_name}") from None

    return Catalogue(where, parse_manifest(files[manifests[0]], f"{bundle}!{manifests[0]}"),
                     read, f"{bundle}!{package}/")


def _check_record(files: Mapping[str, bytes], bundle: Path) -> None:
    records = [name for name in files if name.endswith(".dist-info/RECORD")]
    if len(records) != 1:
        raise PackRefused(f"the bundle {bundle} has no wheel RECORD; make it with "
                          "`policyc bundle`")
    listed: set[str] = {records[0]}
    rows = csv.reader(io.StringIO(files[records[0]].decode("utf-8", errors="replace")))
    for row in rows:
        if len(row) != 3:
            raise PackRefused(f"the bundle {bundle} has a malformed RECORD line: {row!r}")
        name, digest, _size = row
        if name == records[0]:
            continue
        listed.add(name)
        actual = "sha256=" + base64.urlsafe_b64encode(
            hashlib.sha256(files.get(name, b"")).digest()).rstrip(b"=").decode()
        if name not in files or digest != actual:
            raise PackRefused(f"the bundle {bundle}: {name} does not match the hash in its "
                              "RECORD (the bundle was changed after it was made)")
    unlisted = sorted(set(files) - listed)
    if unlisted:
        raise PackRefused(f"the bundle {bundle} holds files its RECORD does not list: "
                          f"{', '.join(unlisted)}")


def _plain_name(file_name: str) -> str:
    """A manifest's file name, refused if it tries to leave the pack directory."""
    if "/" in file_name or "\\" in file_name or file_name in {"", ".", ".."}:
        raise PackRefused(f"the manifest names the pack file {file_name!r}, which is not a "
                          "plain file name")
    return file_name


def open_catalogue(packs: Path | str) -> Catalogue:
    """A directory holding index.json, or a bundle file."""
    packs = Path(packs)
    if packs.is_dir():
        return directory_catalogue(packs)
    if packs.is_file():
        return bundle_catalogue(packs)
    raise PackNotFound(f"no packs at {packs}: no such directory or bundle file (run "
                       "`policyc build`, or give the directory or bundle holding the packs)")


def installed_catalogues() -> list[Catalogue]:
    """The pack directories that installed distributions register under `policy_dsl.packs`.
    A registration that leads to no pack manifest is refused, never passed over."""
    found = []
    for point in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
                        key=lambda p: p.name):
        dist = f"{point.dist.name} {point.dist.version}" if point.dist else point.name
        try:  # finds the package without running it
            spec = importlib.util.find_spec(point.module)
        except (ImportError, ValueError):
            spec = None
        locations = list(spec.submodule_search_locations or []) if spec else []
        if not locations:
            raise PackRefused(f"the installed distribution {dist} registers packs under "
                              f"{ENTRY_POINT_GROUP} in the package {point.module!r}, which is "
                              "not an installed package; reinstall or remove it")
        found.append(directory_catalogue(
            Path(locations[0]), f"installed bundle {dist} ({locations[0]})"))
    return found


def read_index(packs: Path | None = None) -> list[ManifestEntry]:
    """The manifest entries of a directory or bundle (or of every installed bundle)."""
    catalogues = [open_catalogue(packs)] if packs is not None else installed_catalogues()
    return [entry for catalogue in catalogues for entry in catalogue.entries]


# ---------------------------------------------------------------- finding and loading

def find_pack(entries: Sequence[ManifestEntry], name: str, year: int | None) -> ManifestEntry:
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


def load_pack(name: str, year: int | None = None, packs_dir: Path | str | None = None) -> Pack:
    """The pack `name` (or `region/standard` in force in `year`), verified.

    `packs_dir` is a directory holding the packs and their manifest, or a bundle file made by
    `policyc bundle`; without it, the bundles installed in this environment are searched."""
    if packs_dir is not None:
        packs_dir = Path(packs_dir)
        catalogue = open_catalogue(packs_dir)
        try:
            return verify_pack(catalogue, find_pack(catalogue.entries, name, year))
        except PackRefused:
            if not packs_dir.is_dir():
                raise
        # A build may have swapped the directory between reading its manifest and the pack:
        # read both again, once; a pack that still differs is refused.
        catalogue = open_catalogue(packs_dir)
        return verify_pack(catalogue, find_pack(catalogue.entries, name, year))
    catalogues = installed_catalogues()
    if not catalogues:
        raise PackNotFound(f"no pack named {name}: no packs directory was given (policyc "
                           "looks for generated/ in the current folder), and no installed "
                           "bundle registers packs (entry point group "
                           f"{ENTRY_POINT_GROUP}). Run policyc from the project's folder "
                           "(the one holding generated/), or give the packs: --packs DIR "
                           "(packs_dir= from Python), or install a bundle made by "
                           "`policyc bundle`")
    found: list[tuple[Catalogue, ManifestEntry]] = []
    misses: list[str] = []
    for catalogue in catalogues:
        try:
            found.append((catalogue, find_pack(catalogue.entries, name, year)))
        except PackNotFound as missed:
            misses.append(f"{catalogue.where}: {missed}")
    if not found:
        raise PackNotFound(f"no pack named {name} in the installed bundles; looked in:\n  "
                           + "\n  ".join(misses))
    if len({entry.pack_sha256 for _, entry in found}) > 1:
        raise PackNotFound(f"{name} is installed differently in "
                           + " and ".join(c.where for c, _ in found)
                           + "; pass packs_dir to pick one")
    return verify_pack(*found[0])


def verify_pack(catalogue: Catalogue, entry: ManifestEntry) -> Pack:
    """Read the pack file once, check its hash, the runtime version it needs, and that its
    module is the pack the entry names; then compile those same bytes."""
    shown = catalogue.path_of(entry.module_file)
    try:
        data = catalogue.read(entry.module_file)
    except FileNotFoundError:
        raise PackRefused(f"{shown} is missing; rebuild with `policyc build` or restore "
                          "the file", entry.name) from None
    except OSError as error:
        raise PackRefused(f"{shown} cannot be read ({error.strerror or error})",
                          entry.name) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.pack_sha256:
        raise PackRefused(f"{shown} has SHA-256 {digest} but the manifest says "
                          f"{entry.pack_sha256}; rebuild with `policyc build` or restore the "
                          "file", entry.name)
    if not version_satisfies(RUNTIME_VERSION, entry.runtime_requires):
        raise PackRefused(f"needs the policy_dsl runtime {entry.runtime_requires} (built by "
                          f"policyc {entry.compiler_version}), but this runtime is "
                          f"{RUNTIME_VERSION}; install a matching runtime or rebuild the pack",
                          entry.name)
    module = _execute(data, digest, entry.module, shown)
    differences = _identity_differences(module, entry)
    if differences:
        raise PackRefused(f"{shown} is not that pack: " + "; ".join(differences),
                          entry.name)
    return Pack(module, digest, shown, entry)


def verify_catalogue(catalogue: Catalogue) -> list[tuple[ManifestEntry, Pack | PackRefused]]:
    """Every pack of a catalogue, each verified or refused (for `policyc verify`)."""
    results: list[tuple[ManifestEntry, Pack | PackRefused]] = []
    for entry in catalogue.entries:
        try:
            results.append((entry, verify_pack(catalogue, entry)))
        except PackRefused as refused:
            results.append((entry, refused))
    return results


def compile_pack(source: str, origin: str) -> Pack:
    """A pack from source held in memory (mutation tests); verified against no manifest,
    and never cached, so each call makes a fresh module."""
    data = source.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    with _LOCK:
        _COUNTER[0] += 1
        module = _run(data, f"policy_packs.in_memory_{_COUNTER[0]}", origin, keep=False)
    return Pack(module, digest, origin, None)


def _identity_differences(module: PackModule, entry: ManifestEntry) -> list[str]:
    info = module.INFO
    rule_files = [s.sha256 for s in entry.sources if s.role == "rule file"]
    compared = [
        ("NAME", module.NAME, entry.name),
        ("region", info.region, entry.region),
        ("standard", info.standard.replace("_", "-"), entry.standard),
        ("version", info.version, entry.version),
        ("effective_from", info.effective_from, entry.effective_from),
        ("effective_to", info.effective_to, entry.effective_to),
        ("applies_to", info.applies_to, entry.applies_to),
        ("framework", info.framework, entry.framework),
        ("source SHA-256", info.source_sha256, rule_files[0] if rule_files else None),
    ]
    return [f"its {what} is {actual!r}, the manifest says {expected!r}"
            for what, actual, expected in compared if actual != expected]


_LOCK = threading.Lock()
_BY_DIGEST: dict[str, PackModule] = {}  # pack modules completely executed, by their bytes
_COUNTER = [0]


def _execute(data: bytes, digest: str, stem: str, origin: str) -> PackModule:
    """The module compiled from `data`, executed once per process: later calls with the same
    bytes get the same module (so rule texts keep their identity across callers)."""
    with _LOCK:
        module = _BY_DIGEST.get(digest)
        if module is None:
            module = _run(data, f"policy_packs.{stem}_{digest[:12]}", origin, keep=True)
            _BY_DIGEST[digest] = module
        return module


def _run(data: bytes, name: str, origin: str, keep: bool) -> PackModule:
    """Compile and execute a pack's bytes as module `name` (the caller holds _LOCK). The module
    is in sys.modules while it executes, because dataclasses look their module up there; it
    is handed out only once complete, and taken out again if it fails (or if not `keep`)."""
    module = ModuleType(name)
    module.__file__ = origin
    code = compile(data, origin, "exec", dont_inherit=True)
    if keep:  # tracebacks show the lines of a loaded pack, even from inside a bundle
        text = data.decode("utf-8")
        linecache.cache[origin] = (len(text), None, text.splitlines(keepends=True), origin)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        del sys.modules[name]
        raise
    if not keep:
        del sys.modules[name]
    return cast("PackModule", module)


# ---------------------------------------------------------------- runtime versions

_CLAUSE = re.compile(r"\s*(>=|<=|==|>|<)\s*(\d+(?:\.\d+)*)\s*")


def runtime_range(version: str) -> str:
    """The runtime versions a pack built by policyc `version` runs on: the same minor
    version while the major version is 0 (0.1.x: ">=0.1,<0.2"), else the same major."""
    numbers = [int(part) for part in re.findall(r"\d+", version)[:2]] + [0, 0]
    major, minor = numbers[0], numbers[1]
    if major == 0:
        return f">=0.{minor},<0.{minor + 1}"
    return f">={major}.{minor},<{major + 1}"


def version_satisfies(version: str, requires: str) -> bool:
    """Whether `version` (1.2.3) meets every clause of `requires` (">=0.1,<0.2")."""
    have = _numbers(version)
    checks: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
        ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b,
        ">": lambda a, b: a > b, "<": lambda a, b: a < b}
    for clause in requires.split(","):
        match = _CLAUSE.fullmatch(clause)
        if match is None:
            return False  # a requirement this runtime cannot read is not met
        wanted = _numbers(match.group(2))
        width = max(len(have), len(wanted))
        if not checks[match.group(1)](_padded(have, width), _padded(wanted, width)):
            return False
    return True


def _numbers(version: str) -> tuple[int, ...]:
    match = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in match.group().split(".")) if match else (0,)


def _padded(numbers: tuple[int, ...], width: int) -> tuple[int, ...]:
    return numbers + (0,) * (width - len(numbers))
