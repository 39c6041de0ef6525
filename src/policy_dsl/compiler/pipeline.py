"""The thin pipeline joining the stages: parse -> check -> codegen -> files in generated/.

Each stage is a function from its input to its output; `compile_file` runs them for one rule
file, `build` for every rule file under `regions/`, and writes packs and the index only when
their content changed, all at once (see write_files).
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
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
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


def read_source(path: Path, root: Path) -> Source:
    resolved = path.resolve()
    display = resolved.relative_to(root.resolve()).as_posix() \
        if resolved.is_relative_to(root.resolve()) else str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as error:
        return Source(display, "", None, [Diagnostic(
            "P000", f"cannot read the file ({error.strerror or error})",
            Span(display, 1, 1, 1, 1))])
    try:
        return Source(display, text, parser.parse_file(path, display), [])
    except CompileError as error:
        return Source(display, text, None, list(error.diagnostics))
    except Exception as error:  # the last resort: one bad file never takes the build down
        return Source(display, text, None, [internal_fault(display, "parsing", error)])


def compile_standard(standard: ast.Standard, text: str,
                     frameworks: Mapping[str, ast.Framework],
                     plugin_sources: Sequence[plugins.PluginSource] = (),
                     ) -> tuple[codegen.GeneratedPack | None, list[Diagnostic]]:
    """Check one standard and generate its pack (None when there are errors)."""
    try:
        checked = checker.check(standard, frameworks)
    except Exception as error:  # the last resort: one bad file never takes the build down
        return None, [internal_fault(standard.path, "checking", error)]
    if not checked.ok:
        return None, checked.diagnostics
    framework = frameworks.get(standard.header.framework or "")
    extra = [(p.path, p.sha256) for p in plugin_sources]
    try:
        found = checked.diagnostics + lints.lint(standard, checked, text)
    except Exception as error:  # a lint is advice: its fault is a warning, the pack is built
        found = [*checked.diagnostics, dataclasses.replace(
            internal_fault(standard.path, "linting", error), severity="warning")]
    if any(d.severity == "error" for d in found):
        return None, found
    try:
        pack = codegen.generate(standard, checked, text, framework, extra)
    except Exception as error:
        return None, [*found, internal_fault(standard.path, "generating the pack of", error)]
    return pack, found


def read_sources(root: Path, regions_dir: Path | None = None
                 ) -> tuple[list[Source], dict[str, ast.Framework], list[tuple[Diagnostic, str]]]:
    """Every rule file under regions/, parsed; the frameworks among them, checked."""
    sources = [read_source(path, root) for path in rule_files(regions_dir or root / "regions")]
    frameworks: dict[str, ast.Framework] = {}
    diagnostics: list[tuple[Diagnostic, str]] = resolve_bases(sources)
    for source in sources:
        diagnostics.extend((d, source.text) for d in source.diagnostics)
        if isinstance(source.tree, ast.Framework):
            try:
                found = checker.check_framework(source.tree)
            except Exception as error:  # the last resort, as for standards
                found = [internal_fault(source.path, "checking", error)]
            diagnostics.extend((d, source.text) for d in found)
            frameworks[source.tree.name] = source.tree
    return sources, frameworks, diagnostics


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


def build(root: Path, regions_dir: Path | None = None,
          manager: pluggy.PluginManager | None = None) -> BuildResult:
    """Compile every rule file under regions/, and every city standard the plugins (from
    plugins/ and installed packages, or `manager`) declare, into generated/'s files."""
    result = BuildResult()
    sources, frameworks, diagnostics = read_sources(root, regions_dir)
    result.diagnostics.extend(diagnostics)
    bases = base_standards(sources)
    periods = []
    for source in sources:
        if isinstance(source.tree, ast.Standard):
            periods.append((source.tree, lints.effective_span(source.tree, source.text)))
            pack, found = compile_standard(source.tree, source.text, frameworks)
            texts = texts_of(source.tree, source.text)
            result.diagnostics.extend((d, texts.get(d.span.file, source.text)) for d in found)
            if pack is not None:
                result.packs.append(pack)
    try:
        manager = manager or plugins.plugin_manager([root / "plugins"], root)
    except CompileError as error:
        result.diagnostics.extend((d, plugin_text(root, d.span.file))
                                  for d in error.diagnostics)
        return finish(result)
    except Exception as error:  # the last resort, e.g. broken package metadata
        result.diagnostics.append((internal_fault("plugins", "loading the plugins in", error),
                                   ""))
        return finish(result)
    build_cities(plugins.CityPlugins(manager), bases, frameworks, result, periods)
    return finish(result)


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
                   findings: plugins.Findings) -> Iterator[City]:
    """Each city standard the plugins declare, over its base (errors go to `findings`)."""
    declared: dict[str, str] = {}  # city pack -> the plugin declaring it
    for plugin, city, span in city_plugins.city_standards(findings):
        base = bases.get(city.base)
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
            findings.error("X305", f"plugin {plugin}: city standard {city.name} would build "
                           f"pack {name}, which {other} builds already", span,
                           city_plugins.source(plugin).text,
                           hint="give the city standard a name of its own, e.g. the "
                           "city's name first (changchun_medical_inpatient)")
            continue
        declared[name] = plugin
        used = tuple(sorted({plugin} | {p for p, _, _ in overrides}))
        yield City(name, standard, base, plugin, used, span)


def build_cities(city_plugins: plugins.CityPlugins, bases: Mapping[str, Source],
                 frameworks: Mapping[str, ast.Framework], result: BuildResult,
                 periods: Sequence[tuple[ast.Standard, Span]] = ()) -> None:
    """Each city standard a plugin declares: its base, overridden, checked, generated; then
    the effective periods of every standard's versions, for overlaps (L409)."""
    findings = plugins.Findings()
    periods = list(periods)
    texts = {source.path: source.text for source in bases.values()}
    for city in city_standards(city_plugins, bases, findings):
        periods.append((city.standard, city.span))
        texts[city.span.file] = city_plugins.source(city.plugin).text
        pack, diagnostics = compile_standard(city.standard, city.base.text, frameworks,
                                             [city_plugins.source(p) for p in city.used])
        findings.diagnostics.extend(located_in_city(city, city_plugins, diagnostics))
        if pack is not None:
            result.packs.append(pack)
    result.diagnostics.extend(findings.diagnostics)
    result.diagnostics.extend((d, texts.get(d.span.file, "")) for d
                              in lints.overlapping_periods(lints.periods_of(periods)))


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
    sources, frameworks, read_findings = read_sources(root)
    read_errors = [(d, text) for d, text in read_findings if d.severity == "error"]
    bases = base_standards(sources)
    base = bases.get(pack_name)
    used: tuple[plugins.PluginSource, ...] = ()
    if base is not None and isinstance(base.tree, ast.Standard):
        standard, text, city = base.tree, base.text, None
    else:
        try:
            city_plugins = plugins.CityPlugins(
                manager or plugins.plugin_manager([root / "plugins"], root))
        except CompileError as error:
            return None, read_errors + [(d, "") for d in error.diagnostics]
        findings = plugins.Findings()
        city = next((c for c in city_standards(city_plugins, bases, findings)
                     if c.name == pack_name), None)
        if city is None:
            errors = read_errors + [(d, t) for d, t in findings.diagnostics
                                    if d.severity == "error"]
            if errors:
                return None, errors  # the pack may be in a file that does not build
            raise UnknownPack(f"no rule file or city plugin under {root} builds {pack_name}")
        standard, text = city.standard, city.base.text
        used = tuple(city_plugins.source(p) for p in city.used)
    framework = frameworks.get(standard.header.framework or "")
    try:
        checked = checker.check(standard, frameworks)
    except Exception as error:  # the last resort, as in build
        return None, [(internal_fault(standard.path, "checking", error), "")]
    texts = texts_of(standard, text)
    found = ([(d, t) for d, t in read_findings if framework and d.span.file == framework.path]
             + ([(d, texts.get(d.span.file, text)) for d in checked.diagnostics] if city is None
                else located_in_city(city, city_plugins, checked.diagnostics)))
    if any(d.severity == "error" for d, _ in found):
        return None, found
    return CheckedStandard(standard, checked, framework, used), found


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


# ---------------------------------------------------------------- in memory (diff, mutation)


def standard_from_file(root: Path, path: Path
                       ) -> tuple[CheckedStandard | None, list[tuple[Diagnostic, str]]]:
    """The checked standard of one rule file anywhere (None after errors, with the findings),
    under the frameworks of the rule files under root's regions/ (a framework file beside it
    takes precedence). Raises UnknownPack when the file is a framework, not a standard."""
    source = read_source(path, root)
    if source.tree is None:
        return None, [(d, source.text) for d in source.diagnostics]
    if not isinstance(source.tree, ast.Standard):
        raise UnknownPack(f"{source.path} is a framework file; name a standard's rule file")
    regions, frameworks, read_findings = read_sources(root)
    if source.tree.based_on is not None:  # its base is a standard under regions/
        others = [s for s in regions if s.path != source.path]
        problems = resolve_bases([*others, source])
        if source.tree is None:
            return None, problems
    for sibling in sorted(path.parent.glob(f"*{RULE_FILE_SUFFIX}")):
        beside = read_source(sibling, root)
        if isinstance(beside.tree, ast.Framework):
            frameworks[beside.tree.name] = beside.tree
            read_findings.extend((d, beside.text) for d in checker.check_framework(beside.tree))
    framework = frameworks.get(source.tree.header.framework or "")
    checked = checker.check(source.tree, frameworks)
    texts = texts_of(source.tree, source.text)
    found = ([(d, t) for d, t in read_findings if framework and d.span.file == framework.path]
             + [(d, texts.get(d.span.file, source.text)) for d in checked.diagnostics])
    if any(d.severity == "error" for d, _ in found):
        return None, found
    return CheckedStandard(source.tree, checked, framework, ()), found


def pack_in_memory(standard: CheckedStandard, source_text: str, label: str) -> Pack:
    """The pack of a checked standard (`source_text`: its rule file's text), in memory."""
    generated = codegen.generate(standard.standard, standard.checked, source_text,
                                 standard.framework,
                                 [(p.path, p.sha256) for p in standard.plugins])
    return compile_pack(generated.source, label)


def compile_texts(texts: Mapping[str, str], label: str) -> dict[str, Pack]:
    """Rule files given as text (display path -> text: a region's standards and frameworks)
    compiled into packs in memory, by pack name; raises CompileError at the first file with
    errors."""
    parsed = [parser.parse_text(text, path) for path, text in texts.items()]
    resolved, problems = inherit.resolve(
        [t for t in parsed if isinstance(t, ast.Standard)], texts)
    if problems:
        raise CompileError(problems)
    trees = [resolved[t.path] if isinstance(t, ast.Standard) else t for t in parsed]
    frameworks = {t.name: t for t in trees if isinstance(t, ast.Framework)}
    for framework in frameworks.values():
        problems = [d for d in checker.check_framework(framework) if d.severity == "error"]
        if problems:
            raise CompileError(problems)
    packs: dict[str, Pack] = {}
    for tree in trees:
        if not isinstance(tree, ast.Standard):
            continue
        checked = checker.check(tree, frameworks)
        if not checked.ok:
            raise CompileError(checked.diagnostics)
        packs[codegen.pack_name(tree)] = pack_in_memory(
            CheckedStandard(tree, checked, frameworks.get(tree.header.framework or ""), ()),
            texts[tree.path], label)
    return packs
