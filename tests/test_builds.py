"""Builds that cannot half-happen: generated/ holds the old set or the new set of packs and
manifest, whatever step of the write fails or is killed, and two builds take turns."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_compiler import MINIMAL

from policy_dsl.compiler import pipeline
from policy_dsl.runtime.packs import Pack, directory_catalogue, verify_catalogue

OPERATIONS = ("_write", "_keep", "_rename", "_exchange", "_remove_tree", "_sync_directory")


def project(root: Path, files: dict[str, str]) -> dict[str, str]:
    """A project with these rule files; the files a build of it writes into generated/."""
    for name, text in files.items():
        path = root / "regions" / "example" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    result = pipeline.build(root)
    assert result.ok, [d.render() for d, _ in result.diagnostics]
    return result.files


@pytest.fixture(scope="module")
def two_sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, str]]:
    """Old: two packs. New: one of them changed, the other gone (its module is stale)."""
    old = project(tmp_path_factory.mktemp("old"), {
        "demo.policy": MINIMAL,
        "other.policy": MINIMAL.replace("standard demo", "standard other")})
    new = project(tmp_path_factory.mktemp("new"), {
        "demo.policy": MINIMAL.replace('"基础分"', '"基础分（新）"')})
    assert set(old) == {"example_demo_2024.py", "example_other_2024.py", "index.json"}
    assert set(new) == {"example_demo_2024.py", "index.json"}
    return old, new


def which_set(out: Path, old: dict[str, str], new: dict[str, str]) -> str:
    """'old' or 'new', after checking that generated/ is exactly that set and verifies."""
    index = (out / "index.json").read_text(encoding="utf-8")
    found = {name for name in os.listdir(out)} - {"README"}
    for label, files in (("old", old), ("new", new)):
        if index == files["index.json"]:
            assert found == set(files), (label, found)
            assert all((out / n).read_text(encoding="utf-8") == c for n, c in files.items())
            results = verify_catalogue(directory_catalogue(out))
            assert all(isinstance(result, Pack) for _, result in results), results
            return label
    raise AssertionError(f"generated/ holds neither set: {index[:200]}")


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob(".generated.*") if p.name != ".generated.lock")


def fail_at(step: int, fail: Callable[[], None]) -> list[int]:
    """Make the file-system step number `step` (0-based, over all operations) fail."""
    calls = [0]
    for name in OPERATIONS:
        original = getattr(pipeline, name)

        def wrapper(*args: Any, original: Any = original) -> Any:
            if calls[0] == step:
                fail()
            calls[0] += 1
            return original(*args)

        setattr(pipeline, name, wrapper)
    return calls


def count_steps(base: Path, new: dict[str, str]) -> int:
    root = base.parent / "count"
    shutil.copytree(base, root)
    saved = {name: getattr(pipeline, name) for name in OPERATIONS}
    try:
        calls = fail_at(-1, lambda: None)
        pipeline.write_files(new, root / "generated")
    finally:
        for name, original in saved.items():
            setattr(pipeline, name, original)
    shutil.rmtree(root)
    return calls[0]


class InjectedFault(OSError):
    pass


def raise_fault() -> None:
    raise InjectedFault("injected")


def kill() -> None:
    os._exit(9)  # no finally blocks, no cleanup: as if the process were killed


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
@pytest.mark.parametrize("how", ["raise", "kill"])
def test_a_build_failing_at_any_step_leaves_the_old_or_the_new_set(
        tmp_path: Path, two_sets: tuple[dict[str, str], dict[str, str]], how: str,
        exchange: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = two_sets
    if not exchange:  # a system without renameat2: the documented two-step fallback
        monkeypatch.setattr(pipeline, "_exchange", lambda first, second: False)
    base = tmp_path / "base"
    pipeline.write_files(old, base / "generated")
    (base / "generated" / "README").write_text("kept\n", encoding="utf-8")  # not generated
    steps = count_steps(base, new)
    # 2 writes, 1 link (README), sync, then the exchange, sync, removal of the old set; or
    # the exchange refused, 2 renames, removal of the old set, sync, removal of nothing
    assert steps == (7 if exchange else 10)
    seen = set()
    for step in range(steps):
        root = tmp_path / f"step{step}"
        shutil.copytree(base, root)
        out = root / "generated"
        if how == "raise":
            saved = {name: getattr(pipeline, name) for name in OPERATIONS}
            fail_at(step, raise_fault)
            try:
                with pytest.raises(InjectedFault):
                    pipeline.write_files(new, out)
            finally:
                for name, original in saved.items():
                    setattr(pipeline, name, original)
        else:
            child = os.fork()
            if child == 0:  # pragma: no cover (the child process)
                fail_at(step, kill)
                pipeline.write_files(new, out)
                os._exit(0)
            _, status = os.waitpid(child, 0)
            assert os.waitstatus_to_exitcode(status) == 9, step
        if not exchange and not out.exists():
            # stopped between the two renames: nothing mixed is visible, and the next build
            # (here its first step alone) puts the old set back
            assert leftovers(root) != []
            with pipeline.build_lock(out, exclusive=True):
                pipeline._recover(out)
        seen.add(which_set(out, old, new))
        assert pipeline.write_files(new, out) in ([], ["example_demo_2024.py",
                                                       "example_other_2024.py", "index.json"])
        assert which_set(out, old, new) == "new"
        assert (out / "README").read_text(encoding="utf-8") == "kept\n"
        assert leftovers(root) == []
        shutil.rmtree(root)
    assert seen == {"old", "new"}  # both outcomes happen: the swap is the dividing step


def test_a_build_with_nothing_changed_touches_nothing(
        tmp_path: Path, two_sets: tuple[dict[str, str], dict[str, str]]) -> None:
    old, new = two_sets
    out = tmp_path / "generated"
    assert pipeline.write_files(old, out) == sorted(old)
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir()}
    directory = out.stat().st_ino
    assert pipeline.write_files(old, out) == []
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir()} == before
    assert out.stat().st_ino == directory
    (out / "README").write_text("not generated; kept\n", encoding="utf-8")
    assert pipeline.write_files(new, out) == sorted(old)  # demo changed, other stale, index
    assert (out / "README").read_text(encoding="utf-8") == "not generated; kept\n"
    assert leftovers(tmp_path) == []


def test_two_builds_at_once_take_turns(
        tmp_path: Path, two_sets: tuple[dict[str, str], dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = two_sets
    out = tmp_path / "generated"
    inside = [0]
    most = [0]
    stage = pipeline._stage

    def slow_stage(*args: Any) -> None:
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.01)  # widen the window another build would need
        stage(*args)
        inside[0] -= 1

    monkeypatch.setattr(pipeline, "_stage", slow_stage)
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def builds(first: dict[str, str], second: dict[str, str]) -> None:
        try:
            barrier.wait()
            for _ in range(6):
                pipeline.write_files(first, out)
                pipeline.write_files(second, out)
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=builds, args=(old, new)),
               threading.Thread(target=builds, args=(new, old))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert most[0] == 1
    assert which_set(out, old, new) in {"old", "new"}
    assert leftovers(tmp_path) == []


def test_two_policyc_build_processes_in_one_tree(tmp_path: Path) -> None:
    (tmp_path / "regions" / "example").mkdir(parents=True)
    (tmp_path / "regions" / "example" / "demo.policy").write_text(MINIMAL, encoding="utf-8")
    command = [sys.executable, "-m", "policy_dsl.cli", "build", "--root", str(tmp_path)]
    running = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in running]
    assert [process.returncode for process in running] == [0, 0], outputs
    assert sorted(out.splitlines()[-1] for out, _ in outputs) == [
        "2 file(s) changed", "generated/ was up to date"]
    results = verify_catalogue(directory_catalogue(tmp_path / "generated"))
    assert [type(result) for _, result in results] == [Pack]
