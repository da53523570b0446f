"""Output moderation on the embedded model (issue 17, point 2): how many of cinegen-tiny's
renders of its own world the content policy withholds (target: 0 of at least 1,000).

Each request goes through ``cinegen.generate`` with the default policy settings, as the CLI
and the server run it: the issue's withheld reproductions first (their prompts, sizes and
seeds), then prompts of the toy world (training and held-out captions, ``models/tiny``)
at sizes from 64x64 to 854x480, both presets, random seeds, four variants a request. Prints
one JSON object:

1. withheld: renders the policy withheld, of ``renders`` (the target);
2. detector_over_threshold: the same renders had the model been held to the nudity check
   (NudeNet on the delivered video's sampled frames, the score the policy compares with
   its threshold): what the old policy would have withheld, measured in the same run;
3. detector_max and the reproductions' own scores, for scale.

    python bench/moderation.py [--renders 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import cinegen
from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.limits import MAX_SEED
from cinegen.media.encode import read_frames
from cinegen.models.tiny.captions import caption
from cinegen.models.tiny.toyworld import sample_scene
from cinegen.safety import output
from cinegen.safety.moderation import DEFAULT_THRESHOLD, ContentPolicyViolation
from cinegen.spec import parse_spec

# The renders issue 17 found withheld: (prompt, width, height, seconds, seed).
REPRODUCTIONS = [
    ("an orange circle moving down over a plain backdrop", 854, 480, 2, 1751684312),
    ("a white circle growing over a night sky", 128, 128, 2, 1508127234),
    ("a white circle growing over a night sky", 128, 128, 2, 2193375803),
    ("a white circle shrinking over the ocean", 128, 128, 2, 3830317686),
    ("a pink circle growing over a night sky", 128, 128, 2, 2425121612),
]
SIZES = [(64, 64), (128, 128), (160, 96), (256, 144), (480, 270), (854, 480), (480, 854)]
VARIANTS = 4
FPS = 24


def requests(renders: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """The issue's reproductions, then toy-world requests drawn with ``rng`` until the
    requests ask for at least ``renders`` videos."""
    fields = [
        {"prompt": p, "width": w, "height": h, "n_frames": s * FPS, "seed": seed}
        for p, w, h, s, seed in REPRODUCTIONS
    ]
    while sum(f.get("n_variants", 1) for f in fields) < renders:
        split = "heldout" if rng.random() < 0.3 else "train"
        width, height = SIZES[int(rng.integers(len(SIZES)))]
        fields.append({
            "prompt": caption(sample_scene(rng, split), rng),
            "width": width, "height": height,
            "n_frames": int(rng.choice([16, 24, 48, 72])),
            "preset": "turbo" if rng.random() < 0.5 else "quality",
            "seed": int(rng.integers(MAX_SEED + 1)),
            "n_variants": VARIANTS,
        })  # fmt: skip
    return [{"fps": FPS, "model": "cinegen-tiny", **f} for f in fields]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=1000, help="videos to render, at least")
    parser.add_argument("--seed", type=int, default=0, help="draws the prompts, sizes, seeds")
    args = parser.parse_args()
    # The policy as shipped; the files' other work (C2PA, the invisible mark) is not measured.
    engine = Engine(Settings(c2pa=False, invisible_mark=False))
    renders = withheld = over = 0
    scores: list[float] = []
    reproductions: list[float] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        todo = requests(args.renders, np.random.default_rng(args.seed))
        for i, fields in enumerate(todo):
            print(f"\rrequest {i + 1}/{len(todo)}, {withheld} withheld", end="", file=sys.stderr)
            spec = parse_spec(fields)
            renders += spec.n_variants
            try:
                result = cinegen.generate(spec, out=Path(scratch) / f"r{i}", engine=engine)
            except ContentPolicyViolation:
                withheld += spec.n_variants  # generate() stops at the first withheld variant
                continue
            for variant in result.variants:
                assert variant.video is not None
                score = output.nudity(read_frames(variant.video))
                scores.append(score)
                over += score >= DEFAULT_THRESHOLD
                if i < len(REPRODUCTIONS):
                    reproductions.append(round(score, 3))
                variant.video.unlink()
    print(file=sys.stderr)
    print(json.dumps({
        "renders": renders,
        "withheld": withheld,
        "detector_over_threshold": over,
        "detector_threshold": DEFAULT_THRESHOLD,
        "detector_max": round(max(scores, default=0.0), 3),
        "detector_median": round(float(np.median(scores)), 3) if scores else None,
        "reproductions_detector": reproductions,
        "seconds": round(time.perf_counter() - t0, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
