"""The API under load, measured side by side in one run. Prints one JSON object.

A real ``cinegen serve`` (API + one worker process) on loopback, driven over HTTP:

1. status polls (``GET /v1/videos/{id}``) while the server is idle, then the same number
   while a long generation runs: latency p50 / p99 and requests per second for each, and
   the busy / idle ratios (the API must stay responsive while a worker renders);
2. create-to-first-progress: from ``POST /v1/videos`` to the first progress above zero
   seen on the task, the time a user waits before the bar moves.

    python bench/api.py [--polls 300] [--model cinegen-tiny] [--size 854x480] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from cinegen.store.db import open_database
from cinegen.store.keys import create_key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def polls(client: httpx.Client, video_id: str, n: int) -> dict[str, float]:
    latencies = []
    t0 = time.perf_counter()
    for _ in range(n):
        start = time.perf_counter()
        client.get(f"/v1/videos/{video_id}").raise_for_status()
        latencies.append(time.perf_counter() - start)
    wall = time.perf_counter() - t0
    latencies.sort()
    return {
        "p50_ms": round(1000 * statistics.median(latencies), 2),
        "p99_ms": round(1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 2),
        "requests_per_s": round(n / wall, 1),
    }


def wait(client: httpx.Client, video_id: str, until: Any, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        video = client.get(f"/v1/videos/{video_id}").json()
        if until(video):
            return dict(video)
        time.sleep(0.01)
    raise TimeoutError(video_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=300)
    parser.add_argument("--model", default="cinegen-tiny")
    parser.add_argument("--size", default="854x480")
    parser.add_argument("--seconds", default="10")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="cinegen-bench-api-"))
    with open_database(data_dir)() as session:
        key = create_key(session, "bench").secret
    port = free_port()
    env = {**os.environ, "CINEGEN_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "cinegen", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                client.get("/healthz").raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        body = {"prompt": "a blue star moving right over a night sky", "model": args.model,
                "size": args.size, "seconds": args.seconds}  # fmt: skip
        # Warm-up: the worker loads the model once, so the timed task is pure generation.
        warm = client.post("/v1/videos", json={**body, "seconds": "1"}).json()["id"]
        wait(client, warm, lambda v: v["status"] in ("completed", "failed"))
        idle = polls(client, warm, args.polls)

        t0 = time.perf_counter()
        busy_id = client.post("/v1/videos", json=body).json()["id"]
        wait(client, busy_id, lambda v: v["progress"] > 0)
        first_progress_s = time.perf_counter() - t0
        busy = polls(client, busy_id, args.polls)
        still_running = client.get(f"/v1/videos/{busy_id}").json()["status"] == "in_progress"
        wait(client, busy_id, lambda v: v["status"] in ("completed", "failed"))
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(json.dumps({
        "polls": args.polls,
        "idle": idle,
        "busy": busy,
        "busy_over_idle_p50": round(busy["p50_ms"] / idle["p50_ms"], 2),
        "busy_over_idle_p99": round(busy["p99_ms"] / idle["p99_ms"], 2),
        "busy_over_idle_requests_per_s": round(busy["requests_per_s"] / idle["requests_per_s"], 2),
        "generation_still_running_after_busy_polls": still_running,
        "create_to_first_progress_s": round(first_progress_s, 3),
        "model": args.model,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
