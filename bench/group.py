"""One video over a GPU group against the same video on one GPU, one run: the speed-up, and
how far the group's frames are from one GPU's.

For a model whose transformer splits a video over GPUs (``engine/backends/diffusers/
parallel.py``), the same render — the published shapes with random bf16 weights, seeded
alike in every process, one fixed seed, the quality preset, no step cache — first in one
process on the first GPU, then in one process per GPU as ``cinegen worker --gpus`` starts
them (``jobs/group.py``): seconds per step each (``bench/gpu.py``'s clock), the speed-up
``one_gpu_step_s / group_step_s``, the split diffusers chose (Ulysses or ring), and the
largest and mean difference between the two videos' frames (0..1). The card is named.

    python bench/group.py [--model wan] [--gpus 0,1] [--steps 6] [--size 832x480] [--frames 33]
                          [--json group.json]
    python bench/group.py --tiny --device cpu --gpus 0,1   # gloo, nothing split: the script

Trap: on the CPU (gloo) nothing is split — diffusers places each rank on an accelerator —
so every rank renders the whole video: the frames agree exactly and the "speed-up" is < 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).parent))  # bench/gpu.py: its grids, jobs, loader, clock
import gpu
from cinegen.engine.backends.diffusers.parallel import models_that_split
from cinegen.registry import MODELS
from cinegen.spec import Preset


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rank(rank: int, devices: list[str], port: int, args: argparse.Namespace, out: Path) -> None:
    """One process: join the group (if several), build the model as every rank does, render
    once to warm up and once measured; rank 0 keeps the frames and the figures."""
    on_gpu = args.device == "cuda"
    if on_gpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(devices)
    world = len(devices)
    if world > 1:
        dist.init_process_group(
            "nccl" if on_gpu else "gloo",
            init_method=f"tcp://127.0.0.1:{port}",
            rank=rank,
            world_size=world,
        )
    if on_gpu:
        torch.cuda.set_device(rank)
    torch.manual_seed(0)  # the same random weights in every process
    backend = gpu.load(args.model, args)
    entry = MODELS[args.model + gpu.TWIN] if args.tiny else MODELS[args.model]
    caps = entry.capabilities
    width, height, frames = gpu.native_grid(caps)
    if args.size:
        width, height = (int(v) for v in args.size.split("x"))
    grid = (width, height, args.frames or frames)
    quality = dataclasses.replace(entry.presets[Preset.quality], cache=False)
    job = gpu.job_for(caps, grid, quality, args.steps or quality.steps)
    gpu.render(backend, dataclasses.replace(job, steps=2))  # warm-up
    video, clock, seconds = gpu.render(backend, job)
    if rank == 0:
        np.save(out / "frames.npy", video[0].astype(np.float32))
        figures = {
            "step_s": clock.per_step(),
            "render_s": seconds,
            "split": backend.describe().get("split"),
            "grid": "x".join(map(str, grid)),
            "steps": job.steps,
        }
        (out / "figures.json").write_text(json.dumps(figures))
    if world > 1:
        dist.destroy_process_group()


def run(devices: list[str], args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """``devices`` as one group (one process each); rank 0's figures and frames."""
    out.mkdir(parents=True, exist_ok=True)
    spawn = multiprocessing.get_context("spawn")
    port = _free_port()
    processes = [
        spawn.Process(target=_rank, args=(r, devices, port, args, out)) for r in range(len(devices))
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    codes = [p.exitcode for p in processes]
    if any(codes):
        raise RuntimeError(f"a rank failed (exit codes {codes})")
    figures = json.loads((out / "figures.json").read_text())
    return {**figures, "frames": np.load(out / "frames.npy")}


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default="wan", help="one of the models that split")
    parser.add_argument("--gpus", default=None, help="GPU ids (default: every GPU here)")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--steps", type=int, help="quality steps")
    parser.add_argument("--size", help="WxH instead of the native 16:9 size")
    parser.add_argument("--frames", type=int, help="instead of the native 5-s clip")
    parser.add_argument("--tiny", action="store_true", help="the model's -tiny-random twin")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.model not in models_that_split():
        parser.error(
            f"--model: {args.model} cannot split; allowed: {', '.join(models_that_split())}"
        )
    count = torch.cuda.device_count() if args.device == "cuda" else 2
    args.devices = (args.gpus or ",".join(map(str, range(count)))).split(",")
    if len(args.devices) < 2:
        parser.error("--gpus: a group needs at least two devices")
    if args.steps is not None and args.steps < 2:
        parser.error("--steps: at least 2 (the first step is not counted)")
    # bench/gpu.py's loader reads these
    args.attention, args.compile_backend, args.no_compile = None, "inductor", True
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = arguments(argv)
    with TemporaryDirectory() as tmp:
        alone = run(args.devices[:1], args, Path(tmp) / "one")
        group = run(args.devices, args, Path(tmp) / "group")
    difference = np.abs(alone.pop("frames") - group.pop("frames"))
    result = {
        "bench": "group",
        "device": gpu.device_name(args.device),
        "model": args.model + (gpu.TWIN if args.tiny else ""),
        "grid": alone["grid"],
        "steps": alone["steps"],
        "gpus": len(args.devices),
        "split": group["split"],
        "one_gpu_step_s": round(alone["step_s"], 4),
        "group_step_s": round(group["step_s"], 4),
        "speedup": round(alone["step_s"] / group["step_s"], 3),
        "one_gpu_render_s": round(alone["render_s"], 3),
        "group_render_s": round(group["render_s"], 3),
        "frames_max_abs_diff": round(float(difference.max()), 5),
        "frames_mean_abs_diff": round(float(difference.mean()), 6),
    }
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
