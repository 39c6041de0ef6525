"""Packs as an auditor relies on them: the manifest, verified loading, provenance in every
result line, thread-safe loading, and bundles."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from helpers import GENERATED, ROOT, full_marks_inpatient

from policy_dsl import __version__
from policy_dsl.bundles import make_bundle
from policy_dsl.runtime import InputRecord, PackNotFound, PackRefused, outcome_json, score_batch
from policy_dsl.runtime.packs import (
    ENTRY_POINT_GROUP,
    Pack,
    load_pack,
    runtime_range,
    version_satisfies,
)

SAMPLE = ROOT / "examples" / "suzhou-inpatient.jsonl"
INPATIENT = "suzhou/inpatient-2023"


def policyc(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy_dsl.cli", *args], cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", check=False)


def manifest(packs: Path = GENERATED) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((packs / "index.json").read_text(encoding="utf-8"))
    return data


def entry_of(data: dict[str, Any], name: str) -> dict[str, Any]:
    [entry] = [p for p in data["packs"] if p["name"] == name]
    return entry


def copy_packs(tmp_path: Path) -> Path:
    target = tmp_path / "generated"
    shutil.copytree(GENERATED, target)
    return target


def rewrite_manifest(packs: Path, change: Any) -> None:
    data = manifest(packs)
    change(data)
    (packs / "index.json").write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n",
                                      encoding="utf-8")


def sample_lines(pack: Pack) -> list[dict[str, object]]:
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    inputs = [InputRecord(i + 1, r.get("id"), r) for i, r in enumerate(records)]
    return [outcome_json(o) for o in score_batch(pack, inputs)]


# ---------------------------------------------------------------- the manifest

def test_manifest_names_every_pack_with_the_hashes_of_its_files() -> None:
    data = manifest()
    assert data["manifest_version"] == 1
    assert len(data["packs"]) == len(list(GENERATED.glob("*.py")))
    for entry in data["packs"]:
        pack_file = GENERATED / entry["module_file"]
        assert entry["pack_sha256"] == hashlib.sha256(pack_file.read_bytes()).hexdigest()
        for source in entry["sources"]:  # the rule file, its framework, its plugins
            digest = hashlib.sha256((ROOT / source["path"]).read_bytes()).hexdigest()
            assert source["sha256"] == digest, source["path"]
        assert entry["compiler_version"] == __version__
        assert entry["runtime_requires"] == runtime_range(__version__) == ">=0.2,<0.3"
    changchun = entry_of(data, "jilin/changchun-medical-inpatient-2026")
    assert [(s["role"], s["path"]) for s in changchun["sources"]] == [
        ("rule file", "regions/jilin/model-medical-inpatient-2026.policy"),
        ("framework", "regions/jilin/framework-2025.policy"),
        ("plugin", "plugins/changchun_example.py")]
    assert [s["role"] for s in entry_of(data, INPATIENT)["sources"]] == ["rule file"]


@pytest.mark.parametrize(("version", "requires", "ok"), [
    ("0.1.0", ">=0.1,<0.2", True), ("0.1.9", ">=0.1,<0.2", True),
    ("0.2.0", ">=0.1,<0.2", False), ("0.0.9", ">=0.1,<0.2", False),
    ("1.4.2", ">=1.4,<2", True), ("2.0", ">=1.4,<2", False),
    ("0.1.0", "~=0.1", False),  # a requirement the runtime cannot read is not met
])
def test_runtime_version_ranges(version: str, requires: str, ok: bool) -> None:
    assert version_satisfies(version, requires) is ok


def test_runtime_range_follows_the_compiler_version() -> None:
    assert runtime_range("0.1.0") == ">=0.1,<0.2"
    assert runtime_range("0.7.3") == ">=0.7,<0.8"
    assert runtime_range("2.3.1") == ">=2.3,<3"


# ---------------------------------------------------------------- verified loading

def test_a_pack_edited_after_the_build_is_refused(tmp_path: Path) -> None:
    """The issue's case: the 三级 threshold changed from 80% to 50% by hand."""
    packs = copy_packs(tmp_path)
    pack_file = packs / "suzhou_inpatient_2023.py"
    text = pack_file.read_text(encoding="utf-8")
    assert "{'tertiary': _D80," in text
    pack_file.write_text(text.replace("{'tertiary': _D80,", "{'tertiary': _D50,"),
                         encoding="utf-8")
    expected = entry_of(manifest(packs), INPATIENT)["pack_sha256"]
    actual = hashlib.sha256(pack_file.read_bytes()).hexdigest()
    with pytest.raises(PackRefused) as refused:
        load_pack(INPATIENT, packs_dir=packs)
    assert str(refused.value) == (
        f"pack {INPATIENT}: {packs}/suzhou_inpatient_2023.py has SHA-256 {actual} but the "
        f"manifest says {expected}; rebuild with `policyc build` or restore the file")
    assert load_pack("suzhou/outpatient-2023", packs_dir=packs).NAME == "suzhou/outpatient-2023"

    scored = policyc("score", "--pack", INPATIENT, "--packs", str(packs), str(SAMPLE))
    assert scored.returncode == 2 and scored.stdout == ""
    assert f"has SHA-256 {actual} but the manifest says {expected}" in scored.stderr

    verified = policyc("verify", "--packs", str(packs))
    assert verified.returncode == 2
    lines = verified.stdout.splitlines()
    assert len(lines) == 7
    assert [line for line in lines if not line.startswith("ok ")] == [
        f"REFUSED {INPATIENT}: {packs}/suzhou_inpatient_2023.py has SHA-256 {actual} but the "
        f"manifest says {expected}; rebuild with `policyc build` or restore the file"]
    assert "1 of 7 pack(s) refused" in verified.stderr


def test_verify_passes_on_the_committed_packs() -> None:
    result = policyc("verify")
    assert result.returncode == 0, result.stdout + result.stderr
    data = manifest()
    expected = sorted(
        f"ok {e['name']} sha256 {e['pack_sha256']} source {e['sources'][0]['path']}"
        for e in data["packs"])
    assert sorted(result.stdout.splitlines()) == expected


def test_a_pack_needing_another_runtime_is_refused(tmp_path: Path) -> None:
    packs = copy_packs(tmp_path)
    rewrite_manifest(packs, lambda data: entry_of(data, INPATIENT).update(
        runtime_requires=">=0.3,<0.4"))
    with pytest.raises(PackRefused, match=r"needs the policy_dsl runtime >=0\.3,<0\.4 \(built "
                       r"by policyc 0\.2\.0\), but this runtime is 0\.2\.0"):
        load_pack(INPATIENT, packs_dir=packs)


def test_a_swapped_manifest_entry_does_not_score_one_standard_with_another(
        tmp_path: Path) -> None:
    """The entry for 附件1 points at 附件2's module, with 附件2's true hash: the bytes are a
    genuine pack, but not the one asked for."""
    packs = copy_packs(tmp_path)

    def swap(data: dict[str, Any]) -> None:
        outpatient = entry_of(data, "suzhou/outpatient-2023")
        entry_of(data, INPATIENT).update(module=outpatient["module"],
                                         module_file=outpatient["module_file"],
                                         pack_sha256=outpatient["pack_sha256"])

    rewrite_manifest(packs, swap)
    with pytest.raises(PackRefused) as refused:
        load_pack(INPATIENT, packs_dir=packs)
    message = str(refused.value)
    assert f"{packs}/suzhou_outpatient_2023.py is not that pack" in message
    assert "its NAME is 'suzhou/outpatient-2023', the manifest says 'suzhou/inpatient-2023'" \
        in message
    assert "its standard is 'outpatient', the manifest says 'inpatient'" in message


def test_a_missing_pack_file_and_an_old_index_are_refused(tmp_path: Path) -> None:
    packs = copy_packs(tmp_path)
    (packs / "suzhou_inpatient_2023.py").unlink()
    with pytest.raises(PackRefused, match=r"suzhou_inpatient_2023\.py is missing"):
        load_pack(INPATIENT, packs_dir=packs)
    rewrite_manifest(packs, lambda data: data.pop("manifest_version"))
    with pytest.raises(PackRefused, match="has manifest_version None; this runtime reads "
                                          "version 1"):
        load_pack("suzhou/outpatient-2023", packs_dir=packs)


def test_a_manifest_naming_a_pack_twice_or_a_directory_is_refused(tmp_path: Path) -> None:
    packs = copy_packs(tmp_path)
    (packs / "a_directory.py").mkdir()
    rewrite_manifest(packs, lambda data: entry_of(data, INPATIENT).update(
        module_file="a_directory.py"))
    with pytest.raises(PackRefused, match=r"a_directory\.py cannot be read"):
        load_pack(INPATIENT, packs_dir=packs)
    rewrite_manifest(packs, lambda data: data["packs"].append(data["packs"][0]))
    with pytest.raises(PackRefused, match="lists jilin/changchun-medical-inpatient-2026 more "
                                          "than once"):
        load_pack(INPATIENT, packs_dir=packs)


def test_a_manifest_cannot_name_a_file_outside_its_directory(tmp_path: Path) -> None:
    packs = copy_packs(tmp_path)
    rewrite_manifest(packs, lambda data: entry_of(data, INPATIENT).update(
        module_file="../elsewhere.py"))
    with pytest.raises(PackRefused, match="not a plain file name"):
        load_pack(INPATIENT, packs_dir=packs)


def test_without_a_directory_the_installed_bundles_are_searched_and_named() -> None:
    """This environment has no bundle installed (the fresh-venv test installs one)."""
    with pytest.raises(PackNotFound) as missing:
        load_pack(INPATIENT)
    assert f"no installed bundle registers packs (entry point group " \
           f"{ENTRY_POINT_GROUP})" in str(missing.value)


# ---------------------------------------------------------------- provenance

def test_every_result_line_names_its_pack_and_hash() -> None:
    pack = load_pack(INPATIENT, packs_dir=GENERATED)
    expected = entry_of(manifest(), INPATIENT)["pack_sha256"]
    assert pack.provenance.fields() == {"pack": INPATIENT, "pack_sha256": expected}
    records = [InputRecord(1, "ok", full_marks_inpatient(id="ok")),
               InputRecord(2, "bad", {"id": "bad"}), InputRecord(3, None, None, "unreadable")]
    lines = [outcome_json(o) for o in score_batch(pack, records)]
    assert [line["error"] is None for line in lines] == [True, False, False]
    assert all((line["pack"], line["pack_sha256"]) == (INPATIENT, expected) for line in lines)


def test_framework_lines_carry_provenance_after_the_settlement() -> None:
    pack = load_pack("jilin/medical-inpatient-2026", packs_dir=GENERATED)
    line = outcome_json(score_batch(pack, [InputRecord(1, "x", {"id": "x"})])[0])
    assert list(line)[-2:] == ["pack", "pack_sha256"]
    assert line["pack_sha256"] == pack.sha256 == \
        entry_of(manifest(), "jilin/medical-inpatient-2026")["pack_sha256"]


# ---------------------------------------------------------------- loading from threads

def test_sixteen_threads_loading_one_pack_at_once_all_get_it(tmp_path: Path) -> None:
    """A pack never loaded in this process (a comment added, the manifest updated): 16
    threads start loading it at the same moment; all get the same complete module."""
    packs = copy_packs(tmp_path)
    pack_file = packs / "suzhou_inpatient_2023.py"
    pack_file.write_text(pack_file.read_text(encoding="utf-8") + f"# {tmp_path}\n",
                         encoding="utf-8")
    digest = hashlib.sha256(pack_file.read_bytes()).hexdigest()
    rewrite_manifest(packs, lambda data: entry_of(data, INPATIENT).update(pack_sha256=digest))
    barrier = threading.Barrier(16)
    loaded: list[Pack] = []
    failures: list[BaseException] = []
    totals: list[object] = []

    def load() -> None:
        try:
            barrier.wait()
            pack = load_pack(INPATIENT, packs_dir=packs)
            loaded.append(pack)
            totals.append(outcome_json(score_batch(pack, [InputRecord(
                1, "H", full_marks_inpatient(price_violations=1))])[0])["total"])
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=load) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(loaded) == 16
    assert len({id(pack.module) for pack in loaded}) == 1
    assert {pack.sha256 for pack in loaded} == {digest}
    assert totals == ["99.00"] * 16  # item 2: 3 − 1 price violation = 2; 99 of 100


# ---------------------------------------------------------------- bundles

@pytest.fixture(scope="module")
def bundle_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = make_bundle(GENERATED, ROOT)
    path = tmp_path_factory.mktemp("bundle") / made.file_name
    path.write_bytes(made.data)
    return path


def test_bundles_are_byte_identical_and_named_by_content(bundle_file: Path) -> None:
    again = make_bundle(GENERATED, ROOT)
    assert again.data == bundle_file.read_bytes()
    digest = hashlib.sha256((GENERATED / "index.json").read_bytes()).hexdigest()
    assert again.file_name == f"policy_dsl_packs-0+{digest[:12]}-py3-none-any.whl"
    with zipfile.ZipFile(bundle_file) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert archive.read(info).decode() == \
            "[policy_dsl.packs]\npolicy_dsl_packs = policy_dsl_packs\n"
    assert "policy_dsl_packs/index.json" in names
    assert "policy_dsl_packs/suzhou_inpatient_2023.py" in names
    assert "policy_dsl_packs/sources/regions/suzhou/inpatient-2023.policy" in names
    assert "policy_dsl_packs/sources/plugins/kunshan_example.py" in names


def test_a_bundle_loaded_in_place_scores_like_generated(bundle_file: Path) -> None:
    from_bundle = load_pack(INPATIENT, packs_dir=bundle_file)
    from_directory = load_pack(INPATIENT, packs_dir=GENERATED)
    assert from_bundle.origin == f"{bundle_file}!policy_dsl_packs/suzhou_inpatient_2023.py"
    assert sample_lines(from_bundle) == sample_lines(from_directory)
    assert len(sample_lines(from_bundle)) == 4


def test_a_bundle_changed_after_it_was_made_is_refused(bundle_file: Path,
                                                       tmp_path: Path) -> None:
    member = "policy_dsl_packs/suzhou_inpatient_2023.py"
    with zipfile.ZipFile(bundle_file) as archive:
        files = {info.filename: archive.read(info) for info in archive.infolist()}
    edited = files[member].replace(b"{'tertiary': _D80,", b"{'tertiary': _D50,")
    assert edited != files[member]

    def write(name: str, changes: dict[str, bytes]) -> Path:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as archive:
            for member_name, data in {**files, **changes}.items():
                archive.writestr(member_name, data)
        return path

    plain = write("plain.whl", {member: edited})
    with pytest.raises(PackRefused, match=f"{member} does not match the hash in its RECORD"):
        load_pack(INPATIENT, packs_dir=plain)
    # the RECORD rewritten to match as well: the manifest's hash still refuses the pack
    record_name = next(n for n in files if n.endswith("/RECORD"))
    import base64
    new_hash = base64.urlsafe_b64encode(hashlib.sha256(edited).digest()).rstrip(b"=")
    rows = [row if not row.startswith(member + ",") else
            f"{member},sha256={new_hash.decode()},{len(edited)}"
            for row in files[record_name].decode().splitlines()]
    careful = write("careful.whl", {member: edited,
                                    record_name: ("\n".join(rows) + "\n").encode()})
    with pytest.raises(PackRefused, match="but the manifest says"):
        load_pack(INPATIENT, packs_dir=careful)
    assert load_pack("suzhou/outpatient-2023", packs_dir=careful).NAME == \
        "suzhou/outpatient-2023"
    extra = write("extra.whl", {"policy_dsl_packs/surprise.py": b"print(1)\n"})
    with pytest.raises(PackRefused, match="holds files its RECORD does not list"):
        load_pack(INPATIENT, packs_dir=extra)


def test_policyc_bundle_and_verify_a_bundle(tmp_path: Path) -> None:
    made = policyc("bundle", "-o", str(tmp_path / "dist"))  # a directory, made if need be
    assert made.returncode == 0, made.stderr
    [wheel] = (tmp_path / "dist").glob("*.whl")
    assert wheel.name == make_bundle(GENERATED, ROOT).file_name
    assert made.stdout.startswith(f"bundled 7 pack(s) and 8 source file(s) into {wheel} ")
    verified = policyc("verify", "--packs", str(wheel))
    assert verified.returncode == 0, verified.stderr
    assert len(verified.stdout.splitlines()) == 7
    named = policyc("bundle", "-o", str(tmp_path / "packs.whl"))  # a file name ending in .whl
    assert named.returncode == 0, named.stderr
    assert (tmp_path / "packs.whl").read_bytes() == wheel.read_bytes()


def test_a_stale_source_is_not_bundled(tmp_path: Path) -> None:
    for folder in ("regions", "generated", "plugins"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    rule_file = tmp_path / "regions" / "suzhou" / "inpatient-2023.policy"
    rule_file.write_text(rule_file.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    result = policyc("bundle", "--packs", str(tmp_path / "generated"), "-o", str(tmp_path))
    assert result.returncode == 2
    assert "regions/suzhou/inpatient-2023.policy differs from the file it was built from" in \
        result.stderr
    assert list(tmp_path.glob("*.whl")) == []


def test_an_installed_bundle_is_found_from_any_directory(tmp_path: Path) -> None:
    """A fresh environment with only the project's wheel and the bundle (no dependencies):
    load_pack(name) from another working directory finds the pack through the entry point
    group and scores the sample exactly as generated/ does."""
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(dist), str(ROOT)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    made = make_bundle(GENERATED, ROOT)
    (dist / made.file_name).write_bytes(made.data)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", *map(str, sorted(dist.glob("*.whl")))],
        capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import importlib.util, json, sys\n"
        "from policy_dsl.runtime import InputRecord, load_pack, outcome_json, score_batch\n"
        "pack = load_pack('suzhou/inpatient-2023')\n"
        "records = [json.loads(line) for line in sys.stdin]\n"
        "inputs = [InputRecord(i + 1, r.get('id'), r) for i, r in enumerate(records)]\n"
        "for outcome in score_batch(pack, inputs):\n"
        "    print(json.dumps(outcome_json(outcome), ensure_ascii=False))\n"
        "print(pack.origin, file=sys.stderr)\n"
        "print(sorted(m for m in ('lark', 'jinja2', 'pluggy', 'click')\n"
        "             if m in sys.modules), file=sys.stderr)\n")
    scored = subprocess.run([str(python), "-I", "-c", script], cwd=elsewhere,
                            input=SAMPLE.read_text(encoding="utf-8"), capture_output=True,
                            text=True, encoding="utf-8", check=False)
    assert scored.returncode == 0, scored.stderr
    expected = sample_lines(load_pack(INPATIENT, packs_dir=GENERATED))
    assert [json.loads(line) for line in scored.stdout.splitlines()] == \
        json.loads(json.dumps(expected))
    origin, imported = scored.stderr.splitlines()
    assert origin.endswith("site-packages/policy_dsl_packs/suzhou_inpatient_2023.py")
    assert imported == "[]"  # scoring imported none of the compiler's dependencies


def test_the_bundled_sources_rebuild_the_same_packs_byte_for_byte(bundle_file: Path,
                                                                  tmp_path: Path) -> None:
    """Years later: the bundle's own sources, built by the same policyc, give the same
    manifest and the same pack files, hash for hash."""
    from policy_dsl.compiler import pipeline

    with zipfile.ZipFile(bundle_file) as archive:
        archive.extractall(tmp_path)
    sources = tmp_path / "policy_dsl_packs" / "sources"
    rebuilt = pipeline.build(sources)
    assert rebuilt.ok
    bundled = {p.name: p.read_text(encoding="utf-8")
               for p in (tmp_path / "policy_dsl_packs").iterdir() if p.is_file()
               and p.name != "__init__.py"}
    assert rebuilt.files == bundled


# ---------------------------------------------------------------- the Pack protocol

def test_every_pack_module_defines_what_the_protocol_names() -> None:
    """FRAMEWORK and RULES are always there (None without a framework), so nothing probes."""
    for entry in manifest()["packs"]:
        pack = load_pack(entry["name"], packs_dir=GENERATED)
        module = vars(pack.module)
        for name in ("NAME", "INFO", "RULES", "FRAMEWORK", "COHORTS", "read_record",
                     "compute_cohorts", "cohort_basis", "rebuild_cohorts", "evaluate"):
            assert name in module, (entry["name"], name)
        assert (pack.FRAMEWORK is None) == (entry["framework"] is None)
        assert pack.RULES
        assert entry["name"] == pack.NAME


def test_no_code_probes_a_pack_for_its_names() -> None:
    probes = []
    for path in (ROOT / "src").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ("getattr(" in line or "hasattr(" in line) and \
                    ("FRAMEWORK" in line or "RULES" in line):
                probes.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert probes == []


def test_score_with_no_packs_anywhere_says_where_it_looked(tmp_path: Path) -> None:
    result = policyc("score", "--pack", INPATIENT, str(SAMPLE), cwd=tmp_path)
    assert result.returncode == 2
    assert "no packs directory was given (policyc looks for generated/ in the current " \
           "folder), and no installed bundle registers packs (entry point group " \
           "policy_dsl.packs)" in result.stderr
    # and what to do about it
    assert "Run policyc from the project's folder (the one holding generated/), or give the " \
           "packs: --packs DIR" in result.stderr and "`policyc bundle`" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_build_swapping_generated_between_manifest_and_pack_is_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader read the old manifest, then a build swapped in the new set before it read
    the pack: the hashes disagree, so it reads both again (once) and loads the new pack."""
    from policy_dsl.runtime import packs as packs_module

    new = copy_packs(tmp_path)
    pack_file = new / "suzhou_inpatient_2023.py"
    pack_file.write_text(pack_file.read_text(encoding="utf-8") + "# rebuilt\n",
                         encoding="utf-8")
    digest = hashlib.sha256(pack_file.read_bytes()).hexdigest()
    rewrite_manifest(new, lambda data: entry_of(data, INPATIENT).update(pack_sha256=digest))
    real = packs_module.directory_catalogue
    calls = []

    def first_mixed(directory: Path, where: str | None = None) -> packs_module.Catalogue:
        calls.append(directory)
        catalogue = real(directory, where)
        if len(calls) == 1:  # the old manifest beside the new files
            return packs_module.Catalogue(catalogue.where, real(GENERATED).entries,
                                          catalogue.read, catalogue.location)
        return catalogue

    monkeypatch.setattr(packs_module, "directory_catalogue", first_mixed)
    pack = load_pack(INPATIENT, packs_dir=new)
    assert (len(calls), pack.sha256) == (2, digest)
