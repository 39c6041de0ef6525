"""`policyc` as a user runs it: commands, output shape, input formats and exit codes."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import DROP, ROOT, full_marks_inpatient


def policyc(*args: str, cwd: Path = ROOT,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy_dsl.cli", *args], cwd=cwd,
                          capture_output=True, text=True, input=stdin, encoding="utf-8",
                          check=False)


def lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines()]


def test_build_check_passes_on_committed_packs() -> None:
    """generated/ is what the rule files compile to (CI runs the same check)."""
    result = policyc("build", "--check")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_build_check_fails_with_diff_when_stale(tmp_path: Path) -> None:
    for folder in ("regions", "generated", "plugins"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    rule_file = tmp_path / "regions" / "suzhou" / "inpatient-2023.policy"
    text = rule_file.read_text(encoding="utf-8")
    assert "价格问题经查实的，每次扣1分" in text
    rule_file.write_text(text.replace("价格问题经查实的，每次扣1分", "（已修改）价格问题经查实的"),
                         encoding="utf-8")
    result = policyc("build", "--check", "--root", str(tmp_path))
    assert result.returncode == 4
    assert "+    " in result.stderr and "（已修改）" in result.stderr
    assert "run `policyc build`" in result.stderr


def test_build_reports_rule_file_errors_with_exit_1(tmp_path: Path) -> None:
    (tmp_path / "regions" / "x").mkdir(parents=True)
    (tmp_path / "regions" / "x" / "bad.policy").write_text(
        "standard s {\n  region x \"x\"\n  total 1\n}\nfact a \"a\" bool\n", encoding="utf-8")
    result = policyc("build", "--root", str(tmp_path))
    assert result.returncode == 1
    assert "regions/x/bad.policy:5:12: error P100: unexpected 'bool'; expected ':'" in \
        result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "generated").exists()


def test_score_jsonl_in_input_order_with_errors_kept() -> None:
    records = [full_marks_inpatient(id="ok"), {"id": "broken", "level": "四级"},
               full_marks_inpatient(id="ok2", price_violations=1)]
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n{oops\n"
    result = policyc("score", "--pack", "suzhou/inpatient-2023", "-", stdin=text)
    assert result.returncode == 3
    out = lines(result.stdout)
    assert [o["id"] for o in out] == ["ok", "broken", "ok2", None]
    assert out[0]["total"] == "100.00" and out[2]["total"] == "99.00"
    assert "line 2 (id broken): " in str(out[1]["error"])
    assert "level: '四级' is not one of primary, secondary, tertiary" in str(out[1]["error"])
    assert "line 4: not valid JSON" in str(out[3]["error"])
    assert list(out[0]) == ["id", "total", "earned", "applicable_max", "items", "error",
                            "pack", "pack_sha256"]
    manifest = json.loads((ROOT / "generated" / "index.json").read_text(encoding="utf-8"))
    [entry] = [p for p in manifest["packs"] if p["name"] == "suzhou/inpatient-2023"]
    for line in out:  # errors too: every line says which pack, byte for byte, made it
        assert (line["pack"], line["pack_sha256"]) == ("suzhou/inpatient-2023",
                                                       entry["pack_sha256"])


def test_score_json_array_and_csv_with_bom_agree(tmp_path: Path) -> None:
    """The same institution as a JSON array and as a CSV row (UTF-8 with BOM, 是/否,
    lists as JSON cells, an empty cell for an absent fact) scores the same."""
    record = full_marks_inpatient(id="A", ownership="private", procurement_score=DROP,
                                  price_violations=1)
    (tmp_path / "in.json").write_text(json.dumps([record], ensure_ascii=False), encoding="utf-8")
    header = [*record, "procurement_score"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerow([_cell(record.get(key, "")) for key in header])
    csv_text = buffer.getvalue()
    (tmp_path / "in.csv").write_bytes("\ufeff".encode() + csv_text.encode("utf-8"))
    from_json = policyc("score", "--pack", "suzhou/inpatient-2023", str(tmp_path / "in.json"))
    from_csv = policyc("score", "--pack", "suzhou/inpatient-2023", str(tmp_path / "in.csv"))
    assert from_json.returncode == from_csv.returncode == 0, from_csv.stdout
    assert lines(from_json.stdout) == lines(from_csv.stdout)
    # private, one price violation: 79 of 80 → 98.75 (SZ-3)
    assert lines(from_csv.stdout)[0]["total"] == "98.75"


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def test_score_writes_output_file_and_explains(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(full_marks_inpatient(price_violations=1)), encoding="utf-8")
    result = policyc("score", "--pack", "suzhou/inpatient-2023", "--explain", "-o",
                     str(tmp_path / "out.jsonl"), str(source))
    assert result.returncode == 0
    out = lines((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    explanation = out[0]["explanation"]
    assert isinstance(explanation, dict)
    price_lines = explanation["2"]
    assert {"reason": "价格问题经查实的，每次扣1分", "points": "-1", "cites": ["SZ-2"]}.items() \
        <= price_lines[1].items()


@pytest.mark.parametrize(("args", "code", "words"), [
    (("--pack", "suzhou/inpatient", "--year", "2023"), 0, ""),
    (("--pack", "suzhou/inpatient"), 2, "give --year"),
    (("--pack", "suzhou/inpatient", "--year", "2025"), 2, "no version of suzhou/inpatient"),
    (("--pack", "suzhou/nothing-2023"), 2, "no pack named suzhou/nothing-2023"),
])
def test_pack_selection_by_year(args: tuple[str, ...], code: int, words: str) -> None:
    result = policyc("score", *args, "-", stdin=json.dumps(full_marks_inpatient()))
    assert result.returncode == code, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_input_is_exit_3(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe not utf-8")
    result = policyc("score", "--pack", "suzhou/inpatient-2023", str(tmp_path / "bad.json"))
    assert result.returncode == 3
    assert "not UTF-8" in result.stderr


def test_list_and_describe() -> None:
    listing = policyc("list")
    assert listing.returncode == 0
    assert "suzhou/inpatient-2023" in listing.stdout and "suzhou/outpatient-2023" in listing.stdout
    described = policyc("describe", "--pack", "suzhou/outpatient-2023", "--format", "json")
    info = json.loads(described.stdout)
    facts = {fact["name"]: fact for fact in info["facts"]}
    assert facts["procurement_score"]["presence"] == "required when ownership is public"
    assert (facts["procurement_score"]["low"], facts["procurement_score"]["high"]) == ("0", "100")
    assert facts["catalogue_drug_share"]["type"] == "percent"
    assert facts["violations"]["fields"][0]["name"] == "documents"
    assert len(info["items"]) == 13
    text = policyc("describe", "--pack", "suzhou/inpatient-2023")
    assert "procurement_score" in text.stdout and "招采专项评价得分" in text.stdout
