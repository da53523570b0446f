"""How well cinegen-tiny follows a prompt: ``cinegen eval-tiny``.

Prompts come in three splits, one object each, drawn from a seed:

- ``seen``: attribute combinations and wording of the training split;
- ``heldout``: a colour+shape, shape+motion or colour+background pair never trained on;
- ``paraphrase``: training combinations in words and templates never trained on.

Each prompt is rendered at the quality and the turbo preset, and the analyser reads
the clip back: background, colour, shape and motion, each right or wrong. The
``reference`` row scores the toy world's own renders of the same scenes, so it shows how
much of any miss is the analyser's. Quality and turbo render the same batches one
after the other, so their speed ratio is measured side by side on one machine. With
``compare_reader`` a third row, ``quality_no_reader``, renders the prompts as written (the
network alone) in the same batches, so the reader's gain comes from one run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cinegen.models.tiny.analyse import score
from cinegen.models.tiny.captions import caption
from cinegen.models.tiny.pipeline import TinyPipeline
from cinegen.models.tiny.reader import read
from cinegen.models.tiny.selfcheck import ATTRIBUTES
from cinegen.models.tiny.toyworld import Scene, render_clip, sample_scene
from cinegen.spec import Preset

if TYPE_CHECKING:
    from cinegen.registry import PresetConfig

SPLITS = ("seen", "heldout", "paraphrase")
BATCH = 8


@dataclass(frozen=True)
class Case:
    split: str
    scene: Scene
    prompt: str
    seed: int


def cases(per_split: int, seed: int = 0, splits: Sequence[str] = SPLITS) -> list[Case]:
    """``per_split`` prompts of each of ``splits``, the same for the same ``seed`` (a split's
    first n prompts are the same whatever n and whichever other splits are asked)."""
    out = []
    for k, split in enumerate(SPLITS):
        if split not in splits:
            continue
        rng = np.random.default_rng([seed, 1000 + k])
        for i in range(per_split):
            scene = sample_scene(rng, "heldout" if split == "heldout" else "train", n_objects=1)
            text = caption(scene, rng, paraphrase=split == "paraphrase")
            out.append(Case(split, scene, text, seed * 100_003 + k * 10_007 + i))
    return out


@dataclass
class Scores:
    """Hits per split and attribute; ``seconds`` spent rendering (sampling and decoding)."""

    hits: dict[str, dict[str, int]] = field(
        default_factory=lambda: {s: dict.fromkeys(ATTRIBUTES, 0) for s in SPLITS}
    )
    clips: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    seconds: float = 0.0

    def add(self, split: str, result: dict[str, bool]) -> None:
        self.clips[split] += 1
        for name, ok in result.items():
            self.hits[split][name] += ok

    def accuracy(self, split: str) -> dict[str, float]:
        """Per attribute, and ``overall``: the mean over all attribute checks."""
        n = max(self.clips[split], 1)
        per = {name: hits / n for name, hits in self.hits[split].items()}
        return {**per, "overall": sum(per.values()) / len(per)}

    def to_dict(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            s: {k: round(v, 4) for k, v in self.accuracy(s).items()} for s in SPLITS
        }
        return {"accuracy": table, "seconds": round(self.seconds, 2)}


def evaluate(
    pipeline: TinyPipeline,
    presets: Mapping[Preset, PresetConfig],
    per_split: int = 64,
    seed: int = 0,
    on_batch: Callable[[str, int, int], None] = lambda preset, done, total: None,
    reader: bool = True,
    compare_reader: bool = False,
    splits: Sequence[str] = SPLITS,
) -> dict[str, Any]:
    """Score the reference renders and both ``presets`` (the model's steps and guidance,
    from the registry) on the same prompts and seeds. With ``reader`` the network renders
    from what ``reader.read`` makes of each prompt, as the backend does; each clip is still
    scored against the prompt as written. ``compare_reader`` adds ``quality_no_reader``: the
    quality preset on the prompts as written. ``splits`` limits the prompts to some splits
    (the others score 0 of 0 clips)."""
    todo = cases(per_split, seed, splits)
    reference = Scores()
    for case in todo:
        reference.add(case.split, score(render_clip(case.scene), case.prompt))
    results: dict[str, Any] = {
        "prompts_per_split": per_split,
        "seed": seed,
        "reader": reader,
        "splits": list(splits),
    }
    read_as = {c.prompt: read(c.prompt).prompt if reader else c.prompt for c in todo}
    results["reference"] = reference.to_dict()
    # (row, preset, how each prompt is rendered): rows render interleaved, batch by batch, so
    # every row sees the same machine load.
    rows = [(p.value, p, read_as) for p in (Preset.quality, Preset.turbo)]
    if compare_reader:
        rows.append(("quality_no_reader", Preset.quality, {c.prompt: c.prompt for c in todo}))
    scores = {name: Scores() for name, _, _ in rows}
    batches = [todo[i : i + BATCH] for i in range(0, len(todo), BATCH)]
    for done, batch in enumerate(batches, start=1):
        for name, preset, rendered in rows:
            config = presets[preset]
            t0 = time.perf_counter()
            clips = pipeline(
                [rendered[c.prompt] for c in batch],
                [c.seed for c in batch],
                steps=config.steps,
                guidance=config.guidance,
                shift=config.shift,
            )
            scores[name].seconds += time.perf_counter() - t0
            frames = np.round(clips * 255).astype(np.uint8)
            for case, clip in zip(batch, frames, strict=True):
                scores[name].add(case.split, score(clip, case.prompt))
            on_batch(name, done, len(batches))
    for name, preset, _ in rows:
        results[name] = {**scores[name].to_dict(), "steps": presets[preset].steps}
    quality, turbo = scores[Preset.quality.value], scores[Preset.turbo.value]
    results["turbo_speedup"] = round(quality.seconds / max(turbo.seconds, 1e-9), 2)
    results["turbo_heldout_drop_points"] = round(
        100 * (quality.accuracy("heldout")["overall"] - turbo.accuracy("heldout")["overall"]), 1
    )
    return results
