"""``cinegen serve`` and ``cinegen worker``: the HTTP API and the processes that generate.

``serve`` runs the API (uvicorn, loopback by default) and starts ``--workers`` worker
processes beside it; ``worker`` runs more workers against the same database, on this
machine or another one that shares it. Stopping (Ctrl-C or SIGTERM) lets a worker finish
its current task; a worker killed outright loses nothing: its task goes back to the queue
when its lease runs out.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from typing import Annotated

import typer

from cinegen.cli.terminal import err
from cinegen.config import Settings


def _settings(**overrides: object) -> Settings:
    try:
        settings = Settings()
        return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        err.print(f"[bold red]error:[/] settings: {exc}")
        raise typer.Exit(2) from None


def _worker_process(settings: Settings, parent: int | None = None) -> None:
    """A worker until SIGTERM / SIGINT, or until ``parent`` (the ``serve`` process that
    started it) is gone: it finishes its current task, then exits instead of living on."""
    from cinegen.jobs.worker import run_worker

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if parent is not None:
        threading.Thread(target=_stop_when_orphaned, args=(parent, stop), daemon=True).start()
    run_worker(settings, stop)


def _stop_when_orphaned(parent: int, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        if os.getppid() != parent:
            stop.set()


def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (default 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="TCP port (default 8000).")
    ] = None,
    workers: Annotated[int | None, typer.Option(min=0, help="Worker processes to start.")] = None,
) -> None:
    """Serve the OpenAI Videos API and the Sora video_gen API, with workers."""
    import uvicorn

    from cinegen.api.app import create_app, server_config
    from cinegen.store.db import open_database

    settings = _settings(host=host, port=port, workers=workers)
    open_database(settings.data_dir, settings.database_url)  # migrate once, before the workers
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=_worker_process, args=(settings, os.getpid()), name=f"cinegen-worker-{i}"
        )
        for i in range(settings.workers)
    ]
    for process in processes:
        process.start()
    err.print(
        f"cinegen {len(processes)} worker(s) · API on http://{settings.host}:{settings.port} "
        f"· data in {settings.data_dir}"
    )
    try:
        uvicorn.Server(server_config(create_app(settings), settings)).run()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()


def worker() -> None:
    """Run one worker against the shared database until stopped."""
    settings = _settings()
    err.print(f"cinegen worker · data in {settings.data_dir}")
    _worker_process(settings)
