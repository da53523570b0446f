"""The studio against the API, side by side in one run. Prints one JSON object.

A real ``cinegen serve`` on loopback with one worker process (idle poll 20 ms, see
``WORKER``); Debian's chromium driven by Playwright (never a browser download):

1. create to first preview: from clicking ``Create`` in the studio to the first preview
   frame put on the page (both moments taken in the page itself), against the same request
   made straight to the API (``POST /backend/video_gen``, then its event stream until the
   first ``preview`` event). Alternated, ``--runs`` of each, each sent a second after the
   task before it ended; the ratio of the medians is the studio's overhead (target ≤ 1.2);
2. first load of ``/`` on loopback: the navigation's response end, DOM ready and load,
   cold (a new browser context) and warm (a reload).

    python bench/studio.py [--runs 5] [--size 854x480] [--seconds 4]
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
WORKER = """
from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.jobs.worker import Worker
from cinegen.store.db import open_database
settings = Settings()
sessions = open_database(settings.data_dir, settings.database_url)
Worker.configured(settings, sessions, Engine(settings)).run(idle_s=0.02)
"""
SETTLE_S = 1.0  # after the previous task ends, before the next create (the page is set by then)

# In the page: when Create is clicked and when the first preview frame is put in the queue
# (performance.now(), ms), so the figure is the page's own, not Playwright's polling.
WATCH = """() => {
  window.__bench = {};
  document.getElementById("create_button").addEventListener(
    "click", () => { window.__bench.click = performance.now(); }, { capture: true });
  new MutationObserver(() => {
    if (window.__bench.shown === undefined &&
        document.querySelector('#queue img.preview[src^="data:"]')) {
      window.__bench.shown = performance.now();
    }
  }).observe(document.getElementById("queue"),
             { subtree: true, childList: true, attributes: true });
}"""


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


def wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def api_first_preview(
    client: httpx.Client, body: dict[str, Any], *, start_at: float
) -> tuple[float, str]:
    """Seconds from the create request to the first preview event on the task's stream."""
    wait_until(start_at)
    t0 = time.perf_counter()
    task_id = client.post("/backend/video_gen", json=body).json()["id"]
    with client.stream("GET", f"/v1/tasks/{task_id}/events", timeout=600) as stream:
        for line in stream.iter_lines():
            if line == "event: preview":
                return time.perf_counter() - t0, task_id
    raise AssertionError(f"task {task_id} ended without a preview")


def studio_first_preview(
    page: Page, args: argparse.Namespace, seed: int, *, start_at: float
) -> tuple[float, str]:
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
    assert time.monotonic() < start_at, "setting the page took longer than SETTLE_S"
    page.evaluate(WATCH)
    wait_until(start_at)
    page.get_by_role("button", name="Create").click()
    page.wait_for_function("() => window.__bench.shown !== undefined", timeout=600_000)
    marks = page.evaluate("window.__bench")
    elapsed = (marks["shown"] - marks["click"]) / 1000
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
    parser.add_argument("--runs", type=int, default=5)
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
        [sys.executable, "-m", "cinegen", "serve", "--port", str(port), "--workers", "0"],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    # The worker as `cinegen worker` runs it, but looking for work every 20 ms instead of
    # every 0.5 s when idle: where a create lands in that wait would otherwise be most of
    # the difference between two runs, and it is the same for the studio and the API.
    worker = subprocess.Popen([sys.executable, "-c", WORKER], env=env, stderr=subprocess.DEVNULL)
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
            task_id = warm
            for run in range(args.runs):
                # Each create is sent the same while after the previous task ended.
                until_ended(client, task_id)
                start_at = time.monotonic() + SETTLE_S
                seconds, task_id = api_first_preview(
                    client, request_body(args, 1 + run), start_at=start_at
                )
                api_s.append(seconds)
                until_ended(client, task_id)
                start_at = time.monotonic() + SETTLE_S
                seconds, task_id = studio_first_preview(page, args, 1 + run, start_at=start_at)
                studio_s.append(seconds)
            until_ended(client, task_id)
            browser.close()
    finally:
        for process in (worker, server):
            process.terminate()
            process.wait(timeout=60)
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
