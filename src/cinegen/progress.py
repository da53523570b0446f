"""Where a render is, in one vocabulary for every layer: the engine and ``generate()``
report a ``Stage`` with how far along it is (``ProgressFn``), the queue stores the stage on
the task, the worker weighs the stages into one fraction, and the CLI, the event stream and
both dialects show it. ``PreviewFn`` carries a small frame of where denoising is heading."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import numpy as np


class Stage(StrEnum):
    """A running task's stage, in the order a render passes through them. While a task is
    not running, its stored stage is its state's name instead (``queued``, or how it ended);
    the values are what the event stream and the task views show."""

    starting = "starting"  # claimed by a worker, before the engine reports
    load = "load"  # the model's weights loading (engine)
    denoise = "denoise"  # sampling, every render of every variant (engine)
    resample = "resample"  # each variant to the requested size and rate (engine)
    watermark = "watermark"  # the visible and the invisible mark on a variant (generate)
    sound = "sound"  # a variant's soundtrack made (video-to-audio) and mastered (generate)
    encode_video = "encode"  # a variant's frames to H.264 (generate; `encode` is str's)
    files = "files"  # a variant's files written (generate)


# (stage, done, total): ``done`` of ``total`` units of ``stage`` are finished.
ProgressFn = Callable[[Stage, int, int], None]
# A small frame of where denoising is heading: (h, w, 3) uint8, from backends that can.
PreviewFn = Callable[[np.ndarray], None]
