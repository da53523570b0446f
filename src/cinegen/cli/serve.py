"""``cinegen serve`` and ``cinegen worker``: the HTTP API and the processes that generate.

``serve`` runs the API and the studio (uvicorn, loopback by default) and starts
``--workers`` worker processes beside it; while it runs, ``server.json`` in the data dir
says where (``cinegen studio`` looks there before starting another). ``worker`` runs more
workers against the same database, on this machine or another one that shares it.
Stopping (Ctrl-C or SIGTERM) drains a worker: its task stops at the next step and goes
back to the queue at once (the attempt not counted), then the worker exits; a worker killed
outright loses nothing either: its task goes back when its lease runs out.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from cinegen.cli.terminal import err
from cinegen.config import Settings


def settings_with(**overrides: object) -> Settings:
    try:
        settings = Settings()
        return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        err.print(f"[bold red]error:[/] settings: {exc}")
        raise typer.Exit(2) from None


def _worker_process(settings: Settings, parent: int | None = None) -> None:
    """A worker until SIGTERM / SIGINT, or until ``parent`` (the ``serve`` process that
    started it) is gone: it hands its task back to the queue, then exits instead of living
    on."""
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


# The options `serve` and `studio` share (None: the settings' value).
HostOption = Annotated[str | None, typer.Option(help="Interface to listen on (default 127.0.0.1).")]
PortOption = Annotated[int | None, typer.Option(min=1, max=65535, help="TCP port (default 8000).")]
WorkersOption = Annotated[int | None, typer.Option(min=0, help="Worker processes to start.")]


def serve(host: HostOption = None, port: PortOption = None, workers: WorkersOption = None) -> None:
    """Serve the studio, the OpenAI Videos API and the Sora video_gen API, with workers."""
    run_server(settings_with(host=host, port=port, workers=workers))


def run_server(settings: Settings, on_ready: Callable[[str], None] | None = None) -> None:
    """The API and the studio with ``settings.workers`` workers, until Ctrl-C or SIGTERM;
    ``on_ready(url)`` is called once the server answers."""
    import uvicorn

    from cinegen.api.app import create_app, server_config
    from cinegen.store.db import open_database

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
    url = local_url(settings.host, settings.port)
    err.print(
        f"cinegen {len(processes)} worker(s) · studio and API on {url} "
        f"· data in {settings.data_dir}"
    )
    server = uvicorn.Server(server_config(create_app(settings), settings))
    running = RunningServer(Path(settings.data_dir))
    threading.Thread(target=_announce, args=(server, running, url, on_ready), daemon=True).start()
    # uvicorn hands SIGTERM back to the handler it found once it has stopped: a handler that
    # raises lets the cleanup below run (the default one would end the process first).
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        server.run()
    finally:
        running.forget()
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()


def local_url(host: str, port: int) -> str:
    """Where a browser on this machine finds a server listening on ``host``: a wildcard
    address (every interface) is reached on loopback; an IPv6 address goes in brackets."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _announce(
    server: Any, running: RunningServer, url: str, on_ready: Callable[[str], None] | None
) -> None:
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.05)
    running.record(url)
    if on_ready is not None:
        on_ready(url)


@dataclass(frozen=True)
class RunningServer:
    """``server.json`` in the data dir: the address of the server serving it, while it
    runs (a server killed outright leaves it behind: ``url()`` checks the server answers)."""

    data_dir: Path

    @property
    def path(self) -> Path:
        return self.data_dir / "server.json"

    def record(self, url: str) -> None:
        self.path.write_text(json.dumps({"url": url, "pid": os.getpid()}))

    def forget(self) -> None:
        try:
            if json.loads(self.path.read_text()).get("pid") == os.getpid():
                self.path.unlink()
        except (OSError, ValueError):
            pass

    def url(self) -> str | None:
        """The running server's address, or None when none answers there."""
        try:
            record = json.loads(self.path.read_text())
            os.kill(int(record["pid"]), 0)  # (OSError when that process is gone)
            url = str(record["url"])
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                return url if answer.status == 200 else None
        except (OSError, ValueError, KeyError):
            return None


GpusOption = Annotated[
    str | None,
    typer.Option(
        help="GPU ids, e.g. 0,1,2,3: one worker over them all where the model can split a "
        "video (else one worker per GPU)."
    ),
]
ModelOption = Annotated[
    str | None, typer.Option(help="The model a GPU group is for (default: the default model).")
]


def worker(gpus: GpusOption = None, model: ModelOption = None) -> None:
    """Run one worker against the shared database until stopped (SIGTERM or Ctrl-C: its
    task goes back to the queue at the next step, then it exits)."""
    settings = settings_with()
    err.print(f"cinegen worker · data in {settings.data_dir}")
    if gpus is None:
        _worker_process(settings)
        return
    import torch

    from cinegen.cli.gpus import plan_gpus, run_gpus

    try:
        plan = plan_gpus(gpus, model or settings.default_model, torch.cuda.device_count())
    except ValueError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    err.print(f"cinegen worker · {plan.note}")
    raise typer.Exit(run_gpus(settings, plan, _worker_process))
