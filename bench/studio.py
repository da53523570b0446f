"""The studio against the API, side by side in one run. Prints one JSON object.

A real ``cinegen serve`` (API + one worker process) on loopback; Debian's chromium driven by
Playwright (never a browser download):

1. create to first preview: from clicking ``Create`` in the studio to the first preview
   frame shown in the page, against the same request made straight to the API
   (``POST /backend/video_gen``, then its event stream until the first ``preview``
   event). Alternated, ``--runs`` of each, the worker idle before each; the ratio of the
   medians is the studio's overhead (target ≤ 1.2);
2. first load of ``/`` on loopback: the navigation's response end, DOM ready and load,
   cold (a new browser context) and warm (a reload).

    python bench/studio.py [--runs 3] [--size 854x480] [--seconds 4]
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
from playwright.sync_api import Page, sync_playwright

from cinegen.store.db import open_database
from cinegen.store.keys import create_key

PROMPT = "a blue star moving right over a night sky"
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request_body(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    width, height = (int(v) for v in args.size.split("x"))
    return {"prompt": PROMPT, "width": width, "height": height, "seed": seed,
            "n_frames": round(float(args.seconds) * 30), "preset": "turbo"}  # fmt: skip


def until_ended(client: httpx.Client, task_id: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while client.get(f"/backend/video_gen/{task_id}").json()["status"] in ("queued", "running"):
        if time.monotonic() > deadline:
            raise TimeoutError(task_id)
        time.sleep(0.05)


def api_first_preview(client: httpx.Client, body: dict[str, Any]) -> tuple[float, str]:
    """Seconds from the create request to the first preview event on the task's stream."""
    t0 = time.perf_counter()
    task_id = client.post("/backend/video_gen", json=body).json()["id"]
    with client.stream("GET", f"/v1/tasks/{task_id}/events", timeout=600) as stream:
        for line in stream.iter_lines():
            if line == "event: preview":
                return time.perf_counter() - t0, task_id
    raise AssertionError(f"task {task_id} ended without a preview")


def studio_first_preview(page: Page, args: argparse.Namespace, seed: int) -> tuple[float, str]:
    """Seconds from clicking Create to the first preview frame shown in the queue."""
    page.goto("/")
    page.get_by_label("Prompt", exact=True).fill(PROMPT)
    width, height = args.size.split("x")
    page.locator("#size").select_option(f"{width}x{height}")
    page.locator("#duration").select_option(f"{float(args.seconds):g}")
    page.locator("summary", has_text="More").click()
    page.get_by_label("Seed").fill(str(seed))
    page.get_by_role("radio", name="Turbo").check()
    before = set(page.locator("ol#queue > li").evaluate_all("items => items.map(i => i.id)"))
    t0 = time.perf_counter()
    page.get_by_role("button", name="Create").click()
    preview = page.locator('ol#queue img.preview[src^="data:"]').first
    preview.wait_for(timeout=600_000)
    elapsed = time.perf_counter() - t0
    ids = page.locator("ol#queue > li").evaluate_all("items => items.map(i => i.id)")
    return elapsed, next(i for i in ids if i not in before).removeprefix("task_")


def first_load(page: Page) -> dict[str, float]:
    timing = page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return {response_end_ms: n.responseEnd, dom_ready_ms: n.domContentLoadedEventEnd,"
        " load_ms: n.loadEventEnd}; }"
    )
    return {k: round(v, 1) for k, v in timing.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", default="854x480")
    parser.add_argument("--seconds", default="4")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="cinegen-bench-studio-"))
    with open_database(data_dir)() as session:
        key = create_key(session, "bench").secret
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CINEGEN_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "cinegen", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    api_s, studio_s = [], []
    try:
        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"})
        deadline = time.monotonic() + 120
        while True:
            try:
                client.get("/healthz").raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        # Warm-up: the worker loads the model once, so each timed task is pure generation.
        warm = client.post("/backend/video_gen", json=request_body(args, 0)).json()["id"]
        until_ended(client, warm)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            context = browser.new_context(base_url=url)
            page = context.new_page()
            page.goto("/")
            cold = first_load(page)
            page.get_by_label("API key").fill(key)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="Create").wait_for()
            page.reload()
            warm_load = first_load(page)
            for run in range(args.runs):
                seconds, task_id = api_first_preview(client, request_body(args, 1 + run))
                api_s.append(seconds)
                until_ended(client, task_id)
                seconds, task_id = studio_first_preview(page, args, 1 + run)
                studio_s.append(seconds)
                until_ended(client, task_id)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
    api_median, studio_median = statistics.median(api_s), statistics.median(studio_s)
    print(json.dumps({
        "runs": args.runs,
        "size": args.size,
        "seconds": args.seconds,
        "api_create_to_first_preview_s": [round(s, 3) for s in api_s],
        "studio_create_to_first_preview_s": [round(s, 3) for s in studio_s],
        "studio_over_api": round(studio_median / api_median, 3),
        "first_load_cold": cold,
        "first_load_warm": warm_load,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
