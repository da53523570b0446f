"""The tiny twins are the real diffusers pipeline classes: they run end to end on CPU."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import huggingface_hub.constants
import numpy as np
import pytest
import torch
from diffusers.hooks.first_block_cache import FirstBlockCacheConfig
from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video import (
    DEFAULT_PROMPT_TEMPLATE as HUNYUAN_T2V_TEMPLATE,
)
from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video_image2video import (
    DEFAULT_PROMPT_TEMPLATE as HUNYUAN_I2V_TEMPLATE,
)
from PIL import Image

from cinegen.engine.backends.diffusers.families import FAMILIES as BACKEND_FAMILIES
from cinegen.engine.backends.diffusers.tiny_twins import (
    TASKS,
    TINY_FAMILIES,
    TINY_GRID,
    build_tiny_pipeline,
)

# transformer_mochi asks for float32 autocast, which CPU autocast does not support.
pytestmark = [  # builds and runs every twin: slow
    pytest.mark.slow,
    pytest.mark.usefixtures("one_thread"),
    pytest.mark.filterwarnings("ignore:In CPU autocast:UserWarning"),
]

NO_I2V = ("mochi", "wan-vace")  # no such pipeline; VACE's one pipeline takes every condition
NO_T2V = ("wan-flf2v",)  # its one pipeline is image-to-video
CASES = [
    (f, t)
    for f in TINY_FAMILIES
    for t in TASKS
    if not (t == "i2v" and f in NO_I2V) and not (t == "t2v" and f in NO_T2V)
]
CASE_IDS = [f"{f}-{t}" for f, t in CASES]
I2V_CASES = [(f, t) for f, t in CASES if t == "i2v"]
STEPS = 2

# How to ask for one variant per seed in ONE call. `num_videos_per_prompt` is ignored by
# CogVideoX and breaks Wan / Hunyuan image-to-video; repeating the prompt works everywhere,
# but some pipelines then also need one image per generator and others exactly one image.
VIDEOS_PER_PROMPT, PROMPT_LIST, PROMPT_AND_IMAGE_LIST = "videos_per_prompt", "prompts", "images"
ONE_BY_ONE = "one call per seed"  # Wan VACE takes no lists at all (nor of generators)
BATCHING = {
    ("wan-vace", "t2v"): ONE_BY_ONE,
    ("ltx-2", "i2v"): ONE_BY_ONE,  # one image indexes one generator per video (canary below)
    ("wan", "i2v"): PROMPT_LIST,
    ("wan-flf2v", "i2v"): PROMPT_LIST,
    ("cogvideox", "t2v"): PROMPT_LIST,
    ("cogvideox", "i2v"): PROMPT_AND_IMAGE_LIST,
    ("hunyuan", "i2v"): PROMPT_AND_IMAGE_LIST,
    ("hunyuan-1.5", "t2v"): PROMPT_LIST,  # canary below
    ("kandinsky-6", "i2v"): PROMPT_AND_IMAGE_LIST,  # one image for a batch: canary below
    ("sana-video", "i2v"): PROMPT_LIST,
}


@cache
def _pipe(family: str, task: str) -> Any:
    return build_tiny_pipeline(family, task)


def _image(height: int, width: int, color: tuple[int, int, int] = (255, 0, 0)) -> Image.Image:
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = color  # left half coloured, right half black
    return Image.fromarray(pixels)


def _kwargs(family: str, task: str, seeds: list[int], **overrides: Any) -> dict[str, Any]:
    """One call as the backend makes it: CFG on, one variant per seed."""
    grid = TINY_GRID[family]
    height, width = grid.example_size
    n = len(seeds)
    kwargs: dict[str, Any] = dict(
        prompt="a red circle moving left",
        negative_prompt="blurry",
        height=height,
        width=width,
        num_frames=grid.example_frames,
        num_inference_steps=STEPS,
        num_videos_per_prompt=n,
        generator=[torch.Generator().manual_seed(s) for s in seeds],
        output_type="np",
    )
    if family == "hunyuan" and task == "t2v":
        kwargs["true_cfg_scale"] = 4.0  # guidance_scale is the distilled guidance embedding
    elif family == "hunyuan":
        kwargs["guidance_scale"] = 6.0  # i2v: true CFG fails for more than one video
    else:
        kwargs["guidance_scale"] = 4.0
    if task == "i2v":
        kwargs["image"] = _image(height, width)
    if family in NO_T2V:  # FLF2V: a last frame too, always
        kwargs["last_image"] = _image(height, width, color=(0, 0, 255))
    batching = BATCHING.get((family, task), VIDEOS_PER_PROMPT)
    if batching == ONE_BY_ONE:
        kwargs.update(generator=kwargs["generator"][0], num_videos_per_prompt=1)
    elif batching in (PROMPT_LIST, PROMPT_AND_IMAGE_LIST):
        kwargs.update(
            prompt=[kwargs["prompt"]] * n,
            negative_prompt=[kwargs["negative_prompt"]] * n,
            num_videos_per_prompt=1,
        )
    if batching == PROMPT_AND_IMAGE_LIST:
        kwargs["image"] = [kwargs["image"]] * n
    if family == "sana-video":  # its default snaps the size to 480p bins, and resizes back
        kwargs["use_resolution_binning"] = False
    kwargs.update(overrides)
    # SANA-Video's pipelines call the frame count `frames`.
    kwargs[BACKEND_FAMILIES[family].frames_keyword] = kwargs.pop("num_frames")
    return kwargs


def _video(family: str, task: str, seeds: list[int], **overrides: Any) -> np.ndarray:
    if BATCHING.get((family, task)) == ONE_BY_ONE and len(seeds) > 1:
        return np.concatenate([_video(family, task, [s], **overrides) for s in seeds])
    frames: np.ndarray = _run(
        family, _pipe(family, task), _kwargs(family, task, seeds, **overrides)
    )
    return frames


def _run(family: str, pipe: Any, kwargs: dict[str, Any]) -> np.ndarray:
    """The pipeline called as the backend calls it (HunyuanVideo 1.5 takes its guidance and
    step callback otherwise: ``hunyuan15.call``); its frames."""
    return np.asarray(BACKEND_FAMILIES[family].call(pipe, kwargs).frames)


@pytest.mark.parametrize(("family", "task"), CASES, ids=CASE_IDS)
def test_call_returns_one_float_video_per_seed(family: str, task: str) -> None:
    video = _video(family, task, seeds=[1, 2])
    height, width = TINY_GRID[family].example_size
    assert video.shape == (2, TINY_GRID[family].example_frames, height, width, 3)
    assert video.dtype == np.float32
    assert np.isfinite(video).all()
    assert video.min() >= 0.0 and video.max() <= 1.0


def _vae_ratio(pipe: Any, axis: str) -> int:
    # Spelled three ways: vae_scale_factor_spatial (Wan, CogVideoX, Hunyuan),
    # vae_spatial_compression_ratio (LTX), vae_spatial_scale_factor (Mochi).
    for name in (
        f"vae_scale_factor_{axis}",
        f"vae_{axis}_compression_ratio",
        f"vae_{axis}_scale_factor",
    ):
        if hasattr(pipe, name):
            return int(getattr(pipe, name))
    raise AssertionError(f"{type(pipe).__name__} has no {axis} vae ratio")


def _token_step(pipe: Any) -> tuple[int, int]:
    """(pixels, frames) one transformer token spans, read from the pipeline itself."""
    patch = pipe.transformer.config.patch_size
    patch_t = pipe.transformer.config.get("patch_size_t") or 1
    if isinstance(patch, (tuple, list)):  # Wan: (t, h, w)
        patch_t, patch = patch[0], patch[-1]
    return _vae_ratio(pipe, "spatial") * patch, _vae_ratio(pipe, "temporal") * patch_t


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_declared_grid_matches_the_pipeline(family: str) -> None:
    grid = TINY_GRID[family]
    task = "i2v" if family in NO_T2V else "t2v"
    spatial, temporal = _token_step(_pipe(family, task))
    assert grid.spatial_multiple % spatial == 0
    assert grid.frame_step % temporal == 0
    assert all(side % grid.spatial_multiple == 0 for side in grid.example_size)
    assert (grid.example_frames - 1) % grid.frame_step == 0
    side = grid.spatial_multiple  # the smallest valid size runs
    for frames in (grid.example_frames, grid.example_frames + grid.frame_step):
        video = _video(family, task, [0], height=side, width=side, num_frames=frames)
        assert video.shape == (1, frames, side, side, 3)


@pytest.mark.parametrize(("family", "task"), CASES, ids=CASE_IDS)
def test_seeds_give_reproducible_distinct_videos(family: str, task: str) -> None:
    batch = _video(family, task, seeds=[1, 2])
    assert np.array_equal(batch, _video(family, task, seeds=[1, 2]))
    assert not np.allclose(batch[0], batch[1], atol=1e-3)


_LTX_I2V_BATCH = pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="LTXConditionPipeline VAE-encodes the image once, sampling with generator[0] only",
)


@pytest.mark.parametrize(
    ("family", "task"),
    [pytest.param(*c, marks=_LTX_I2V_BATCH) if c == ("ltx", "i2v") else c for c in CASES],
    ids=CASE_IDS,
)
def test_a_batched_variant_equals_its_seed_alone(family: str, task: str) -> None:
    batch = _video(family, task, seeds=[1, 2])
    alone = _video(family, task, seeds=[2])
    # 1e-4 (not 1e-5): batched matmuls round differently, and random weights amplify it.
    np.testing.assert_allclose(batch[1], alone[0], atol=1e-4)


@pytest.mark.parametrize(("family", "task"), CASES, ids=CASE_IDS)
def test_callback_runs_once_per_step_and_can_cancel(family: str, task: str) -> None:
    seen: list[int] = []

    def record(pipe: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]) -> Any:
        assert pipe is _pipe(family, task)
        # One timestep (CogVideoX DDIM ends at 0), or one per latent frame (diffusion forcing).
        assert (torch.as_tensor(timestep) >= 0).all()
        assert "latents" in callback_kwargs
        seen.append(step)
        return callback_kwargs  # the pipeline reads the (possibly edited) latents back

    expected = _video(family, task, [3])
    assert np.array_equal(_video(family, task, [3], callback_on_step_end=record), expected)
    assert seen == list(range(STEPS))

    class Cancelled(Exception):
        pass

    def cancel(pipe: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]) -> Any:
        seen.append(step)
        raise Cancelled

    seen.clear()
    with pytest.raises(Cancelled):
        _video(family, task, [3], callback_on_step_end=cancel)
    assert seen == [0]
    assert np.array_equal(_video(family, task, [3]), expected)  # nothing left behind


@pytest.mark.parametrize(("family", "task"), I2V_CASES, ids=[f for f, _ in I2V_CASES])
def test_image_conditions_the_video(family: str, task: str) -> None:
    red = _kwargs(family, task, [4])
    green = _kwargs(family, task, [4])
    green_image = _image(*TINY_GRID[family].example_size, color=(0, 255, 0))
    many = isinstance(red["image"], list)
    green["image"] = [green_image] * len(red["image"]) if many else green_image
    pipe = _pipe(family, task)
    # Random weights: the first frame does not look like the image, but the image reaches the
    # model (weakly for Wan: ~4e-5, still far above float noise).
    assert np.abs(_run(family, pipe, red) - _run(family, pipe, green)).max() > 1e-5


@pytest.mark.parametrize("template", [HUNYUAN_T2V_TEMPLATE, HUNYUAN_I2V_TEMPLATE], ids=TASKS)
def test_hunyuan_template_crop_keeps_the_prompt(template: dict[str, Any]) -> None:
    tokenizer = _pipe("hunyuan", "t2v").tokenizer
    prefix = template["template"].split("{}")[0]
    assert len(tokenizer(prefix, add_special_tokens=False).input_ids) >= template["crop_start"]


@pytest.mark.parametrize(("family", "task"), CASES, ids=CASE_IDS)
def test_save_and_load_offline_gives_the_same_video(
    family: str, task: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    pipe = _pipe(family, task)
    pipe.save_pretrained(tmp_path)
    loaded = type(pipe).from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)

    prompt = "a red circle moving left"
    assert loaded.tokenizer(prompt).input_ids == pipe.tokenizer(prompt).input_ids
    kwargs = _kwargs(family, task, [5])
    np.testing.assert_allclose(_run(family, loaded, kwargs), _video(family, task, [5]), atol=1e-5)


@contextmanager
def _cache(transformer: Any, config: object) -> Iterator[None]:
    transformer.enable_cache(config)
    try:
        yield
    finally:
        transformer.disable_cache()


CACHED = [f for f in TINY_FAMILIES if BACKEND_FAMILIES[f].cache is not None]


def test_only_families_whose_blocks_first_block_cache_does_not_know_go_without() -> None:
    # diffusers 0.42.1's FirstBlockCache does not know their blocks (canaries below and in
    # test_skyreels.py, test_hunyuan15.py).
    assert set(TINY_FAMILIES) - set(CACHED) == {
        "ltx-2",
        "kandinsky-6",
        "skyreels-v2",
        "sana-video",
        "hunyuan-1.5",
    }


@pytest.mark.xfail(
    strict=True,
    raises=ValueError,
    reason="FirstBlockCache: Kandinsky6FusedTransformerDecoderBlock not registered",
)
def test_canary_kandinsky_6_first_block_cache() -> None:
    transformer = _pipe("kandinsky-6", "t2v").transformer
    with _cache(transformer, FirstBlockCacheConfig(threshold=0.05)):
        _video("kandinsky-6", "t2v", [6])


@pytest.mark.parametrize("family", CACHED)
def test_turbo_cache_runs_and_disable_restores(family: str) -> None:
    make_config = BACKEND_FAMILIES[family].cache  # what the engine's turbo preset turns on
    assert make_config is not None
    task = "i2v" if family in NO_T2V else "t2v"
    transformer = _pipe(family, task).transformer
    # Four steps: Wan 2.2's first expert takes two of them (one of two leaves it nothing to
    # reuse); test_wan22.py caches both experts.
    steps = 4
    plain = _video(family, task, [6], num_inference_steps=steps)
    with _cache(transformer, make_config()):
        assert _video(family, task, [6], num_inference_steps=steps).shape == plain.shape
    with _cache(transformer, FirstBlockCacheConfig(threshold=1e9)):  # reuse at every chance
        assert not np.allclose(
            _video(family, task, [6], num_inference_steps=steps), plain, atol=1e-6
        )
    assert np.array_equal(_video(family, task, [6], num_inference_steps=steps), plain)


def test_build_is_seeded_and_leaves_the_global_rng_alone() -> None:
    state = torch.random.get_rng_state()
    first = build_tiny_pipeline("ltx", seed=1).transformer.state_dict()
    again = build_tiny_pipeline("ltx", seed=1).transformer.state_dict()
    other = build_tiny_pipeline("ltx", seed=2).transformer.state_dict()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


@pytest.mark.parametrize(
    ("family", "task", "message"),
    [
        ("sora", "t2v", "family='sora'.*ltx, ltx-2, wan"),
        ("ltx", "v2v", "task='v2v'.*t2v, i2v"),
        ("mochi", "i2v", "mochi has no image-to-video pipeline in diffusers"),
        ("wan-vace", "i2v", "VACE's one pipeline takes every condition"),
    ],
)
def test_unknown_family_or_task_is_refused(family: str, task: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_tiny_pipeline(family, task)


# Canaries: diffusers 0.42.1 behaviour the backend works around (BATCHING above). When one
# starts passing (a strict xfail fails), the matching workaround can go.
_NUM_VIDEOS_BUGS = {
    ("wan", "i2v"): (RuntimeError, "CLIP image embeds are not repeated per video"),
    ("cogvideox", "t2v"): (ValueError, "num_videos_per_prompt is forced to 1"),
    ("cogvideox", "i2v"): (ValueError, "num_videos_per_prompt is forced to 1"),
    ("hunyuan", "i2v"): (IndexError, "wants one image per generator"),
    ("sana-video", "i2v"): (RuntimeError, "its first-frame mask is sized for the prompts"),
    ("hunyuan-1.5", "t2v"): (RuntimeError, "its blank image tokens are made per prompt"),
}


@pytest.mark.parametrize(
    ("family", "task"),
    [
        pytest.param(f, t, marks=pytest.mark.xfail(strict=True, raises=error, reason=why))
        for (f, t), (error, why) in _NUM_VIDEOS_BUGS.items()
    ],
    ids=[f"{f}-{t}" for f, t in _NUM_VIDEOS_BUGS],
)
def test_canary_num_videos_per_prompt(family: str, task: str) -> None:
    kwargs = _kwargs(family, task, [1, 2])
    kwargs.update(prompt="a red circle", negative_prompt="blurry", num_videos_per_prompt=2)
    if task == "i2v":
        kwargs["image"] = _image(*TINY_GRID[family].example_size)
    _run(family, _pipe(family, task), kwargs)


@pytest.mark.xfail(strict=True, raises=ValueError, reason="Wan VACE renders one video a call")
def test_canary_wan_vace_one_video_a_call() -> None:
    kwargs = _kwargs("wan-vace", "t2v", [1, 2])
    _pipe("wan-vace", "t2v")(**{**kwargs, "num_videos_per_prompt": 2})


def test_wan_vace_holds_what_its_video_and_mask_give() -> None:
    height, width = TINY_GRID["wan-vace"].example_size
    frames = TINY_GRID["wan-vace"].example_frames

    def run(colour: tuple[int, int, int]) -> np.ndarray:
        grey, black, white = ((width, height), (128,) * 3), (0,) * 3, (255,) * 3
        video = [_image(height, width, colour), *[Image.new("RGB", *grey)] * (frames - 1)]
        size = (width, height)
        masks = [Image.new("RGB", size, black), *[Image.new("RGB", size, white)] * (frames - 1)]
        return _video("wan-vace", "t2v", [4], video=video, mask=masks)

    # Random weights: the held frame does not come out as given, and VACE's hint blocks pass
    # it on only faintly (~1e-5), but the same call repeats exactly, so it reaches the model.
    red = run((255, 0, 0))
    assert np.array_equal(red, run((255, 0, 0)))
    assert not np.array_equal(red, run((0, 255, 0)))


@pytest.mark.xfail(
    strict=True, raises=ValueError, reason="true CFG encodes one black image for all negatives"
)
def test_canary_hunyuan_i2v_true_cfg_batch() -> None:
    _video("hunyuan", "i2v", [1, 2], true_cfg_scale=4.0)


def test_hunyuan_i2v_true_cfg_runs_for_one_video() -> None:
    video = _video("hunyuan", "i2v", [1], true_cfg_scale=4.0)
    assert not np.allclose(video, _video("hunyuan", "i2v", [1]), atol=1e-4)


@pytest.mark.xfail(
    strict=True, raises=IndexError, reason="LTX-2 i2v takes generator[i] to image[i]"
)
def test_canary_ltx_2_i2v_one_image_for_a_batch() -> None:
    # And a list of images needs image_crf=0: the pipeline re-compresses single pictures only.
    kwargs = _kwargs("ltx-2", "i2v", [1, 2])
    kwargs.update(
        prompt=["a red circle"] * 2, negative_prompt=["blurry"] * 2, num_videos_per_prompt=1
    )
    kwargs["generator"] = [torch.Generator().manual_seed(s) for s in (1, 2)]
    _pipe("ltx-2", "i2v")(**kwargs)


@pytest.mark.xfail(
    strict=True, raises=RuntimeError, reason="Kandinsky 6 wants one image per video in a batch"
)
def test_canary_kandinsky_6_one_image_for_a_batch() -> None:
    kwargs = _kwargs("kandinsky-6", "i2v", [1, 2])
    kwargs["image"] = kwargs["image"][0]
    _pipe("kandinsky-6", "i2v")(**kwargs)


@pytest.mark.xfail(strict=True, raises=ZeroDivisionError, reason="Mochi needs 2+ steps")
def test_canary_mochi_single_step() -> None:
    _video("mochi", "t2v", [1], num_inference_steps=1)
