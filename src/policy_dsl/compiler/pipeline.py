"""The thin pipeline joining the stages: parse -> check -> codegen -> files in generated/.

Each stage is a function from its input to its output; `compile_file` runs them for one rule
file, `build` for every rule file under `regions/`, and writes packs and the index only when
their content changed, atomically.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from . import ast, checker, codegen, parser, plugins
from .ast import Span
from .diagnostics import CompileError, Diagnostic

RULE_FILE_SUFFIX = ".policy"
INDEX_FILE = "index.json"


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
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    try:
        return Source(display, text, parser.parse_file(path, display), [])
    except CompileError as error:
        return Source(display, text, None, list(error.diagnostics))


def compile_standard(standard: ast.Standard, text: str,
                     frameworks: Mapping[str, ast.Framework],
                     plugin_sources: Sequence[plugins.PluginSource] = (),
                     ) -> tuple[codegen.GeneratedPack | None, list[Diagnostic]]:
    """Check one standard and generate its pack (None when there are errors)."""
    checked = checker.check(standard, frameworks)
    if not checked.ok:
        return None, checked.diagnostics
    framework = frameworks.get(standard.header.framework or "")
    extra = [(p.path, p.sha256) for p in plugin_sources]
    return (codegen.generate(standard, checked, text, framework, extra),
            checked.diagnostics)


def read_sources(root: Path, regions_dir: Path | None = None
                 ) -> tuple[list[Source], dict[str, ast.Framework], list[tuple[Diagnostic, str]]]:
    """Every rule file under regions/, parsed; the frameworks among them, checked."""
    sources = [read_source(path, root) for path in rule_files(regions_dir or root / "regions")]
    frameworks: dict[str, ast.Framework] = {}
    diagnostics: list[tuple[Diagnostic, str]] = []
    for source in sources:
        diagnostics.extend((d, source.text) for d in source.diagnostics)
        if isinstance(source.tree, ast.Framework):
            found = checker.check_framework(source.tree)
            diagnostics.extend((d, source.text) for d in found)
            frameworks[source.tree.name] = source.tree
    return sources, frameworks, diagnostics


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
    for source in sources:
        if isinstance(source.tree, ast.Standard):
            pack, found = compile_standard(source.tree, source.text, frameworks)
            result.diagnostics.extend((d, source.text) for d in found)
            if pack is not None:
                result.packs.append(pack)
    try:
        manager = manager or plugins.plugin_manager([root / "plugins"], root)
    except CompileError as error:
        result.diagnostics.extend((d, "") for d in error.diagnostics)
        return finish(result)
    build_cities(plugins.CityPlugins(manager), bases, frameworks, result)
    return finish(result)


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
    for plugin, city, span in city_plugins.city_standards(findings):
        base = bases.get(city.base)
        if base is None or not isinstance(base.tree, ast.Standard):
            findings.error("X305", f"plugin {plugin}: city standard {city.name} names base "
                           f"pack {city.base!r}, which no rule file builds", span,
                           hint="bases: " + ", ".join(sorted(bases)))
            continue
        overrides = city_plugins.overrides(city, findings)
        standard = plugins.apply_overrides(base.tree, city, plugin, overrides, city_plugins,
                                           findings)
        if standard is None:
            continue
        used = tuple(sorted({plugin} | {p for p, _, _ in overrides}))
        yield City(codegen.pack_name(standard), standard, base, plugin, used, span)


def build_cities(city_plugins: plugins.CityPlugins, bases: Mapping[str, Source],
                 frameworks: Mapping[str, ast.Framework], result: BuildResult) -> None:
    """Each city standard a plugin declares: its base, overridden, checked, generated."""
    findings = plugins.Findings()
    for city in city_standards(city_plugins, bases, findings):
        pack, diagnostics = compile_standard(city.standard, city.base.text, frameworks,
                                             [city_plugins.source(p) for p in city.used])
        findings.diagnostics.extend(located_in_city(city, city_plugins, diagnostics))
        if pack is not None:
            result.packs.append(pack)
    result.diagnostics.extend(findings.diagnostics)


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
    checked = checker.check(standard, frameworks)
    found = ([(d, t) for d, t in read_findings if framework and d.span.file == framework.path]
             + ([(d, text) for d in checked.diagnostics] if city is None
                else located_in_city(city, city_plugins, checked.diagnostics)))
    if any(d.severity == "error" for d, _ in found):
        return None, found
    return CheckedStandard(standard, checked, framework, used), found


def finish(result: BuildResult) -> BuildResult:
    """The packs' files and the index, once every pack is built."""
    first_source: dict[str, object] = {}
    for pack in result.packs:
        source = pack.index_entry["source"]
        if pack.name in first_source:
            span = Span(str(source), 1, 1, 1, 1)
            message = f"pack {pack.name} is also built from {first_source[pack.name]}"
            result.diagnostics.append((Diagnostic(
                "C219", message, span, hint="give one of them another standard name or "
                "version"), ""))
            continue
        first_source[pack.name] = source
        result.files[f"{pack.module}.py"] = pack.source
    index = {"packs": [pack.index_entry for pack in sorted(result.packs, key=lambda p: p.name)]}
    result.files[INDEX_FILE] = json.dumps(index, ensure_ascii=False, indent=2) + "\n"
    return result


def write_files(files: dict[str, str], out_dir: Path) -> list[str]:
    """Write what changed (atomically) and remove stale packs; returns the names written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in sorted(files.items()):
        target = out_dir / name
        if target.exists() and target.read_text(encoding="utf-8") == content:
            continue
        handle, temporary = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.")
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(content)
        os.replace(temporary, target)
        written.append(name)
    for stale in stale_files(files, out_dir):
        (out_dir / stale).unlink()
        written.append(stale)
    return written


def stale_files(files: dict[str, str], out_dir: Path) -> list[str]:
    """Pack modules in generated/ that no rule file produces any more."""
    if not out_dir.is_dir():
        return []
    return sorted(p.name for p in out_dir.glob("*.py")
                  if p.name not in files and p.name != "__init__.py"
                  and p.read_text(encoding="utf-8").startswith("# Generated by policyc"))


def differences(files: dict[str, str], out_dir: Path) -> list[str]:
    """Unified diffs between what generated/ holds and what a build would write."""
    diffs = []
    for name, content in sorted(files.items()):
        target = out_dir / name
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != content:
            diffs.append("".join(difflib.unified_diff(
                current.splitlines(keepends=True), content.splitlines(keepends=True),
                f"{out_dir.name}/{name} (committed)", f"{out_dir.name}/{name} (built)", n=2)))
    for stale in stale_files(files, out_dir):
        diffs.append(f"{out_dir.name}/{stale}: no rule file produces it any more\n")
    return diffs
