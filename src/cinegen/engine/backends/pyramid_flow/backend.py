"""Pyramid Flow behind the backend protocol: text-to-video and image-to-video.

Weights: a local folder in the published layout (``pipeline.py``) named by
``Settings.model_paths["pyramid-flow"]``, else the registry's hub id, downloaded whole.
The ``-tiny-random`` twin is built in code (``tiny.py``) unless a folder is named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from cinegen.config import Settings
from cinegen.engine.backends.base import Clips, RenderJob, StepHooks
from cinegen.engine.backends.device import pick_device_dtype
from cinegen.engine.backends.pyramid_flow import sampler
from cinegen.engine.backends.pyramid_flow.pipeline import DEFAULT_NEGATIVE, DOWNSAMPLE, PyramidFlow
from cinegen.errors import ModelLoadError
from cinegen.registry import ModelEntry

# The reference's later-frame guidance beside its first-frame guidance of 7: 5 in its
# text-to-video example, 4 in image-to-video. A job's guidance scales both alike.
VIDEO_GUIDANCE_SHARE = {"t2v": 5 / 7, "i2v": 4 / 7}
# Later frames take half the first frame's steps per stage (the examples: 20 and 10).
VIDEO_STEPS_SHARE = 0.5


@dataclass
class PyramidFlowBackend:
    entry: ModelEntry
    settings: Settings
    pipeline: PyramidFlow = field(init=False)
    weights_from: str = field(init=False)
    _variant: str = field(init=False, default="")

    def __post_init__(self) -> None:
        device, dtype = pick_device_dtype(self.settings, self.entry.tiny_random)
        local = self.settings.model_paths.get(self.entry.id)
        if self.entry.tiny_random and local is None:
            from cinegen.engine.backends.pyramid_flow import tiny

            self.weights_from, self.pipeline = "built in code", tiny.build(device)
            return
        self.weights_from = str(local or self.entry.weights)
        try:
            self.pipeline = PyramidFlow.load(self._folder(), device, dtype)
        except (OSError, ValueError, ModelLoadError) as exc:
            env = "CINEGEN_MODEL_PATHS__" + self.entry.id.upper().replace("-", "_")
            raise ModelLoadError(
                f"could not load {self.entry.id} from {self.weights_from!r} ({exc}). Download "
                f"{self.entry.weights} whole (causal_video_vae/, diffusion_transformer_384p/ "
                f"and _768p/, text_encoder*/, tokenizer*/) and point {env} at that folder."
            ) from exc

    def _folder(self) -> Path:
        """The weights folder: the local one named, else the hub snapshot (downloaded whole
        on first use, as the reference's README does)."""
        if Path(self.weights_from).is_dir():
            return Path(self.weights_from)
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(self.weights_from))

    def render(self, job: RenderJob, hooks: StepHooks) -> Clips:
        task = "i2v" if job.image is not None else "t2v"
        first = job.steps
        later = max(1, round(job.steps * VIDEO_STEPS_SHARE))
        total = sampler.total_steps(
            frames=(job.n_frames - 1) // DOWNSAMPLE + 1, first_steps=first, video_steps=later,
            image=job.image is not None,
        )  # fmt: skip
        hooks.check()
        self._variant = self.pipeline.variant(job.width, job.height)
        size = (job.height // DOWNSAMPLE, job.width // DOWNSAMPLE)
        frames = self.pipeline.generate(
            prompt=job.prompt,
            negative=job.negative_prompt or DEFAULT_NEGATIVE,
            width=job.width,
            height=job.height,
            frames=job.n_frames,
            seeds=job.seeds,
            steps=(first, later),
            guidance=(job.guidance, job.guidance * VIDEO_GUIDANCE_SHARE[task]),
            image=None if job.image is None else _fit(job.image, job.width, job.height),
            on_step=lambda first_frame: hooks.step(  # raises Cancelled between steps if asked
                total, lambda: self.pipeline.preview(first_frame, size)
            ),
        )
        return Clips(frames)

    @property
    def device(self) -> torch.device:
        return self.pipeline.device

    def denoisers(self) -> list[Any]:
        """The transformers loaded, each once (the twin's variants share one)."""
        return list({id(dit): dit for dit in self.pipeline.transformers.values()}.values())

    def describe(self) -> dict[str, Any]:
        return {
            "device": str(self.pipeline.device),
            "dtype": str(self.pipeline.dtype).removeprefix("torch."),
            "negative_prompt": True,
            "weights": self.weights_from,
            "transformer": self._variant,
        }


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """The first frame at the render's size (the engine hands it over at the native size)."""
    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS))
