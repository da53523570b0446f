"""What the studio's browser tests share: a live studio (server + worker on loopback), a
watch on the browser's console, and the steps and checks a person's session is made of.

The fixtures that hand these out live in ``conftest.py`` (``studio``, ``page``,
``new_page``, ``console``, ``browser``); a test imports the helpers::

    from .harness import TOY_PROMPT, assert_accessible, assert_video_plays, signed_in

    @pytest.mark.slow  # it renders
    def test_a_video_opens_from_the_library(studio, page):
        key = studio.key()
        task = studio.video(key, seed=7)  # made through the API, waited for
        signed_in(page, key)
        page.goto("/library")
        ...
        assert_video_plays(page, page.get_by_label("Video"), 2.0)
        assert_accessible(page)

- ``Studio``: ``key(role=Role.reviewer)`` a key of a new account (``StudioKey.secret`` is
  what is typed); ``revoke(key)``; ``with suspended(reason)``; ``api(key)`` an httpx
  client with the key; ``video(key, seed=…)`` a finished quick draft; ``with
  worker.paused()`` tasks stay queued.
- Steps: ``signed_in(page, key)``, ``fill_draft(page, prompt, seed=…)``,
  ``queued_task(page, prompt)``, ``record_queue(page)``.
- Checks: ``assert_accessible(page)`` (axe-core: no serious or critical violation),
  ``assert_video_plays(page, video_locator_or_url, seconds)``, ``assert_image_shows(img)``,
  ``described(scope)`` a description list's terms and what each says.
- ``screenshot(page, name, tmp_path)``: the README's pictures (``SCREENSHOTS``).
- Every test that renders fixes its seed (tests/conftest.py fails one that does not) and
  is marked ``slow``. A test that expects the server to refuse a request its page makes
  calls ``console.allow_failed_request(status)`` first (``ConsoleWatch``).
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Locator, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from cinegen.config import Settings
from cinegen.jobs.worker import Worker
from cinegen.store import access
from cinegen.store.keys import create_key, revoke_key
from cinegen.store.models import Role

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# The README's pictures of the studio (docs/studio/*.png) are taken by the tests that show
# each page: `CINEGEN_SCREENSHOTS=docs pytest tests/web` writes them there; otherwise
# they go to a temporary folder, so a plain test run changes nothing in the tree.
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "studio"
# Trap: Settings refuses any unknown CINEGEN_* variable, so the switch is taken out of the
# environment here, at import (collection), before a studio reads its settings.
SCREENSHOTS_TO_DOCS = os.environ.pop("CINEGEN_SCREENSHOTS", "") == "docs"
# A render of a quick draft takes seconds alone; two cores shared with a browser and other
# test runs can make it a minute.
RENDER_TIMEOUT_MS = 120_000
# A toy-world prompt cinegen-tiny draws, and the quick-draft size and length the menus offer.
TOY_PROMPT = "a red circle moves right over a starry night sky"
DRAFT_SIZE = "16:9 · 426×240"
DRAFT_DURATION = "2 s"
SORA_FPS = 30


# --- the live studio -------------------------------------------------------------------------
@dataclass(frozen=True)
class StudioKey:
    """A key made for a test: ``secret`` is what a person types at sign-in."""

    secret: str
    id: str
    account: str
    role: Role


class WorkerThread:
    """The studio's one worker, on a thread that a test can stop and start again."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop = threading.Event()
        run = self.worker.run
        self._thread = threading.Thread(target=run, args=(self._stop, 0.05), daemon=True)
        self._thread.start()

    def stop(self, timeout: float = RENDER_TIMEOUT_MS / 1000) -> None:
        """Stop taking tasks; a render under way finishes first."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the worker did not stop"
        self._thread = None

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No task is taken inside this block: what is created stays queued."""
        self.stop()
        try:
            yield
        finally:
            self.start()


@dataclass
class Studio:
    """A `cinegen serve` on loopback for one test module: ``url``, its database, its worker."""

    url: str
    settings: Settings
    sessions: sessionmaker[Session]
    worker: WorkerThread

    def key(
        self, name: str | None = None, *, role: Role = Role.artist, account: str | None = None
    ) -> StudioKey:
        """A new key, for a new account of ``role`` unless ``account`` names an existing one.
        Names are unique by default: tests of one module share the server."""
        name = name or f"{role.value}-{uuid.uuid4().hex[:8]}"
        with self.sessions() as session:
            made = create_key(session, name, account=account, role=role)
            return StudioKey(made.secret, made.key.id, made.key.account.name, role)

    def revoke(self, key: StudioKey) -> None:
        with self.sessions() as session:
            revoke_key(session, key.id, actor="test")

    @contextmanager
    def suspended(self, reason: str) -> Iterator[None]:
        """Access suspended by the operator for the block (`cinegen admin suspend`)."""
        with self.sessions() as session:
            access.suspend(session, "test-operator", reason)
        try:
            yield
        finally:
            with self.sessions() as session:
                access.resume(session, "test-operator")

    def api(self, key: StudioKey) -> httpx.Client:
        """An API client with ``key`` as its bearer token (close it, or use ``with``)."""
        headers = {"Authorization": f"Bearer {key.secret}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def video(self, key: StudioKey, *, seed: int, prompt: str = TOY_PROMPT) -> dict[str, Any]:
        """A finished quick draft of ``key``'s account, made through the API (for tests of
        pages that show videos): the Sora-dialect task once it has succeeded."""
        with self.api(key) as http:
            created = http.post("/backend/video_gen", json=draft_request(prompt, seed=seed))
            assert created.status_code == 200, created.text
            task = video_gen_ended(http, created.json()["id"])
        assert task["status"] == "succeeded", task
        return task


def draft_request(prompt: str, *, seed: int) -> dict[str, Any]:
    """The Sora-dialect body of the smallest, quickest video the studio offers."""
    return {
        "prompt": prompt,
        "model": "cinegen-tiny",
        "preset": "turbo",
        "width": 426,
        "height": 240,
        "n_frames": 2 * SORA_FPS,
        "seed": seed,
    }


def video_gen_ended(http: httpx.Client, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RENDER_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        task: dict[str, Any] = http.get(f"/backend/video_gen/{task_id}").json()
        if task["status"] not in ("queued", "running"):
            return task
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} did not end in time")


# --- the browser's console -------------------------------------------------------------------
FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d{3})")


@dataclass
class ConsoleWatch:
    """Console errors and uncaught page errors of every page a test opens; any one fails
    the test (``conftest.pytest_runtest_call``).

    Trap: chromium logs "Failed to load resource: the server responded with a status of
    400" for every fetch that is answered with an error, even one the page handles as
    designed (a refusal shown at its field). A test that expects such an answer says so
    first, ``console.allow_failed_request(400)``; only that console line, for those
    statuses, is then let through — a script error never is.
    """

    problems: list[str] = field(default_factory=list)
    allowed_statuses: set[int] = field(default_factory=set)

    def allow_failed_request(self, *statuses: int) -> None:
        self.allowed_statuses.update(statuses)

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        failed = FAILED_LOAD.search(message.text)
        if failed and int(failed.group(1)) in self.allowed_statuses:
            return
        self.problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def check(self) -> None:
        __tracebackhide__ = True
        if self.problems:
            pytest.fail("the browser reported errors:\n  " + "\n  ".join(self.problems))


# --- a person's steps ------------------------------------------------------------------------
def signed_in(page: Page, key: StudioKey | str) -> Page:
    """Open the studio, type the key at `API key`, press `Sign in`: the Create page shows."""
    secret = key.secret if isinstance(key, StudioKey) else key
    page.goto("/")
    page.get_by_label("API key").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Create", level=1)).to_be_visible()
    return page


def fill_draft(page: Page, prompt: str, *, seed: int) -> None:
    """Fill the Create form for the quickest video: the prompt, the smallest size, 2 s, the
    seed under `More` (every render in a test fixes its seed)."""
    page.get_by_label("Prompt", exact=True).fill(prompt)
    page.get_by_label("Aspect and size").select_option(label=DRAFT_SIZE)
    page.get_by_label("Duration").select_option(label=DRAFT_DURATION)
    more = page.locator("details", has=page.get_by_text("More", exact=True))
    if more.get_attribute("open") is None:
        page.get_by_text("More", exact=True).click()
    page.get_by_label("Seed").fill(str(seed))


def queued_task(page: Page, prompt: str) -> Locator:
    """The queue's entry for the (one) task with ``prompt``."""
    queue = page.get_by_role("region", name="Queue")
    return queue.get_by_role("listitem").filter(has=page.get_by_text(prompt, exact=True))


def record_queue(page: Page) -> Callable[[], dict[str, Any]]:
    """Start noting what the queue shows as it changes; the returned function reads what
    was seen: ``progress`` (each value a bar showed), ``previews`` (distinct preview
    frames shown), ``states`` (each state line shown).

    Trap: a quick render goes from queued to done in a second or two, and its preview
    is replaced by the finished thumbnail; expecting each in turn would race it. The
    stream replays every event, so each one is shown, if briefly: noted here."""
    page.evaluate(
        """() => {
            const seen = window.__queueSeen = {progress: [], previews: [], states: []};
            const queue = document.getElementById("queue");
            const note = () => {
                for (const bar of queue.querySelectorAll("progress")) seen.progress.push(bar.value);
                for (const img of queue.querySelectorAll("img")) {
                    if (img.alt.startsWith("Preview of") && !seen.previews.includes(img.src)) {
                        seen.previews.push(img.src);
                    }
                }
                for (const {textContent: state} of queue.querySelectorAll(".state")) {
                    if (seen.states.at(-1) !== state) seen.states.push(state);
                }
            };
            new MutationObserver(note).observe(
                queue, {subtree: true, childList: true, attributes: true, characterData: true});
        }"""
    )
    return lambda: dict(page.evaluate("window.__queueSeen"))


# --- checks ----------------------------------------------------------------------------------
def assert_accessible(page: Page) -> None:
    """axe-core (tests/web/vendor) finds no serious or critical violation on the page."""
    # Served as if from the studio itself: its Content-Security-Policy allows no inline
    # script, so an injected copy of axe would be refused.
    page.route(
        "**/__tests__/axe.min.js",
        lambda route: route.fulfill(path=AXE, content_type="text/javascript"),
    )
    page.add_script_tag(url="/__tests__/axe.min.js")
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                          targets: v.nodes.map((n) => n.target.join(" "))}))"""
    )
    if violations:
        lines = [
            f"{v['id']} ({v['impact']}): {v['help']} — {', '.join(v['targets'][:5])}"
            for v in violations
        ]
        pytest.fail(f"accessibility violations on {page.url}:\n  " + "\n  ".join(lines))


def described(scope: Locator) -> dict[str, str]:
    """A description list's terms and what each says, as a screen reader reads them."""
    terms = scope.get_by_role("term").all_inner_texts()
    definitions = scope.get_by_role("definition").all_inner_texts()
    assert len(terms) == len(definitions), (terms, definitions)
    return dict(zip(terms, definitions, strict=True))


def assert_image_shows(image: Locator) -> None:
    """The <img> is visible and its picture loaded (a broken src still shows its alt)."""
    expect(image).to_be_visible()
    image.page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )


def assert_video_plays(
    page: Page, video: Locator | str, seconds: float, *, fps: float = SORA_FPS
) -> None:
    """The video loads and plays in this page, ``seconds`` long within one frame.

    ``video`` is a <video> on the page, or a URL the page can open with its session (such
    as a generation's ``url``); a URL is played in a <video> added to the page."""
    if isinstance(video, str):
        page.evaluate(
            """(src) => {
                const video = document.createElement("video");
                video.id = "test_video_plays"; video.muted = true; video.src = src;
                document.body.append(video);
            }""",
            video,
        )
        video = page.locator("#test_video_plays")
    # readyState 2 (HAVE_CURRENT_DATA): the first frame is decoded.
    page.wait_for_function("(v) => v.readyState >= 2", arg=video.element_handle(), timeout=30_000)
    duration = video.evaluate("(v) => v.duration")
    assert abs(duration - seconds) <= 1 / fps + 1e-6, f"the video lasts {duration} s"
    advanced = video.evaluate(
        """async (v) => {
            v.muted = true;
            await v.play();
            await new Promise((done) => setTimeout(done, 300));
            return v.currentTime;
        }"""
    )
    assert advanced > 0, "the video did not play"


def screenshot(page: Page, name: str, tmp_path: Path) -> Path:
    """A picture of what the page shows now, for the README (see ``SCREENSHOTS``)."""
    folder = SCREENSHOTS if SCREENSHOTS_TO_DOCS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=False, animations="disabled")
    assert path.stat().st_size > 1000
    return path


# --- data for the role pages (Review, Admin, Verify) -------------------------------------------
def asked_to_share(studio: Studio, key: StudioKey, *, seed: int, prompt: str = TOY_PROMPT) -> str:
    """A finished video of ``key``'s that its owner asked to share (POST …/share, as the
    detail page's Share does): its generation id. With ``review`` on it waits for a
    reviewer; otherwise it is public at once."""
    generation: str = studio.video(key, seed=seed, prompt=prompt)["generations"][0]["id"]
    with studio.api(key) as http:
        asked = http.post(f"/v1/generations/{generation}/share")
        assert asked.status_code == 200, asked.text
    return generation


def video_file(studio: Studio, key: StudioKey, task: dict[str, Any]) -> bytes:
    """The MP4 of ``task``'s first video as its owner downloads it."""
    with studio.api(key) as http:
        answer = http.get(task["generations"][0]["url"])
        assert answer.status_code == 200, answer.text
        return answer.content
