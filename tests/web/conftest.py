"""The studio's browser tests: a live studio per module, Debian's chromium per run, a fresh
browser context per page, and a test failed by any error the browser reports.

Fixtures:

- ``studio`` (module): `cinegen serve` on 127.0.0.1 with one worker and cinegen-tiny, the
  embedded model, as its default (``harness.Studio``: ``key()``, ``revoke()``,
  ``suspended()``, ``api()``, ``video()``, ``worker.paused()``). Override
  ``studio_settings`` in a module to change its settings.
- ``browser`` (session): headless /usr/bin/chromium, never a downloaded browser. Without
  it the web tests are skipped, or fail when ``REQUIRE_BROWSER=1`` (CI).
- ``page``: a page in a new context whose base URL is the studio (``page.goto("/")``).
- ``new_page(**context_options)``: more pages, each in its own context (a second account,
  a phone's viewport).
- ``console``: the watch on every page's console; ``console.allow_failed_request(400)``
  when a test expects the server to refuse a request the page makes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cinegen.api.app import create_app
from cinegen.config import Settings
from cinegen.store.db import open_database

from ..servers import serving, worker_sharing
from .harness import ConsoleWatch, Studio, WorkerThread

CHROMIUM = Path("/usr/bin/chromium")
WATCH = pytest.StashKey[ConsoleWatch]()
ACTION_TIMEOUT_MS = 15_000  # a click or an expect on a loaded 2-core machine


@pytest.fixture(scope="session", autouse=True)
def _chromium() -> None:
    """Skip the module before its server starts when there is no browser to drive."""
    reason = None
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (pip install -e '.[test]')"
    if reason is not None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=ACTION_TIMEOUT_MS)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def studio_settings() -> dict[str, object]:
    """Settings a module's studio runs with beyond the defaults here (override it)."""
    return {}


@pytest.fixture(scope="module")
def studio(tmp_path_factory, engine, studio_settings) -> Iterator[Studio]:  # type: ignore[no-untyped-def]
    data_dir = tmp_path_factory.mktemp("studio")
    defaults = {"default_model": "cinegen-tiny", "poll_after_ms": 100}
    settings = Settings(data_dir=data_dir, **{**defaults, **studio_settings})
    sessions = open_database(data_dir)
    worker = WorkerThread(worker_sharing(engine, settings, sessions))
    with serving(create_app(settings, sessions), settings) as url:
        worker.start()
        yield Studio(url, settings, sessions, worker)
        worker.stop()


@pytest.fixture
def console(request: pytest.FixtureRequest) -> ConsoleWatch:
    watch = ConsoleWatch()
    request.node.stash[WATCH] = watch
    return watch


@pytest.fixture
def new_page(browser, studio: Studio, console: ConsoleWatch) -> Iterator[Callable[..., Any]]:  # type: ignore[no-untyped-def]
    contexts = []

    def make(**context_options: Any) -> Any:
        context = browser.new_context(base_url=studio.url, **context_options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        console.watch(page)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    return new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test that passed fails after all if its pages reported an error."""
    result = yield
    watch = item.stash.get(WATCH, None)
    if watch is not None:
        watch.check()
    return result
