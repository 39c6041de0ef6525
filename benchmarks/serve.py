"""Time the scoring service: small requests at a given concurrency, and one large batch.

    python benchmarks/serve.py [REQUESTS] [CONCURRENCY] [BATCH]
    python benchmarks/serve.py 400 16 10000

Starts `policyc serve --port 0` on 127.0.0.1 (its own process, stopped at the end), sends
REQUESTS copies of examples/suzhou-inpatient.jsonl (4 records) from CONCURRENCY threads, then
one JSON array of BATCH synthetic records (benchmarks/make_batch.py), and prints requests/s,
latency percentiles and the batch's records/s. Every answer is checked against the first.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
URL_PATH = "/packs/suzhou/inpatient-2023/score"


def post(url: str, body: bytes) -> bytes:
    request = urllib.request.Request(url, data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return bytes(response.read())


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
    server = subprocess.Popen(
        [sys.executable, "-m", "policy_dsl.cli", "serve", "--port", "0",
         "--max-body-bytes", str(64 * 1024 * 1024), "--time-limit", "600"],
        cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert server.stderr is not None
    found = re.search(r"http://127\.0\.0\.1:(\d+)", server.stderr.readline())
    assert found, "the server did not start"
    url = f"http://127.0.0.1:{found.group(1)}{URL_PATH}"
    try:
        lines = (ROOT / "examples" / "suzhou-inpatient.jsonl").read_text("utf-8").splitlines()
        small = ("[" + ",".join(lines) + "]").encode()
        expected = post(url, small)  # also the warm-up
        latencies: list[float] = []
        lock = threading.Lock()
        per_thread = count // concurrency

        def client() -> None:
            for _ in range(per_thread):
                started = time.perf_counter()
                assert post(url, small) == expected
                with lock:
                    latencies.append(time.perf_counter() - started)

        threads = [threading.Thread(target=client) for _ in range(concurrency)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        latencies.sort()
        sent = len(latencies)
        print(f"{sent} requests of 4 records, {concurrency} at a time: {sent / wall:.0f} "
              f"requests/s; latency p50 {latencies[sent // 2] * 1000:.1f} ms, p95 "
              f"{latencies[int(sent * 0.95)] * 1000:.1f} ms")
        made = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_batch.py"),
                               str(batch)], capture_output=True, text=True, check=True)
        body = ("[" + ",".join(made.stdout.splitlines()) + "]").encode()
        started = time.perf_counter()
        answer = post(url, body)
        wall = time.perf_counter() - started
        assert len(answer.splitlines()) == batch
        assert all(json.loads(line)["error"] is None for line in answer.splitlines())
        print(f"one request of {batch} records ({len(body) / 1e6:.1f} MB): {wall:.2f} s, "
              f"{batch / wall:.0f} records/s")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
