"""The scoring service end to end: `policyc serve` on a free loopback port, real HTTP.

Every answer is compared with what `policyc` itself gives for the same input, byte for byte.
The servers are real processes (started by the test, stopped by SIGTERM to their own pid).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers import ROOT

from policy_dsl.runtime import load_pack, pack_sha256
from policy_dsl.runtime.schema import result_line_schema

PACKS = ROOT / "generated"
EXAMPLES = ROOT / "examples"
NDJSON = "application/x-ndjson"


def policyc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy_dsl.cli", *args],
                          cwd=ROOT, capture_output=True, text=True, encoding="utf-8",
                          check=False)


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    banner: str

    def stop(self) -> int:
        """SIGTERM to this server's own process: uvicorn shuts down gracefully."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
            raise


def start_server(*options: str) -> Server:
    """`policyc serve --port 0` on 127.0.0.1; the port is read from its start line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "policy_dsl.cli", "serve", "--host", "127.0.0.1", "--port", "0",
         "--packs", str(PACKS), *options],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        encoding="utf-8", env=os.environ | {"PYTHONUNBUFFERED": "1"})
    assert process.stderr is not None
    banner = process.stderr.readline()  # blocks until the start line (or the process ends)
    found = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
    if found is None:
        process.kill()
        rest = process.stderr.read()
        raise AssertionError(f"the server did not start: {banner}{rest}")
    url = f"http://127.0.0.1:{found.group(1)}"
    for _ in range(100):  # the socket is bound before the banner; wait until it answers
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                break
        except OSError:
            time.sleep(0.05)
    return Server(process, url, banner)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = start_server("--max-body-bytes", str(20 * 1024 * 1024))
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="module")
def small_body_server() -> Iterator[Server]:
    running = start_server("--max-body-bytes", "200000")
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="module")
def hurried_server() -> Iterator[Server]:
    running = start_server("--time-limit", "0.001")
    yield running
    assert running.stop() == 0


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes
    headers: Any  # case-insensitive (an email.message.Message)

    def json(self) -> Any:
        return json.loads(self.body)


def request(url: str, data: bytes | None = None, content_type: str = "application/json",
            accept: str | None = None, method: str | None = None) -> Answer:
    headers = {"Content-Type": content_type} if data is not None else {}
    if accept:
        headers["Accept"] = accept
    sent = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(sent, timeout=60) as response:
            return Answer(response.status, response.headers["Content-Type"], response.read(),
                          response.headers)
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers["Content-Type"], error.read(),
                      error.headers)


def as_json_array(jsonl: Path, folder: Path) -> Path:
    """The same records as a JSON array file (the service's own body format); lines that
    are not JSON (with-errors.jsonl has one) are left out, and two entries that are not
    records are added to the bad sample."""
    target = folder / (jsonl.stem + ".json")
    lines = []
    for line in jsonl.read_text(encoding="utf-8").splitlines():
        try:
            json.loads(line)
        except ValueError:
            continue
        lines.append(line)
    if jsonl.name == "with-errors.jsonl":
        lines[1:1] = ["5", '"SZ-H099"']
    target.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")
    return target


SAMPLES = [
    ("suzhou/inpatient-2023", "suzhou-inpatient.jsonl"),
    ("suzhou/inpatient-2023", "with-errors.jsonl"),  # bad records: per-record errors
    ("jilin/medical-inpatient-2026", "jilin-medical-inpatient.jsonl"),
]


def test_healthz_packs_and_describe(server: Server) -> None:
    health = request(server.url + "/healthz")
    index = json.loads((PACKS / "index.json").read_text(encoding="utf-8"))
    assert health.status == 200 and health.json() == {"status": "ok",
                                                      "packs": len(index["packs"])}
    packs = request(server.url + "/packs")
    assert packs.status == 200 and packs.json() == {"packs": index["packs"]}
    described = request(server.url + "/packs/suzhou/inpatient-2023")
    cli = policyc("describe", "--pack", "suzhou/inpatient-2023", "--format", "json")
    assert described.status == 200 and described.json() == json.loads(cli.stdout)
    # Without a version, the year picks the one in force.
    by_year = request(server.url + "/packs/suzhou/inpatient?year=2023")
    assert by_year.status == 200 and by_year.json() == described.json()
    assert "7 pack(s)" in server.banner


@pytest.mark.parametrize(("pack", "sample"), SAMPLES)
def test_a_json_array_scores_exactly_as_the_cli(server: Server, tmp_path: Path, pack: str,
                                                sample: str) -> None:
    array = as_json_array(EXAMPLES / sample, tmp_path)
    for endpoint, flags in (("score", ()), ("explain", ("--explain",))):
        cli = policyc("score", "--pack", pack, str(array), *flags)
        assert cli.returncode in (0, 3), cli.stderr
        answer = request(f"{server.url}/packs/{pack}/{endpoint}", array.read_bytes())
        assert answer.status == 200  # bad records are per-record errors, not a failed request
        assert answer.content_type == NDJSON
        assert answer.body.decode("utf-8") == cli.stdout  # byte for byte
        assert answer.headers["X-Pack"] == pack
        assert answer.headers["X-Pack-SHA256"] == pack_sha256(load_pack(pack, packs_dir=PACKS))
        assert answer.headers["X-Record-Errors"] == str(
            sum(json.loads(line)["error"] is not None for line in cli.stdout.splitlines()))
        # The same lines as one JSON array, on request.
        listed = request(f"{server.url}/packs/{pack}/{endpoint}", array.read_bytes(),
                         accept="application/json")
        assert listed.content_type == "application/json"
        assert listed.json() == [json.loads(line) for line in cli.stdout.splitlines()]


def test_json_lines_and_csv_bodies_read_as_the_files_are(server: Server) -> None:
    for pack, sample, media in (("suzhou/inpatient-2023", "with-errors.jsonl", NDJSON),
                                ("suzhou/outpatient-2023", "suzhou-outpatient.csv",
                                 "text/csv")):
        path = EXAMPLES / sample
        cli = policyc("score", "--pack", pack, str(path))
        answer = request(f"{server.url}/packs/{pack}/score", path.read_bytes(), media)
        assert answer.status == 200
        assert answer.body.decode("utf-8") == cli.stdout
    # The CSV sample's last clinic has a zero base: its line carries the error (200).
    assert "cost_per_visit_last_year is 0" in cli.stdout.splitlines()[-1]


def test_every_result_line_follows_the_schema_the_openapi_document_gives(
        server: Server, tmp_path: Path) -> None:
    document = request(server.url + "/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    schema = document["components"]["schemas"]["ResultLine"]
    assert schema == result_line_schema()
    for path in ("/packs", "/packs/{region}/{standard}", "/packs/{region}/{standard}/score",
                 "/packs/{region}/{standard}/explain", "/healthz", "/openapi.json"):
        assert path in document["paths"]
    validator = jsonschema.Draft202012Validator(schema)
    checked = 0
    for pack, sample in [*SAMPLES, ("suzhou/outpatient-2023", "suzhou-outpatient.csv")]:
        for flags in ((), ("--explain",)):
            cli = policyc("score", "--pack", pack, str(EXAMPLES / sample), *flags)
            for line in cli.stdout.splitlines():
                validator.validate(json.loads(line))
                checked += 1
    assert checked == 2 * (4 + 3 + 5 + 4)  # one line per record of each sample
    # The schema refuses what a result line must never be: a float, a score beside an error,
    # a line without its pack. Each variant differs from a valid line in that one point.
    valid = {"id": "x", "total": "93.00", "earned": "93", "applicable_max": "100",
             "items": {"1": "3"}, "error": None, "pack": "suzhou/inpatient-2023",
             "pack_sha256": "0" * 64}
    validator.validate(valid)
    for wrong in (valid | {"total": 93.0}, valid | {"error": "line 1: bad"},
                  {key: value for key, value in valid.items() if key != "pack_sha256"},
                  valid | {"items": {"1": 3}}):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(wrong)


def test_numbers_in_a_body_are_exact_decimals(server: Server) -> None:
    """SZ-1, G4: 0.1 per complete 1% below 80% (a tertiary hospital). A share of
    79.000000000000000001 is 0.999999999999999999 short: no complete step, item 1 keeps 3.
    Read as a float it would be 79.0, one step short, 2.9. 78.5 is 1.5 short: 1 step, 2.9."""
    record = json.loads((EXAMPLES / "suzhou-inpatient.jsonl").read_text(
        encoding="utf-8").splitlines()[0])
    assert record["level"] == "tertiary"
    body = ",".join(
        json.dumps(record | {"id": share, "catalogue_drug_share": "SHARE"}).replace(
            '"SHARE"', share) for share in ("79.000000000000000001", "78.5"))
    answer = request(server.url + "/packs/suzhou/inpatient-2023/score",
                     ("[" + body + "]").encode())
    near, far = (json.loads(line) for line in answer.body.decode().splitlines())
    assert near["error"] is None and far["error"] is None
    assert near["items"]["1"] == "3" and far["items"]["1"] == "2.9"


def test_cohort_snapshots_travel_in_the_request(server: Server, tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    made = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_batch.py"), "30"],
                          capture_output=True, text=True, check=True)
    batch.write_text(made.stdout, encoding="utf-8")
    cli = policyc("score", "--pack", "suzhou/inpatient-2023", str(batch))
    assert policyc("cohorts", "--pack", "suzhou/inpatient-2023", str(batch),
                   "-o", str(tmp_path / "cohorts.json")).returncode == 0
    snapshot = json.loads((tmp_path / "cohorts.json").read_text(encoding="utf-8"))
    records = [json.loads(line) for line in made.stdout.splitlines()]
    lines = cli.stdout.splitlines()
    for index in (0, 12, 29):  # top band, middle, and wherever the last one ranks
        body = json.dumps({"records": [records[index]], "cohorts": snapshot}).encode()
        answer = request(server.url + "/packs/suzhou/inpatient-2023/score", body)
        assert answer.status == 200 and answer.body.decode() == lines[index] + "\n"
    stranger = json.dumps({"records": [records[0] | {"id": "NEW"}], "cohorts": snapshot})
    answer = request(server.url + "/packs/suzhou/inpatient-2023/score", stranger.encode())
    assert answer.status == 200
    assert json.loads(answer.body)["error"] == (
        "record 1 (id NEW): id NEW is not in the cohort snapshot in the request "
        "(30 institutions); score it with the batch, or make a new snapshot")
    # A snapshot of another pack is refused, naming both.
    other = json.dumps({"records": [], "cohorts": snapshot}).encode()
    answer = request(server.url + "/packs/suzhou/outpatient-2023/score", other)
    assert answer.status == 400
    assert "made with pack suzhou/inpatient-2023" in answer.json()["error"]
    assert "not with suzhou/outpatient-2023" in answer.json()["error"]


def test_hostile_records_in_a_body_are_their_own_errors_as_in_a_file(
        server: Server, tmp_path: Path) -> None:
    """A body is read as a JSON array file is: NaN, a repeated key, nesting 100 deep under an
    ignored key are each that record's error, the others scored; the same in the object form
    `{"records": [...], "cohorts": ...}` (a record too deep makes the service read the
    records array entry by entry, with the snapshot beside it)."""
    examples = (EXAMPLES / "suzhou-inpatient.jsonl").read_text(encoding="utf-8").splitlines()
    first, second = examples[0], examples[1]
    entries = [
        first,
        second.replace('"id": "SZ-H002"', '"id": "NAN", "procurement_score": NaN', 1),
        second.replace('"id": "SZ-H002"', '"id": "TWICE", "id": "TWICE"', 1),
        second.replace('"id": "SZ-H002"', '"id": "DEEP", "_note": ' + "[" * 100 + "]" * 100,
                       1),
    ]
    assert all(entry != second for entry in entries[1:])
    array = "[\n" + ",\n".join(entries) + "\n]\n"
    (tmp_path / "body.json").write_text(array, encoding="utf-8")
    cli = policyc("score", "--pack", "suzhou/inpatient-2023", str(tmp_path / "body.json"))
    assert cli.returncode == 3
    lines = [json.loads(line) for line in cli.stdout.splitlines()]
    assert [line["error"] is None for line in lines] == [True, False, False, False]
    assert "NaN is not a number" in lines[1]["error"]
    assert "appears more than once in one object" in lines[2]["error"]
    assert "record 4: nested deeper than 32 levels" in lines[3]["error"]
    url = server.url + "/packs/suzhou/inpatient-2023/score"
    answer = request(url, array.encode())
    assert answer.status == 200 and answer.body.decode() == cli.stdout
    answer = request(url, ('{"records": ' + array + "}").encode())
    assert answer.status == 200 and answer.body.decode() == cli.stdout

    # with a snapshot made from the examples: the first is its batch line, the rest as above
    assert policyc("cohorts", "--pack", "suzhou/inpatient-2023", str(EXAMPLES /
                   "suzhou-inpatient.jsonl"), "-o", str(tmp_path / "c.json")).returncode == 0
    snapshot = (tmp_path / "c.json").read_text(encoding="utf-8")
    alone = tmp_path / "first.jsonl"
    alone.write_text(first + "\n", encoding="utf-8")
    batch_line = policyc("score", "--pack", "suzhou/inpatient-2023", "--cohorts",
                         str(tmp_path / "c.json"), str(alone)).stdout
    answer = request(url, ('{"records": ' + array + ', "cohorts": ' + snapshot + "}").encode())
    assert answer.status == 200
    got = answer.body.decode().splitlines(keepends=True)
    assert got[0] == batch_line
    assert [json.loads(line)["error"] for line in got[1:]] == [
        line["error"] for line in lines[1:]]


@pytest.mark.parametrize(("body", "message"), [
    (b'{"records": [], "records": []}', "the key 'records' appears more than once"),
    (b'{"records": [], "cohorts": {"pack": NaN}}', "cohorts: pack: NaN is not a number"),
    (b'{"records": [], "cohorts": ' + b"[" * 100 + b"]" * 100 + b"}", "nested deeper"),
    (b'{"records": [' + b"[" * 100 + b"]" * 100 + b'], "x": ' + b"[" * 100 + b"]" * 100
     + b"}", "nested deeper"),
    (b'{"records": [{"id": 1}', "not valid JSON"),
])
def test_a_body_whose_envelope_is_not_strict_json_is_a_400(
        server: Server, body: bytes, message: str) -> None:
    answer = request(server.url + "/packs/suzhou/inpatient-2023/score", body)
    assert answer.status == 400 and message in answer.json()["error"]


@pytest.mark.parametrize(("body", "status", "message"), [
    (b'{"id": "x"}', 400, "expected a JSON array of records"),
    (b"[1, 2", 400, "not valid JSON"),
    (b"\xff\xfe", 400, "not UTF-8"),
    (b'"records"', 400, "expected a JSON array of records"),
    (b'{"records": {}}', 400, '"records" is not an array'),
])
def test_a_body_that_is_not_records_is_a_400_naming_the_problem(
        server: Server, body: bytes, status: int, message: str) -> None:
    answer = request(server.url + "/packs/suzhou/inpatient-2023/score", body)
    assert answer.status == status and answer.content_type == "application/json"
    assert message in answer.json()["error"]


def test_unknown_packs_and_endpoints_are_json_404s(server: Server) -> None:
    for url, method, body in (("/packs/nowhere/nothing", None, None),
                              ("/packs/nowhere/nothing/score", None, b"[]"),
                              ("/packs/suzhou/inpatient", None, None),  # no year, 2 versions?
                              ("/no-such-endpoint", None, None)):
        answer = request(server.url + url, body, method=method)
        assert answer.content_type == "application/json"
        assert answer.status in (404,), (url, answer.body)
        assert answer.json()["status"] == 404
    assert "no pack named nowhere/nothing" in request(
        server.url + "/packs/nowhere/nothing").json()["error"]
    wrong = request(server.url + "/packs/suzhou/inpatient-2023/score")  # GET
    assert wrong.status == 405 and wrong.content_type == "application/json"


def test_bodies_over_the_limit_are_413(small_body_server: Server) -> None:
    made = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_batch.py"), "300"],
                          capture_output=True, text=True, check=True)
    big = ("[" + ",".join(made.stdout.splitlines()) + "]").encode()
    assert len(big) > 200000
    over = request(small_body_server.url + "/packs/suzhou/inpatient-2023/score", big)
    assert over.status == 413 and over.content_type == "application/json"
    assert over.json()["error"] == (f"the request body is {len(big)} bytes, over the limit of "
                                    "200000 bytes; send smaller batches (policyc serve "
                                    "--max-body-bytes)")
    # Without a Content-Length (chunked), the body is counted as it comes.
    connection = http.client.HTTPConnection(small_body_server.url.removeprefix("http://"),
                                            timeout=60)
    try:
        connection.request("POST", "/packs/suzhou/inpatient-2023/score",
                           body=(big[start:start + 4096] for start in range(0, len(big), 4096)),
                           headers={"Content-Type": "application/json"}, encode_chunked=True)
        response = connection.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"] == (
            "the request body is over the limit of 200000 bytes; send smaller batches "
            "(policyc serve --max-body-bytes)")
    finally:
        connection.close()
    # A body within the limit is scored.
    some = ("[" + ",".join(made.stdout.splitlines()[:100]) + "]").encode()
    assert len(some) < 200000
    within = request(small_body_server.url + "/packs/suzhou/inpatient-2023/score", some)
    assert within.status == 200 and len(within.body.splitlines()) == 100


def test_requests_over_the_time_limit_are_408(hurried_server: Server) -> None:
    made = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_batch.py"), "100"],
                          capture_output=True, text=True, check=True)
    some = ("[" + ",".join(made.stdout.splitlines()) + "]").encode()
    # 100 records do not fit in 1 ms of reading, validating and scoring.
    slow = request(hurried_server.url + "/packs/suzhou/inpatient-2023/score", some)
    assert slow.status == 408 and slow.content_type == "application/json"
    assert "longer than the time limit of 0.001 s" in slow.json()["error"]
    assert request(hurried_server.url + "/healthz").status == 200  # still there


def test_concurrent_requests_each_get_their_own_answer(server: Server, tmp_path: Path) -> None:
    expected: dict[tuple[str, str], tuple[bytes, str]] = {}  # (sample, endpoint) → in, out
    for pack, sample in SAMPLES:
        array = as_json_array(EXAMPLES / sample, tmp_path)
        for endpoint, flags in (("score", ()), ("explain", ("--explain",))):
            out = policyc("score", "--pack", pack, str(array), *flags).stdout
            expected[sample, endpoint] = array.read_bytes(), out
    jobs: list[tuple[str, str, bytes, str, str]] = []
    for number in range(16):  # 16 requests over 6 different answers, at once
        pack, sample = SAMPLES[number % len(SAMPLES)]
        endpoint = "explain" if number % 2 else "score"
        body, out = expected[sample, endpoint]
        jobs.append((pack, endpoint, body, out, sample))
    answers: dict[int, Answer] = {}

    def send(number: int) -> None:
        pack, endpoint, body, _, _ = jobs[number]
        answers[number] = request(f"{server.url}/packs/{pack}/{endpoint}", body)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 16
    for number, (_, _, _, expected, sample) in enumerate(jobs):
        assert answers[number].status == 200, (number, sample)
        assert answers[number].body.decode("utf-8") == expected, (number, sample)


def test_healthz_answers_while_a_large_batch_is_scored(server: Server) -> None:
    made = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_batch.py"), "6000"],
                          capture_output=True, text=True, check=True)
    body = ("[" + ",".join(made.stdout.splitlines()) + "]").encode()
    done: list[float] = []
    big: list[Answer] = []

    def score_big() -> None:
        big.append(request(server.url + "/packs/suzhou/inpatient-2023/explain", body))
        done.append(time.monotonic())

    worker = threading.Thread(target=score_big)
    worker.start()
    answered: list[float] = []
    for _ in range(200):  # bounded: at most 200 polls
        if done:
            break
        assert request(server.url + "/healthz").status == 200
        answered.append(time.monotonic())
        time.sleep(0.01)
    worker.join(timeout=120)
    assert big and big[0].status == 200 and len(big[0].body.splitlines()) == 6000
    # Health checks were answered while the batch was being scored, not only after it.
    assert answered and answered[0] < done[0]
    assert sum(1 for moment in answered if moment < done[0]) >= 2


def test_serve_without_the_extra_says_how_to_install_it(tmp_path: Path) -> None:
    """With starlette made unimportable, `policyc serve` explains and exits 2."""
    blocker = tmp_path / "starlette"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('No module named starlette')\n",
                                         encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "policy_dsl.cli", "serve", "--packs", str(PACKS)],
        cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=30, check=False,
        env=os.environ | {"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 2
    assert "pip install 'policy-dsl[serve]'" in result.stderr


def test_a_refused_pack_stops_the_start(tmp_path: Path) -> None:
    """A pack file edited after the build (a threshold 80 → 50) is refused by the verified
    loader: the service does not start (exit 2) and says which pack and what differs."""
    packs = tmp_path / "generated"
    shutil.copytree(PACKS, packs)
    pack_file = packs / "suzhou_inpatient_2023.py"
    text = pack_file.read_text(encoding="utf-8")
    assert "_D80 = Decimal('80')" in text
    pack_file.write_text(text.replace("_D80 = Decimal('80')", "_D80 = Decimal('50')"),
                         encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "policy_dsl.cli", "serve", "--port", "0", "--packs", str(packs)],
        cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "serving" not in result.stderr
    assert "pack suzhou/inpatient-2023:" in result.stderr
    assert "but the manifest says" in result.stderr
    # A pack file missing altogether stops it too.
    pack_file.unlink()
    result = subprocess.run(
        [sys.executable, "-m", "policy_dsl.cli", "serve", "--port", "0", "--packs", str(packs)],
        cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=60, check=False)
    assert result.returncode == 2 and "suzhou_inpatient_2023.py is missing" in result.stderr
