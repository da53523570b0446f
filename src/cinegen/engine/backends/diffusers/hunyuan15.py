"""What HunyuanVideo 1.5 needs from the diffusers backend: a call the way its pipelines take it.

diffusers 0.42.1's ``HunyuanVideo15Pipeline`` and ``HunyuanVideo15ImageToVideoPipeline``
(``pipelines/hunyuan_video1_5/``) differ from the other video pipelines in three ways the
backend's common arguments do not fit:
- the guidance scale lives in the pipeline's ``guider`` (``ClassifierFreeGuidance``), not in a
  ``guidance_scale`` argument;
- there is no ``callback_on_step_end``: progress, previews and cancelling hook the
  scheduler's step instead, which the loop calls once per step, after guidance;
- the image-to-video pipeline takes no size: it picks the bucket of its ``target_size`` area
  nearest the image's aspect (``HunyuanVideo15ImageProcessor.calculate_default_height_width``).
``call`` is the ``hunyuan-1.5`` row's way to run a pipeline with the backend's arguments.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def call(pipe: Any, kwargs: dict[str, Any]) -> Any:
    """``pipe`` run with the backend's common arguments, rendered at exactly the asked size."""
    kwargs = dict(kwargs)
    guidance = kwargs.pop("guidance_scale")
    callback = kwargs.pop("callback_on_step_end", None)
    size = (kwargs.pop("height"), kwargs.pop("width")) if "image" in kwargs else None
    # Trap: the VAE's causal attention breaks on a batch of two or more in 0.42.1 (its mask
    # broadcasts over the batch: "output with shape [2, 1, …] doesn't match the broadcast
    # shape [2, 2, …]"); decoding one video at a time (slicing) avoids it.
    pipe.vae.enable_slicing()
    with _guidance(pipe, guidance), _size(pipe, size), _step_callback(pipe, callback):
        return pipe(**kwargs)


@contextmanager
def _guidance(pipe: Any, scale: float) -> Iterator[None]:
    """The guider's scale for one call (``guider.new`` would log its experimental warning
    at every call)."""
    before = pipe.guider.guidance_scale
    pipe.guider.guidance_scale = scale
    try:
        yield
    finally:
        pipe.guider.guidance_scale = before


@contextmanager
def _size(pipe: Any, size: tuple[int, int] | None) -> Iterator[None]:
    """Image-to-video at the asked (height, width) rather than the bucket nearest it: the
    engine plans the size on the model's grid, and the image is already that size."""
    if size is None:
        yield
        return
    processor = pipe.video_processor
    processor.calculate_default_height_width = lambda height, width, target_size: size
    try:
        yield
    finally:
        del processor.calculate_default_height_width  # the class's method again


@contextmanager
def _step_callback(pipe: Any, callback: Callable[..., Any] | None) -> Iterator[None]:
    """``callback(pipe, i, t, {"latents": …})`` after each scheduler step, as diffusers'
    ``callback_on_step_end`` would be called; what it returns is not read back."""
    if callback is None:
        yield
        return
    scheduler, steps = pipe.scheduler, itertools.count()

    def step(noise_pred: Any, t: Any, latents: Any, *args: Any, **kwargs: Any) -> Any:
        out = type(scheduler).step(scheduler, noise_pred, t, latents, *args, **kwargs)
        stepped = out[0] if isinstance(out, tuple) else out.prev_sample
        callback(pipe, next(steps), t, {"latents": stepped})
        return out

    scheduler.step = step
    try:
        yield
    finally:
        del scheduler.step
