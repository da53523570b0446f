"""Engine overhead and turbo speed-up, measured side by side in one run. Prints one JSON object.

1. cinegen's whole call (plan, render with progress hooks, resample to uint8 frames at the
   requested size) against calling the same diffusers pipeline object directly with the same
   prompt, size, frames, steps, guidance and seed. Target: overhead_ratio <= 1.05.
2. The turbo preset against quality on the same backend (speed_ratio = quality / turbo).

The request is placed exactly on the model's native grid so both sides render the same
thing; cinegen's extra work is what a user pays for getting exactly what was asked.

    python bench/engine.py [--model ltx-video-tiny-random] [--size 128x96] [--frames 121]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from cinegen.config import Settings
from cinegen.engine.engine import Engine, render_job
from cinegen.spec import parse_spec


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ltx-video-tiny-random")
    parser.add_argument("--size", default="128x96")
    parser.add_argument("--frames", type=int, default=121)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    engine = Engine(Settings(default_model=args.model))
    fields = dict(
        prompt="a red circle moving left over the ocean",
        model=args.model,
        width=width,
        height=height,
        n_frames=args.frames,
        seed=1234,
    )
    probe = engine.plan(parse_spec({**fields, "fps": 24}))
    fps = probe.window(args.frames)[1]
    spec = {
        "quality": parse_spec({**fields, "fps": fps, "preset": "quality"}),
        "turbo": parse_spec({**fields, "fps": fps, "preset": "turbo"}),
    }
    plan = engine.plan(spec["quality"])
    backend: Any = engine.backend(args.model)
    native_frames, native_fps = plan.window(plan.spec.n_frames)
    if (plan.native_width, plan.native_height, native_frames) != (width, height, args.frames):
        raise SystemExit(
            f"{args.size} x {args.frames} is not on {args.model}'s native grid "
            f"(it would render {plan.native_width}x{plan.native_height} x {native_frames}); "
            "choose a size and frame count on the grid so both sides do the same work"
        )
    pipe = backend._pipes["t2v"]
    family = backend.family

    def direct() -> np.ndarray:
        kwargs: dict[str, Any] = dict(
            prompt=plan.prompt,
            height=height,
            width=width,
            num_frames=args.frames,
            num_inference_steps=plan.preset_config.steps,
            guidance_scale=plan.preset_config.guidance,
            output_type="np",
            generator=torch.Generator("cpu").manual_seed(plan.seeds[0]),
            **family.extra(render_job(plan, native_frames, native_fps)),
        )
        if family.negative_prompt:
            kwargs["negative_prompt"] = plan.negative_prompt
        with torch.inference_mode():
            frames = np.asarray(pipe(**kwargs).frames)
        # Any caller needs uint8 frames to encode; this is diffusers' export_to_video's step.
        return (frames * 255).astype(np.uint8)

    def through_cinegen(preset: str) -> np.ndarray:
        return engine.run(spec[preset], on_progress=lambda *e: None).variant(0)

    # Same frames from both sides, or the comparison means nothing.
    same = np.abs(direct()[0].astype(int) - through_cinegen("quality").astype(int)).max()
    runs: dict[str, list[float]] = {"direct": [], "cinegen": [], "quality": [], "turbo": []}
    for _ in range(args.repeats):  # alternate, so drift in machine load hits both sides
        runs["direct"].append(timed(direct))
        runs["cinegen"].append(timed(lambda: through_cinegen("quality")))
        runs["turbo"].append(timed(lambda: through_cinegen("turbo")))
    runs["quality"] = runs["cinegen"]
    med = {k: statistics.median(v) for k, v in runs.items()}
    result = {
        "model": args.model,
        "size": args.size,
        "frames": args.frames,
        "steps": {
            "quality": plan.preset_config.steps,
            "turbo": engine.plan(spec["turbo"]).preset_config.steps,
        },
        "repeats": args.repeats,
        "max_pixel_difference": int(same),  # of 255: rounding vs truncation to uint8
        "direct_s": round(med["direct"], 4),
        "cinegen_s": round(med["cinegen"], 4),
        "overhead_ratio": round(med["cinegen"] / med["direct"], 4),
        "quality_s": round(med["quality"], 4),
        "turbo_s": round(med["turbo"], 4),
        "turbo_speed_ratio": round(med["quality"] / med["turbo"], 3),
        "torch_threads": torch.get_num_threads(),
        "targets_met": med["cinegen"] / med["direct"] <= 1.05,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
