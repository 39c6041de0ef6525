"""Cohort snapshots (`policyc cohorts`, `policyc score --cohorts`): an institution scored
alone against its batch's snapshot gets exactly its batch line (POLICY-NOTES SZ-C, SZ-12,
SZ2-4); one the snapshot does not hold gets an error, never a value; another pack's snapshot
is refused."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import DROP, ROOT, full_marks_outpatient

from policy_dsl.cli import cli
from policy_dsl.runtime import (
    InputRecord,
    SnapshotInvalid,
    load_pack,
    load_snapshot,
    make_snapshot,
    pack_sha256,
    snapshot_json,
)

PACKS = str(ROOT / "generated")
INPATIENT = "suzhou/inpatient-2023"
OUTPATIENT = "suzhou/outpatient-2023"


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """policyc in this process (the batch itself is scored by a real `policyc` process)."""
    result = CliRunner().invoke(cli, [*args, "--packs", PACKS], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def policyc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy_dsl.cli", *args, "--packs", PACKS],
                          capture_output=True, text=True, encoding="utf-8", check=False)


@pytest.fixture(scope="module")
def inpatient_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 synthetic hospitals (benchmarks/make_batch.py, a fixed seed): enough for both
    ranking bands of SZ-12 (top 10, bottom 10) and a middle that gets 0."""
    folder = tmp_path_factory.mktemp("inpatient")
    batch = folder / "batch.jsonl"
    made = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_batch.py"), "40"],
                          capture_output=True, text=True, check=True)
    batch.write_text(made.stdout, encoding="utf-8")
    return batch


def test_every_hospital_scored_alone_against_the_snapshot_gets_its_batch_line(
        inpatient_batch: Path) -> None:
    folder = inpatient_batch.parent
    scored = policyc("score", "--pack", INPATIENT, str(inpatient_batch))
    assert scored.returncode == 0, scored.stderr
    batch_lines = scored.stdout.splitlines()
    made = policyc("cohorts", "--pack", INPATIENT, str(inpatient_batch),
                   "-o", str(folder / "cohorts.json"))
    assert made.returncode == 0, made.stderr
    snapshot = json.loads((folder / "cohorts.json").read_text(encoding="utf-8"))
    records = inpatient_batch.read_text(encoding="utf-8").splitlines()
    assert len(records) == len(batch_lines) == 40 == len(snapshot["institutions"])

    # SZ-12 by hand: rank by satisfaction_score descending, ties sharing the better rank
    # (rank = 1 + the number of better scores); ranks 1..10 get 1.0, 0.9, ... 0.1; else
    # places 1..10 from the bottom (40 − rank + 1) get -1.0, -0.9, ... -0.1; the rest 0.
    scores = {json.loads(r)["id"]: Decimal(json.loads(r)["satisfaction_score"])
              for r in records}
    adjustments = {key: Decimal(entry["values"]["survey_adjustment"])
                   for key, entry in snapshot["institutions"].items()}
    bands = {"top": 0, "bottom": 0, "middle": 0}
    for key, value in scores.items():
        rank = 1 + sum(1 for other in scores.values() if other > value)
        if rank <= 10:
            expected, band = Decimal("1.0") - (rank - 1) * Decimal("0.1"), "top"
        elif 40 - rank + 1 <= 10:
            expected, band = Decimal("-1.0") + (40 - rank) * Decimal("0.1"), "bottom"
        else:
            expected, band = Decimal(0), "middle"
        bands[band] += 1
        assert adjustments[key] == expected, (key, rank)
        # what explanations show: its rank, and how many were ranked
        assert snapshot["institutions"][key]["details"] == {
            "survey_adjustment_rank": rank, "survey_adjustment_ranked": 40}
    assert min(bands.values()) >= 8  # every band matters in this batch

    changed_alone = 0
    for record, batch_line in zip(records, batch_lines, strict=True):
        code, out, err = run("score", "--pack", INPATIENT, "--cohorts",
                             str(folder / "cohorts.json"), "-", stdin=record + "\n")
        assert code == 0, err
        assert out == batch_line + "\n"  # byte for byte
        code, alone, _ = run("score", "--pack", INPATIENT, "-", stdin=record + "\n")
        changed_alone += alone != out
    # Without the snapshot a hospital alone ranks first (+1.0): the bottom band's totals
    # differ, which is what the snapshot is for.
    assert changed_alone >= 10


def test_the_snapshot_names_its_pack_input_and_counts(inpatient_batch: Path) -> None:
    import hashlib

    output = inpatient_batch.parent / "named.json"
    code, _, err = run("cohorts", "--pack", INPATIENT, str(inpatient_batch), "-o", str(output))
    assert code == 0, err
    snapshot = json.loads(output.read_text(encoding="utf-8"))
    assert snapshot["format_version"] == 1
    assert snapshot["pack"] == INPATIENT
    assert snapshot["pack_sha256"] == pack_sha256(load_pack(INPATIENT, packs_dir=Path(PACKS)))
    assert snapshot["input"] == {
        "name": str(inpatient_batch),
        "sha256": hashlib.sha256(inpatient_batch.read_bytes()).hexdigest()}
    assert snapshot["records"] == snapshot["valid_records"] == 40
    assert snapshot["created"].endswith("Z")
    assert not (output.parent / "named.json.partial").exists()


def outpatient_batch() -> list[dict[str, Any]]:
    """Clinics in two peer groups plus one alone in a third, no group averages given.

    Group 甲 (cost per visit last year 100): this year 110, 126, 100, 104 → growth 10%,
    26%, 0%, 4%; mean (10+26+0+4)/4 = 10%. Visits per person 2 → 2.2, 2.6, 2, 2 → growth
    10%, 30%, 0%, 0%; mean 40/4 = 10%.
    Group 乙: cost 100 → 130 and 100 → 100: growth 30%, 0%, mean 15%; visits per person
    2 → 2 both: mean 0%.
    Group 丙: one clinic, so no mean (at least 2): its cohort values are an error.
    """
    def clinic(key: str, group: str, cost: str, visits: int) -> dict[str, Any]:
        return full_marks_outpatient(id=key, peer_group=group, cost_per_visit=cost,
                                     visits=visits, peer_cost_growth_given=DROP,
                                     peer_visits_growth_given=DROP)
    return [clinic("A1", "甲", "110", 2200), clinic("A2", "甲", "126", 2600),
            clinic("A3", "甲", "100", 2000), clinic("A4", "甲", "104", 2000),
            clinic("B1", "乙", "130", 2000), clinic("B2", "乙", "100", 2000),
            clinic("C1", "丙", "110", 2200)]


def test_every_clinic_scored_alone_gets_its_batch_line_with_its_peer_means(
        tmp_path: Path) -> None:
    records = outpatient_batch()
    batch = tmp_path / "clinics.jsonl"
    batch.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                     encoding="utf-8")
    scored = policyc("score", "--pack", OUTPATIENT, str(batch))
    assert scored.returncode == 3  # C1 has no peer mean
    batch_lines = scored.stdout.splitlines()
    code, _, err = run("cohorts", "--pack", OUTPATIENT, str(batch),
                       "-o", str(tmp_path / "cohorts.json"))
    assert code == 3 and "peer_cost_growth_given" in err  # the batch's own error, reported
    snapshot = json.loads((tmp_path / "cohorts.json").read_text(encoding="utf-8"))
    groups = snapshot["groups"]["peer_cost_growth"]
    assert Decimal(groups["甲"]["mean"]) == Decimal(10) and groups["甲"]["size"] == 4
    assert Decimal(groups["乙"]["mean"]) == Decimal(15) and groups["乙"]["size"] == 2
    assert groups["丙"]["size"] == 1
    visits = snapshot["groups"]["peer_visits_growth"]
    assert Decimal(visits["甲"]["mean"]) == Decimal(10) and Decimal(visits["乙"]["mean"]) == 0
    assert Decimal(snapshot["institutions"]["B1"]["values"]["peer_cost_growth"]) == 15

    for record, batch_line in zip(records, batch_lines, strict=True):
        code, out, _ = run("score", "--pack", OUTPATIENT, "--cohorts",
                           str(tmp_path / "cohorts.json"), "-",
                           stdin=json.dumps(record, ensure_ascii=False) + "\n")
        if record["id"] != "C1":
            assert code == 0
            assert out == batch_line + "\n"
    # B1 by hand: growth 30% against the group's 15%: 15 points above, 3 complete steps of
    # 5% → item 4 = 4 − 3 + 4 = 5 (visits 0% against 0%: no deduction).
    assert json.loads(batch_lines[4])["items"]["4"] == "5"
    # A1 moved to group 乙 since the snapshot: its group's mean in the snapshot is not its own.
    moved = records[0] | {"peer_group": "乙"}
    code, out, _ = run("score", "--pack", OUTPATIENT, "--cohorts",
                       str(tmp_path / "cohorts.json"), "-",
                       stdin=json.dumps(moved, ensure_ascii=False) + "\n")
    assert code == 3
    assert "peer_group is 乙 here but 甲 in the cohort snapshot" in json.loads(out)["error"]
    # C1 alone: the batch's error about its group, never a value.
    code, out, _ = run("score", "--pack", OUTPATIENT, "--cohorts",
                       str(tmp_path / "cohorts.json"), "-",
                       stdin=json.dumps(records[6], ensure_ascii=False) + "\n")
    assert code == 3
    line = json.loads(out)
    assert line["total"] is None
    assert "peer_cost_growth_given: is needed: the batch holds 1 institution(s)" in line["error"]


def test_an_institution_missing_from_the_snapshot_gets_an_error_not_a_zero(
        inpatient_batch: Path) -> None:
    folder = inpatient_batch.parent
    snapshot_file = folder / "missing.json"
    assert run("cohorts", "--pack", INPATIENT, str(inpatient_batch),
               "-o", str(snapshot_file))[0] == 0
    first, second = inpatient_batch.read_text(encoding="utf-8").splitlines()[:2]
    stranger = json.loads(first) | {"id": "NEW-1"}
    code, out, err = run("score", "--pack", INPATIENT, "--cohorts", str(snapshot_file), "-",
                         stdin=json.dumps(stranger) + "\n" + second + "\n")
    assert code == 3
    missing, known = (json.loads(line) for line in out.splitlines())
    assert missing["total"] is None and missing["items"] is None
    assert missing["error"] == (
        f"line 1 (id NEW-1): id NEW-1 is not in the cohort snapshot {snapshot_file} "
        "(40 institutions); score it with the batch, or make a new snapshot")
    assert known["error"] is None  # the other record is still scored
    assert "id NEW-1 is not in" in err

    # An unranked hospital (no satisfaction score) takes its directly given adjustment; the
    # snapshot keeps it, and a different one given later is not replaced by the old one.
    unranked = json.loads(first) | {"id": "U-1", "direct_survey_adjustment": "0.5"}
    del unranked["satisfaction_score"]
    batch = folder / "unranked.jsonl"
    batch.write_text(inpatient_batch.read_text(encoding="utf-8") + json.dumps(unranked) + "\n",
                     encoding="utf-8")
    assert run("cohorts", "--pack", INPATIENT, str(batch), "-o", str(folder / "u.json"))[0] == 0
    entry = json.loads((folder / "u.json").read_text(encoding="utf-8"))["institutions"]["U-1"]
    assert entry["values"] == {"survey_adjustment": "0.5"}
    assert entry["basis"]["survey_adjustment"] == {"value": None, "group": None, "own": "0.5"}
    code, out, _ = run("score", "--pack", INPATIENT, "--cohorts", str(folder / "u.json"), "-",
                       stdin=json.dumps(unranked | {"direct_survey_adjustment": "-0.5"}) + "\n")
    assert code == 3
    assert "survey_adjustment without a rank (if given direct_survey_adjustment then " \
        "direct_survey_adjustment else 0) is -0.5 here but 0.5 in the cohort snapshot" \
        in json.loads(out)["error"]

    # An institution whose satisfaction score differs from the one its rank was computed
    # from is not given the stale rank.
    changed = json.loads(second) | {"satisfaction_score": "12.5"}
    code, out, _ = run("score", "--pack", INPATIENT, "--cohorts", str(snapshot_file), "-",
                       stdin=json.dumps(changed) + "\n")
    assert code == 3
    error = json.loads(out)["error"]
    assert "satisfaction_score is 12.5 here but" in error
    assert "whose survey_adjustment was computed from it" in error


def test_a_snapshot_made_with_another_pack_refuses_the_run(inpatient_batch: Path) -> None:
    folder = inpatient_batch.parent
    snapshot_file = folder / "other.json"
    assert run("cohorts", "--pack", INPATIENT, str(inpatient_batch),
               "-o", str(snapshot_file))[0] == 0
    one = inpatient_batch.read_text(encoding="utf-8").splitlines()[0]
    # The same pack name, another hash: a rule file changed after the snapshot was made.
    data = json.loads(snapshot_file.read_text(encoding="utf-8"))
    data["pack_sha256"] = "0" * 64
    snapshot_file.write_text(json.dumps(data), encoding="utf-8")
    code, out, err = run("score", "--pack", INPATIENT, "--cohorts", str(snapshot_file), "-",
                         stdin=one + "\n")
    assert code == 2 and out == ""
    digest = pack_sha256(load_pack(INPATIENT, packs_dir=Path(PACKS)))
    assert f"was made with pack {INPATIENT} (sha256 {'0' * 64})" in err
    assert f"not with {INPATIENT} (sha256 {digest})" in err
    # Another pack altogether.
    data["pack_sha256"] = digest
    snapshot_file.write_text(json.dumps(data), encoding="utf-8")
    code, _, err = run("score", "--pack", OUTPATIENT, "--cohorts", str(snapshot_file), "-",
                       stdin="[]")
    assert code == 2 and f"made with pack {INPATIENT}" in err and OUTPATIENT in err


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("format"), "is not a cohort snapshot"),
    (lambda d: d.update(format_version=2), "format_version 2"),
    (lambda d: d["institutions"]["B0000000"]["values"].update(survey_adjustment=0.5),
     "institutions.B0000000.values.survey_adjustment: expected a decimal as a string"),
    (lambda d: d["institutions"]["B0000000"]["values"].update(survey_adjustment="NaN"),
     "expected a finite decimal"),
    (lambda d: d.update(institutions=[]), "institutions: expected an object"),
    (lambda d: d["institutions"]["B0000000"]["values"].update(survey_adjustment="1E+999999"),
     "at most 28 significant digits, between 1E-100 and 1E+100"),
    (lambda d: d["institutions"]["B0000000"]["basis"]["survey_adjustment"].update(
        value="0." + "1" * 40), "at most 28 significant digits"),
    (lambda d: d.update(records=-1), "records: expected a whole number"),
    (lambda d: d.update(format_version=True), "format_version True"),
])
def test_a_malformed_snapshot_is_refused_naming_the_field(
        inpatient_batch: Path, change: Any, message: str) -> None:
    pack = load_pack(INPATIENT, packs_dir=Path(PACKS))
    data = inpatient_batch.read_bytes()
    records = [InputRecord(n, json.loads(line)["id"], json.loads(line), None, "line")
               for n, line in enumerate(data.decode().splitlines(), start=1)]
    snapshot = snapshot_json(make_snapshot(pack, records, "batch.jsonl", data))
    change(snapshot)
    with pytest.raises(SnapshotInvalid, match=re.escape(message)):
        load_snapshot(json.dumps(snapshot).encode(), "cohorts.json")


def test_an_id_given_twice_in_the_batch_has_no_cohort_values(inpatient_batch: Path) -> None:
    """Both records of a repeated id are left out of the cohort values (the batch gives each
    an error), so the snapshot ranks the other 29; looked up, the id gets its error."""
    pack = load_pack(INPATIENT, packs_dir=Path(PACKS))
    lines = inpatient_batch.read_text(encoding="utf-8").splitlines()[:30]
    raws = [json.loads(line) for line in lines]
    raws.append(raws[3] | {"satisfaction_score": "99.9"})
    records = [InputRecord(n, raw["id"], raw, None, "line") for n, raw in enumerate(raws, 1)]
    snapshot = make_snapshot(pack, records, "dup.jsonl", b"")
    key = raws[3]["id"]
    entry = snapshot.institutions[key]
    assert entry.values is None
    assert entry.error is not None and "appears more than once (also at line 31)" in entry.error
    assert snapshot.valid_records == 29
    ranked = {e.details["survey_adjustment_ranked"] for e in snapshot.institutions.values()
              if e.details is not None}
    assert ranked == {29}  # neither 99.9 nor the first record's score was ranked
    # through the file and back: scored alone, the id gets the batch's reason, not a value
    from policy_dsl.runtime import iter_outcomes

    reread = load_snapshot(json.dumps(snapshot_json(snapshot)).encode(), "dup.json")
    alone = [InputRecord(1, key, raws[3], None, "line")]
    [outcome] = list(iter_outcomes(pack, alone, cohorts=reread))
    assert outcome.score is None
    assert outcome.error is not None and "appears more than once" in outcome.error


def test_the_library_refuses_another_packs_snapshot_before_any_outcome(
        inpatient_batch: Path) -> None:
    from policy_dsl.runtime import iter_outcomes

    inpatient = load_pack(INPATIENT, packs_dir=Path(PACKS))
    outpatient = load_pack(OUTPATIENT, packs_dir=Path(PACKS))
    data = inpatient_batch.read_bytes()
    records = [InputRecord(n, json.loads(line)["id"], json.loads(line), None, "line")
               for n, line in enumerate(data.decode().splitlines(), start=1)]
    snapshot = make_snapshot(inpatient, records, "batch.jsonl", data)
    with pytest.raises(SnapshotInvalid, match="was made with pack suzhou/inpatient-2023"):
        next(iter_outcomes(outpatient, [], cohorts=snapshot))


# ------------------------------------------------- explanations from a snapshot

def test_explanations_from_the_snapshot_are_the_batch_explanations(
        inpatient_batch: Path) -> None:
    """`score --explain --cohorts`: each hospital alone gets its batch line with its reasons,
    the rank and how many were ranked included (the snapshot keeps them per institution)."""
    folder = inpatient_batch.parent
    snapshot_file = str(folder / "explained.json")
    code, batch_out, err = run("score", "--pack", INPATIENT, "--explain", str(inpatient_batch))
    assert code == 0, err
    code, _, err = run("cohorts", "--pack", INPATIENT, str(inpatient_batch), "-o", snapshot_file)
    assert code == 0, err
    records = inpatient_batch.read_text(encoding="utf-8").splitlines()
    batch_lines = batch_out.splitlines()
    assert len(batch_lines) == len(records) == 40
    for record, batch_line in zip(records, batch_lines, strict=True):
        code, out, err = run("score", "--pack", INPATIENT, "--explain", "--cohorts",
                             snapshot_file, "-", stdin=record + "\n")
        assert code == 0, err
        assert out == batch_line + "\n"  # byte for byte, reason lines included


def test_policyc_explain_with_cohorts_shows_the_batch_rank(inpatient_batch: Path) -> None:
    """`policyc explain --cohorts`: one hospital alone is explained with its place among the
    40 of its batch. By hand (SZ-12): its rank is 1 + the number of higher satisfaction
    scores; alone, without the snapshot, it would be 1st of 1."""
    folder = inpatient_batch.parent
    snapshot_file = str(folder / "for-explain.json")
    code, _, err = run("cohorts", "--pack", INPATIENT, str(inpatient_batch), "-o", snapshot_file)
    assert code == 0, err
    records = [json.loads(line) for line in
               inpatient_batch.read_text(encoding="utf-8").splitlines()]
    scores = [Decimal(r["satisfaction_score"]) for r in records]
    # the hospital with the 35th best score: in the bottom band (SZ-12, 40 − 35 + 1 = 6th
    # from the bottom, unless it ties), where a hospital alone would be ranked 1st instead
    order = sorted(range(40), key=lambda n: -scores[n])
    chosen = records[order[34]]
    rank = 1 + sum(1 for other in scores if other > scores[order[34]])
    alone = folder / "alone.jsonl"
    alone.write_text(json.dumps(chosen, ensure_ascii=False) + "\n", encoding="utf-8")
    code, from_batch, err = run("explain", "--pack", INPATIENT, "--id", chosen["id"],
                                "--item", "12", str(inpatient_batch))
    assert code == 0, err
    code, from_snapshot, err = run("explain", "--pack", INPATIENT, "--id", chosen["id"],
                                   "--item", "12", "--cohorts", snapshot_file, str(alone))
    assert code == 0, err
    assert from_snapshot == from_batch
    assert f"在 40 家中排第 {rank}" in from_snapshot
    code, without, _ = run("explain", "--pack", INPATIENT, "--id", chosen["id"],
                           "--item", "12", str(alone))
    assert "在 1 家中排第 1" in without and without != from_snapshot


def test_peer_group_explanations_from_the_snapshot(tmp_path: Path) -> None:
    """A clinic of group 甲 alone against the snapshot is explained with its group's mean
    over the 4 clinics of 甲 (10%, see outpatient_batch), as in the batch."""
    records = outpatient_batch()
    batch = tmp_path / "clinics.jsonl"
    batch.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                     encoding="utf-8")
    run("cohorts", "--pack", OUTPATIENT, str(batch), "-o", str(tmp_path / "cohorts.json"))
    alone = tmp_path / "a2.jsonl"
    alone.write_text(json.dumps(records[1], ensure_ascii=False) + "\n", encoding="utf-8")
    code, from_batch, err = run("explain", "--pack", OUTPATIENT, "--id", "A2", "--item", "4",
                                str(batch))
    assert code == 0, err
    code, from_snapshot, err = run("explain", "--pack", OUTPATIENT, "--id", "A2", "--item",
                                   "4", "--cohorts", str(tmp_path / "cohorts.json"), str(alone))
    assert code == 0, err
    assert from_snapshot == from_batch
    assert "4 家的平均" in from_snapshot


@pytest.mark.parametrize(("detail", "value", "message"), [
    ("survey_adjustment_rank", "3", "details.survey_adjustment_rank: expected a rank"),
    ("survey_adjustment_rank", 0, "details.survey_adjustment_rank: expected a rank"),
    ("survey_adjustment_ranked", None, "details.survey_adjustment_ranked: expected a whole"),
])
def test_a_malformed_detail_refuses_the_snapshot_before_scoring(
        inpatient_batch: Path, detail: str, value: object, message: str) -> None:
    folder = inpatient_batch.parent
    made = folder / "details.json"
    code, _, err = run("cohorts", "--pack", INPATIENT, str(inpatient_batch), "-o", str(made))
    assert code == 0, err
    snapshot = json.loads(made.read_text(encoding="utf-8"))
    first = next(iter(snapshot["institutions"]))
    snapshot["institutions"][first]["details"][detail] = value
    broken = folder / "broken-details.json"
    broken.write_text(json.dumps(snapshot), encoding="utf-8")
    code, out, err = run("score", "--pack", INPATIENT, "--cohorts", str(broken),
                         str(inpatient_batch))
    assert code == 2 and out == ""
    assert f"institutions.{first}.{message}" in err


def test_cohorts_reads_standard_input_record_by_record(inpatient_batch: Path,
                                                        tmp_path: Path) -> None:
    """`policyc cohorts -` over 30 institutions plus three hostile lines: a line that is not
    JSON, the id of line 2 again (with spaces around it: the same institution) and a record
    whose satisfaction score is not a number. The snapshot names the input by the SHA-256
    of the bytes given; both records of the repeated id, the unreadable line and the invalid
    record take no part: 33 − 4 = 29 records are valid and ranked."""
    import hashlib

    lines = inpatient_batch.read_text(encoding="utf-8").splitlines()[:30]
    second = json.loads(lines[1])
    lines.append("{not json")
    lines.append(json.dumps(second | {"id": f" {second['id']} "}, ensure_ascii=False))
    lines.append(json.dumps(json.loads(lines[2]) | {"id": "BAD", "satisfaction_score": "很好"},
                            ensure_ascii=False))
    data = "\n".join(lines) + "\n"
    out = tmp_path / "cohorts.json"
    code, _, err = run("cohorts", "--pack", INPATIENT, "-o", str(out), "-", stdin=data)
    assert code == 3, err
    snapshot = json.loads(out.read_text(encoding="utf-8"))
    assert snapshot["input"] == {"name": "<stdin>",
                                 "sha256": hashlib.sha256(data.encode()).hexdigest()}
    assert (snapshot["records"], snapshot["valid_records"]) == (33, 29)
    repeated = snapshot["institutions"][second["id"]]
    assert repeated["values"] is None and "appears more than once (also at line 32)" in \
        repeated["error"]
    ranked = {entry["details"]["survey_adjustment_ranked"]
              for entry in snapshot["institutions"].values() if entry.get("details")}
    assert ranked == {29}
    assert "line 31: not valid JSON" in err and "line 33 (id BAD): satisfaction_score" in err
