"""GPU figures per model at its native grid, the published shapes with random weights, one run.

Per model of ``fullsize.FULL`` (the published transformer and VAE, built in code, no hub),
through cinegen's own backend (``FullSizeBackend``: placed and called as loaded weights are):

1. ``step_s``: seconds per denoising step, the quality preset, no step cache (the mean step
   after the first, which carries the text encoder and the first call's set-up);
2. ``peak_gib``: the device's peak memory over that render (CUDA only);
3. ``e2e_s``: that render whole (text, steps, VAE decode) plus the H.264 encode of its frames;
4. ``turbo_ratio``: the quality preset's render over the turbo preset's (fewer steps, and the
   family's step cache where it has one);
5. per step cache, FirstBlockCache, MagCache, TaylorSeer: seconds per step with it on, and the
   speed-up over ``step_s``; "n/a" where diffusers cannot hook the model's blocks (Pyramid
   Flow's transformer is our own, not a diffusers model);
6. ``attention``: the diffusers attention backend its attention processors run (or the
   processor class where it has no backend to choose, as SANA's linear attention);
7. regional ``torch.compile`` (``compile_repeated_blocks``: each repeated block compiled once):
   seconds per step after the compiling step, the speed-up, and what the compile cost.

A warm-up render of two steps comes first (CUDA kernels, cuDNN's choices), so every figure is
a warm server's. The card is named in the header. Trap: the weights are random, so a step
cache skips as the random activations let it (MagCache with flat ratios of 1: its largest
skip rate), not as the trained model's would; the pictures are noise. The text encoder is one
layer deep (it runs once a call): ``e2e_s`` leaves out most of T5's time. The caches skip by
step number (TaylorSeer computes every step up to the 3rd): far below the preset's steps,
``--steps`` understates them.

    python bench/gpu.py [--models ltx-video,wan] [--device cuda] [--steps 8] [--size 832x480]
                        [--frames 33] [--attention flash] [--json gpu.json]
    python bench/gpu.py --tiny --device cpu --steps 2   # the tiny twins: checks the script

A model that fails prints its error in its row and the run goes on.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
import torch

from cinegen.config import Settings
from cinegen.engine.backends.base import RenderJob, StepHooks, load_backend
from cinegen.engine.backends.diffusers import fullsize
from cinegen.engine.backends.diffusers.families import first_block_cache
from cinegen.engine.backends.diffusers.fullsize import FULL, TWIN
from cinegen.engine.plan import native_size
from cinegen.media.encode import encode_mp4
from cinegen.registry import MODELS, Capabilities, PresetConfig
from cinegen.spec import Preset

PROMPT = "a red fox running through fresh snow at sunrise, tracking shot"
SECONDS = 5.0  # the clip length a figure is for: Sora's default, at each model's own rate
SIZE_ASKED = (1280, 720)  # 16:9 at each model's largest native area


def _mag_cache(steps: int) -> Any:
    from diffusers.hooks import MagCacheConfig

    # Random weights have no calibrated ratios; flat ratios of 1 skip as often as allowed.
    return MagCacheConfig(mag_ratios=[1.0] * steps, num_inference_steps=steps)


def _taylor_seer(steps: int) -> Any:
    from diffusers.hooks import TaylorSeerCacheConfig

    return TaylorSeerCacheConfig()  # diffusers' defaults: every 5th step computed, after 3


# The step caches measured: name -> config for a render of ``steps`` steps.
CACHES: dict[str, Callable[[int], Any]] = {
    "FirstBlockCache": lambda steps: first_block_cache(),  # the engine's own threshold
    "MagCache": _mag_cache,
    "TaylorSeer": _taylor_seer,
}
COLUMNS = (  # (key, heading) of the printed table
    ("model", "model"), ("grid", "grid WxHxF"), ("steps", "steps"), ("attention", "attention"),
    ("step_s", "s/step"), ("peak_gib", "peak GiB"), ("e2e_s", "e2e s"),
    ("turbo_ratio", "turbo x"), ("FirstBlockCache", "FBCache s/step"),
    ("MagCache", "MagCache s/step"), ("TaylorSeer", "TaylorSeer s/step"),
    ("compiled", "compiled s/step"), ("error", "error"),
)  # fmt: skip


class Clock(StepHooks):
    """Step hooks that note when each step ends (after the device finishes it)."""

    def __init__(self, device: torch.device) -> None:
        super().__init__()
        self.device, self.ends = device, [time.perf_counter()]

    def step(self, total: int, preview: Callable[[], np.ndarray] | None = None) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.ends.append(time.perf_counter())
        super().step(total, preview)

    def per_step(self) -> float:
        """The mean step after the first (the first carries the text encoder and set-up)."""
        steps = np.diff(self.ends[1:])
        return float(steps.mean()) if len(steps) else float("nan")


def native_grid(caps: Capabilities) -> tuple[int, int, int]:
    """(width, height, frames): 16:9 at the model's largest native area, ``SECONDS`` long."""
    width, height = native_size(caps, *SIZE_ASKED)
    if caps.fixed_frames:
        return width, height, caps.fixed_frames
    step = caps.frame_step
    longest = (caps.max_frames - 1) // step * step + 1
    k = max(1, round((SECONDS * caps.native_fps - 1) / step))
    return width, height, min(k * step + 1, longest)


def job_for(
    caps: Capabilities, grid: tuple[int, int, int], preset: PresetConfig, steps: int
) -> RenderJob:
    width, height, frames = grid
    return RenderJob(
        prompt=PROMPT, negative_prompt="blurry, low quality", width=width, height=height,
        n_frames=frames, fps=caps.native_fps, seeds=[1], steps=steps, guidance=preset.guidance,
        cache=preset.cache,
    )  # fmt: skip


def render(backend: Any, job: RenderJob) -> tuple[np.ndarray, Clock, float]:
    """Frames, their step clock and the seconds the render took."""
    clock = Clock(backend.device)
    start = time.perf_counter()
    frames = backend.render(job, clock).frames
    return frames, clock, time.perf_counter() - start


denoisers = fullsize.denoisers


def attention_in_use(transformer: torch.nn.Module) -> str:
    """The attention backends the processors dispatch to (None: diffusers' active one), or
    the processor's class where it has none to choose (a transformer of our own, as Pyramid
    Flow's, calls torch's scaled_dot_product_attention: "sdpa")."""
    from diffusers.models.attention_dispatch import _AttentionBackendRegistry

    active = _AttentionBackendRegistry.get_active_backend()[0]
    names = set()
    for module in transformer.modules():
        processor = getattr(module, "processor", None)
        if processor is None:
            continue
        if hasattr(processor, "_attention_backend"):
            chosen = processor._attention_backend or active
            names.add(str(getattr(chosen, "value", chosen)))
        else:
            names.add(type(processor).__name__)
    own = not hasattr(transformer, "set_attention_backend")
    return "+".join(sorted(names)) or ("sdpa" if own else "none")


def with_cache(backend: Any, job: RenderJob, make: Callable[[int], Any]) -> float:
    """Seconds per step of ``job`` with the step cache ``make`` gives on every denoiser."""
    if not hasattr(backend, "family"):
        raise TypeError("not a diffusers transformer: diffusers' step caches hook only theirs")
    family = backend.family
    backend.family = dataclasses.replace(family, cache=lambda: make(job.steps))
    try:
        _, clock, _ = render(backend, dataclasses.replace(job, cache=True))
    except Exception:
        for transformer in denoisers(backend):  # a cache that failed half on goes off
            with contextlib.suppress(Exception):
                transformer.disable_cache()
        raise
    finally:
        backend.family = family
    return clock.per_step()


def compiled(backend: Any, job: RenderJob, compile_backend: str) -> dict[str, Any]:
    """Regional compile of every denoiser, then the same render: its steps after the first
    (which compiles), and what compiling cost over an uncompiled first step."""
    for transformer in denoisers(backend):
        compile_blocks(transformer, compile_backend)
    _, clock, _ = render(backend, job)
    steps = np.diff(clock.ends)
    return {"compiled": clock.per_step(), "compile_first_step_s": float(steps[0])}


def compile_blocks(transformer: torch.nn.Module, compile_backend: str) -> None:
    """diffusers' ``compile_repeated_blocks``; a transformer of our own has none, and gets
    the same: each block of its block lists compiled in place."""
    if hasattr(transformer, "compile_repeated_blocks"):
        transformer.compile_repeated_blocks(backend=compile_backend)
        return
    for name in ("transformer_blocks", "single_transformer_blocks"):
        for block in getattr(transformer, name, ()):
            block.compile(backend=compile_backend)


def encoded_seconds(frames: np.ndarray, fps: float) -> float:
    """Seconds to encode the first video as the service does (H.264, faststart MP4)."""
    video = np.clip(np.round(frames[0] * 255), 0, 255).astype(np.uint8)
    height, width = video.shape[1:3]
    video = video[:, : height // 2 * 2, : width // 2 * 2]  # yuv420p wants even sides
    with TemporaryDirectory() as tmp:
        start = time.perf_counter()
        encode_mp4(video, Path(tmp) / "clip.mp4", fps)
        return time.perf_counter() - start


def peak_gib(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**30, 2)


def load(model: str, args: argparse.Namespace) -> Any:
    """The twin through the backend its registry entry names, or the full size (random)."""
    if args.tiny:
        settings = Settings(device=args.device, dtype="auto", memory="full")
        return load_backend(MODELS[model + TWIN], settings)
    settings = Settings(device=args.device, dtype="bfloat16", memory="full")
    return fullsize.load(model, settings)


def measure(model: str, args: argparse.Namespace) -> dict[str, Any]:
    """One model's row; the figures it reached before any failure, and the failure."""
    entry = MODELS[model + TWIN] if args.tiny else MODELS[model]
    caps = entry.capabilities
    width, height, frames = native_grid(caps)
    if args.size:
        width, height = (int(v) for v in args.size.split("x"))
    grid = (width, height, args.frames or frames)
    quality, turbo = entry.presets[Preset.quality], entry.presets[Preset.turbo]
    steps = args.steps or quality.steps
    turbo_steps = max(2, round(steps * turbo.steps / quality.steps))
    row: dict[str, Any] = {"model": model, "grid": "x".join(map(str, grid)), "steps": steps}
    backend = None
    try:
        start = time.perf_counter()
        backend = load(model, args)
        if args.attention:
            for transformer in denoisers(backend):
                transformer.set_attention_backend(args.attention)
        row["build_s"] = time.perf_counter() - start
        row["attention"] = attention_in_use(denoisers(backend)[0])
        plain = job_for(caps, grid, dataclasses.replace(quality, cache=False), steps)
        render(backend, dataclasses.replace(plain, steps=2))  # warm-up
        if backend.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(backend.device)
        frames, clock, quality_s = render(backend, plain)
        row.update(step_s=clock.per_step(), peak_gib=peak_gib(backend.device))
        row["e2e_s"] = quality_s + encoded_seconds(frames, caps.native_fps)
        _, _, turbo_s = render(backend, job_for(caps, grid, turbo, turbo_steps))
        row.update(quality_s=quality_s, turbo_s=turbo_s, turbo_ratio=quality_s / turbo_s)
        for name in CACHES:
            row[name] = cached_figure(backend, plain, name, row)
        if not args.no_compile:
            row.update(compile_figures(backend, plain, args.compile_backend, row))
    except Exception as exc:  # the row says why; the next model still runs
        row["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    finally:
        del backend
        release()
    return row


def cached_figure(backend: Any, job: RenderJob, name: str, row: dict[str, Any]) -> float | str:
    """Seconds per step with the cache ``name``, or "n/a" (why, in the row's ``why``) where
    diffusers cannot apply it to this model."""
    try:
        return with_cache(backend, job, CACHES[name])
    except Exception as exc:
        row.setdefault("why", {})[name] = f"{type(exc).__name__}: {exc}"[:200]
        return "n/a"


def compile_figures(
    backend: Any, job: RenderJob, compile_backend: str, row: dict[str, Any]
) -> dict[str, Any]:
    try:
        return compiled(backend, job, compile_backend)
    except Exception as exc:
        row.setdefault("why", {})["compile"] = f"{type(exc).__name__}: {exc}"[:200]
        return {"compiled": "n/a"}


def release() -> None:
    gc.collect()
    torch._dynamo.reset()  # compiled blocks hold their graphs (and weights) otherwise
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def speedups(row: dict[str, Any]) -> dict[str, float]:
    """Each cache's and the compile's seconds per step against the plain ``step_s``."""
    base = row.get("step_s")
    keys = (*CACHES, "compiled")
    return {
        f"{key}_speedup": round(base / row[key], 3)
        for key in keys
        if isinstance(base, float) and isinstance(row.get(key), float) and row[key] > 0
    }


def device_name(device: str) -> str:
    if device == "cuda":
        return f"cuda ({torch.cuda.get_device_name()})"
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 100 else f"{value:.1f}"
    return str(value)


def table(header: str, rows: Sequence[dict[str, Any]]) -> str:
    cells = [[heading for _, heading in COLUMNS]]
    cells += [[cell(row.get(key)) for key, _ in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join([header, *lines])


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--models", default=",".join(FULL), help="comma-separated ids")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--steps", type=int, help="quality steps (turbo's scale with them)")
    parser.add_argument("--size", help="WxH instead of the native 16:9 size")
    parser.add_argument("--frames", type=int, help="instead of the native 5-s clip")
    parser.add_argument("--attention", help="a diffusers attention backend (flash, sage, …)")
    parser.add_argument("--compile-backend", default="inductor", help="torch.compile's backend")
    parser.add_argument("--no-compile", action="store_true", help="skip regional compile")
    parser.add_argument("--tiny", action="store_true", help="the -tiny-random twins instead")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    unknown = [m for m in args.models.split(",") if m not in FULL]
    if unknown:
        parser.error(f"--models: {', '.join(unknown)} unknown; allowed: {', '.join(FULL)}")
    if args.steps is not None and args.steps < 2:
        parser.error("--steps: at least 2 (the first step is not counted)")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = arguments(argv)
    import diffusers

    header = (
        f"bench/gpu.py on {device_name(args.device)}: torch {torch.__version__}, diffusers "
        f"{diffusers.__version__}, {'tiny twins' if args.tiny else 'full size, random bf16'}"
    )
    print(header, file=sys.stderr, flush=True)
    rows = []
    for model in args.models.split(","):
        row = measure(model, args)
        row.update(speedups(row))
        rows.append(row)
        print(f"  {model}: {row.get('error', 'done')}", file=sys.stderr, flush=True)
    result = {"device": device_name(args.device), "header": header, "rows": rows}
    print(table(header, rows))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    return result


if __name__ == "__main__":
    main()
