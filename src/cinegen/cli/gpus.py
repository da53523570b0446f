"""``cinegen worker --gpus 0,1,2,3``: several GPUs as one worker (``jobs/group.py``) where the
model can split one video over them, else one independent worker per GPU, saying so."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass

from cinegen.config import Settings


@dataclass(frozen=True)
class GpuPlan:
    devices: list[str]  # GPU ids as CUDA numbers them
    group: bool  # one worker over all of them, else one worker each
    note: str  # what the terminal says


def plan_gpus(text: str, model: str, available: int) -> GpuPlan:
    """How ``--gpus TEXT`` runs ``model`` on a machine with ``available`` GPUs; a
    ``ValueError`` that says what to change when it cannot."""
    from cinegen.engine.backends.diffusers.parallel import models_that_split, splits
    from cinegen.registry import MODELS

    if model not in MODELS:
        models = ", ".join(MODELS)
        raise ValueError(f"--model {model!r} is not a model here; choose one of {models}")
    devices = [part.strip() for part in text.split(",") if part.strip()]
    if not devices or not all(d.isdigit() for d in devices):
        raise ValueError(f"--gpus {text!r}: give GPU ids separated by commas, e.g. 0,1,2,3")
    if len(set(devices)) != len(devices):
        raise ValueError(f"--gpus {text!r}: each GPU once")
    if available == 0:
        raise ValueError("--gpus: this machine has no GPU that torch can use; run without --gpus")
    if unknown := [d for d in devices if int(d) >= available]:
        raise ValueError(
            f"--gpus {text!r}: no GPU {', '.join(unknown)} here; this machine has "
            f"{available} (ids 0..{available - 1})"
        )
    if len(devices) == 1:
        return GpuPlan(devices, False, f"one worker on GPU {devices[0]}")
    if splits(model):
        return GpuPlan(devices, True, f"one worker over GPUs {text}: {model} split over them")
    return GpuPlan(
        devices,
        False,
        f"{model} cannot split one video over GPUs (models that can: "
        f"{', '.join(models_that_split())}); starting {len(devices)} workers, one per GPU",
    )


def run_gpus(settings: Settings, plan: GpuPlan, one_worker: Callable[..., None]) -> int:
    """Run the plan until SIGTERM or Ctrl-C; an exit code. ``one_worker(settings, parent)``
    is a worker process's life (``cli.serve``)."""
    from cinegen.jobs.group import Group

    stop = threading.Event()
    if plan.group:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        return Group(settings, plan.devices).run(stop)
    return _one_per_gpu(settings, plan.devices, one_worker)


def _one_per_gpu(settings: Settings, devices: list[str], one_worker: Callable[..., None]) -> int:
    spawn = multiprocessing.get_context("spawn")
    workers = []
    seen = os.environ.get("CUDA_VISIBLE_DEVICES")
    try:
        for device in devices:  # a spawned process reads its environment as it starts
            os.environ["CUDA_VISIBLE_DEVICES"] = device
            worker = spawn.Process(target=one_worker, args=(settings, os.getpid()))
            worker.start()
            workers.append(worker)
    finally:
        os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        if seen is not None:
            os.environ["CUDA_VISIBLE_DEVICES"] = seen

    def forward(signum: int, frame: object) -> None:  # each finishes its task, then exits
        for worker in workers:
            if worker.pid is not None and worker.exitcode is None:
                os.kill(worker.pid, signal.SIGTERM)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    for worker in workers:
        worker.join()
    return max(abs(w.exitcode or 0) for w in workers)
