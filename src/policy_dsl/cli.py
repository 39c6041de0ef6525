"""`policyc`: build rule packs from rule files, and score institutions with them.

Exit codes say which kind of failure happened:
  0 success · 1 errors in rule files · 2 wrong usage (unknown or refused pack, bad option)
  3 input errors (some records could not be scored, all others were; or the input file cannot
  be read) · 4 generated/ is stale
  5 regression cases failed (`policyc test`)
  70 an internal fault of policyc (please report it; POLICYC_DEBUG=1 shows the traceback)
  130 interrupted (Ctrl-C) · 141 standard output closed early (`policyc score ... | head`)
"""

from __future__ import annotations

import contextlib
import difflib
import gc
import hashlib
import importlib
import json
import logging
import os
import shutil
import stat
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Literal, TextIO, cast, overload

import click

from . import __version__, lane
from .api import Result, result_of
from .console import exit_needing_extra, missing_requirements
from .jobs import ERRORS_SHOWN, Tally, score_in_processes, score_parts_in_processes, splittable
from .progress import Progress
from .reading import (
    FILE_FORMATS,
    ID_LABELS,
    NAME_LABELS,
    FileFormat,
    InputSource,
    MissingExtra,
    open_input,
    read_input,
)
from .runtime import (
    CohortSnapshot,
    FactInfo,
    InputRecord,
    InputUnreadable,
    Outcome,
    Pack,
    PackNotFound,
    SnapshotInvalid,
    iter_outcomes,
    load_pack,
    load_snapshot,
    make_snapshot,
    outcome_json,
    snapshot_json,
    write_result_lines,
)
from .runtime import framework_inputs as runtime_framework_inputs
from .runtime.batch import PROGRESS_STEP, BatchPlan, plan_batch, stored_outcomes
from .runtime.describe import describe_json
from .runtime.explain import NotExplained, explain_outcome, explanation_json, render_text
from .runtime.framework import Lang

if TYPE_CHECKING:
    from .compiler import pipeline
    from .compiler.diagnostics import Diagnostic
from .runtime.packs import (
    PackRefused,
    find_pack,
    installed_catalogues,
    open_catalogue,
    read_index,
    verify_catalogue,
)
from .runtime.store import FactStore

if TYPE_CHECKING:
    from .compiler.pipeline import CheckedStandard
    from .publish.report import ResultLine as ReportLine

EXIT_OK = 0
EXIT_RULE_ERRORS = 1
EXIT_USAGE = 2
EXIT_INPUT_ERRORS = 3
EXIT_STALE = 4
EXIT_CASES_FAILED = 5
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE

DEFAULT_PACKS = Path("generated")
OUTPUT_FORMATS = ("jsonl", "csv", "xlsx", "parquet")
OUTPUT_EXTENSIONS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet", ".pq": "parquet"}
TABLE_EXTRAS = {"xlsx": "openpyxl", "parquet": "pyarrow"}
ENGINES = ("auto", "record", "columns")


def _packs_dir(_context: click.Context, _parameter: click.Parameter,
               value: Path | None) -> Path | None:
    """--packs as given; without it generated/ if it is here, else the installed bundles."""
    if value is not None:
        return value
    return DEFAULT_PACKS if DEFAULT_PACKS.is_dir() else None


packs_option = click.option(
    "--packs", "packs_dir", type=click.Path(path_type=Path), default=None,
    callback=_packs_dir, help="Directory holding the packs and their index.json, or a bundle "
    "file (policyc bundle). Default: generated/ if it exists here, else the installed bundles.")
encoding_option = click.option(
    "--encoding", help="The CSV file's text encoding (default: UTF-8, else GB18030/GBK, "
    "detected).")
sheet_option = click.option("--sheet", help="The xlsx sheet to read (default: the first).")


class OutputUnwritable(Exception):
    """The output file cannot be created or written (exit 2, like any other bad option)."""


class StandardOutputClosed(Exception):
    """The reader of standard output went away (`policyc score ... | head -1`)."""


class PolicycGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        # click would turn a broken pipe into exit 1; policyc says 141 (128 + SIGPIPE), in main().
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise StandardOutputClosed from None


@click.group(cls=PolicycGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="policyc")
def cli() -> None:
    """Compile assessment rule files into Python rule packs, and score institutions."""


lang_option = click.option(
    "--lang", type=click.Choice(["zh", "en"]), default=None,
    help="Language of messages. Default: POLICYC_LANG, else the locale (zh_* -> zh), else en.")


def _show_findings(diagnostics: list[tuple[Diagnostic, str]], lang: str | None, quiet: bool,
                   to_stderr: bool = True) -> None:
    """Findings as authors read them; a plugin's warning that concerns several packs is shown
    once, with the packs it concerns. Quiet: warnings without their source excerpt."""
    from .compiler import codes, pipeline

    language = codes.language(lang)
    for diagnostic, text, packs in pipeline.grouped_warnings(diagnostics):
        shown = diagnostic.render(text, language, excerpt=not (
            quiet and diagnostic.severity == "warning"))
        if packs:
            named = [p for p in packs if p]
            names = ", ".join(named[:5]) + (", ..." if len(named) > 5 else "")
            shown += (f"\n  (影响 {len(packs)} 个规则包{'：' + names if names else ''})"
                      if language == "zh" else
                      f"\n  (concerns {len(packs)} pack(s){': ' + names if names else ''})")
        click.echo(shown, err=to_stderr)


@cli.command()
@click.option("--check", is_flag=True,
              help="Do not write: fail (exit 4) with a diff if generated/ is not up to date.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              show_default=True, help="Project directory holding regions/ and generated/.")
@click.option("--quiet", "-q", is_flag=True,
              help="Warnings without source excerpts, and no per-pack 'built' lines.")
@lang_option
def build(check: bool, root: Path, quiet: bool, lang: str | None) -> None:
    """Check every rule file under regions/ and compile it into generated/."""
    from .compiler import pipeline  # the compiler is needed only here

    result = pipeline.build(root)
    _show_findings(result.diagnostics, lang, quiet)
    errors = sum(1 for d, _ in result.diagnostics if d.severity == "error")
    if errors:
        click.echo(f"policyc: {errors} error(s) in rule files; nothing was written", err=True)
        sys.exit(EXIT_RULE_ERRORS)
    out_dir = root / "generated"
    if check:
        diffs = pipeline.differences(result.files, out_dir)
        if diffs:
            for diff in diffs:
                click.echo(diff, err=True)
            click.echo(f"policyc: {len(diffs)} file(s) in generated/ are stale; run "
                       "`policyc build` and commit generated/", err=True)
            sys.exit(EXIT_STALE)
        click.echo(f"generated/ is up to date ({len(result.packs)} pack(s))")
        return
    written = pipeline.write_files(result.files, out_dir)
    if not quiet:
        for pack in result.packs:
            click.echo(f"built {pack.name} -> generated/{pack.module}.py")
    click.echo(f"{len(written)} file(s) changed" if written else "generated/ was up to date")


@cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one object per finding, for editors and CI.")
@click.option("--deny-warnings", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              show_default=True, help="Project directory holding regions/ and plugins/.")
@click.option("--quiet", "-q", is_flag=True, help="Warnings without source excerpts.")
@lang_option
def check_command(paths: tuple[Path, ...], fmt: str, deny_warnings: bool, root: Path,
                  quiet: bool, lang: str | None) -> None:
    """Report every finding about rule files (default: all under regions/, and the plugins),
    writing nothing. Exit 1 on errors (and on warnings with --deny-warnings), else 0."""
    from .compiler import codes, pipeline

    result = pipeline.check(root, paths)
    findings = result.diagnostics + _case_file_findings(root, result, every=not paths)
    if fmt == "json":
        language = codes.language(lang)
        click.echo(json.dumps([d.as_json(language) for d, _ in findings], ensure_ascii=False,
                              indent=2))
    else:
        _show_findings(findings, lang, quiet, to_stderr=False)
    errors = sum(1 for d, _ in findings if d.severity == "error")
    warnings = len(findings) - errors
    if fmt == "text":
        click.echo(f"policyc check: {errors} error(s), {warnings} warning(s)", err=True)
    if errors or (deny_warnings and warnings):
        sys.exit(EXIT_RULE_ERRORS)


def _case_file_findings(root: Path, result: pipeline.BuildResult, every: bool
                        ) -> list[tuple[Diagnostic, str]]:
    """K501 for each case file that does not fit the pack just built from the checked rule
    files (every case file when every rule file is checked): its facts, keys and values are
    read against that pack, built into a temporary directory, not against generated/."""
    from .casebook.cases import CaseFileError, find_case_files, load_cases
    from .compiler import pipeline
    from .compiler.ast import Span
    from .compiler.diagnostics import Diagnostic

    built = {pack.name for pack in result.packs}
    case_files = [path for path in find_case_files(root)
                  if every or _case_file_pack(path) in built]
    if not case_files or not result.files:
        return []
    found: list[tuple[Diagnostic, str]] = []
    with tempfile.TemporaryDirectory(prefix="policyc-check-") as packs:
        pipeline.write_files(result.files, Path(packs) / "generated")
        for path in case_files:
            if _case_file_pack(path) not in built:
                continue  # its pack did not build: the rule file's errors say why
            try:
                load_cases(path, root, Path(packs) / "generated")
            except CaseFileError as error:
                message = str(error).removeprefix(f"{error.path}:{error.line}: ")
                found.append((Diagnostic("K501", message, Span(
                    error.path, error.line, 1, error.line, 1)), path.read_text(
                        encoding="utf-8", errors="replace")))
    return found


def _case_file_pack(path: Path) -> str | None:
    from .casebook.cases import peek_pack

    return peek_pack(path)


@cli.command("explain-code")
@click.argument("code", required=False)
@click.option("--all", "every", is_flag=True, help="Every code.")
@click.option("--markdown", is_flag=True, help="docs/diagnostics.md, as generated.")
@lang_option
def explain_code(code: str | None, every: bool, markdown: bool, lang: str | None) -> None:
    """What a diagnostic code means, with a wrong and a right example (as `ruff rule`)."""
    from .compiler import codes

    if markdown:
        click.echo(codes.markdown(), nl=False)
        return
    language = codes.language(lang)
    if every:
        click.echo("\n".join(codes.explain(c, language) for c in codes.CODES))
        return
    entry = codes.lookup(code or "")
    if entry is None:
        raise click.UsageError(f"unknown code {code!r}; `policyc explain-code --all` lists them"
                               if code else "give a CODE, or --all")
    click.echo(codes.explain(entry.code, language), nl=False)


@cli.command("list")
@packs_option
def list_packs(packs_dir: Path | None) -> None:
    """List the packs in the index: name, effective period, institution class."""
    for entry in read_index(packs_dir):
        period = f"{entry.effective_from} to {entry.effective_to or 'open'}"
        click.echo(f"{entry.name:32} {period:26} {entry.applies_to}")


@cli.command()
@click.option("--pack", "pack_name", required=True, help="Pack name, e.g. suzhou/inpatient-2023.")
@click.option("--year", type=int, help="Assessment year, to pick a version by its period.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@packs_option
def describe(pack_name: str, year: int | None, fmt: str, packs_dir: Path | None) -> None:
    """Show a pack's facts (type, label, bounds, when required) and items."""
    pack = load_pack(pack_name, year, packs_dir)
    info = pack.INFO
    framework_inputs = runtime_framework_inputs(pack.FRAMEWORK) \
        if pack.FRAMEWORK is not None else ()
    if fmt == "json":
        click.echo(json.dumps(describe_json(pack), ensure_ascii=False, indent=2))
        return
    click.echo(f"{info.name}  {info.title}")
    click.echo(f"  region {info.region_label} · version {info.version} · effective "
               f"{info.effective_from} to {info.effective_to or 'open'} · {info.applies_to}")
    click.echo(f"  source {info.source} (sha256 {info.source_sha256[:12]}…)")
    click.echo(f"  pack {pack.origin} (sha256 {pack.sha256}, verified)")
    click.echo("\nfacts:")
    for fact in info.facts:
        click.echo(_described(fact))
        if fact.members:
            click.echo("      " + ", ".join(f"{code}={label}" for code, label in fact.members))
        for sub in fact.fields:
            click.echo(f"      .{sub.name:30} {sub.type}  {sub.label}")
    click.echo(f"\ncolumns (CSV, xlsx, Parquet): a fact's name or its label; id (or "
               f"{'/'.join(ID_LABELS)}); name (or {'/'.join(NAME_LABELS)})")
    if framework_inputs:
        click.echo(f"\nframework {info.framework} inputs:")
        for fact in framework_inputs:
            click.echo(_described(fact))
    click.echo("\nitems:")
    for item in info.items:
        bonus = " (bonus)" if item.bonus else ""
        click.echo(f"  {item.number:>2}  {item.points:>4}{bonus:8} {item.label}")


input_format_option = click.option(
    "--format", "fmt", type=click.Choice(["auto", *FILE_FORMATS]), default="auto",
    show_default=True, help="Input format (auto: by file name).")


settlement_lang_option = click.option(
    "--lang", "settlement_lang", type=click.Choice(["zh", "en"]), default="zh",
    show_default=True, help="Language of the texts policyc writes (score: the settlement's "
    "lines; explain: every line); the rule files' own texts stay as written.")


def _described(fact: FactInfo) -> str:
    """One fact as `describe` shows it: name, type, bounds, presence and default, label."""
    bounds = "" if fact.low is None and fact.high is None else \
        f" in {'' if fact.low is None else fact.low}..{'' if fact.high is None else fact.high}"
    default = f", default {fact.default}" if fact.default else ""
    return f"  {fact.name:34} {fact.type}{bounds}  ({fact.presence}{default})  {fact.label}"


@cli.command()
@click.option("--pack", "pack_name", required=True, help="Pack name, e.g. suzhou/inpatient-2023.")
@click.option("--year", type=int, help="Assessment year, to pick a version by its period.")
@input_format_option
@encoding_option
@sheet_option
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False, allow_dash=True),
              default="-", help="Write the results to this file (complete, or not at all) "
              "instead of standard output; its extension chooses the format (.jsonl, .csv, "
              ".xlsx, .parquet; any other: JSON Lines).")
@click.option("--output-format", type=click.Choice(OUTPUT_FORMATS),
              help="Output format, whatever the file's extension (default: by -o's extension; "
              "jsonl on standard output).")
@click.option("--explain", is_flag=True,
              help="Add every item's reason lines (and, under a framework, the settlement's "
              "steps) to each result (JSON Lines only).")
@click.option("--cohorts", "cohorts_file", type=click.Path(path_type=Path, dir_okay=False),
              help="A cohort snapshot (`policyc cohorts`): take each institution's cohort "
              "values from it instead of computing them over INPUT_FILE.")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress line (it is shown only when standard error is a terminal).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes that score (JSON Lines in UTF-8: that also read and validate "
              "it, a part each); the output is the same as with one, byte for byte, in input "
              "order. The column lane (--engine) scores in one process whatever this says.")
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              help="How records are scored: record (one at a time, every input and output "
              "format), columns (the column lane: JSON Lines in and out, a block of records "
              "at a time; exit 2 saying why when it cannot be taken), auto (the column lane "
              "when it can be taken and is worth it: an input of 16 MiB or more whose first "
              "MiB it scores itself, at least 80% of it; else record). The output is the "
              "same, byte for byte.")
@settlement_lang_option
@packs_option
@click.argument("input_path", metavar="INPUT_FILE", type=click.Path(allow_dash=True))
def score(pack_name: str, year: int | None, fmt: str, encoding: str | None,
          sheet: str | None, output_path: str, output_format: str | None,
          explain: bool, cohorts_file: Path | None, quiet: bool, jobs: int, engine: str,
          settlement_lang: Lang,
          packs_dir: Path | None, input_path: str) -> None:
    """Score the institutions in INPUT_FILE (JSON Lines, JSON array or CSV; - for stdin).

    Writes one result per input record, in input order: id, total, earned, applicable_max,
    items (a column each in tables), the framework's fields, pack, pack_sha256, error. JSON
    Lines by default; CSV, xlsx (with a summary sheet) or Parquet by -o's extension or
    --output-format.
    """
    if os.environ.get("POLICYC_DEBUG"):  # a record's internal fault shows its traceback
        logging.basicConfig(format="policyc: %(message)s")
    chosen_output = _output_format(output_path, output_format, explain)
    pack = load_pack(pack_name, year, packs_dir)
    snapshot = _read_snapshot(cohorts_file, pack) if cohorts_file is not None else None
    tally = Tally()
    lines = chosen_output == "jsonl"
    with _input_source(input_path, pack, fmt, encoding, sheet, check_text=False) as source, \
            FactStore(pack) as store, _rare_collections():
        bar = Progress(None, enabled=not quiet)  # reading, then scoring
        try:
            parts: Iterator[Any] | None = None
            by_columns = _column_lane_taken(engine, source, pack, explain, snapshot,
                                            chosen_output)
            if by_columns:
                _score_by_columns(source, pack, store, jobs, output_path, tally, bar)
            elif jobs > 1 and splittable(source):  # both passes in processes

                def first_pass_done(count: int) -> None:
                    bar.close()
                    _show_warnings(source)
                    bar.restart(count)

                parts = score_parts_in_processes(source, pack, snapshot, explain,
                                                 settlement_lang, jobs, lines, tally,
                                                 bar.advance, first_pass_done, bar.advance)
            else:
                plan = _first_pass(source, pack, snapshot, store, bar)
                bar.restart(plan.count)
                if jobs > 1:
                    parts = score_in_processes(pack, plan, store, explain, settlement_lang,
                                               jobs, lines, tally, bar.advance)
            if by_columns:
                pass  # written
            elif parts is not None:
                if lines:
                    with _results_to(output_path, binary=True) as chunks:
                        for part in parts:
                            chunks.write(part)
                        chunks.flush()
                else:
                    _write_table(chosen_output, output_path, pack, parts)
            else:
                counted = _counted(stored_outcomes(pack, plan, store, explain), tally, bar)
                if lines:
                    with _results_to(output_path) as output:
                        write_result_lines(counted, output.write, explain, settlement_lang)
                        output.flush()
                else:
                    _write_table(chosen_output, output_path, pack,
                                 (result_of(outcome) for outcome in counted))
        finally:
            bar.close()
    click.echo(f"{pack.INFO.name}: scored {tally.records - tally.count} of {tally.records} "
               f"record(s); {tally.count} error(s)", err=True)
    _report_tally(tally)


def _column_lane_taken(engine: str, source: InputSource, pack: Pack, explain: bool,
                       snapshot: CohortSnapshot | None, output_format: str) -> bool:
    """Whether this run is scored by the column lane (`--engine`); exit 2 saying why when
    `--engine columns` asks for it and it cannot be taken."""
    if engine == "record":
        source.check_text()
        return False
    reason = lane.refusal(source, pack, explain=explain, cohorts=snapshot is not None,
                          output_format=output_format)
    if reason is not None:  # the whole file's text checked first, as the record path does
        source.check_text()
    if reason is not None and engine == "columns":
        click.echo(f"policyc: --engine columns: {reason}; use --engine auto or record",
                   err=True)
        sys.exit(EXIT_USAGE)
    if reason is None and engine == "auto":
        reason = lane.auto_declines(source, pack)
        if reason is not None:
            source.check_text()
    if reason is not None and os.environ.get("POLICYC_DEBUG"):
        logging.getLogger(__name__).warning("record path: %s", reason)
    return reason is None


def _score_by_columns(source: InputSource, pack: Pack, store: FactStore, jobs: int,
                      output_path: str, tally: Tally, bar: Progress) -> None:
    """The column lane's two passes (`lane.py`), the output written as the record
    path writes it. One process; `--jobs N` works on N blocks at a time in threads (Arrow
    and numpy let go of the interpreter's lock for most of a block's work)."""
    run = lane.Lane(source, pack, store, workers=jobs)
    try:
        plan = run.first_pass(bar.advance)
    finally:
        bar.close()
    _show_warnings(source)
    bar.restart(plan.count)

    def vouched(count: int) -> None:
        tally.records += count

    with _results_to(output_path, binary=True) as chunks:
        for part in run.second_pass(plan, tally.add, vouched, bar.advance):
            chunks.write(part)
        chunks.flush()
    lane.LAST_STATS = run.stats
    if os.environ.get("POLICYC_DEBUG"):
        logging.getLogger(__name__).warning("column lane: %s", run.stats)


@contextlib.contextmanager
def _rare_collections() -> Iterator[None]:
    """Python's cycle collector run rarely while a batch is scored. Every record leaves a
    few containers that live until the second pass (its entry in the store, its cohort
    inputs), and the default thresholds walk them again and again: a quarter of the run's
    time on 100,000 records. Reference counting still frees each record's objects as it
    goes; the rare cycle waits for the next, rarer, collection."""
    before = gc.get_threshold()
    gc.set_threshold(RARE_COLLECTIONS, 20, 10)
    try:
        yield
    finally:
        gc.set_threshold(*before)


RARE_COLLECTIONS = 50_000  # allocations between two collections of the youngest objects


def _counted(outcomes: Iterator[Outcome], tally: Tally, bar: Progress) -> Iterator[Outcome]:
    """The outcomes unchanged, each added to `tally`, the bar advanced every
    `PROGRESS_STEP`."""
    done = 0
    for outcome in outcomes:
        tally.add(outcome)
        done += 1
        if done == PROGRESS_STEP:
            bar.advance(done)
            done = 0
        yield outcome
    bar.advance(done)


def _report_tally(tally: Tally) -> None:
    """As `_report_errors`, from a tally (the first messages and the counts)."""
    for message in tally.first:
        click.echo(f"  {message}", err=True)
    if tally.count > len(tally.first):
        click.echo(f"  ... and {tally.count - len(tally.first)} more (see the error field)",
                   err=True)
    if tally.faults:
        click.echo(f"policyc: internal fault while scoring {tally.faults} record(s) (see their "
                   "error field). This is a fault in policyc, not in your files; please report "
                   "it.", err=True)
        sys.exit(EXIT_INTERNAL)
    if tally.count:
        sys.exit(EXIT_INPUT_ERRORS)


@contextlib.contextmanager
def _input_source(path: str, pack: Pack, fmt: str, encoding: str | None,
                  sheet: str | None, check_text: bool = True) -> Iterator[InputSource]:
    """The input file, to be read record by record (twice); standard input (`-`) is first
    copied to a temporary file, removed after. Exit 3 when the file cannot be read, 2 when a
    library is missing."""
    name = "<stdin>" if path == "-" else path
    chosen = None if fmt == "auto" else cast("FileFormat", fmt)
    spooled: str | None = None
    try:
        if path == "-":
            handle, spooled = tempfile.mkstemp(prefix="policyc-stdin-")
            with os.fdopen(handle, "wb") as spool:
                shutil.copyfileobj(sys.stdin.buffer, spool, 1 << 20)
        try:
            source = open_input(Path(spooled or path), name, pack, chosen, encoding=encoding,
                                sheet=sheet, check_text=check_text)
        except OSError as error:
            raise InputUnreadable(f"{path}: cannot read the input file "
                                  f"({error.strerror or error})") from None
        yield source
    except MissingExtra as error:
        click.echo(f"policyc: {error}", err=True)
        sys.exit(EXIT_USAGE)
    except InputUnreadable as error:
        click.echo(f"policyc: {error}", err=True)
        sys.exit(EXIT_INPUT_ERRORS)
    finally:
        if spooled is not None:
            with contextlib.suppress(OSError):
                os.unlink(spooled)


def _first_pass(source: InputSource, pack: Pack, snapshot: CohortSnapshot | None,
                store: FactStore, bar: Progress) -> BatchPlan:
    """Every record read and validated once into the store (ids, cohort inputs), the
    warnings shown; exit 2 for a snapshot of another pack."""
    try:
        plan = plan_batch(pack, source.records(), snapshot, store, bar.advance)
    except SnapshotInvalid as error:
        click.echo(f"policyc: {error}", err=True)
        sys.exit(EXIT_USAGE)
    finally:
        bar.close()
    _show_warnings(source)
    return plan


def _show_warnings(source: InputSource) -> None:
    for warning in source.warnings:
        click.echo(f"policyc: warning: {warning}", err=True)


@cli.command()
@click.option("--pack", "pack_name", required=True, help="Pack name, e.g. suzhou/inpatient-2023.")
@click.option("--year", type=int, help="Assessment year, to pick a version by its period.")
@input_format_option
@encoding_option
@sheet_option
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False), required=True,
              help="The snapshot file to write (JSON; complete, or not at all).")
@packs_option
@click.argument("input_path", metavar="INPUT_FILE", type=click.Path(allow_dash=True))
def cohorts(pack_name: str, year: int | None, fmt: str, encoding: str | None,
            sheet: str | None, output_path: str, packs_dir: Path, input_path: str) -> None:
    """Write the cohort values computed over the batch in INPUT_FILE (a snapshot).

    The snapshot keeps each institution's cohort values (its satisfaction-ranking
    adjustment, its peer group's means) with the pack's hash and the input file's name and
    SHA-256; `policyc score --cohorts` then scores any of the institutions alone and gets
    exactly its batch result.
    """
    pack = load_pack(pack_name, year, packs_dir)
    with _input_source(input_path, pack, fmt, encoding, sheet) as source:
        digest = hashlib.sha256()
        with source.opener() as stream:
            while block := stream.read(1 << 20):  # to the file's end, a MiB at a time
                digest.update(block)
        snapshot = make_snapshot(pack, source.records(), source.name, b"",  # record by record
                                 source_sha256=digest.hexdigest())
    _show_warnings(source)
    with _results_to(output_path) as output:
        output.write(json.dumps(snapshot_json(snapshot), ensure_ascii=False, indent=1) + "\n")
    without = [f"id {key}: {entry.error}" for key, entry in snapshot.institutions.items()
               if entry.error is not None]
    click.echo(f"{pack.INFO.name}: cohort values of {len(snapshot.institutions) - len(without)} "
               f"institution(s) from {snapshot.valid_records} valid of {snapshot.records} "
               f"record(s) -> {output_path}", err=True)
    _report_errors([*snapshot.left_out, *without], snapshot.faults)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback by default).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--max-body-bytes", type=click.IntRange(1), default=10 * 1024 * 1024,
              show_default=True, help="Largest request body; a larger one gets 413.")
@click.option("--time-limit", type=click.FloatRange(0, min_open=True), default=30.0,
              show_default=True,
              help="Seconds to read and score one request; a slower one gets 408.")
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Threads that score requests (the event loop stays free).")
@packs_option
def serve(host: str, port: int, max_body_bytes: int, time_limit: float, workers: int,
          packs_dir: Path) -> None:
    """Serve the packs over HTTP: GET /packs, POST /packs/{region}/{standard}/score, ...

    Needs the `serve` extra (Starlette and uvicorn). Every pack is loaded at start; a pack
    that cannot be loaded stops the start (exit 2).
    """
    import signal
    import socket

    try:
        import uvicorn

        from .service import Limits, create_app
    except ImportError as missing:
        click.echo(f"policyc: the scoring service needs Starlette and uvicorn ({missing}); "
                   "install them with: pip install 'policy-dsl[serve]'", err=True)
        sys.exit(EXIT_USAGE)
    app = create_app(packs_dir, Limits(max_body_bytes, time_limit, workers))
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(2048)  # connections wait in the backlog until uvicorn accepts them
    except OSError as error:
        click.echo(f"policyc: cannot listen on {host}:{port}: {error.strerror}", err=True)
        sys.exit(EXIT_USAGE)

    def stopped(signum: int, frame: object) -> None:
        # uvicorn shuts down gracefully, restores this handler and raises the signal again.
        click.echo("policyc: the service stopped", err=True)
        sys.exit(EXIT_OK if signum == signal.SIGTERM else EXIT_INTERRUPTED)

    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGINT, stopped)
    bound = listener.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    click.echo(f"policyc: serving {len(read_index(packs_dir))} pack(s) at "
               f"http://{shown}:{bound} (body limit {max_body_bytes} bytes, time limit "
               f"{time_limit:g} s); Ctrl-C stops", err=True)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=10)
    uvicorn.Server(config).run(sockets=[listener])


def _read_snapshot(path: Path, pack: Pack) -> CohortSnapshot:
    """The snapshot at `path`, checked against `pack`; a wrong one ends the run (exit 2)."""
    try:
        snapshot = load_snapshot(path.read_bytes(), str(path))
        snapshot.check_pack(pack)
    except OSError as error:
        click.echo(f"policyc: cannot read the cohort snapshot {path}: {error.strerror}",
                   err=True)
        sys.exit(EXIT_USAGE)
    except SnapshotInvalid as error:
        click.echo(f"policyc: {error}", err=True)
        sys.exit(EXIT_USAGE)
    return snapshot


def _report_errors(failed: list[str], faults: int = 0) -> None:
    """The first record errors on standard error; exit 70 when some are internal faults
    (`faults` of them), else exit 3 when there are any (`_report_tally`)."""
    _report_tally(Tally(len(failed), len(failed), faults, failed[:ERRORS_SHOWN]))


@cli.command()
@click.option("--pack", "pack_name", required=True, help="Pack name, e.g. suzhou/inpatient-2023.")
@click.option("--year", type=int, help="Assessment year, to pick a version by its period.")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]),
              help="Sheet format (default: by -o's extension; csv on standard output).")
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False, allow_dash=True),
              default="-", help="Write the sheet to this file instead of standard output.")
@packs_option
def template(pack_name: str, year: int | None, fmt: str | None, output_path: str,
             packs_dir: Path | None) -> None:
    """An empty input sheet for the pack, to send to institutions for self-assessment:
    Chinese headers, a row of help under them, drop-down lists for enums and 是/否 (xlsx)."""
    from . import template as sheets

    chosen = fmt or ("xlsx" if output_path.lower().endswith(".xlsx") else "csv")
    pack = load_pack(pack_name, year, packs_dir)
    if chosen == "xlsx":
        try:
            import openpyxl  # noqa: F401 (the check that it is installed)
        except ImportError:
            click.echo("policyc: an xlsx template needs openpyxl: pip install "
                       "'policy-dsl[tables]'", err=True)
            sys.exit(EXIT_USAGE)
    data = sheets.template_xlsx(pack) if chosen == "xlsx" else sheets.template_csv(pack)
    with _results_to(output_path, binary=True) as output:
        output.write(data)


@cli.command()
@click.option("--pack", "pack_name", required=True, help="Pack name, e.g. suzhou/inpatient-2023.")
@click.option("--year", type=int, help="Assessment year, to pick a version by its period.")
@input_format_option
@encoding_option
@sheet_option
@packs_option
@click.argument("input_path", metavar="INPUT_FILE", type=click.Path(allow_dash=True))
def validate(pack_name: str, year: int | None, fmt: str, encoding: str | None,
             sheet: str | None, packs_dir: Path | None, input_path: str) -> None:
    """Check the institutions in INPUT_FILE without scoring them: how many records fail
    each check of each field, with the first that did. Exit 3 if any record fails, 0 if
    none does."""
    from . import validation

    pack = load_pack(pack_name, year, packs_dir)
    with _input_source(input_path, pack, fmt, encoding, sheet) as source:
        checked = validation.validate(pack, source.records())  # record by record
    _show_warnings(source)
    click.echo(validation.summary(checked, source.name), nl=False)
    if checked.faults:
        click.echo(f"policyc: internal fault while checking {checked.faults} record(s). This "
                   "is a fault in policyc, not in your files; please report it.", err=True)
        sys.exit(EXIT_INTERNAL)
    if checked.failed_records:
        sys.exit(EXIT_INPUT_ERRORS)


@cli.command()
@click.option("--pack", "pack_name", required=True, help="Pack name, e.g. suzhou/inpatient-2023.")
@click.option("--year", type=int, help="Assessment year, to pick a version by its period.")
@click.option("--id", "record_id", required=True, help="The institution's id in INPUT_FILE.")
@click.option("--item", "item_number", type=int, help="Explain only this item.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--input-format", "input_fmt", type=click.Choice(["auto", *FILE_FORMATS]),
              default="auto", show_default=True, help="Input format (auto: by file name).")
@encoding_option
@sheet_option
@click.option("--cohorts", "cohorts_file", type=click.Path(path_type=Path, dir_okay=False),
              help="A cohort snapshot (`policyc cohorts`): take the institution's cohort "
              "values (its rank, its peer group) from it instead of computing them over "
              "INPUT_FILE.")
@settlement_lang_option
@packs_option
@click.argument("input_path", metavar="INPUT_FILE", type=click.Path(allow_dash=True))
def explain(pack_name: str, year: int | None, record_id: str, item_number: int | None,
            fmt: str, input_fmt: str, encoding: str | None, sheet: str | None,
            cohorts_file: Path | None, settlement_lang: Lang, packs_dir: Path | None,
            input_path: str) -> None:
    """Why one institution of INPUT_FILE got its points: each item, each rule with the values
    it used, the rescaling, and under a framework the settlement.

    The whole file is scored together, so cohort values (ranks, peer-group means) are those of
    `policyc score` on the same file; with --cohorts they are the snapshot's, as with
    `policyc score --cohorts`.
    """
    pack = load_pack(pack_name, year, packs_dir)
    snapshot = _read_snapshot(cohorts_file, pack) if cohorts_file is not None else None
    name, _data, records = _read_input_file(input_path, pack, input_fmt, encoding, sheet)
    ids = [str(record.id) for record in records if record.id is not None]
    if record_id not in ids:
        near = difflib.get_close_matches(record_id, ids, n=5, cutoff=0.5) or ids[:5]
        click.echo(f"policyc explain: no institution with id {record_id!r} in {name}; "
                   f"ids near it: {', '.join(near) if near else '(the file has no ids)'}",
                   err=True)
        sys.exit(EXIT_INPUT_ERRORS)
    numbers = [item.number for item in pack.INFO.items]
    if item_number is not None and item_number not in numbers:
        raise click.UsageError(f"--item {item_number}: {pack.INFO.name} has items "
                               f"{numbers[0]}..{numbers[-1]}")
    outcome = next(o for o in iter_outcomes(pack, records, explain=True, cohorts=snapshot)
                   if str(o.record.id) == record_id)
    try:
        explanation = explain_outcome(pack, outcome)
    except NotExplained as error:
        click.echo(f"policyc explain: {error}", err=True)
        sys.exit(EXIT_INPUT_ERRORS)
    if fmt == "json":
        click.echo(json.dumps(explanation_json(explanation, item_number, settlement_lang),
                              ensure_ascii=False, indent=2))
    else:
        click.echo(render_text(explanation, item_number, settlement_lang), nl=False)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of one result line (versioned; docs/result-line.schema.json)."""
    from .api import result_schema

    click.echo(json.dumps(result_schema(), ensure_ascii=False, indent=2))


@cli.command()
@packs_option
def verify(packs_dir: Path | None) -> None:
    """Check every pack against its manifest: the SHA-256 of its bytes, the runtime version
    it needs, and that its module is the pack the manifest names. One line per pack; exit 0
    if all are ok, 2 otherwise."""
    catalogues = [open_catalogue(packs_dir)] if packs_dir is not None else \
        installed_catalogues()
    if not catalogues:
        raise PackRefused("no packs to verify: no generated/ here and no installed bundles; "
                          "give --packs")
    refused = total = 0
    for catalogue in catalogues:
        for entry, result in verify_catalogue(catalogue):
            total += 1
            if isinstance(result, PackRefused):
                refused += 1
                click.echo(f"REFUSED {entry.name}: {result.detail}")
                continue
            rule_file = next(s.path for s in entry.sources if s.role == "rule file")
            click.echo(f"ok {entry.name} sha256 {result.sha256} source {rule_file}")
    where = ", ".join(c.where for c in catalogues)
    if refused:
        click.echo(f"policyc: {refused} of {total} pack(s) refused in {where}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"{total} pack(s) verified in {where}", err=True)


@cli.command()
@click.option("--packs", "packs_dir", type=click.Path(path_type=Path, file_okay=False),
              default=DEFAULT_PACKS, show_default=True,
              help="Directory holding the packs and their index.json.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Project directory holding the source files the manifest names "
              "[default: the packs directory's parent].")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="The bundle file to write (FILE.whl), or a directory to write it into "
              "under its wheel name (pip installs only wheels named so).")
@click.option("--version", "version", help="The bundle's version (default: 0+ and the start "
              "of the manifest's SHA-256).")
def bundle(packs_dir: Path, root: Path | None, output: Path, version: str | None) -> None:
    """Put the packs, their manifest and their source files into one wheel that a server
    installs (pip install --no-deps FILE) or loads in place (--packs FILE)."""
    from .bundles import BundleError, make_bundle

    try:
        made = make_bundle(packs_dir, root or packs_dir.resolve().parent, version)
    except BundleError as error:
        click.echo(f"policyc: {error}", err=True)
        sys.exit(EXIT_USAGE)
    if output.suffix != ".whl":
        output.mkdir(parents=True, exist_ok=True)
    target = output if output.suffix == ".whl" else output / made.file_name
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(handle, "wb") as stream:
        stream.write(made.data)
    os.chmod(temporary, 0o644)
    os.replace(temporary, target)
    click.echo(f"bundled {len(made.packs)} pack(s) and {len(made.sources)} source file(s) "
               f"into {target} (sha256 {made.sha256})")


def _output_format(path: str, given: str | None, explain: bool) -> str:
    """The output format: --output-format, else by -o's extension (JSON Lines otherwise)."""
    chosen = given or OUTPUT_EXTENSIONS.get(Path(path).suffix.lower(), "jsonl")
    if chosen in TABLE_EXTRAS and path == "-":
        raise click.UsageError(f"{chosen} is written to a file: give -o FILE.{chosen}")
    if chosen != "jsonl" and explain:
        raise click.UsageError(f"--explain adds reason lines to JSON Lines; {chosen} has one "
                               "row per institution without them")
    if chosen in TABLE_EXTRAS:
        module = TABLE_EXTRAS[chosen]
        try:
            importlib.import_module(module)
        except ImportError:
            raise click.UsageError(f"{chosen} output needs {module}; install the tables "
                                   "extra: pip install 'policy-dsl[tables]'") from None
    return chosen


def _write_table(chosen: str, path: str, pack: Pack, results: Iterator[Result]) -> None:
    """CSV, xlsx or Parquet, streamed from the results into `path` (complete, or not at
    all); a result Parquet cannot hold exactly is an input error (exit 3), and no file."""
    from .tables import TableError, columns_for, write_csv, write_parquet, write_xlsx

    columns = columns_for(pack)
    try:
        with _results_to(path, binary=True) as stream:
            if chosen == "csv":
                write_csv(stream, columns, results)
            elif chosen == "xlsx":
                write_xlsx(stream, pack, columns, results)
            else:
                write_parquet(stream, pack, columns, results)
    except TableError as error:
        click.echo(f"policyc: {path}: {error}; nothing was written", err=True)
        sys.exit(EXIT_INPUT_ERRORS)


def _read_institutions(path: str, pack: Pack | None, fmt: str, encoding: str | None,
                       sheet: str | None, data: bytes | None = None) -> list[InputRecord]:
    """The records of the input file (see `_read_input_file`)."""
    return _read_input_file(path, pack, fmt, encoding, sheet, data)[2]


def _read_input_file(path: str, pack: Pack | None, fmt: str, encoding: str | None,
                     sheet: str | None, data: bytes | None = None
                     ) -> tuple[str, bytes, list[InputRecord]]:
    """The input file's name, bytes and records (`-`: standard input; `data`: its bytes when
    already read), its warnings shown on stderr; exit 3 when the file cannot be read or its
    header is wrong, 2 when a library is missing."""
    name = "<stdin>" if path == "-" else path
    try:
        data = _read_input(path) if data is None else data
        read = read_input(data, name, pack, None if fmt == "auto" else cast("FileFormat", fmt),
                          encoding=encoding, sheet=sheet)
    except MissingExtra as error:
        click.echo(f"policyc: {error}", err=True)
        sys.exit(EXIT_USAGE)
    except InputUnreadable as error:
        click.echo(f"policyc: {error}", err=True)
        sys.exit(EXIT_INPUT_ERRORS)
    for warning in read.warnings:
        click.echo(f"policyc: warning: {warning}", err=True)
    return name, data, read.records


def _read_input(path: str) -> bytes:
    """The input's bytes (`-`: standard input); a file that cannot be read is an input error."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise InputUnreadable(f"{path}: cannot read the input file "
                              f"({error.strerror or error})") from None


@overload
def _results_to(path: str, binary: Literal[False] = False) -> contextlib.AbstractContextManager[
        TextIO]: ...


@overload
def _results_to(path: str, binary: Literal[True]) -> contextlib.AbstractContextManager[
        BinaryIO]: ...


def _results_to(path: str, binary: bool = False) -> contextlib.AbstractContextManager[IO[Any]]:
    """Where results go (text, or bytes with `binary`): see `_results_stream`."""
    return _results_stream(path, binary)


@contextlib.contextmanager
def _results_stream(path: str, binary: bool) -> Iterator[IO[Any]]:
    """Where results go: standard output for `-`, else FILE, written complete or not at all.

    A file is written as a temporary file beside it and renamed into place only when every line
    is written, so an interrupted or failed run leaves no complete-looking file and any previous
    FILE untouched. A device or a pipe (`-o /dev/null`) is written directly.
    """
    if path == "-":
        if binary:
            yield sys.stdout.buffer
            return
        with click.open_file("-", "w", encoding="utf-8") as stdout:  # UTF-8 whatever the locale
            yield cast("TextIO", stdout)
        return
    mode, encoding = ("wb", None) if binary else ("w", "utf-8")
    target = Path(os.path.realpath(path))  # through a symbolic link, not over it
    existing = target.stat() if target.exists() else None
    if existing is not None and (stat.S_ISCHR(existing.st_mode)
                                 or stat.S_ISFIFO(existing.st_mode)):
        try:
            stream = open(target, mode, encoding=encoding)  # noqa: SIM115 (closed below)
        except OSError as error:
            raise OutputUnwritable(f"cannot write {path}: {error.strerror or error}") from None
        with stream:
            yield stream
        return
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                             suffix=".partial")
    except OSError as error:
        raise OutputUnwritable(f"cannot write {path}: {error.strerror or error}") from None
    try:
        os.fchmod(handle, stat.S_IMODE(existing.st_mode) if existing else _new_file_mode())
        with os.fdopen(handle, mode, encoding=encoding) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())  # on disk before it takes FILE's name
        os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise OutputUnwritable(f"cannot write {path}: {error.strerror or error}") from None
        raise


def _new_file_mode() -> int:
    """The mode `open()` would give a new file: 0o666 less the umask (mkstemp's is 0o600)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


RENDER_FORMATS = {".html": "html", ".htm": "html", ".xlsx": "xlsx", ".md": "md",
                  ".markdown": "md"}


@cli.command()
@click.option("--pack", "pack_name", required=True, help="Pack name, e.g. suzhou/inpatient-2023.")
@click.option("--year", type=int, help="Assessment year, to pick a version by its period.")
@click.option("--format", "fmt", type=click.Choice(["html", "xlsx", "md"]),
              help="Output format (default: from the -o file's extension; md on stdout).")
@click.option("-o", "--output", default="-", show_default=True,
              help="Write the table to this file (- for standard output; xlsx needs a file).")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              show_default=True, help="Project directory holding regions/ and plugins/.")
@packs_option
def render(pack_name: str, year: int | None, fmt: str | None, output: str, root: Path,
           packs_dir: Path | None) -> None:
    """Publish a standard as its table (序号, 评价项目, 设定分值, 评价内容, 评分办法, 指标依据,
    操作方法, and 计分规则 written from the rules themselves; categories; 备注)."""
    from .compiler import pipeline
    from .compiler import render as tables

    to_stdout = output == "-"
    if fmt is None:
        fmt = "md" if to_stdout else RENDER_FORMATS.get(Path(output).suffix.lower())
        if fmt is None:
            raise click.UsageError(f"cannot tell the format from {output!r}; give --format "
                                   "html, xlsx or md")
    if fmt == "xlsx" and to_stdout:
        raise click.UsageError("xlsx is written to a file: give -o FILE.xlsx")
    try:
        name, not_indexed = find_pack(read_index(packs_dir), pack_name, year).name, None
    except PackNotFound as error:  # not built yet? a rule file may still name it exactly
        name, not_indexed = pack_name, error
    try:
        standard, findings = pipeline.standard_for(root, name)
    except pipeline.UnknownPack as error:
        raise not_indexed or PackNotFound(f"{error}; run `policyc build` if the index is "
                                          "stale") from None
    if standard is None:
        for diagnostic, text in findings:
            click.echo(diagnostic.render(text), err=True)
        errors = sum(1 for d, _ in findings if d.severity == "error")
        click.echo(f"policyc: {errors} error(s) in rule files; nothing was rendered", err=True)
        sys.exit(EXIT_RULE_ERRORS)
    table = tables.table(standard)
    if fmt == "xlsx":
        try:
            from .publish.xlsx import render_xlsx
        except ImportError as missing:
            raise click.UsageError(f"xlsx needs openpyxl ({missing}); install the render "
                                   "extra: pip install 'policy-dsl[render]'") from None
        try:
            Path(output).write_bytes(render_xlsx(table))
        except OSError as error:
            raise OutputUnwritable(f"cannot write {output}: {error.strerror or error}") from None
    else:
        from .publish.html import render_html
        from .publish.markdown import render_md

        with _results_to(output) as stream:
            stream.write(render_html(table) if fmt == "html" else render_md(table))
    if not to_stdout:
        click.echo(f"{table.pack}: {len(table.rows)} items in {len(table.sections)} "
                   f"categories -> {output}", err=True)


def _report_lines(pack: Pack, path: str, label: str) -> list[ReportLine]:
    """The result lines of `path`: a results file as `policyc score` writes it (checked
    against `pack`: another pack's results are a usage error), or an input file, scored."""
    from .publish.report import (
        BadResults,
        ForeignResults,
        looks_like_results,
        parse_result_lines,
        result_lines_of,
    )

    name = "<stdin>" if path == "-" else path
    try:
        data = _read_input(path)
        text = data.decode("utf-8-sig", errors="replace")
        if looks_like_results(text):
            return parse_result_lines(text.splitlines(), pack)
        records = _read_institutions(path, pack, "auto", None, None, data)
        return result_lines_of((outcome_json(outcome) for outcome in
                                iter_outcomes(pack, records, explain=False)), pack)
    except ForeignResults as error:
        click.echo(f"policyc report: {label} {name}: {error}", err=True)
        sys.exit(EXIT_USAGE)
    except (InputUnreadable, BadResults) as error:
        click.echo(f"policyc report: {label} {name}: {error}", err=True)
        sys.exit(EXIT_INPUT_ERRORS)


@cli.command("report")
@click.option("--pack", "pack_name", required=True,
              help="Pack name, e.g. jilin/medical-inpatient-2026.")
@click.option("--year", type=int, help="Assessment year: picks the version and heads the report.")
@click.option("-o", "--output", required=True, help="The report file (.html or .xlsx).")
@click.option("--format", "fmt", type=click.Choice(["html", "xlsx"]),
              help="Output format (default: from the -o file's extension).")
@click.option("--previous", "previous_path", help="Last year's results (JSON Lines of "
              "policyc score, or its input file), for the grade transitions.")
@click.option("--previous-pack", help="The pack that made --previous (default: --pack).")
@click.option("--agency", help="The agency's name, as the report heads it.")
@packs_option
@click.argument("input_path", metavar="RESULTS|FILE", type=click.Path(allow_dash=True))
def report_command(pack_name: str, year: int | None, output: str, fmt: str | None,
                   previous_path: str | None, previous_pack: str | None, agency: str | None,
                   packs_dir: Path | None, input_path: str) -> None:
    """The annual report of a year's results: counts, grades, the score histogram, items,
    refunds, renewals, likely disputes, the list to publicise, and with --previous the grade
    transitions. Every figure is computed from the result lines (RESULTS, or FILE scored)."""
    try:
        from .publish.report import compute_report
        from .publish.report_html import render_report_html
        from .publish.report_xlsx import render_report_xlsx
    except ImportError as missing:
        raise click.UsageError(f"the report needs matplotlib and openpyxl ({missing}); "
                               "install the report extra: pip install "
                               "'policy-dsl[report]'") from None
    from .publish.charts import NoCJKFont

    chosen = fmt or {".html": "html", ".htm": "html", ".xlsx": "xlsx"}.get(
        Path(output).suffix.lower())
    if chosen is None:
        raise click.UsageError(f"cannot tell the format from {output!r}; give --format html "
                               "or xlsx")
    pack = load_pack(pack_name, year, packs_dir)
    lines = _report_lines(pack, input_path, "results")
    previous = None
    if previous_path is not None:
        last_pack = pack if previous_pack is None else load_pack(previous_pack, None, packs_dir)
        previous = _report_lines(last_pack, previous_path, "--previous")
    report = compute_report(pack, lines, previous)
    try:
        if chosen == "xlsx":
            data = render_report_xlsx(report)
            with _results_to(output, binary=True) as binary:
                binary.write(data)
        else:
            page = render_report_html(report, agency, year)
            with _results_to(output) as stream:
                stream.write(page)
    except NoCJKFont as error:
        click.echo(f"policyc report: {error}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"{pack.INFO.name}: report of {report.records} result(s) ({report.errors} "
               f"with errors) -> {output}", err=True)


def _year_of(value: object) -> int | None:
    """A record's assessment_year as a notice heads it (2026 or "2026"); else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 9998:
        return value
    if isinstance(value, str) and len(value) == 4 and value.isascii() and value.isdigit():
        return int(value)
    return None


@cli.command("notice")
@click.option("--pack", "pack_name", required=True,
              help="Pack name, e.g. jilin/medical-inpatient-2026.")
@click.option("--year", type=int, help="Assessment year (default: each record's "
              "assessment_year, if it has one); also picks the pack's version.")
@click.option("--id", "ids", multiple=True, help="Only this institution (repeatable).")
@click.option("-o", "--output", "output_dir", required=True,
              type=click.Path(path_type=Path, file_okay=False),
              help="Directory for the notices (made if missing): one file per institution.")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html",
              show_default=True, help="pdf prints the same HTML in headless Chromium.")
@click.option("--agency", help="The agency's name (default: a marked blank to fill).")
@packs_option
@click.argument("input_path", metavar="INPUT_FILE", type=click.Path(allow_dash=True))
def notice_command(pack_name: str, year: int | None, ids: tuple[str, ...], output_dir: Path,
                   fmt: str, agency: str | None, packs_dir: Path | None,
                   input_path: str) -> None:
    """One result notice (考核结果告知书) per institution of INPUT_FILE, in Chinese, from its
    explanation: every item's points with each deduction and award, its reason, values and
    clause; the rescaling; under a framework the grade, adjustments, refund, renewal and
    publicity; the pack's SHA-256. An institution with an input error gets none (exit 3)."""
    from .publish.notice import file_name, render_notice_html
    from .publish.pdf import NoPrinter, browser, print_pdf
    from .runtime.explain import NotExplained, explain_outcome

    pack = load_pack(pack_name, year, packs_dir)
    name, _data, records = _read_input_file(input_path, pack, "auto", None, None)
    wanted = set(ids)
    unknown = sorted(wanted - {str(record.id) for record in records})
    if unknown:
        click.echo(f"policyc notice: no institution with id {', '.join(map(repr, unknown))} in "
                   f"{name}", err=True)
        sys.exit(EXIT_INPUT_ERRORS)
    printer = browser() if fmt == "pdf" else None
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputUnwritable(f"cannot write {output_dir}: {error.strerror or error}") from None
    taken: set[str] = set()
    written = 0
    failed: list[str] = []
    for position, outcome in enumerate(iter_outcomes(pack, records, explain=True), start=1):
        if wanted and str(outcome.record.id) not in wanted:
            continue
        try:
            explanation = explain_outcome(pack, outcome)
        except NotExplained as error:
            failed.append(str(error))
            continue
        raw_year = outcome.record.raw.get("assessment_year") if outcome.record.raw else None
        shown_year = year if year is not None else _year_of(raw_year)
        page = render_notice_html(pack, explanation, agency, shown_year)
        stem = file_name(outcome.record.id, position, taken)
        if printer is None:
            with _results_to(str(output_dir / f"{stem}.html")) as stream:
                stream.write(page)
        else:
            with tempfile.TemporaryDirectory(prefix="policyc-notice-") as work:
                html = Path(work) / f"{stem}.html"
                html.write_text(page, encoding="utf-8")
                try:
                    print_pdf(html, output_dir / f"{stem}.pdf", printer)
                except NoPrinter as error:
                    click.echo(f"policyc notice: {error}", err=True)
                    sys.exit(EXIT_USAGE)
        written += 1
    click.echo(f"{pack.INFO.name}: {written} notice(s) -> {output_dir}; {len(failed)} "
               "institution(s) with input errors get none", err=True)
    for message in failed:
        click.echo(f"  {message}", err=True)
    if failed:
        sys.exit(EXIT_INPUT_ERRORS)


@cli.command("test")
@click.argument("targets", nargs=-1)
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              show_default=True, help="Project directory holding regions/ and plugins/.")
@click.option("--coverage", "show_coverage", is_flag=True,
              help="Report the rules and branches no case reaches, by rule-file line.")
@click.option("--mutate", is_flag=True,
              help="Change one number or comparison at a time in the rule files and report "
              "each change the cases did not catch.")
@packs_option
def test_cases(targets: tuple[str, ...], root: Path, show_coverage: bool, mutate: bool,
               packs_dir: Path | None) -> None:
    """Run the regression cases of TARGETS (regions or packs; all when none are given)."""
    from .casebook import cases

    files = cases.find_case_files(root, targets)
    if not files:
        click.echo(f"policyc: no case files for {', '.join(targets) or 'any region'}", err=True)
        from .casebook import coverage

        for line in coverage.untested_lines(coverage.without_cases([], packs_dir, targets)):
            click.echo(line, err=True)
        sys.exit(EXIT_USAGE)
    if mutate:
        from .casebook import mutation

        report = mutation.run(root, files, packs_dir, echo=lambda text: click.echo(text))
        sys.exit(EXIT_OK if report.ok else EXIT_CASES_FAILED)
    results, errors = cases.run_files(files, root, packs_dir)
    for error in errors:
        click.echo(f"error: {error}", err=True)
    for result in results:
        if not result.passed:
            click.echo(result.report + "\n")
    failed = sum(1 for r in results if not r.passed)
    click.echo(f"{len(results) - failed} passed, {failed} failed"
               + (f", {len(errors)} case file error(s)" if errors else ""))
    if show_coverage:
        from .casebook import coverage

        click.echo(coverage.report(coverage.measure(results, packs_dir),
                                   coverage.without_cases(results, packs_dir, targets)))
    if errors:
        sys.exit(EXIT_RULE_ERRORS)
    if failed:
        sys.exit(EXIT_CASES_FAILED)


@cli.command("fmt")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--check", is_flag=True,
              help="Do not write: print a diff and exit 1 if a file is not formatted.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              show_default=True, help="Project directory holding regions/ (when no PATHS).")
def fmt(paths: tuple[Path, ...], check: bool, root: Path) -> None:
    """Lay out rule files (PATHS: files or directories; default: every rule file under
    regions/) in the one canonical layout. Comments stay where they are; the rules and the
    packs built from them do not change."""
    from .compiler import formatter
    from .compiler.diagnostics import CompileError
    from .compiler.pipeline import RULE_FILE_SUFFIX, rule_files

    files = [f for p in paths for f in (sorted(p.rglob(f"*{RULE_FILE_SUFFIX}"))
                                        if p.is_dir() else [p])]
    if not paths:
        files = rule_files(root / "regions")
    changed, failed = [], 0
    for path in files:
        try:
            before, after = formatter.format_file(path, str(path))
        except CompileError as error:
            text = path.read_bytes().decode("utf-8", errors="replace")
            for diagnostic in error.diagnostics:
                click.echo(diagnostic.render(text), err=True)
            failed += 1
            continue
        if before == after:
            continue
        changed.append(path)
        if check:
            click.echo(formatter.unified_diff(before, after, str(path)), nl=False)
        else:
            _replace_file(path, after)
            click.echo(f"formatted {path}")
    verb = "would format" if check else "formatted"
    click.echo(f"{len(changed)} file(s) {verb}, {len(files) - len(changed) - failed} "
               f"already formatted" + (f", {failed} with errors (not formatted)" if failed
                                       else ""), err=True)
    if failed or (check and changed):
        sys.exit(EXIT_RULE_ERRORS)


def _replace_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` at once (a new file renamed over it, its mode kept)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(name, mode)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


@cli.command("diff")
@click.argument("before", metavar="A")
@click.argument("after", metavar="B")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--population", "population", type=click.Path(dir_okay=False, allow_dash=True),
              help="Institution records (as `policyc score` reads them) to score under both "
              "versions: how many move, by how much, grades and refunds.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              show_default=True, help="Project directory holding regions/ and plugins/.")
def diff_command(before: str, after: str, fmt: str, population: str | None,
                 root: Path) -> None:
    """What changed from A to B: two packs (suzhou/outpatient-2023, or a city pack beside its
    base) or two rule files (paths ending .policy), item by item, with both values and both
    source lines. Exit 0 whether or not they differ; 1 when a rule file has errors."""
    from .compiler import diff, pipeline

    sides = [_standard_to_compare(name, root) for name in (before, after)]
    standard_a, standard_b = sides[0][1], sides[1][1]
    trees = [diff.in_plugin_files(s.standard, [(p.path, p.text) for p in s.plugins])
             for s in (standard_a, standard_b)]
    changes = diff.compare(diff.Side(trees[0], standard_a.checked),
                           diff.Side(trees[1], standard_b.checked))
    impact_report: dict[str, object] | None = None
    impact_text = ""
    if population is not None:
        from . import impact

        name = "<stdin>" if population == "-" else population
        records = _read_institutions(population, None, "auto", None, None)
        packs = [pipeline.pack_in_memory(standard, source, f"<{label}>")
                 for label, standard, source in sides]
        measured = impact.measure(packs[0], packs[1], records)
        impact_report = impact.report_json(measured, name)
        impact_text = impact.report_text(measured, name)
    described = [_side_described(label, standard) for label, standard, _ in sides]
    if fmt == "json":
        report: dict[str, object] = {"a": described[0], "b": described[1],
                                     "differences": bool(changes),
                                     "changes": [diff.change_json(c) for c in changes]}
        if impact_report is not None:
            report["impact"] = impact_report
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for side, (label, standard, _) in zip("AB", sides, strict=True):
        used = ", ".join(p.path for p in standard.plugins)
        click.echo(f"{side}  {label}  ({standard.standard.path}"
                   f"{'; plugins ' + used if used else ''})")
    click.echo("")
    click.echo(diff.render_text(changes, standard_a.standard, standard_b.standard))
    if impact_text:
        click.echo("\n" + impact_text)


def _standard_to_compare(name: str, root: Path) -> tuple[str, CheckedStandard, str]:
    """A pack name or a rule file, as its checked standard with a label and its rule file's
    text; exits 1 (with the diagnostics) when it has errors, 2 when there is no such thing."""
    from .compiler import pipeline

    try:
        if name.endswith(pipeline.RULE_FILE_SUFFIX):
            path = Path(name)
            if not path.is_file():
                raise click.UsageError(f"no rule file {name}")
            checked, found = pipeline.standard_from_file(root, path)
            text = path.read_bytes().decode("utf-8-sig", errors="replace")
        else:
            checked, found = pipeline.standard_for(root, name)
            text = ""
    except pipeline.UnknownPack as error:
        raise click.UsageError(str(error)) from None
    errors = [(d, t) for d, t in found if d.severity == "error"]
    if checked is None or errors:
        for diagnostic, source in errors:
            click.echo(diagnostic.render(source), err=True)
        click.echo(f"policyc: {len(errors)} error(s) in the rule files of {name}", err=True)
        sys.exit(EXIT_RULE_ERRORS)
    if not text:
        text = (root / checked.standard.path).read_bytes().decode("utf-8-sig",
                                                                   errors="replace")
    from .compiler import codegen

    return codegen.pack_name(checked.standard), checked, text


def _side_described(label: str, standard: CheckedStandard) -> dict[str, object]:
    return {"pack": label, "source": standard.standard.path,
            "plugins": [p.path for p in standard.plugins]}


def main() -> None:
    """Entry point: runs the CLI and turns every failure into a message and an exit code."""
    try:
        cli.main(standalone_mode=False)
        sys.stdout.flush()  # here, where a closed pipe is still caught, not at interpreter exit
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.UsageError as error:  # a bad option, argument or command: one line
        command = error.ctx.command_path if error.ctx else "policyc"
        message = error.format_message().rstrip(".")
        click.echo(f"{command}: {message}; see '{command} --help'", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as error:
        click.echo(f"policyc: {error.format_message()}", err=True)
        sys.exit(EXIT_USAGE)
    except (click.exceptions.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
        click.echo("policyc: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except (PackNotFound, OutputUnwritable) as error:
        click.echo(f"policyc: {error}", err=True)
        sys.exit(EXIT_USAGE)
    except (StandardOutputClosed, BrokenPipeError):
        # The reader went away (`| head`): nothing more to say. Standard output goes to devnull
        # so that flushing it at exit does not complain (as the Python documentation advises).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)
    except SystemExit:
        raise
    except Exception as error:
        if isinstance(error, ModuleNotFoundError) and (missing := missing_requirements()):
            exit_needing_extra(missing)  # a partial install: one of the compiler's libraries
        if os.environ.get("POLICYC_DEBUG"):
            traceback.print_exc()
        click.echo(f"policyc: internal error ({type(error).__name__}: {error}). This is a fault "
                   "in policyc, not in your files; rerun with POLICYC_DEBUG=1 and report the "
                   "traceback.", err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
