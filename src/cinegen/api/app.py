"""``create_app()``: both HTTP dialects on one FastAPI app over the shared database.

The API never renders: it validates, stores and answers. Workers (``cinegen worker``, or
the ones ``cinegen serve`` starts) do the generating, so a slow or crashing generation
cannot stall or kill the API. The studio's pages (``web/``) are served by the same app: the
page and the API share one origin and one session.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from cinegen.api import errors
from cinegen.api.auth_failures import AuthFailures
from cinegen.api.native import admin, generations, keys, sharing, verify
from cinegen.api.native import tasks as native_tasks
from cinegen.api.openai import batch_work
from cinegen.api.openai import batches as openai_batches
from cinegen.api.openai import characters as openai_characters
from cinegen.api.openai import files as openai_files
from cinegen.api.openai import operations as openai_operations
from cinegen.api.openai import provenance_checks as openai_provenance_checks
from cinegen.api.openai import videos as openai_videos
from cinegen.api.openai import webhooks as openai_webhooks
from cinegen.api.sora import video_gen as sora_video_gen
from cinegen.config import Settings
from cinegen.jobs.webhooks import Courier
from cinegen.store.db import open_database
from cinegen.version import __version__
from cinegen.web import pages

log = logging.getLogger(__name__)
# How often the API process's own chores run (``_chores``), in seconds.
WEBHOOKS_EVERY_S = 1.0
BATCHES_EVERY_S = 2.0
FILES_EVERY_S = 60.0  # expiry is given in whole hours at least: a minute late is on time


def server_config(app: FastAPI, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """How uvicorn serves ``app``: the settings' address, and X-Forwarded-For believed from
    the trusted proxies only (request.client is then the real client)."""
    options: dict[str, Any] = dict(
        host=settings.host,
        port=settings.port,
        log_level="warning",
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
    )
    return uvicorn.Config(app, **{**options, **overrides})


def create_app(
    settings: Settings | None = None, sessions: sessionmaker[Session] | None = None
) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        lifespan=_chores,
        title="cinegen",
        version=__version__,
        description="Self-hosted video generation: the OpenAI Videos API and the Sora "
        "`video_gen` backend on a durable job queue.",
    )
    app.state.settings = settings
    app.state.data_dir = Path(settings.data_dir)
    app.state.auth_failures = AuthFailures(settings.max_auth_failures_per_minute)
    app.state.sessions = sessions or open_database(settings.data_dir, settings.database_url)
    errors.install(app)
    # Fixed paths (/v1/videos/characters/…) before the ones that take any id in their place.
    app.include_router(openai_characters.router)
    app.include_router(openai_operations.router)
    app.include_router(openai_videos.router)
    app.include_router(openai_provenance_checks.router)
    app.include_router(openai_webhooks.router)
    app.include_router(openai_files.router)
    app.include_router(openai_batches.router)
    app.include_router(admin.router)
    app.include_router(keys.router)
    app.include_router(generations.router)
    app.include_router(sharing.owners)
    app.include_router(sharing.review)
    app.include_router(sharing.public)
    app.include_router(verify.router)
    app.include_router(sora_video_gen.router)
    app.include_router(native_tasks.router)
    # The studio: its pages at /, its scripts and styles at /static (web/).
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    app.add_exception_handler(pages.SignInNeeded, pages.answer_sign_in_needed)

    @app.get("/healthz", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    _describe_bodies_read_by_hand(app)
    return app


@asynccontextmanager
async def _chores(app: FastAPI) -> AsyncIterator[None]:
    """While the app is served, threads do what no request asks for: send the webhook
    outbox's due deliveries (``jobs.webhooks``: the API process, never a worker, waits on
    receivers), move every open batch on (``batch_work.advance_open``) and delete the
    Files API's expired files (``files.sweep_expired``)."""
    settings, sessions = app.state.settings, app.state.sessions
    courier = Courier(
        sessions, timeout=settings.webhook_timeout_seconds, prefixes=settings.webhook_urls
    )

    def batches() -> None:
        with sessions() as session:
            batch_work.advance_open(session, settings=settings)

    def expired_files() -> None:
        with sessions() as session:
            openai_files.sweep_expired(session, data_dir=settings.data_dir)

    stop = threading.Event()
    threads = [
        threading.Thread(target=_every, args=(stop, seconds, chore), name=name, daemon=True)
        for name, seconds, chore in (
            ("webhooks", WEBHOOKS_EVERY_S, courier.deliver_due),
            ("batches", BATCHES_EVERY_S, batches),
            ("files", FILES_EVERY_S, expired_files),
        )
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=courier.timeout + 5)


def _every(stop: threading.Event, seconds: float, chore: Callable[[], object]) -> None:
    while not stop.is_set():
        try:
            chore()
        except Exception:  # a database hiccup must not end the chore for good
            log.exception("%s: a round failed; trying again", threading.current_thread().name)
        stop.wait(seconds)


HAND_READ_BODIES = (
    *openai_videos.HAND_READ_BODIES,
    *openai_operations.HAND_READ_BODIES,
    *openai_characters.HAND_READ_BODIES,
    *openai_files.HAND_READ_BODIES,
)


def _describe_bodies_read_by_hand(app: FastAPI) -> None:
    """``POST /v1/videos`` and its edits, extensions and characters read JSON or multipart
    themselves (the SDK sends either), so FastAPI cannot see their body models: add them to
    the schema, where the routes refer to them."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in HAND_READ_BODIES:
                components[model.__name__] = model.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
