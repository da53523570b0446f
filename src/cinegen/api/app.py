"""``create_app()``: both HTTP dialects on one FastAPI app over the shared database.

The API never renders: it validates, stores and answers. Workers (``cinegen worker``, or the
ones ``cinegen serve`` starts) do the generating, so a slow or crashing generation cannot
stall or kill the API.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

import cinegen
from cinegen.api import errors, native, openai_videos, sora_backend
from cinegen.config import Settings
from cinegen.store.db import open_database


def create_app(
    settings: Settings | None = None, sessions: sessionmaker[Session] | None = None
) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="cinegen",
        version=cinegen.__version__,
        description="Self-hosted video generation: the OpenAI Videos API and the Sora "
        "`video_gen` backend on a durable job queue.",
    )
    app.state.settings = settings
    app.state.data_dir = Path(settings.data_dir)
    app.state.sessions = sessions or open_database(settings.data_dir, settings.database_url)
    errors.install(app)
    app.include_router(openai_videos.router)
    app.include_router(sora_backend.router)
    app.include_router(native.router)

    @app.get("/healthz", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
