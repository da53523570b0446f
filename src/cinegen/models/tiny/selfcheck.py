"""How good is the ruler: the analyser's accuracy on toy-world renders, clean and degraded.

A model's outputs are blurry, noisy and compressed; the analyser has to read those nearly as
well as clean renders, or a model's measured accuracy would be the analyser's. The degradations
here are the ones the floors in ``tests/models/tiny/test_analyse.py`` hold for.

``python -m cinegen.models.tiny.selfcheck --clips 200`` prints one JSON object: accuracy per
degradation, split and attribute.
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from cinegen.media import x264
from cinegen.models.tiny.analyse import score
from cinegen.models.tiny.toyworld import Scene, Split, caption, render_clip, sample_scene

Clip = NDArray[np.uint8]
Degradation = Callable[[Clip, np.random.Generator], Clip]
ATTRIBUTES = ("background", "color", "shape", "motion")


def _resize(clip: Clip, width: int, height: int) -> Clip:
    frames = [Image.fromarray(f).resize((width, height), Image.Resampling.BILINEAR) for f in clip]
    resized: Clip = np.stack([np.asarray(f, np.uint8) for f in frames])
    return resized


def blur(clip: Clip, rng: np.random.Generator, sigma: float = 1.0) -> Clip:
    """Gaussian blur, ``sigma`` pixels at 64 px (scaled with the frame)."""
    sigma *= clip.shape[2] / 64
    radius = max(1, int(3 * sigma + 0.5))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    video = clip.astype(np.float32)
    for axis in (1, 2):
        pad = [(0, 0)] * 4
        pad[axis] = (radius, radius)
        padded = np.pad(video, pad, mode="edge")
        n = video.shape[axis]
        window = [slice(None)] * 4
        out = np.zeros_like(video)
        for i, weight in enumerate(taps):
            window[axis] = slice(i, i + n)
            out += np.float32(weight) * padded[tuple(window)]
        video = out
    blurred: Clip = np.clip(video + 0.5, 0, 255).astype(np.uint8)
    return blurred


def noise(clip: Clip, rng: np.random.Generator, sigma: float = 10.0) -> Clip:
    """Additive Gaussian noise, ``sigma`` in 0..255 units."""
    noisy = clip + sigma * rng.standard_normal(clip.shape, dtype=np.float32)
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


def jpeg(clip: Clip, rng: np.random.Generator, quality: int = 40) -> Clip:
    """Each frame through JPEG (4:2:0 chroma, 8 x 8 DCT quantisation)."""
    frames = []
    for frame in clip:
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="JPEG", quality=quality)
        frames.append(np.asarray(Image.open(buffer).convert("RGB")))
    return np.stack(frames)


def rescale(clip: Clip, rng: np.random.Generator) -> Clip:
    """Down to half size and back up: a model that resolves only 32 px of detail."""
    height, width = clip.shape[1:3]
    return _resize(_resize(clip, width // 2, height // 2), width, height)


def h264(clip: Clip, rng: np.random.Generator, crf: int = 28) -> Clip:
    """Through libx264 (yuv420p, ``crf``) and back, as a delivered MP4 would be."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=16, options=x264.options(crf))
        stream.height, stream.width = clip.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for frame in clip:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    buffer.seek(0)
    with av.open(buffer, "r") as source:
        decoded: Clip = np.stack([f.to_ndarray(format="rgb24") for f in source.decode(video=0)])
    return decoded


def everything(clip: Clip, rng: np.random.Generator) -> Clip:
    """Blur, then half resolution, then noise, then JPEG: worse than any one alone."""
    return jpeg(noise(rescale(blur(clip, rng), rng), rng), rng)


DEGRADATIONS: dict[str, Degradation] = {
    "clean": lambda clip, rng: clip,
    "blur": blur,
    "noise": noise,
    "jpeg": jpeg,
    "rescale": rescale,
    "h264": h264,
    "everything": everything,
}


@dataclass
class Tally:
    """Per-attribute hits over clips, and the scenes that missed."""

    hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ATTRIBUTES, 0))
    clips: int = 0
    misses: list[tuple[Scene, dict[str, bool]]] = field(default_factory=list)

    def accuracy(self) -> dict[str, float]:
        return {name: hits / max(self.clips, 1) for name, hits in self.hits.items()}


def measure(
    rng: np.random.Generator,
    clips: int,
    split: Split = "train",
    degradation: str = "clean",
    *,
    n_objects: int | None = 1,
    n_frames: int = 16,
    size: int = 64,
) -> Tally:
    """Score ``clips`` random scenes of ``split`` against their own captions."""
    tally = Tally()
    degrade = DEGRADATIONS[degradation]
    for _ in range(clips):
        scene = sample_scene(rng, split, n_objects)
        frames = degrade(render_clip(scene, n_frames, size), rng)
        result = score(frames, caption(scene, rng))
        tally.clips += 1
        for name in ATTRIBUTES:
            tally.hits[name] += result[name]
        if not all(result.values()):
            tally.misses.append((scene, result))
    return tally


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200, help="clips per cell")
    parser.add_argument("--objects", type=int, default=1, choices=(1, 2))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    table = {
        name: {
            split: {
                attribute: round(value, 4)
                for attribute, value in measure(
                    np.random.default_rng(args.seed),
                    args.clips,
                    split,
                    name,
                    n_objects=args.objects,
                )
                .accuracy()
                .items()
            }
            for split in ("train", "heldout")
        }
        for name in DEGRADATIONS
    }
    print(json.dumps({"clips_per_cell": args.clips, "objects": args.objects, "accuracy": table}))


if __name__ == "__main__":
    main()
