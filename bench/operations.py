"""The creation tools measured on cinegen-tiny, whose world we can read back. Prints one JSON
object; each figure is a ratio or a share measured in this run, with its target.

1. storyboard continuity: mean frame-to-frame change across each shot boundary over the
   mean change within the shots (target <= 1.5);
2. image-to-video: PSNR of the first frame against the given image at the native 64x64,
   after H.264 (target >= 25 dB), and of the model's own first frame before the given pixels
   are pasted back (the sampler holds the image's latents, so: the autoencoder's loss);
3. remix: "subtle" keeps the source's motion and background while the colour follows the
   new prompt; "strong" reads like text-to-video of the new prompt (share of attributes that
   match what the new prompt's own text-to-video render reads);
4. extend: the added part moves the way the source did (share of clips), length exact, for
   a source with room to go on (and, for information, one at the end of its path);
5. loop: the step from the last frame to the first over the median step (target <= 1), with
   a bridge as long as the source (and, for information, half as long), the share of the
   clip's own steps smaller than it (a seamless loop: about half), and, for scale, the same
   ratio for a step in the middle of the source;
6. inpaint: mean and 99th-percentile change outside the region after H.264 (codec
   tolerance), the largest over the clips;
7. long video: a minute in 4-s windows, each holding the last frame of the one before: the
   step into a window over the median step (target <= 1.5 for every seam), seeds 1-5, of a
   bouncing circle and a spinning square, with the same ratio on the toy world's own clip
   (a bounce's floor step, where every window starts, is itself 1.5x its median step).

    python bench/operations.py [--seeds 4] [--only long_video ...]
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
import torch

from cinegen.config import Settings
from cinegen.engine.backends.cinegen_tiny import CinegenTinyBackend
from cinegen.engine.engine import Engine, Rendered
from cinegen.engine.seams import steps
from cinegen.media.encode import encode_mp4, read_frames
from cinegen.models.tiny.analyse import Reading, analyse
from cinegen.models.tiny.scene import ObjectSpec, Scene
from cinegen.models.tiny.toyworld import render_clip
from cinegen.models.tiny.vocab import Background, Color, Motion, Shape
from cinegen.spec import parse_spec
from cinegen.spec_parts import InpaintItem

SIZE = 64  # the embedded model's world is square: the analyser reads it best there
FPS = 24
SCENES = [  # (subject, motion, background) in the words the model was trained on
    ("red circle", "moving right", "grey studio"),
    ("green triangle", "moving left", "night sky"),
    ("blue square", "moving down", "ocean"),
    ("yellow star", "moving up", "sunset"),
]
# For each scene: a new colour (subtle remix) and a whole new scene (strong remix).
NEW_COLOUR = ["blue", "purple", "red", "green"]
NEW_SCENE = [
    "a yellow square moving up over the ocean",
    "a red star growing in a grey studio",
    "a green circle moving right on a night sky",
    "a blue triangle moving left over the ocean",
]


# The way back: a storyboard's second shot and a loop's bridge turn the motion round (in the
# toy world every motion crosses a fixed distance, so only the way back stays in frame).
REVERSE = {
    "moving right": "moving left",
    "moving left": "moving right",
    "moving up": "moving down",
    "moving down": "moving up",
}


def prompt(subject: str, motion: str, background: str) -> str:
    return f"a {subject} {motion} over a {background}"


class Bench:
    def __init__(self, seeds: int) -> None:
        self.engine = Engine(Settings(default_model="cinegen-tiny", visible_mark=False))
        self.seeds = list(range(1, seeds + 1))
        self.store: dict[str, np.ndarray] = {}
        tiny = self.engine.backend("cinegen-tiny")  # the model the renders use, loaded once
        assert isinstance(tiny, CinegenTinyBackend)
        self.pipeline = tiny.pipeline

    def media(self, item: InpaintItem) -> np.ndarray:
        return self.store[item.generation_id or item.upload_id or ""]

    def render(self, **fields: Any) -> np.ndarray:
        spec = parse_spec({"width": SIZE, "height": SIZE, "fps": FPS, **fields})
        return self.engine.run(spec, media=self.media).variant(0)

    def source(self, scene: int, seed: int, n_frames: int = 48) -> str:
        key = f"{scene}-{seed}-{n_frames}"
        if key not in self.store:
            text = prompt(*SCENES[scene])
            self.store[key] = self.render(prompt=text, n_frames=n_frames, seed=seed)
        return key

    def cases(self) -> list[tuple[int, int]]:
        return [(k, seed) for seed in self.seeds for k in range(len(SCENES))]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def through_h264(frames: np.ndarray) -> np.ndarray:
    with TemporaryDirectory() as tmp:
        path = encode_mp4(frames, Path(tmp) / "clip.mp4", FPS)
        return read_frames(path)


def attributes(reading: Reading) -> dict[str, Any]:
    first = reading.objects[0] if reading.objects else None
    return {
        "background": reading.background,
        "color": first.color if first else None,
        "shape": first.shape if first else None,
        "motion": first.motion if first else None,
    }


def horizontal_and_vertical(track: tuple[tuple[float, float], ...]) -> np.ndarray:
    """The overall (dx, dy) of a centre track, nan-tolerant."""
    points = np.array(track, np.float64)
    seen = points[~np.isnan(points).any(axis=1)]
    return seen[-1] - seen[0] if len(seen) >= 2 else np.zeros(2)


def storyboard(b: Bench) -> dict[str, Any]:
    """Two shots per case: the scene, then the same subject on its way back."""
    ratios = []
    for k, seed in b.cases():
        subject, motion, background = SCENES[k]
        other = REVERSE[motion]
        shots = [
            {"prompt": prompt(subject, motion, background), "start_frame": 0},
            {"prompt": prompt(subject, other, background), "start_frame": 36},
        ]
        video = b.render(
            prompt=shots[0]["prompt"],
            operation="storyboard",
            storyboard=shots,
            n_frames=72,
            seed=seed,
        )
        change = steps(video)
        boundary = change[35]  # frame 35 -> 36
        within = np.delete(change, 35).mean()
        ratios.append(float(boundary / within))
    return {"continuity_ratio": round(max(ratios), 3), "mean": round(float(np.mean(ratios)), 3)}


def image_to_video(b: Bench) -> dict[str, Any]:
    encoded, held = [], []
    for k, seed in b.cases():
        image = b.store[b.source(k, seed)][20]  # a frame of a clip as the picture to animate
        b.store["image"] = image[None]
        spec = parse_spec(
            {
                "prompt": prompt(*SCENES[k]),
                "width": SIZE,
                "height": SIZE,
                "fps": FPS,
                "n_frames": 48,
                "seed": seed + 100,
                "inpaint_items": [{"type": "image", "upload_id": "image"}],
            }
        )
        rendered = b.engine.run(spec, media=b.media)
        encoded.append(psnr(through_h264(rendered.variant(0))[0], image))
        # The sampler holds the image's latents exactly, so the model's own first frame is
        # the image through the autoencoder (the engine then pastes the image itself back).
        with torch.no_grad():
            decoded = b.pipeline.decode(b.pipeline.encode(image[None])[None])[0, 0]
        held.append(psnr(np.round(decoded * 255).astype(np.uint8), image))
    return {
        "psnr_db_after_h264": round(min(encoded), 2),
        "psnr_db_model_before_paste": round(min(held), 2),
    }


def remix(b: Bench) -> dict[str, Any]:
    kept, coloured, strong, strong_t2v = 0, 0, 0, 0
    cases = b.cases()
    for k, seed in cases:
        source = b.source(k, seed)
        before = attributes(analyse(b.store[source]))
        subject, motion, background = SCENES[k]
        recoloured = prompt(f"{NEW_COLOUR[k]} {subject.split()[1]}", motion, background)
        subtle = attributes(
            analyse(
                b.render(
                    prompt=recoloured,
                    operation="remix",
                    source={"generation_ids": [source], "strength": "subtle"},
                    n_frames=48,
                    seed=seed + 200,
                )
            )
        )
        kept += (
            subtle["motion"] == before["motion"] and subtle["background"] == before["background"]
        )
        coloured += str(subtle["color"]) == NEW_COLOUR[k]
        wanted = attributes(analyse(b.render(prompt=NEW_SCENE[k], n_frames=48, seed=seed + 300)))
        got = attributes(
            analyse(
                b.render(
                    prompt=NEW_SCENE[k],
                    operation="remix",
                    source={"generation_ids": [source], "strength": "strong"},
                    n_frames=48,
                    seed=seed + 300,
                )
            )
        )
        strong += sum(got[a] == wanted[a] for a in wanted)
        strong_t2v += sum(got[a] == before[a] for a in before)
    n = len(cases)
    return {
        "subtle_keeps_motion_and_background": round(kept / n, 3),
        "subtle_colour_follows_prompt": round(coloured / n, 3),
        "strong_attributes_as_text_to_video": round(strong / (4 * n), 3),
        "strong_attributes_left_from_source": round(strong_t2v / (4 * n), 3),
    }


def extend(b: Bench) -> dict[str, Any]:
    """Each source's first half (24 frames, the object half-way along its path) extended to 48
    frames: there is room to go on. Every toy-world motion crosses the same distance, so a
    whole source (48 frames extended to 96) can only go on out of the frame, which the model
    never saw; its figures are printed too. ``seam_step_ratio_mean``: the step from the
    source's last frame to the first new one over the median step (for information; no
    target)."""
    result: dict[str, Any] = {}
    for kept, n_frames, name in ((24, 48, ""), (48, 96, "full_source_")):
        same_way, exact, seams = 0, 0, []
        cases = b.cases()
        for k, seed in cases:
            source = b.source(k, seed)
            video = b.render(
                prompt=prompt(*SCENES[k]),
                operation="extend",
                source={"generation_ids": [source], "end_frame": kept - 1},
                n_frames=n_frames,
                seed=seed + 400,
            )
            given = b.store[source][:kept]
            exact += len(video) == n_frames and bool((video[:kept] == given).all())
            before = analyse(given).objects
            after = analyse(video[kept:]).objects
            if before and after:
                a = horizontal_and_vertical(before[0].track)
                c = horizontal_and_vertical(after[0].track)
                same_way += float(np.dot(a, c)) > 0
            change = steps(video)
            seams.append(float(change[kept - 1] / np.median(change)))
        n = len(cases)
        result[f"{name}continues_direction"] = round(same_way / n, 3)
        result[f"{name}length_and_source_exact"] = exact / n
        result[f"{name}seam_step_ratio_mean"] = round(float(np.mean(seams)), 2)
    return result


def loop(b: Bench) -> dict[str, Any]:
    """A 48-frame source looped with a bridge as long as itself: in the toy world every motion
    crosses the same distance at one speed, so that is the bridge the model can come back in.
    A bridge half as long (72 frames in all) asks for double speed, which the model never saw;
    its figure is printed too."""
    result: dict[str, Any] = {}
    for n_frames, name in ((96, "wrap_step_ratio"), (72, "half_length_bridge")):
        ratios, ranks, interior = [], [], []
        for k, seed in b.cases():
            source = b.source(k, seed)
            subject, motion, background = SCENES[k]
            video = b.render(
                prompt=prompt(subject, REVERSE[motion], background),
                operation="loop",
                source={"generation_ids": [source]},
                n_frames=n_frames,
                seed=seed + 500,
            )
            wrap = steps(np.stack([video[-1], video[0]]))[0]
            own = steps(video)
            ratios.append(float(wrap / np.median(own)))
            ranks.append(float((own < wrap).mean() * 100))
            interior.append(float(own[23] / np.median(own)))  # mid-source: a step of one render
        result[name] = round(max(ratios), 3)
        result[f"{name}_mean"] = round(float(np.mean(ratios)), 3)
        if name == "wrap_step_ratio":  # where the wrap falls among the clip's own steps
            result["wrap_step_percentile"] = round(max(ranks), 1)
            result["wrap_step_percentile_mean"] = round(float(np.mean(ranks)), 1)
            # The same ratio for a step inside the source, for scale: what "typical" spans.
            result["interior_step_ratio"] = round(max(interior), 3)
            result["interior_step_ratio_mean"] = round(float(np.mean(interior)), 3)
    return result


def inpaint(b: Bench) -> dict[str, Any]:
    outside_mean, outside_p99 = [], []
    for k, seed in b.cases():
        source = b.source(k, seed)
        region = (0.25, 0.25, 0.75, 0.75)
        video = b.render(
            prompt=prompt(*SCENES[(k + 1) % len(SCENES)]),
            operation="inpaint",
            source={"generation_ids": [source], "region": list(region)},
            n_frames=48,
            seed=seed + 600,
        )
        decoded = through_h264(video).astype(np.int16)
        outside = np.ones((SIZE, SIZE), bool)
        outside[16:48, 16:48] = False
        diff = np.abs(decoded - b.store[source].astype(np.int16))[:, outside]
        outside_mean.append(float(diff.mean()))
        outside_p99.append(float(np.percentile(diff, 99)))
    return {
        "outside_mean_abs_after_h264": round(max(outside_mean), 3),
        "outside_p99_abs_after_h264": round(max(outside_p99), 1),
    }


# Seeds of the long-video figure, whatever --seeds says: the target holds for each.
LONG_VIDEO_SEEDS = (1, 2, 3, 4, 5)
LONG_VIDEO_FRAMES = 240  # a minute at 4 fps: each output step one of the model's own
# Motions the toy world goes on with window after window (a translation leaves the frame).
# Trap: a bounce's own floor step is 1.5x its median step, and every window starts and ends
# on the floor, so on it the measure reads 1.5 for a seamless render (toy_world_seam_ratio);
# a spinning square turns at one speed and looks the same after its half turn a window, so
# on it every step is alike and a seam shows as itself.
LONG_VIDEO_SUBJECTS = {
    "bouncing": (Shape.CIRCLE, Motion.BOUNCING, "a red circle bouncing in a grey studio"),
    "spinning": (Shape.SQUARE, Motion.SPINNING, "a red square spinning in a grey studio"),
}


def toy_world_seam_ratio(shape: Shape, motion: Motion, windows: int = 16) -> float:
    """The long-video measure on the toy world's own clip of the subject, tiled as the
    windows are (each holding the last frame of the one before): what a render with no
    seam at all would read."""
    obj = ObjectSpec(Color.RED, shape, motion, size=0.36, x=0.5, y=0.5)
    clip = render_clip(Scene(Background.STUDIO, (obj,)), n_frames=16)[1:]  # t = 1/15 .. 1
    change = steps(np.tile(clip, (windows, 1, 1, 1)))
    at = np.arange(1, windows) * len(clip) - 1  # the held (last) frame -> the next window
    return float((change[at] / np.median(change)).max())


def long_video(b: Bench) -> dict[str, Any]:
    """A minute at 4 fps, the model's own 16 frames per 4-s window, per subject and seed: the
    largest and mean step into a window over the median step (target <= 1.5 for every
    seam), the median step itself (mean absolute change, 0-255), and, for scale, the largest
    step inside a window over the median and the same measure on the toy world's own clip
    (``toy_world_seam_step_ratio``: a seamless render's figure)."""
    result: dict[str, Any] = {}
    for name, (shape, motion, text) in LONG_VIDEO_SUBJECTS.items():
        per_seed: dict[str, dict[str, float]] = {}
        for seed in LONG_VIDEO_SEEDS:
            fields = {
                "prompt": text,
                "fps": 4,
                "n_frames": LONG_VIDEO_FRAMES,
                "seed": seed,
                "audio": "off",
            }
            spec = parse_spec({**fields, "width": SIZE, "height": SIZE, "model": "turbo"})
            rendered = b.engine.run(spec)
            per_seed[str(seed)] = _seams(rendered)
        worst = max(r["seam_step_ratio"] for r in per_seed.values())
        toy = round(toy_world_seam_ratio(shape, motion), 3)
        result[name] = {"seam_step_ratio": worst, "toy_world_seam_step_ratio": toy}
        result[name]["per_seed"] = per_seed
    return result


def _seams(rendered: Rendered) -> dict[str, float]:
    change = steps(rendered.variant(0))
    at = [seg.start - 1 for seg in rendered.layout.segments[1:]]
    median = float(np.median(change))
    seams = change[at] / median
    return {
        "seam_step_ratio": round(float(seams.max()), 3),
        "seam_step_ratio_mean": round(float(seams.mean()), 3),
        "median_step": round(median, 2),
        "inside_window_max_step_ratio": round(float(np.delete(change, at).max() / median), 3),
        "render_s": round(rendered.timings["render_s"], 1),
    }


FIGURES: dict[str, Callable[[Bench], dict[str, Any]]] = {
    "storyboard": storyboard,
    "image_to_video": image_to_video,
    "remix": remix,
    "extend": extend,
    "loop": loop,
    "inpaint": inpaint,
    "long_video": long_video,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), default=list(FIGURES))
    args = parser.parse_args()
    b = Bench(args.seeds)
    result = {"model": "cinegen-tiny", "cases": len(b.cases())}
    result.update({name: FIGURES[name](b) for name in args.only})
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
