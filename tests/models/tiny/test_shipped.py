"""The weights shipped in the package: checked, recorded, and following prompts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cinegen.models.tiny import weights
from cinegen.models.tiny.analyse import score
from cinegen.models.tiny.evaluate import cases
from cinegen.models.tiny.pipeline import TinyPipeline

pytestmark = pytest.mark.slow  # renders with the shipped weights


@pytest.fixture(scope="module")
def shipped():
    return TinyPipeline.load()


def test_the_shipped_bundle_is_small_checked_and_says_how_it_was_made(shipped):
    path = weights.SHIPPED / weights.WEIGHTS_NAME
    assert path.stat().st_size <= weights.MAX_BYTES
    record = json.loads((weights.SHIPPED / weights.RECORD_NAME).read_text())
    assert record["command"].startswith("cinegen train-tiny") and record["wall_seconds"] > 0
    assert {"seed", "hardware", "torch", "steps", "final_loss"} <= set(record)
    assert shipped.model.record["sha256"] == weights.sha256_file(path)


def test_backgrounds_colours_and_motion_follow_the_prompt(shipped):
    todo = [c for c in cases(8, seed=42) if c.split != "paraphrase"]
    clips = shipped([c.prompt for c in todo], [c.seed for c in todo], steps=12, guidance=4.0)
    frames = np.round(clips * 255).astype(np.uint8)
    results = [score(clip, case.prompt) for case, clip in zip(todo, frames, strict=True)]
    assert sum(r["background"] for r in results) >= 14  # of 16; measured: 16
    assert sum(r["color"] for r in results) >= 13  # measured: 16
    assert sum(r["motion"] for r in results) >= 11  # measured: 16 (v0 weights: 0)


def test_the_night_sky_has_its_stars(shipped):
    """The headline prompt: stars where the night sky has them, not a bare gradient."""
    from cinegen.models.tiny.toyworld import STAR_RGB
    from cinegen.models.tiny.train_autoencoder import background_detail
    from cinegen.models.tiny.vocab import Background

    clips = shipped("a blue star moving right over a night sky", [0, 1], steps=12, guidance=4.0)
    pixels = np.round(clips * 255).astype(np.int16)  # (2, F, H, W, 3)
    starlit = np.abs(pixels - np.array(STAR_RGB)).max(-1) < 50
    stars = background_detail(Background.NIGHT, shipped.size)
    assert starlit[:, :, stars].mean() > 0.7  # measured: 0.98 (the object covers a few)
    assert starlit[:, :, ~stars].mean() < 0.002  # and nowhere else; measured: 0


def test_a_held_first_frame_is_carried_on_from_where_its_object_stands(shipped):
    """Image-to-video, extension and every storyboard shot start from a held frame: the next
    frames carry its object on from there, as the toy world itself would."""
    from cinegen.models.tiny.analyse import analyse
    from cinegen.models.tiny.captions import caption
    from cinegen.models.tiny.toyworld import render_clip, sample_scene

    rng = np.random.default_rng(3)
    off = []  # per scene: how far frames 1-3 put the object from its path, in pixels
    for i in range(8):
        scene = sample_scene(rng, n_objects=1)
        truth = render_clip(scene)
        clip = shipped(caption(scene, rng), [i], steps=12, guidance=4.0, first_frame=truth[0])[0]
        made = np.array(analyse(np.round(clip * 255).astype(np.uint8)).objects[0].track)
        path = np.array(analyse(truth).objects[0].track)
        off.append(np.abs(made[1:4] - path[1:4]).max() * shipped.size)
    # Measured: 7 of 8 within 3 px (the other drew a second star beside the held one); with
    # the held frames noised as the sampler once did, 0 of 8.
    assert sum(d < 3 for d in off) >= 6


def test_the_first_new_frame_after_a_held_one_moves_a_usual_step(shipped):
    """A storyboard shot, a loop's bridge or an extension joins a held frame: the object's
    step out of it must be like its other steps, not a jump (issue 5's continuity)."""
    from cinegen.models.tiny.analyse import analyse
    from cinegen.models.tiny.captions import caption
    from cinegen.models.tiny.toyworld import Motion, render_clip, sample_scene

    rng = np.random.default_rng(3)
    ratios = []  # per scene: the object's first step over its median step, as the analyser reads
    while len(ratios) < 16:
        scene = sample_scene(rng, n_objects=1)
        if scene.objects[0].motion not in (Motion.LEFT, Motion.RIGHT, Motion.UP, Motion.DOWN):
            continue  # steady motions: in the toy world's own clip every step is the same
        truth = render_clip(scene)
        prompt = caption(scene, rng)
        clip = shipped(prompt, [len(ratios)], steps=32, guidance=4.0, first_frame=truth[0])[0]
        reading = analyse(np.round(clip * 255).astype(np.uint8))
        track = np.array(reading.objects[0].track) if reading.objects else np.full((16, 2), np.nan)
        step = np.linalg.norm(np.diff(track, axis=0), axis=1)
        ratios.append(step[0] / np.nanmedian(step[1:]))
    # Measured: 0.97 on average; without the hold guidance (pipeline.HOLD_GUIDANCE = 1), 1.65:
    # the new frames started about a third of a step ahead of the held one, or to one side.
    assert np.nanmean(ratios) < 1.25


def test_a_plain_sentence_renders_the_colour_motion_and_background_it_asks_for(shipped):
    """The issue's sentence, read by the prompt reader as the backend does (seed fixed)."""
    from cinegen.models.tiny.analyse import analyse
    from cinegen.models.tiny.reader import read
    from cinegen.models.tiny.vocab import Background, Color, Motion
    from cinegen.registry import CINEGEN_TINY
    from cinegen.spec import Preset

    quality = CINEGEN_TINY.presets[Preset.quality]
    prompt = read("pink square heading right on a black background").prompt
    clips = shipped(prompt, [1], steps=quality.steps, guidance=quality.guidance,
                    shift=quality.shift)  # fmt: skip
    reading = analyse(np.round(clips[0] * 255).astype(np.uint8))
    assert reading.background == Background.NIGHT  # "black" is the night sky
    first = reading.objects[0]
    assert (first.color, first.motion) == (Color.PINK, Motion.RIGHT)


def test_a_frame_it_drew_is_held_as_drawn_not_grown_by_the_autoencoder(shipped):
    """The next window of a long video holds the last frame of the one before: held as the
    latent it was drawn from, it decodes to that frame again, where re-encoding its pixels
    (the autoencoder's round trip, all a frame from elsewhere gets) grows the object."""
    from cinegen.media.keep import Keep

    clip = shipped("a red square spinning in a grey studio", [2], steps=6, guidance=4.0)[0]
    last = np.round(clip[-1] * 255).astype(np.uint8)

    def held_and_decoded(frame: np.ndarray) -> np.ndarray:
        known = shipped._condition(Keep.first_frame(frame, shipped.frames), 1).known
        return np.round(shipped.decode(known[:, :1])[0, 0] * 255).astype(np.int16)

    def area(frame: np.ndarray) -> float:
        background = np.median(frame.reshape(-1, 3), axis=0)
        return float((np.abs(frame - background).sum(-1) > 60).mean())

    as_drawn = held_and_decoded(last)
    assert np.abs(as_drawn - last).mean() < 0.5
    shipped.drawn = type(shipped.drawn)()  # forgotten: its pixels are all there is
    re_encoded = held_and_decoded(last)
    assert area(re_encoded) > 1.1 * area(last.astype(np.int16))  # measured: 1.17x


def test_turbo_draws_held_out_shapes_readably_with_its_steps_at_high_noise(shipped):
    """The turbo preset as the registry sets it (6 steps, shifted to high noise, where the
    layout is decided): 16 held-out prompts."""
    from cinegen.registry import MODELS
    from cinegen.spec import Preset

    turbo = MODELS["cinegen-tiny"].presets[Preset.turbo]
    todo = cases(16, seed=0, splits=["heldout"])
    clips = shipped(
        [c.prompt for c in todo],
        [c.seed for c in todo],
        steps=turbo.steps,
        guidance=turbo.guidance,
        shift=turbo.shift,
    )
    frames = np.round(clips * 255).astype(np.uint8)
    results = [score(clip, case.prompt) for case, clip in zip(todo, frames, strict=True)]
    assert sum(r["shape"] for r in results) >= 11  # measured: 12 (evenly spaced steps: 8)
    assert sum(r["motion"] for r in results) >= 14  # measured: 15, as evenly spaced
