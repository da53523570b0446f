"""LTX-2 through its tiny-random twin: picture and sound from one call, every task it declares."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from diffusers import LTX2ConditionPipeline

from cinegen.config import Settings
from cinegen.engine.backends.base import RenderJob, StepHooks
from cinegen.engine.backends.diffusers import ltx2, tiny_ltx2
from cinegen.engine.backends.diffusers.backend import DiffusersVideoBackend
from cinegen.engine.backends.diffusers.tiny_twins import build_tiny_pipeline
from cinegen.engine.engine import Engine
from cinegen.media.keep import Keep
from cinegen.registry import MODELS
from cinegen.spec import parse_spec

from .render_jobs import tiny_job

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]  # renders on the twin

TINY = MODELS["ltx-2-tiny-random"]
QUALITY, TURBO = TINY.presets["quality"], TINY.presets["turbo"]


@pytest.fixture(scope="module")
def backend() -> DiffusersVideoBackend:
    return DiffusersVideoBackend(TINY, Settings())


def job(**fields: Any) -> RenderJob:
    own: dict[str, Any] = dict(
        width=64,
        height=64,
        fps=24.0,
        steps=2,  # no preset's: one plain stage
        guidance=4.0,
        sound=True,
        audio_prompt="a ball thumps on wood",
    )
    return tiny_job(**{**own, **fields})


def raw_samples(n_frames: int, fps: float) -> int:
    """The sound diffusers' LTX-2 pipeline makes for F frames (tiny_ltx2's docstring):
    L = round(F / fps * 25) audio latents, 4L - 3 mel frames, 240 samples each."""
    latents = round(n_frames / fps * 16000 / 160 / 4)
    return (4 * latents - 3) * int(np.prod(tiny_ltx2.VOCODER_UPSAMPLING))


@pytest.mark.parametrize(("n_frames", "fps"), [(9, 24.0), (17, 24.0), (25, 30.0), (9, 25.0)])
def test_the_twin_makes_stereo_sound_of_the_documented_length(n_frames: int, fps: float) -> None:
    pipe = build_tiny_pipeline("ltx-2", "t2v")
    out = pipe(
        prompt="a red ball",
        height=32,
        width=32,
        num_frames=n_frames,
        frame_rate=fps,
        num_inference_steps=2,
        generator=torch.Generator().manual_seed(0),
        output_type="np",
    )
    assert out.frames.shape == (1, n_frames, 32, 32, 3)
    assert tuple(out.audio.shape) == (1, 2, raw_samples(n_frames, fps))
    assert pipe.vocoder.config.output_sampling_rate == tiny_ltx2.SAMPLE_RATE


@pytest.mark.parametrize(("n_frames", "fps"), [(9, 24.0), (17, 25.0)])
def test_the_backend_s_sound_spans_exactly_the_frames(
    backend: DiffusersVideoBackend, n_frames: int, fps: float
) -> None:
    clips = backend.render(job(n_frames=n_frames, fps=fps), StepHooks())
    assert clips.frames.shape == (2, n_frames, 64, 64, 3)
    assert clips.sound is not None and clips.sound.rate == tiny_ltx2.SAMPLE_RATE
    assert clips.sound.samples.shape == (2, 2, round(n_frames / fps * tiny_ltx2.SAMPLE_RATE))
    assert clips.sound.samples.dtype == np.float32 and np.abs(clips.sound.samples).max() <= 1
    assert not np.array_equal(clips.sound.samples[0], clips.sound.samples[1]), "seeds differ"


def test_same_seed_same_picture_and_sound(backend: DiffusersVideoBackend) -> None:
    a, b = (backend.render(job(seeds=[5]), StepHooks()) for _ in range(2))
    assert a.sound is not None and b.sound is not None
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.sound.samples, b.sound.samples)


def test_no_sound_wanted_gives_frames_alone(backend: DiffusersVideoBackend) -> None:
    clips = backend.render(job(sound=False), StepHooks())
    assert clips.sound is None and clips.frames.shape == (2, 9, 64, 64, 3)


def test_the_sound_s_words_join_the_prompt() -> None:
    wanted = job(negative_audio_prompt="hiss")
    assert ltx2.prompts(wanted) == ("a red ball bouncing a ball thumps on wood", "blurry hiss")
    assert ltx2.prompts(dataclasses.replace(wanted, sound=False)) == (
        "a red ball bouncing",
        "blurry",
    )


def _frames(n: int, colour: tuple[int, int, int] = (200, 40, 40)) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (n, 64, 64, 3)).copy()


def test_image_to_video_runs_one_seed_a_call(backend: DiffusersVideoBackend) -> None:
    mask = np.zeros((9, 64, 64), bool)
    mask[0] = True
    steps: list[int] = []
    hooks = StepHooks(on_step=lambda done, total: steps.append(total))
    clips = backend.render(job(keep=Keep(_frames(9), mask)), hooks)
    assert clips.frames.shape == (2, 9, 64, 64, 3) and clips.sound is not None
    assert steps == [4] * 4  # two seeds, two steps each
    assert type(backend._pipes["i2v"]).__name__ == "LTX2ImageToVideoPipeline"


def test_image_to_video_runs_on_the_loaded_modules_in_their_dtype() -> None:
    """A bf16 model stays bf16 when image-to-video first runs: the same modules, not a float32
    copy (diffusers' from_pipe would cast them in place, doubling the model's memory)."""
    backend = DiffusersVideoBackend(TINY, Settings(dtype="bfloat16"))
    backend.render(job(seeds=[1]), StepHooks())
    t2v = backend._pipes["t2v"]
    mask = np.zeros((9, 64, 64), bool)
    mask[0] = True
    backend.render(job(seeds=[1], keep=Keep(_frames(9), mask)), StepHooks())
    i2v = backend._pipes["i2v"]
    assert i2v.transformer is t2v.transformer and i2v.vae is t2v.vae
    assert {p.dtype for p in t2v.transformer.parameters()} == {torch.bfloat16}


def test_keyframes_and_clips_go_to_the_condition_pipeline(
    backend: DiffusersVideoBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[tuple[int, int]]] = []
    real = LTX2ConditionPipeline.__call__

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append([(c.index, len(c.frames) if isinstance(c.frames, list) else 1)
                     for c in kwargs["conditions"]])  # fmt: skip
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LTX2ConditionPipeline, "__call__", spy)
    mask = np.zeros((25, 64, 64), bool)
    mask[:10] = True  # a clip before (extension) ...
    mask[24] = True  # ... and a last frame
    clips = backend.render(job(n_frames=25, keep=Keep(_frames(25), mask)), StepHooks())
    assert clips.frames.shape == (2, 25, 64, 64, 3) and clips.sound is not None
    # frames 1..9 start latent frame 1; frame 24 lies in latent frame 3 (frames 17..24)
    assert seen == [[(1, 9), (3, 1)]]


def test_latent_runs_hold_the_frames_next_to_the_generated_ones() -> None:
    mask = np.zeros((33, 1, 1), bool)
    mask[:12] = True  # frames 1..9 end nearest 12 (0..8 would too, shorter reach)
    mask[20:31] = True  # from 25 (the first latent start inside), 1 + 0 * 8 frames: a picture
    mask[32] = True
    frames = np.arange(33, dtype=np.uint8)[:, None, None, None].repeat(3, axis=3)
    runs = ltx2.latent_runs(Keep(frames, mask), step=8)
    assert [(index, int(f[0, 0, 0, 0]), len(f)) for index, f in runs] == [
        (1, 1, 9),
        (3, 20, 1),
        (4, 32, 1),
    ]


def test_the_quality_preset_renders_in_two_stages(backend: DiffusersVideoBackend) -> None:
    steps: list[tuple[int, int]] = []
    previews: list[np.ndarray] = []
    hooks = StepHooks(
        on_step=lambda d, t: steps.append((d, t)), on_preview=previews.append, preview_every_s=0
    )
    quality = job(
        steps=QUALITY.steps,
        guidance=QUALITY.guidance,
        cache=QUALITY.cache,
        two_stage=QUALITY.two_stage,
        distilled=QUALITY.distilled,
    )
    clips = backend.render(quality, hooks)
    assert clips.frames.shape == (2, 9, 64, 64, 3) and clips.sound is not None
    total = QUALITY.steps + len(ltx2.STAGE_2_SIGMAS)
    assert steps == [(d, total) for d in range(1, total + 1)]
    # previews at each stage's own size: the first stage renders at half the size
    assert {p.shape for p in previews} == {(32, 32, 3), (64, 64, 3)}
    assert backend.describe()["two_stage"] is True


def test_turbo_is_the_same_weights_with_fewer_steps_when_no_distilled_are_named(
    backend: DiffusersVideoBackend,
) -> None:
    steps: list[int] = []
    turbo = job(
        steps=TURBO.steps,
        guidance=TURBO.guidance,
        cache=TURBO.cache,
        two_stage=TURBO.two_stage,
        distilled=TURBO.distilled,
    )
    clips = backend.render(turbo, StepHooks(on_step=lambda d, t: steps.append(t)))
    assert clips.sound is not None and set(steps) == {TURBO.steps}
    assert backend.describe()["distilled"] is False
    assert not backend._pipes["t2v"].transformer.is_cache_enabled


def _saved(tmp_path: Path) -> Path:
    """The layout of the hub repo: the pipeline, and the latent upsampler beside it."""
    build_tiny_pipeline("ltx-2", "t2v").save_pretrained(tmp_path / "ltx-2")
    tiny_ltx2.build_latent_upsampler().save_pretrained(tmp_path / "ltx-2" / "latent_upsampler")
    return tmp_path / "ltx-2"


def spec(**fields: Any) -> Any:
    base = {"prompt": "a red ball", "width": 128, "height": 64, "n_frames": 9, "fps": 24,
            "seed": 3, "model": "ltx-2"}  # fmt: skip
    return parse_spec({**base, **fields})


def test_weights_load_from_a_local_directory(tmp_path: Path) -> None:
    """The path a user's downloaded weights take, end to end through the engine."""
    engine = Engine(Settings(model_paths={"ltx-2": _saved(tmp_path)}, visible_mark=False))
    rendered = engine.run(spec(preset="turbo"))
    assert rendered.variant(0).shape == (9, 64, 128, 3)
    (piece,) = rendered.pieces
    assert piece.sound is not None and piece.sound.samples.shape == (1, 2, 9000)
    assert rendered.backend["device"] == "cpu"


def test_distilled_weights_named_by_the_deployment_run_turbo(tmp_path: Path) -> None:
    where = _saved(tmp_path)
    settings = Settings(model_paths={"ltx-2": where, "ltx-2-distilled": where})
    backend = DiffusersVideoBackend(MODELS["ltx-2"], settings)
    turbo = MODELS["ltx-2"].presets["turbo"]
    steps: list[int] = []
    render = job(
        steps=turbo.steps,
        guidance=turbo.guidance,
        cache=turbo.cache,
        distilled=turbo.distilled,
        seeds=[1],
    )
    clips = backend.render(render, StepHooks(on_step=lambda d, t: steps.append(t)))
    assert set(steps) == {len(ltx2.DISTILLED_SIGMAS)}  # the distilled schedule, not 15 steps
    assert clips.sound is not None and backend.describe()["distilled"] is True
    assert backend._pipes["t2v"].transformer is not backend._distilled_transformer
