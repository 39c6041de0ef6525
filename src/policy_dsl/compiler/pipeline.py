"""The thin pipeline joining the stages: parse -> check -> plugins -> lint -> codegen -> files
in generated/.

Each stage is a function from its input to its output. `compile_texts` runs them, once, from
rule files (and plugins) to checked standards and generated packs; `build` (every rule file
under `regions/`), `standard_for` (one pack, for render and diff), `standard_from_file` (one
rule file anywhere) and mutation's in-memory builds are thin uses of it. `write_files` writes
packs and the index only when their content changed, all at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import difflib
import errno
import fcntl
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from ..runtime.packs import MANIFEST_FILE, MANIFEST_VERSION, Pack, compile_pack
from . import ast, checker, codegen, inherit, lints, parser, plugins
from .ast import Span
from .diagnostics import CompileError, Diagnostic, internal_fault

RULE_FILE_SUFFIX = ".policy"


@dataclass
class BuildResult:
    packs: list[codegen.GeneratedPack] = field(default_factory=list)
    diagnostics: list[tuple[Diagnostic, str]] = field(default_factory=list)  # with source text
    files: dict[str, str] = field(default_factory=dict)  # file name in generated/ -> content

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d, _ in self.diagnostics)


def rule_files(regions_dir: Path) -> list[Path]:
    return sorted(regions_dir.glob(f"*/*{RULE_FILE_SUFFIX}"))


@dataclass
class Source:
    """One rule file, parsed (or not): its display path, its text, and its tree."""

    path: str
    text: str
    tree: ast.Standard | ast.Framework | None
    diagnostics: list[Diagnostic]


def display_path(path: Path, root: Path) -> str:
    """A rule file's path as spans and messages show it: from root when it is under it."""
    resolved = path.resolve()
    return resolved.relative_to(root.resolve()).as_posix() \
        if resolved.is_relative_to(root.resolve()) else str(path)


def unreadable(display: str, error: OSError) -> Diagnostic:
    return Diagnostic("P000", f"cannot read the file ({error.strerror or error})",
                      Span(display, 1, 1, 1, 1))


def source_of(display: str, data: str | bytes) -> Source:
    """One rule file parsed: `data` is its bytes as read (SHA-256 of the bytes) or its text."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    try:
        tree = parser.parse_bytes(data, display) if isinstance(data, bytes) \
            else parser.parse_text(data, display)
        return Source(display, text, tree, [])
    except CompileError as error:
        return Source(display, text, None, list(error.diagnostics))
    except Exception as error:  # the last resort: one bad file never takes the build down
        return Source(display, text, None, [internal_fault(display, "parsing", error)])


def rule_texts(root: Path, regions_dir: Path | None = None
               ) -> tuple[dict[str, bytes], list[tuple[Diagnostic, str]]]:
    """Every rule file under regions/, as read (display path -> bytes), and a P000 for each
    that cannot be read."""
    texts: dict[str, bytes] = {}
    problems: list[tuple[Diagnostic, str]] = []
    for path in rule_files(regions_dir or root / "regions"):
        display = display_path(path, root)
        try:
            texts[display] = path.read_bytes()
        except OSError as error:
            problems.append((unreadable(display, error), ""))
    return texts, problems


def compile_standard(standard: ast.Standard, text: str,
                     frameworks: Mapping[str, ast.Framework],
                     plugin_sources: Sequence[plugins.PluginSource] = (), lint: bool = True,
                     ) -> tuple[CheckedStandard | None, codegen.GeneratedPack | None,
                                list[Diagnostic]]:
    """Check one standard, lint it and generate its pack: the checked standard (None when
    the checker finds errors), the pack (None after any error) and the findings."""
    try:
        checked = checker.check(standard, frameworks)
    except Exception as error:  # the last resort: one bad file never takes the build down
        return None, None, [internal_fault(standard.path, "checking", error)]
    if not checked.ok:
        return None, None, checked.diagnostics
    framework = frameworks.get(standard.header.framework or "")
    result = CheckedStandard(standard, checked, framework, tuple(plugin_sources))
    found = list(checked.diagnostics)
    if lint:
        try:
            found += lints.lint(standard, checked, text)
        except Exception as error:  # a lint is advice: its fault is a warning, the pack is built
            found.append(dataclasses.replace(
                internal_fault(standard.path, "linting", error), severity="warning"))
    if any(d.severity == "error" for d in found):
        return result, None, found
    try:
        pack = codegen.generate(standard, checked, text, framework,
                                [(p.path, p.sha256) for p in plugin_sources])
    except Exception as error:
        return result, None, [*found, internal_fault(standard.path, "generating the pack of",
                                                     error)]
    return result, pack, found


def resolve_bases(sources: Sequence[Source]) -> list[tuple[Diagnostic, str]]:
    """The inherit stage over parsed sources: each derived standard's tree replaced by the
    standard it makes with its base (None after errors, which are returned)."""
    standards = [s.tree for s in sources if isinstance(s.tree, ast.Standard)]
    texts = {s.path: s.text for s in sources}
    try:
        resolved, found = inherit.resolve(standards, texts)
    except Exception as error:  # the last resort: one bad file never takes the build down
        found = [internal_fault("regions", "resolving `based on` in", error)]
        resolved = {s.path: s for s in standards if s.based_on is None}
    for source in sources:
        if isinstance(source.tree, ast.Standard):
            source.tree = resolved.get(source.path)
    return [(d, texts.get(d.span.file, "")) for d in found]


def texts_of(standard: ast.Standard, text: str) -> dict[str, str]:
    """The text of every rule file a standard's nodes come from, by path (a derived standard's
    items may come from its bases)."""
    return {base.path: base.text for base in standard.bases} | {standard.path: text}


def base_standards(sources: Sequence[Source]) -> dict[str, Source]:
    """The rule files that are standards, by the name of the pack each builds."""
    return {codegen.pack_name(source.tree): source for source in sources
            if isinstance(source.tree, ast.Standard)}


# ---------------------------------------------------------------- the one compiler run


@dataclass
class Compiled:
    """What compile_texts makes of rule files and plugins."""

    sources: list[Source]
    frameworks: dict[str, ast.Framework] = field(default_factory=dict)
    packs: list[codegen.GeneratedPack] = field(default_factory=list)  # in build order
    standards: dict[str, CheckedStandard] = field(default_factory=dict)  # by pack name
    # by pack name, each compiled standard's findings: its framework file's, then its own
    findings: dict[str, list[tuple[Diagnostic, str]]] = field(default_factory=dict)
    diagnostics: list[tuple[Diagnostic, str]] = field(default_factory=list)  # all, in order

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d, _ in self.diagnostics if d.severity == "error"]


def compile_texts(texts: Mapping[str, str | bytes],
                  manager: pluggy.PluginManager | None = None, *,
                  only: Collection[str] | None = None, lint: bool = True) -> Compiled:
    """The compiler, from rule files to checked standards and generated packs; build, check,
    diff, render and mutation are thin uses of it.

    `texts`: display path -> a rule file's bytes as read, or its text. Every file is parsed,
    the frameworks checked, and each standard checked, linted (unless `lint` is False) and
    generated; with a plugin manager, each city standard its plugins declare too, over its
    base. `only`: the pack names or rule-file paths to compile (the other files still give
    their frameworks and bases); without it, everything, and then the effective periods of
    all versions are compared too (L409), as a build does."""
    sources = [source_of(path, data) for path, data in texts.items()]
    compiled = Compiled(sources)
    compiled.diagnostics.extend(resolve_bases(sources))  # `based on`: the inherit stage
    for source in sources:
        compiled.diagnostics.extend((d, source.text) for d in source.diagnostics)
        if isinstance(source.tree, ast.Framework):
            try:
                found = checker.check_framework(source.tree)
            except Exception as error:  # the last resort, as for standards
                found = [internal_fault(source.path, "checking", error)]
            compiled.diagnostics.extend((d, source.text) for d in found)
            compiled.frameworks[source.tree.name] = source.tree
    read_findings = list(compiled.diagnostics)

    def wanted(name: str, path: str) -> bool:
        return only is None or name in only or path in only

    def add(name: str, checked: CheckedStandard | None, pack: codegen.GeneratedPack | None,
            standard: ast.Standard, found: list[tuple[Diagnostic, str]]) -> None:
        framework = compiled.frameworks.get(standard.header.framework or "")
        compiled.findings[name] = [(d, t) for d, t in read_findings if framework
                                   and d.span.file == framework.path] + found
        if checked is not None:
            compiled.standards[name] = checked
        if pack is not None:
            compiled.packs.append(pack)

    bases = base_standards(sources)
    periods: list[tuple[ast.Standard, Span]] = []
    texts_by_file = {source.path: source.text for source in bases.values()}
    for source in sources:
        if not isinstance(source.tree, ast.Standard) \
                or not wanted(codegen.pack_name(source.tree), source.path):
            continue
        periods.append((source.tree, lints.effective_span(source.tree, source.text)))
        checked, pack, diagnostics = compile_standard(source.tree, source.text,
                                                      compiled.frameworks, lint=lint)
        texts_used = texts_of(source.tree, source.text)
        own = [(d, texts_used.get(d.span.file, source.text)) for d in diagnostics]
        compiled.diagnostics.extend(own)
        add(codegen.pack_name(source.tree), checked, pack, source.tree, own)
    if manager is not None:
        city_plugins = plugins.CityPlugins(manager)
        findings = plugins.Findings()
        for city in city_standards(city_plugins, bases, findings):
            if not (wanted(city.name, city.span.file) or wanted(city.name, city.base.path)):
                continue
            periods.append((city.standard, city.span))
            texts_by_file[city.span.file] = city_plugins.source(city.plugin).text
            checked, pack, diagnostics = compile_standard(
                city.standard, city.base.text, compiled.frameworks,
                [city_plugins.source(p) for p in city.used], lint=lint)
            located = located_in_city(city, city_plugins, diagnostics)
            findings.diagnostics.extend(located)
            add(city.name, checked, pack, city.standard, located)
        compiled.diagnostics.extend(findings.diagnostics)
    if only is None:
        compiled.diagnostics.extend((d, texts_by_file.get(d.span.file, "")) for d
                                    in lints.overlapping_periods(lints.periods_of(periods)))
    return compiled


def load_plugins(root: Path, manager: pluggy.PluginManager | None
                 ) -> tuple[pluggy.PluginManager | None, list[tuple[Diagnostic, str]]]:
    """The plugin manager (`manager`, or the plugins of plugins/ and installed packages), or
    None with the findings that say why the plugins could not be loaded."""
    if manager is not None:
        return manager, []
    try:
        return plugins.plugin_manager([root / "plugins"], root), []
    except CompileError as error:
        return None, [(d, plugin_text(root, d.span.file)) for d in error.diagnostics]
    except Exception as error:  # the last resort, e.g. broken package metadata
        return None, [(internal_fault("plugins", "loading the plugins in", error), "")]


def build(root: Path, regions_dir: Path | None = None,
          manager: pluggy.PluginManager | None = None) -> BuildResult:
    """Compile every rule file under regions/, and every city standard the plugins (from
    plugins/ and installed packages, or `manager`) declare, into generated/'s files."""
    texts, unreadable_files = rule_texts(root, regions_dir)
    manager, not_loaded = load_plugins(root, manager)
    compiled = compile_texts(texts, manager)
    return finish(BuildResult(compiled.packs,
                              unreadable_files + compiled.diagnostics + not_loaded))


def check(root: Path, paths: Sequence[Path] = (),
          manager: pluggy.PluginManager | None = None) -> BuildResult:
    """Every finding about the rule files `paths` (files or directories; none: every rule file
    under regions/ and every plugin), without writing anything. The rule files under regions/
    give the frameworks and bases the checked files name (they are read, not reported on); the
    city plugins over the checked standards are checked too."""
    if not paths:
        return build(root, manager=manager)
    texts, _ = rule_texts(root)
    problems: list[tuple[Diagnostic, str]] = []
    chosen: set[str] = set()
    for file in sorted({file for path in paths for file in (
            rule_files_under(path) if path.is_dir() else [path])}):
        display = display_path(file, root)
        chosen.add(display)
        try:
            texts[display] = file.read_bytes()
        except OSError as error:
            texts.pop(display, None)
            problems.append((unreadable(display, error), ""))
    manager, not_loaded = load_plugins(root, manager)
    compiled = compile_texts(texts, manager, only=chosen)
    # A checked standard's rules may come from other files (its base, the standard it takes
    # items from): what its check finds there is its finding too.
    bases = {base.path for source in compiled.sources if source.path in chosen
             and isinstance(source.tree, ast.Standard) for base in source.tree.bases}
    reported = [(d, text) for d, text in compiled.diagnostics
                if d.span.file in chosen | bases or _from_plugin(d, set(compiled.findings))]
    return finish(BuildResult(compiled.packs, problems + reported + not_loaded))


def _from_plugin(diagnostic: Diagnostic, packs: set[str]) -> bool:
    """A finding about a city pack compiled with the checked files (named in its message)."""
    match = CITY_PREFIX.match(diagnostic.message)
    return match is not None and match["pack"] in packs


def rule_files_under(directory: Path) -> list[Path]:
    """The rule files in a directory and below it."""
    return sorted(p for p in directory.rglob(f"*{RULE_FILE_SUFFIX}") if p.is_file())


def plugin_text(root: Path, display: str) -> str:
    """A plugin file's text for the line under a diagnostic ("" when it cannot be read)."""
    try:
        return (root / display).read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return ""


@dataclass(frozen=True)
class City:
    """A city standard a plugin declares: the base with the overrides applied."""

    name: str  # the pack name
    standard: ast.Standard
    base: Source
    plugin: str  # the plugin declaring it
    used: tuple[str, ...]  # every plugin that shaped it
    span: Span  # the declaring hook


def city_standards(city_plugins: plugins.CityPlugins, bases: Mapping[str, Source],
                   findings: plugins.Findings, only_these_bases: bool = False
                   ) -> Iterator[City]:
    """Each city standard the plugins declare, over its base (errors go to `findings`).
    With `only_these_bases` (checking some files only), cities over other bases are left out."""
    declared: dict[str, str] = {}  # city pack -> the plugin declaring it
    for plugin, city, span in city_plugins.city_standards(findings):
        base = bases.get(city.base)
        if only_these_bases and base is None:
            continue
        if base is None or not isinstance(base.tree, ast.Standard):
            findings.error("X305", f"plugin {plugin}: city standard {city.name} names base "
                           f"pack {city.base!r}, which no rule file builds", span,
                           city_plugins.source(plugin).text,
                           hint="bases: " + ", ".join(sorted(bases)))
            continue
        try:
            overrides = city_plugins.overrides(city, findings)
            standard = plugins.apply_overrides(base.tree, city, plugin, overrides,
                                               city_plugins, findings, span)
        except Exception as error:  # the last resort: one bad city never takes the build down
            findings.diagnostics.append((internal_fault(plugin, "building a city standard "
                                                        "from", error), ""))
            continue
        if standard is None:
            continue
        name = codegen.pack_name(standard)
        if name in bases or name in declared:
            other = bases[name].path if name in bases else f"plugin {declared[name]}"
            findings.error("X310", f"plugin {plugin}: city standard {city.name} would build "
                           f"pack {name}, which {other} builds already", span,
                           city_plugins.source(plugin).text,
                           hint="give the city standard a name of its own, e.g. the "
                           "city's name first (changchun_medical_inpatient)")
            continue
        declared[name] = plugin
        used = tuple(sorted({plugin} | {p for p, _, _ in overrides}))
        yield City(name, standard, base, plugin, used, span)


CITY_PREFIX = re.compile(r"^\[(?P<pack>[^,\]]+), from plugins [^\]]*\] ")


def grouped_warnings(diagnostics: Sequence[tuple[Diagnostic, str]]
                     ) -> list[tuple[Diagnostic, str, list[str]]]:
    """The findings, with a warning repeated for several city packs (one plugin's, found again
    for each pack built with it) shown once: each with the packs it concerns, by name where
    the warning names its pack ("" where not), empty when it concerns no pack in particular."""
    shown: list[tuple[Diagnostic, str, list[str]]] = []
    by_key: dict[tuple[str, Span, str], list[str]] = {}
    for diagnostic, text in diagnostics:
        if diagnostic.severity != "warning":
            shown.append((diagnostic, text, []))
            continue
        match = CITY_PREFIX.match(diagnostic.message)
        message = diagnostic.message[match.end():] if match else diagnostic.message
        pack = match["pack"] if match else ""
        key = (diagnostic.code, diagnostic.span, message)
        if key in by_key:
            by_key[key].append(pack)
            continue
        by_key[key] = [pack]
        shown.append((dataclasses.replace(diagnostic, message=message), text, by_key[key]))
    return [(d, t, packs if len(packs) > 1 or any(packs) else []) for d, t, packs in shown]


def located_in_city(city: City, city_plugins: plugins.CityPlugins,
                    diagnostics: Sequence[Diagnostic]) -> list[tuple[Diagnostic, str]]:
    """A city standard's findings, named after it; those about the standard as a whole point
    at the plugin that declares it."""
    located = []
    header_line = city.standard.header.span.line
    for diagnostic in diagnostics:
        where, text = diagnostic.span, city.base.text
        if (where.file, where.line) == (city.standard.path, header_line):
            where, text = city.span, city_plugins.source(city.plugin).text
        located.append((dataclasses.replace(
            diagnostic, span=where, message=f"[{city.name}, from plugins "
            f"{', '.join(city.used)}] {diagnostic.message}"), text))
    return located


# ---------------------------------------------------------------- one standard, checked


class UnknownPack(LookupError):
    """No rule file and no city plugin builds the pack named."""


@dataclass(frozen=True)
class CheckedStandard:
    """A standard as its pack is built from it: the tree (a city's after its plugins), what
    the checker learnt about it, its framework, and the plugins that shaped it."""

    standard: ast.Standard
    checked: checker.Checked
    framework: ast.Framework | None
    plugins: tuple[plugins.PluginSource, ...]


def standard_for(root: Path, pack_name: str, manager: pluggy.PluginManager | None = None
                 ) -> tuple[CheckedStandard | None, list[tuple[Diagnostic, str]]]:
    """The checked standard of one pack (None after errors, with the findings), from the rule
    files under regions/ and, for a city pack, the plugins, exactly as `build` makes it.
    Raises UnknownPack when nothing builds that pack."""
    texts, unreadable_files = rule_texts(root)
    compiled = compile_texts(texts, only={pack_name})
    if pack_name not in compiled.findings:  # not a rule file's: a city plugin's?
        read_errors = unreadable_files + [(d, t) for d, t in compiled.diagnostics
                                          if d.severity == "error"]
        try:
            manager = manager or plugins.plugin_manager([root / "plugins"], root)
        except CompileError as error:
            return None, read_errors + [(d, "") for d in error.diagnostics]
        compiled = compile_texts(texts, manager, only={pack_name})
        if pack_name not in compiled.findings:
            errors = unreadable_files + [(d, t) for d, t in compiled.diagnostics
                                         if d.severity == "error"]
            if errors:
                return None, errors  # the pack may be in a file that does not build
            raise UnknownPack(f"no rule file or city plugin under {root} builds {pack_name}")
    return _checked(compiled, pack_name)


def _checked(compiled: Compiled, pack_name: str
             ) -> tuple[CheckedStandard | None, list[tuple[Diagnostic, str]]]:
    found = compiled.findings[pack_name]
    standard = compiled.standards.get(pack_name)
    if standard is None or any(d.severity == "error" for d, _ in found):
        return None, found
    return standard, found


def finish(result: BuildResult) -> BuildResult:
    """The packs' files and the manifest (index.json), once every pack is built."""
    # a base's finding is found again in each standard based on it: shown once
    once: dict[tuple[str, str, Span, str], tuple[Diagnostic, str]] = {}
    for diagnostic, text in result.diagnostics:
        once.setdefault((diagnostic.code, diagnostic.severity, diagnostic.span,
                         diagnostic.message), (diagnostic, text))
    result.diagnostics = list(once.values())
    first_source: dict[str, object] = {}
    for pack in result.packs:
        source = pack.source_path
        if pack.name in first_source:
            span = Span(source, 1, 1, 1, 1)
            message = f"pack {pack.name} is also built from {first_source[pack.name]}"
            result.diagnostics.append((Diagnostic(
                "C219", message, span, hint="give one of them another standard name or "
                "version"), ""))
            continue
        first_source[pack.name] = source
        result.files[f"{pack.module}.py"] = pack.source
    manifest = {"manifest_version": MANIFEST_VERSION,
                "packs": [pack.index_entry for pack in sorted(result.packs, key=lambda p: p.name)]}
    result.files[MANIFEST_FILE] = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    return result


# ---------------------------------------------------------------- writing generated/
#
# generated/ changes all at once: the new packs and manifest are staged in a sibling directory
# (.generated.new-*), which is then swapped with generated/ in one step (Linux:
# renameat2(RENAME_EXCHANGE)). Elsewhere the swap is two renames (generated/ -> .generated.old-*,
# then the staged directory -> generated/); a build killed between them leaves no generated/
# at all, never a mix, and the next build puts the old set back before it starts. Builds in
# one tree take turns: each holds an exclusive flock on .generated.lock beside generated/.
# Every change to the file system goes through the small functions below, so that a test can
# make each of them fail in turn.


def write_files(files: Mapping[str, str], out_dir: Path) -> list[str]:
    """Make out_dir hold exactly `files` (besides files policyc did not generate), replacing
    the whole set at once, and only if something changed; returns the names changed."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with build_lock(out_dir, exclusive=True):
        _recover(out_dir)
        changed = _changed_names(files, out_dir)
        if not changed:
            return []
        staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.new-"))
        os.chmod(staging, out_dir.stat().st_mode & 0o7777 if out_dir.is_dir() else 0o755)
        _stage(files, out_dir, staging)
        _swap_in(staging, out_dir)
        _remove_tree(staging)  # now the old set (after an exchange), or already gone
        return changed


@contextlib.contextmanager
def build_lock(out_dir: Path, exclusive: bool) -> Iterator[None]:
    """An flock on .<out_dir>.lock beside out_dir: exclusive to write, shared to read (where
    no lock file can be made, as in a read-only checkout, nothing writes: reading goes on)."""
    lock = out_dir.parent / f".{out_dir.name}.lock"
    if exclusive:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        if exclusive:
            raise
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def _leftovers(out_dir: Path, kind: str) -> list[Path]:
    return sorted(out_dir.parent.glob(f".{out_dir.name}.{kind}-*"))


def _recover(out_dir: Path) -> None:
    """Undo what a killed build left: the old set put back if the two-step swap stopped
    halfway, staged directories removed."""
    old = _leftovers(out_dir, "old")
    if old and not out_dir.exists():
        _rename(old[-1], out_dir)
    for leftover in _leftovers(out_dir, "old") + _leftovers(out_dir, "new"):
        _remove_tree(leftover)


def _changed_names(files: Mapping[str, str], out_dir: Path) -> list[str]:
    changed = [name for name, content in sorted(files.items())
               if _current(out_dir / name) != content.encode("utf-8")]
    return sorted(changed + stale_files(files, out_dir))


def _current(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _stage(files: Mapping[str, str], out_dir: Path, staging: Path) -> None:
    """The new generated/ in `staging`: each file written and flushed to disk; files that did
    not change, and files policyc does not manage, linked from the old set."""
    stale = set(stale_files(files, out_dir))
    if out_dir.is_dir():
        for path in sorted(out_dir.iterdir()):
            if path.name in stale or path.name == "__pycache__":
                continue
            content = files.get(path.name)
            if content is None or _current(path) == content.encode("utf-8"):
                _keep(path, staging / path.name)
    for name, content in sorted(files.items()):
        if not (staging / name).exists():
            _write(staging / name, content.encode("utf-8"))
    _sync_directory(staging)


def _swap_in(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        _rename(staging, out_dir)
    elif not _exchange(staging, out_dir):
        old = out_dir.parent / f".{out_dir.name}.old-{staging.name.rsplit('-', 1)[-1]}"
        _rename(out_dir, old)
        _rename(staging, out_dir)
        _remove_tree(old)
    _sync_directory(out_dir.parent)


def _write(path: Path, data: bytes) -> None:
    with path.open("xb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def _keep(source: Path, target: Path) -> None:
    """An unchanged file into the staged set: a hard link (same file, same time stamps)."""
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
        return
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


def _rename(source: Path, target: Path) -> None:
    os.rename(source, target)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two directories atomically (Linux renameat2 with RENAME_EXCHANGE); False where
    the system or file system cannot, so the caller falls back to two renames."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)  # glibc 2.28 or newer
    if renameat2 is None:
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second),
                 rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}:
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _sync_directory(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def stale_files(files: Mapping[str, str], out_dir: Path) -> list[str]:
    """Pack modules in generated/ that no rule file produces any more."""
    if not out_dir.is_dir():
        return []
    return sorted(p.name for p in out_dir.glob("*.py")
                  if p.name not in files and p.name != "__init__.py"
                  and p.read_text(encoding="utf-8").startswith("# Generated by policyc"))


def differences(files: Mapping[str, str], out_dir: Path) -> list[str]:
    """Unified diffs between what generated/ holds and what a build would write."""
    diffs = []
    with build_lock(out_dir, exclusive=False):
        for name, content in sorted(files.items()):
            current = (_current(out_dir / name) or b"").decode("utf-8", errors="replace")
            if current != content:
                diffs.append("".join(difflib.unified_diff(
                    current.splitlines(keepends=True), content.splitlines(keepends=True),
                    f"{out_dir.name}/{name} (committed)", f"{out_dir.name}/{name} (built)",
                    n=2)))
        for stale in stale_files(files, out_dir):
            diffs.append(f"{out_dir.name}/{stale}: no rule file produces it any more\n")
    return diffs


# ---------------------------------------------------------------- one rule file anywhere (diff)


def standard_from_file(root: Path, path: Path
                       ) -> tuple[CheckedStandard | None, list[tuple[Diagnostic, str]]]:
    """The checked standard of one rule file anywhere (None after errors, with the findings),
    under the frameworks of the rule files under root's regions/ (a framework file beside it
    takes precedence). Raises UnknownPack when the file is a framework, not a standard."""
    display = display_path(path, root)
    try:
        data = path.read_bytes()
    except OSError as error:
        return None, [(unreadable(display, error), "")]
    texts: dict[str, str | bytes] = dict(rule_texts(root)[0])
    for sibling in sorted(path.parent.glob(f"*{RULE_FILE_SUFFIX}")):
        beside = display_path(sibling, root)
        with contextlib.suppress(OSError):  # an unreadable sibling gives no framework
            sibling_data = sibling.read_bytes()
            if isinstance(source_of(beside, sibling_data).tree, ast.Framework):
                texts.setdefault(beside, sibling_data)  # a framework beside it counts too
    texts[display] = data
    compiled = compile_texts(texts, only={display})
    source = next(s for s in compiled.sources if s.path == display)
    if source.tree is None:  # it does not parse, or its `based on` fails
        return None, [(d, source.text) for d in source.diagnostics] or [
            (d, t) for d, t in compiled.diagnostics if d.severity == "error"]
    if not isinstance(source.tree, ast.Standard):
        raise UnknownPack(f"{source.path} is a framework file; name a standard's rule file")
    return _checked(compiled, codegen.pack_name(source.tree))


def packs_in_memory(texts: Mapping[str, str], label: str, lint: bool = True
                    ) -> dict[str, Pack]:
    """Rule files given as text (display path -> text: a region's standards and frameworks)
    compiled into packs in memory, by pack name (mutation, tests); raises CompileError with
    every error."""
    compiled = compile_texts(texts, lint=lint)
    if compiled.errors:
        raise CompileError(compiled.errors)
    return {pack.name: compile_pack(pack.source, label) for pack in compiled.packs}


def pack_in_memory(standard: CheckedStandard, source_text: str, label: str) -> Pack:
    """The pack of a checked standard (`source_text`: its rule file's text), in memory."""
    generated = codegen.generate(standard.standard, standard.checked, source_text,
                                 standard.framework,
                                 [(p.path, p.sha256) for p in standard.plugins])
    return compile_pack(generated.source, label)
