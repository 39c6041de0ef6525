"""Exit codes as the README documents them, from the real `policyc` console script.

The slow ones share one generated batch of 20,000 institutions (benchmarks/make_batch.py), big
enough that `policyc score` is still writing when the test interrupts it or closes the pipe.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import GENERATED, ROOT, full_marks_inpatient

POLICYC = Path(sys.executable).with_name("policyc")
PACK = ("--pack", "suzhou/inpatient-2023", "--packs", str(GENERATED))


def policyc(*args: str | Path, cwd: Path = ROOT,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(POLICYC), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, encoding="utf-8", input=stdin, check=False)


@pytest.fixture(scope="module")
def big_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "batch.jsonl"
    with path.open("w", encoding="utf-8") as stream:
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_batch.py"), "20000"],
                       stdout=stream, check=True)
    return path


def test_the_console_script_is_installed() -> None:
    assert POLICYC.is_file(), f"no console script at {POLICYC}; pip install -e '.[dev]'"


@pytest.mark.parametrize("make", ["missing", "directory", "unreadable"])
def test_an_input_file_that_cannot_be_read_is_exit_3(tmp_path: Path, make: str) -> None:
    target = tmp_path / "institutions.jsonl"
    if make == "directory":
        target.mkdir()
    elif make == "unreadable":
        target.symlink_to(target)  # a link to itself: unreadable even for root
    result = policyc("score", *PACK, target)
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith(f"policyc: {target}: cannot read the input file (")
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""


@pytest.mark.parametrize(("args", "words"), [
    (("score", "--pack", "suzhou/inpatient-2023", "--bogus", "-"), "No such option '--bogus'"),
    (("score", "-"), "Missing option '--pack'"),
    (("score", "--pack", "suzhou/nothing-2023", "-"), "no pack named suzhou/nothing-2023"),
    (("score", *PACK, "--format", "xml", "-"), "'xml' is not one of"),
    (("frobnicate",), "No such command 'frobnicate'"),
])
def test_usage_errors_are_exit_2_without_a_traceback(args: tuple[str, ...], words: str) -> None:
    result = policyc(*args, stdin=json.dumps(full_marks_inpatient()))
    assert result.returncode == 2, result.stderr
    assert words in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stdout == ""


def test_an_output_file_that_cannot_be_written_is_exit_2(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(full_marks_inpatient()), encoding="utf-8")
    result = policyc("score", *PACK, source, "-o", tmp_path / "no-such-dir" / "out.jsonl")
    assert result.returncode == 2
    assert result.stderr == f"policyc: cannot write {tmp_path}/no-such-dir/out.jsonl: No such " \
        "file or directory\n"


def test_output_file_replaces_the_old_one_only_when_complete(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(full_marks_inpatient(id="A")) + "\n{oops\n", encoding="utf-8")
    target = tmp_path / "out" / "results.jsonl"
    target.parent.mkdir()
    target.write_text("old results\n", encoding="utf-8")
    result = policyc("score", *PACK, source, "-o", target)
    assert result.returncode == 3  # one record in error; the file is still complete
    written = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in written] == ["A", None] and written[0]["total"] == "100.00"
    assert [p.name for p in target.parent.iterdir()] == ["results.jsonl"]


def test_output_file_modes_and_devices(tmp_path: Path) -> None:
    """A new file gets the mode any new file gets (not the temporary file's 0600); a file
    written over keeps its mode; a device (`-o /dev/null`, as in benchmarks/) is written as is."""
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(full_marks_inpatient()), encoding="utf-8")
    umask = os.umask(0o022)
    os.umask(umask)
    assert policyc("score", *PACK, source, "-o", tmp_path / "new.jsonl").returncode == 0
    assert stat.S_IMODE((tmp_path / "new.jsonl").stat().st_mode) == 0o666 & ~umask
    kept = tmp_path / "kept.jsonl"
    kept.write_text("", encoding="utf-8")
    kept.chmod(0o640)
    assert policyc("score", *PACK, source, "-o", kept).returncode == 0
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text(encoding="utf-8")
    assert policyc("score", *PACK, source, "-o", os.devnull).returncode == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_closed_pipe_is_quiet_and_exit_141(big_batch: Path) -> None:
    """`policyc score ... | head -1`: the reader takes one line and goes away."""
    process = subprocess.Popen([str(POLICYC), "score", *PACK, str(big_batch)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    first = json.loads(process.stdout.readline())
    assert first["id"] == "B0000000"
    process.stdout.close()
    errors = process.stderr.read()
    assert process.wait(timeout=120) == 141
    assert errors == b""


def test_ctrl_c_is_exit_130_and_leaves_the_old_output_file(big_batch: Path,
                                                          tmp_path: Path) -> None:
    target = tmp_path / "results.jsonl"
    target.write_text("last year's results\n", encoding="utf-8")
    process = subprocess.Popen([str(POLICYC), "score", *PACK, str(big_batch), "-o", str(target)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(p.stat().st_size for p in tmp_path.iterdir() if p != target):
        assert process.poll() is None, "policyc ended before the test could interrupt it"
        assert time.monotonic() < deadline, "no output after 120 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)  # results are being written: about the first hundred
    out, errors = process.communicate(timeout=60)
    assert process.returncode == 130, errors
    assert errors.strip() == "policyc: interrupted"
    assert out == ""
    assert target.read_text(encoding="utf-8") == "last year's results\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.jsonl"]  # no temporary file left


def test_ctrl_c_without_an_old_output_file_leaves_none(big_batch: Path, tmp_path: Path) -> None:
    target = tmp_path / "results.jsonl"
    process = subprocess.Popen([str(POLICYC), "score", *PACK, str(big_batch), "-o", str(target)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(p.stat().st_size for p in tmp_path.iterdir()):
        assert process.poll() is None, "policyc ended before the test could interrupt it"
        assert time.monotonic() < deadline, "no output after 120 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 130, errors
    assert list(tmp_path.iterdir()) == []
