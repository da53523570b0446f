"""Tiny random-weight diffusers video pipelines, built entirely in code.

Every family gets the *real* diffusers pipeline class with 1-2 layer models, so tests and CI
run the true code path (text encoding, CFG, denoising loop, callbacks, VAE decode, save/load)
on CPU in a fraction of a second per call, with no download. Outputs are noise: only shapes,
determinism and plumbing mean anything. Here: which families and tasks exist, the sizes each
takes, and ``build_tiny_pipeline``; the builds are in ``tiny_pipelines.py`` (LTX-2's in
``tiny_ltx2.py``, Kandinsky 6's in ``tiny_kandinsky6.py``, Wan 2.2's in ``tiny_wan22.py``,
HunyuanVideo 1.5's in ``tiny_hunyuan15.py``, SkyReels-V2's in ``tiny_skyreels.py``,
SANA-Video's in ``tiny_sana.py``), their tokenizer and text encoders in ``tiny_text.py``.

Pipeline quirks these builds reproduce (diffusers 0.42.1 pipeline code, so real checkpoints
share them; tests/engine/test_tiny_twins.py pins each one):
- CogVideoX pipelines ignore `num_videos_per_prompt` (forced to 1), and Wan / Hunyuan
  image-to-video break with it. Batch variants by repeating the prompt instead; CogVideoX and
  Hunyuan i2v then want the image repeated too, Wan i2v exactly one image.
- LTX image-to-video encodes the image once, sampling with `generator[0]`, so a batched
  variant differs from the same seed run alone.
- Hunyuan: real CFG is `true_cfg_scale` > 1 with a negative prompt; `guidance_scale` is the
  distilled guidance embedding. Hunyuan i2v with true CFG works only for a batch of one.
- Mochi needs num_inference_steps >= 2 (its linear-quadratic sigma schedule divides by zero).
- Kandinsky 6 takes one image per video in a batch (one image for two prompts: a size
  mismatch), and its tokenizer is the Qwen tokenizer, not the Qwen2.5-VL processor
  (``tiny_kandinsky6.build_kandinsky6``).
- SANA-Video image-to-video breaks with `num_videos_per_prompt` (repeat the prompt), calls
  the frame count `frames`, and by default snaps the size to 480p bins.
- SkyReels-V2 diffusion forcing passes one timestep per latent frame to the callback, and
  its quirks in long mode are in ``skyreels.py``.
- HunyuanVideo 1.5 takes no ``guidance_scale`` (its ``guider`` holds it), no step callback,
  and its image-to-video no size (it picks a bucket near the image's aspect): the backend
  calls it through ``hunyuan15.call``. Its VAE fails on a batch of two unless it slices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from diffusers.pipelines.pipeline_utils import DiffusionPipeline

from cinegen.engine.backends.diffusers import (
    tiny_hunyuan15,
    tiny_kandinsky6,
    tiny_ltx2,
    tiny_pipelines,
    tiny_sana,
    tiny_skyreels,
    tiny_wan22,
)

TINY_FAMILIES: tuple[str, ...] = (
    "ltx",
    "ltx-2",
    "wan",
    "wan-vace",
    "wan-flf2v",
    "cogvideox",
    "mochi",
    "hunyuan",
    "hunyuan-1.5",
    "wan-2.2",
    "wan-2.2-ti2v",
    "kandinsky-6",
    "skyreels-v2",
    "sana-video",
)
TASKS: tuple[str, ...] = ("t2v", "i2v")


@dataclass(frozen=True)
class TinyGrid:
    """Valid generation sizes of a family's TINY config (real checkpoints compress more)."""

    # height and width: multiples of this. It is vae spatial compression × patch size, raised
    # to what the pipeline's check_inputs demands (LTX 32, Wan and Hunyuan 16).
    spatial_multiple: int
    # num_frames = k * frame_step + 1 comes out exactly; other counts are rounded (Wan up to
    # the next valid count, the others down). It is vae temporal compression × temporal patch,
    # except CogVideoX 1.0, whose VAE decodes latent frames in pairs: 8k+1, not 4k+1.
    frame_step: int
    example_size: tuple[int, int]  # (height, width) of a fast call
    example_frames: int


TINY_GRID: dict[str, TinyGrid] = {
    "ltx": TinyGrid(spatial_multiple=32, frame_step=8, example_size=(32, 32), example_frames=9),
    "ltx-2": TinyGrid(spatial_multiple=32, frame_step=8, example_size=(32, 32), example_frames=9),
    "kandinsky-6": TinyGrid(
        spatial_multiple=16, frame_step=4, example_size=(16, 32), example_frames=5
    ),
    "wan": TinyGrid(spatial_multiple=16, frame_step=4, example_size=(16, 32), example_frames=5),
    "wan-vace": TinyGrid(
        spatial_multiple=16, frame_step=4, example_size=(16, 32), example_frames=5
    ),
    "wan-flf2v": TinyGrid(
        spatial_multiple=16, frame_step=4, example_size=(16, 32), example_frames=5
    ),
    "cogvideox": TinyGrid(
        spatial_multiple=16, frame_step=8, example_size=(16, 32), example_frames=9
    ),
    "mochi": TinyGrid(spatial_multiple=16, frame_step=6, example_size=(16, 32), example_frames=7),
    "hunyuan": TinyGrid(spatial_multiple=16, frame_step=4, example_size=(16, 32), example_frames=5),
    "skyreels-v2": TinyGrid(
        spatial_multiple=16, frame_step=4, example_size=(16, 32), example_frames=5
    ),
    # Its check_inputs wants sides divisible by 32 (its VAE's 8 x patch 2 is 16).
    "sana-video": TinyGrid(
        spatial_multiple=32, frame_step=4, example_size=(32, 32), example_frames=5
    ),
    "hunyuan-1.5": TinyGrid(
        spatial_multiple=16, frame_step=4, example_size=(16, 32), example_frames=5
    ),
    "wan-2.2": TinyGrid(spatial_multiple=16, frame_step=4, example_size=(16, 32), example_frames=5),
    # TI2V's VAE compresses 16x and its transformer patches 2x2: sides in 32s.
    "wan-2.2-ti2v": TinyGrid(
        spatial_multiple=32, frame_step=4, example_size=(32, 32), example_frames=5
    ),
}


_BUILDERS: dict[str, Callable[[str], DiffusionPipeline]] = {
    "ltx": tiny_pipelines.build_ltx,
    "ltx-2": tiny_ltx2.build_ltx2,
    "kandinsky-6": tiny_kandinsky6.build_kandinsky6,
    "wan": tiny_pipelines.build_wan,
    "wan-vace": tiny_pipelines.build_wan_vace,
    "wan-flf2v": tiny_pipelines.build_wan_flf2v,
    "cogvideox": tiny_pipelines.build_cogvideox,
    "mochi": tiny_pipelines.build_mochi,
    "hunyuan": tiny_pipelines.build_hunyuan,
    "skyreels-v2": tiny_skyreels.build_skyreels_v2,
    "sana-video": tiny_sana.build_sana_video,
    "hunyuan-1.5": tiny_hunyuan15.build_hunyuan15,
    "wan-2.2": tiny_wan22.build_wan22,
    "wan-2.2-ti2v": tiny_wan22.build_wan22_ti2v,
}

_NO_I2V = {
    "mochi": "mochi has no image-to-video pipeline in diffusers",
    "wan-vace": "VACE's one pipeline takes every condition: build task t2v",
}
_NO_T2V = {"wan-flf2v": "FLF2V's one pipeline is image-to-video: build task i2v"}


def build_tiny_pipeline(family: str, task: str = "t2v", seed: int = 0) -> DiffusionPipeline:
    """Build `family`'s real diffusers pipeline for `task` ("t2v" or "i2v") with tiny random
    weights; the same `seed` gives the same weights. The global torch RNG is left untouched."""
    if family not in _BUILDERS:
        raise ValueError(f"family={family!r}: expected one of {', '.join(TINY_FAMILIES)}")
    if task not in TASKS:
        raise ValueError(f"task={task!r}: expected one of {', '.join(TASKS)}")
    if task == "i2v" and family in _NO_I2V:
        raise ValueError(f"task='i2v', family={family!r}: {_NO_I2V[family]}")
    if task == "t2v" and family in _NO_T2V:
        raise ValueError(f"task='t2v', family={family!r}: {_NO_T2V[family]}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _BUILDERS[family](task)
