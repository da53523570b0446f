"""What every command shares on the terminal: the two consoles (progress and errors on
stderr, results on stdout), one progress bar per stage, the one-line failure that exits,
quiet libraries, and the settings or a one-line error naming the bad setting.

The helpers keep their leading underscore: they are the ``cinegen.cli`` package's own.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from cinegen.config import Settings
from cinegen.errors import SpecError
from cinegen.progress import Stage

err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)  # paths must stay copyable

# A render's stages, and the steps of `verify`, `train-tiny` and `eval-tiny` that report
# progress the same way.
STAGE_LABELS: dict[Stage | str, str] = {
    Stage.load: "loading model",
    Stage.denoise: "denoising",
    Stage.resample: "resampling",
    Stage.watermark: "watermarks",
    "read": "reading frames",
    Stage.sound: "sound",
    Stage.encode_video: "encoding H.264",
    Stage.files: "variants written",
    "autoencoder": "autoencoder",
    "detail": "decoder detail",
    "latents": "encoding clips",
    "transformer": "transformer",
    "quality": "quality preset",
    "turbo": "turbo preset",
}


def _settings() -> Settings:
    """The settings, or a one-line error naming the bad setting."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = ".".join(str(p) for p in first["loc"])
        raise SpecError(
            f"setting {name}", str(first["msg"]).removeprefix("Value error, ")
        ) from None
    except (ValueError, OSError) as exc:
        raise SpecError("settings", str(exc)) from None


class _progress_bars:
    """One rich bar per stage, created the first time the stage reports."""

    def __init__(self, enabled: bool) -> None:
        self.bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            disable=not enabled,
        )
        self.tasks: dict[Stage | str, Any] = {}

    def __enter__(self) -> Callable[[Stage | str, int, int], None]:
        self.bars.start()
        return self.report

    def __exit__(self, *exc: object) -> None:
        self.bars.stop()

    def report(self, stage: Stage | str, done: int, total: int) -> None:
        if stage not in self.tasks:
            label = STAGE_LABELS.get(stage, stage)
            self.tasks[stage] = self.bars.add_task(label, total=total)
        self.bars.update(self.tasks[stage], completed=done, total=total)


def _quiet_libraries() -> None:
    """The terminal shows our progress and errors; library chatter is not for the terminal."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    # e.g. Mochi's "CPU autocast ... not supported" on every call on a CPU
    warnings.filterwarnings("ignore", category=UserWarning, module=r"diffusers\..*")


def _fail(message: str, code: int) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)
