"""What a resumable training run keeps in its work directory, for both tiny trainers.

``Checkpoint``: one stage's modules, optimiser, step and extras (``losses``), written
atomically every few steps and loaded back on a rerun, so a stopped run goes on from its last
checkpoint. ``RunLog``: the wall time spent over all invocations (``wall_seconds.json``) and
each invocation's command, settings and the steps it trained (``runs.json``), which the
bundle's record reports as how its weights were made.

Trap: a resumed run ends with an unbroken run's weights only because every batch and its
noise are drawn from ``(seed, step)`` alone (``train``, ``train_audio``): the checkpoint
holds no random state.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn


def save(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` through a temporary file: a run killed mid-write keeps its last one."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def due(step: int, total: int, every: int) -> bool:
    """Whether ``step`` (of ``total``) is one a run writes its checkpoint and log at."""
    return step % every == 0 or step == total


class Checkpoint:
    """A stage's state at ``path``: each named module's weights, the optimiser's, the step."""

    def __init__(
        self, path: Path, optimizer: torch.optim.Optimizer, *, every: int, **modules: nn.Module
    ) -> None:
        self.path, self.optimizer, self.every, self.modules = path, optimizer, every, modules

    def resume(self, map_location: str | None = None, **fresh: Any) -> dict[str, Any]:
        """Load the saved weights and optimiser into place, if there are any; returns the
        saved ``step`` and the extras named in ``fresh`` (a new run's: step 0 and ``fresh``)."""
        if not self.path.exists():
            return {"step": 0, **fresh}
        state = torch.load(self.path, map_location=map_location)
        for name, module in self.modules.items():
            module.load_state_dict(state[name])
        self.optimizer.load_state_dict(state["optimizer"])
        return {key: state[key] for key in ("step", *fresh)}

    def save_if_due(self, step: int, total: int, **extra: Any) -> None:
        if due(step, total, self.every):
            weights = {name: module.state_dict() for name, module in self.modules.items()}
            state = {**weights, "optimizer": self.optimizer.state_dict(), "step": step}
            save(self.path, {**state, **extra})


class RunLog:
    """This invocation appended to the work directory's runs, and the wall time of them all.

    ``steps`` is the caller's own record of what this invocation trains (a list or a dict
    per stage), kept by reference and written as it stands; a run that trains no step is
    written only once it has."""

    def __init__(
        self,
        workdir: Path,
        *,
        command: str,
        settings: dict[str, Any],
        steps: list[int] | dict[str, Any],
    ) -> None:
        self.timing, self.path = workdir / "wall_seconds.json", workdir / "runs.json"
        self.spent = json.loads(self.timing.read_text())["seconds"] if self.timing.exists() else 0.0
        self.started = time.perf_counter()
        self.runs: list[dict[str, Any]] = (
            json.loads(self.path.read_text()) if self.path.exists() else []
        )
        self.command, self.steps = command, steps
        self.runs.append({"command": command, "settings": settings, "steps": steps})

    def seconds(self) -> float:
        """Wall seconds over every invocation so far, this one up to now."""
        return self.spent + time.perf_counter() - self.started

    def save(self) -> None:
        self.timing.write_text(json.dumps({"seconds": self.seconds()}))
        if self.steps:
            self.path.write_text(json.dumps(self.runs, indent=1))

    def made(self, seed: int, device: str) -> dict[str, Any]:
        """The head of a bundle's record: how its weights were made, over every invocation
        that trained a step."""
        return {
            "command": self.command,
            "runs": [run for run in self.runs if run["steps"]],
            "seed": seed,
            "hardware": hardware(device),
            "wall_seconds": round(self.seconds(), 1),
            "torch": torch.__version__,
        }


def hardware(device: str) -> str:
    if torch.device(device).type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    cpu = platform.processor() or platform.machine()
    return f"CPU {cpu}, {torch.get_num_threads()} threads"
