"""The embedded model, cinegen-tiny, behind the backend protocol.

It renders one native clip of 16 frames at 64x64 whatever the duration asked: the
planner stretches those frames over the requested seconds (``Capabilities.fixed_frames``)
and the engine resamples to the requested size. Weights ship inside the package; a
retrained bundle loads from ``Settings.model_paths["cinegen-tiny"]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cinegen.config import Settings
from cinegen.engine.backends.base import Clips, RenderJob, StepHooks
from cinegen.engine.backends.device import pick_device_dtype
from cinegen.errors import ModelLoadError
from cinegen.media.keep import Keep
from cinegen.models.tiny.pipeline import TinyPipeline
from cinegen.models.tiny.reader import read
from cinegen.registry import ModelEntry

if TYPE_CHECKING:
    from torch import Tensor


@dataclass
class CinegenTinyBackend:
    entry: ModelEntry
    settings: Settings
    pipeline: TinyPipeline = field(init=False)
    # Each prompt since the last describe() -> the caption the network rendered from
    # (``reader``). Trap: the backend outlives a generation; describe() hands these to
    # the sidecar of the generation just rendered and starts afresh.
    _read: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        device, _ = pick_device_dtype(self.settings, tiny=True)
        if device.type == "mps":
            raise ModelLoadError("cinegen-tiny runs on cpu or cuda; set CINEGEN_DEVICE=cpu")
        self.pipeline = TinyPipeline.load(self.settings.model_paths.get(self.entry.id), str(device))

    def render(self, job: RenderJob, hooks: StepHooks) -> Clips:
        size, frames = self.pipeline.size, self.pipeline.frames
        if (job.width, job.height) != (size, size):
            raise ValueError(f"cinegen-tiny renders {size}x{size}, got {job.width}x{job.height}")
        steps = self.pipeline.sampler_steps(
            job.steps, job.strength if job.source is not None else 1.0
        )
        prompt = self._read.setdefault(job.prompt, read(job.prompt).prompt)
        clips = self.pipeline(
            prompt,
            job.seeds,
            steps=job.steps,
            guidance=job.guidance,
            shift=job.shift,
            keep=self._full_length(job.keep),
            continues=job.continues,
            source=job.source,
            strength=job.strength,
            on_step=lambda estimate: hooks.step(steps, lambda: self._preview(estimate, job)),
        )
        # A still (image_gen) is the opening frame of the clip the prompt describes.
        return Clips(clips if job.n_frames == frames else clips[:, : job.n_frames])

    def _full_length(self, keep: Keep | None) -> Keep | None:
        """The job's kept pixels over the model's whole clip (a still holds only frame 0)."""
        if keep is None:
            return None
        missing = self.pipeline.frames - len(keep.frames)
        pad = ((0, missing), (0, 0), (0, 0))
        return Keep(np.pad(keep.frames, (*pad, (0, 0))), np.pad(keep.mask, pad))

    def _preview(self, estimate: Tensor, job: RenderJob) -> np.ndarray:
        """The middle of the first clip's kept frames as sampling stands (a still's only
        frame), (size, size, 3) uint8."""
        kept = min(job.n_frames, estimate.shape[1])
        middle = estimate[:1, kept // 2, None]
        frame: np.ndarray = np.round(self.pipeline.decode(middle)[0, 0] * 255).astype(np.uint8)
        return frame

    def describe(self) -> dict[str, Any]:
        prompts_read, self._read = self._read, {}
        return {
            "prompts_read": prompts_read,
            "device": str(self.pipeline.device),
            "dtype": "bfloat16" if self.pipeline.autocast else "float32",
            "negative_prompt": False,  # guidance is against the empty prompt it was trained on
            "weights_sha256": self.pipeline.model.record.get("sha256"),
        }
