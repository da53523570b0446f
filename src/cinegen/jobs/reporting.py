"""A running task's line to the database: engine progress as one fraction of the task's bar
(``TaskProgress``), reports and previews out and "go on?" back (``Link``), and the heartbeat
that renews the lease while a slow step runs (``Heartbeat``)."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from cinegen.jobs.queue import QueuePolicy, add_preview, report
from cinegen.progress import Stage

# Share of a task's progress bar per stage: loading, denoising, then writing the files.
LOAD_END, DENOISE_END = 0.05, 0.85
# Within one variant's files: resampling, the marks, the sound, then H.264 encoding.
WITHIN_VARIANT = {
    Stage.resample: (0.0, 0.3),
    Stage.watermark: (0.3, 0.4),
    Stage.sound: (0.4, 0.5),
    Stage.encode_video: (0.5, 1.0),
}
REPORT_EVERY_S = 0.25  # at most this often, except when the stage changes
PREVIEW_SIDE = 160  # preview frames are at most this wide and tall (JPEG)


@dataclass
class TaskProgress:
    """Engine progress callbacks (stage, done, total) -> one fraction 0..1 for the task."""

    n_variants: int
    fraction: float = 0.0
    stage: Stage = Stage.starting
    variants_done: int = 0

    def update(self, stage: Stage, done: int, total: int) -> None:
        part = done / total if total else 1.0
        if stage is Stage.load:
            value = LOAD_END * part
        elif stage is Stage.denoise:
            value = LOAD_END + (DENOISE_END - LOAD_END) * part
        else:
            if stage is Stage.files:
                self.variants_done = done
                within = 0.0
            else:
                start, end = WITHIN_VARIANT.get(stage, (0.0, 0.0))
                within = start + (end - start) * part
            value = DENOISE_END + (1 - DENOISE_END) * min(
                1.0, (self.variants_done + within) / self.n_variants
            )
        self.fraction = max(self.fraction, value)
        self.stage = stage


@dataclass
class Link:
    """The running task's line to the database: progress out, "go on?" back."""

    sessions: sessionmaker[Session]
    task_id: str
    worker: str
    policy: QueuePolicy
    progress: TaskProgress
    drain: threading.Event = field(default_factory=threading.Event)  # the worker is stopping
    go_on: bool = True  # False once a report said stop (cancelled, or the lease lost)
    _last: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_progress(self, stage: Stage, done: int, total: int) -> None:
        changed = stage != self.progress.stage
        self.progress.update(stage, done, total)
        if changed or time.monotonic() - self._last >= REPORT_EVERY_S:
            self.send()

    def should_stop(self) -> bool:
        return not self.go_on or self.drain.is_set()

    def on_preview(self, frame: np.ndarray) -> None:
        image = Image.fromarray(frame)
        image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
        jpeg = io.BytesIO()
        image.save(jpeg, format="JPEG", quality=80)
        with self._lock, self.sessions() as session:
            add_preview(session, self.task_id, worker=self.worker, jpeg=jpeg.getvalue())

    def send(self) -> None:
        with self._lock, self.sessions() as session:
            self._last = time.monotonic()
            self.go_on = (
                report(
                    session,
                    self.task_id,
                    worker=self.worker,
                    progress=self.progress.fraction,
                    stage=self.progress.stage,
                    policy=self.policy,
                )
                and self.go_on
            )

    def heartbeat(self) -> Heartbeat:
        return Heartbeat(self, self.policy.lease_seconds / 3)


class Heartbeat:
    def __init__(self, link: Link, every_s: float) -> None:
        self.link, self.every_s = link, every_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name="lease-heartbeat")

    def _beat(self) -> None:
        while not self.stop.wait(self.every_s):
            self.link.send()

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
