"""Kandinsky 6 through its tiny-random twin: picture and sound from one call, every task it
declares, and the file a generation writes of it."""

from __future__ import annotations

import dataclasses
import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from diffusers import Kandinsky6TI2VAPipeline
from diffusers.pipelines.kandinsky6.pipeline_kandinsky6_ti2va import (
    _PROMPT_TEMPLATE,
    _QWEN_CROP_START,
)

import cinegen
from cinegen.config import Settings
from cinegen.engine.backends.base import RenderJob, StepHooks
from cinegen.engine.backends.diffusers import kandinsky6, tiny_kandinsky6
from cinegen.engine.backends.diffusers.backend import DiffusersVideoBackend
from cinegen.engine.backends.diffusers.tiny_twins import build_tiny_pipeline
from cinegen.engine.engine import Engine
from cinegen.errors import ModelLoadError
from cinegen.media import audio
from cinegen.media.encode import read_audio
from cinegen.media.keep import Keep
from cinegen.registry import MODELS
from cinegen.spec import parse_spec

from .render_jobs import tiny_job

TINY = MODELS["kandinsky-6-tiny-random"]
RATE = tiny_kandinsky6.SAMPLE_RATE
pytestmark = pytest.mark.usefixtures("one_thread")
slow = pytest.mark.slow  # renders on the tiny twin


@pytest.fixture(scope="module")
def backend() -> DiffusersVideoBackend:
    return DiffusersVideoBackend(TINY, Settings())


def job(**fields: Any) -> RenderJob:
    own: dict[str, Any] = dict(
        width=64,
        height=48,
        fps=24.0,
        guidance=4.0,
        sound=True,
        audio_prompt="a ball thumps on wood",
    )
    return tiny_job(**{**own, **fields})


@slow
@pytest.mark.parametrize(("n_frames", "fps"), [(9, 24.0), (17, 24.0), (25, 30.0), (13, 25.0)])
def test_the_twin_makes_mono_sound_of_the_documented_length(n_frames: int, fps: float) -> None:
    pipe = build_tiny_pipeline("kandinsky-6", "t2v")
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
    assert out.audio.shape == (1, tiny_kandinsky6.raw_samples(n_frames, fps))
    assert pipe.audio_sample_rate == RATE == 44_100
    # never short of the frames' span, at most one audio latent (1024 samples) past it
    assert 0 <= out.audio.shape[1] - n_frames / fps * RATE < tiny_kandinsky6.LATENT_HOP


def test_the_template_s_crop_lands_on_the_prompt() -> None:
    """The pipeline drops the first 129 tokens of its chat template: exactly the template's
    front, as with Qwen's own tokenizer, so the transformer reads the prompt's words."""
    tokenizer = tiny_kandinsky6.qwen_tokenizer()
    front = _PROMPT_TEMPLATE.split("{}")[0]
    assert len(tokenizer(front).input_ids) == _QWEN_CROP_START == 129
    ids = tokenizer(_PROMPT_TEMPLATE.format("a red ball moving left")).input_ids
    kept = tokenizer.convert_ids_to_tokens(ids[_QWEN_CROP_START:])
    assert kept == ["a", "Ġred", "Ġball", "Ġmoving", "Ġleft", "<|im_end|>"]


def test_every_word_the_merges_build_comes_out_whole() -> None:
    # The merges' order (tiny_kandinsky6._merges) decides this: a word broken by another
    # word's merge would shift the crop.
    tokenizer = tiny_kandinsky6.qwen_tokenizer()
    pieces = [p.replace("Ġ", " ").replace("Ċ", "\n") for p in tiny_kandinsky6._template_pieces()]
    for piece in [*pieces, " red", " quality", " in"]:
        assert len(tokenizer(piece).input_ids) == 1, piece
    assert tokenizer.convert_ids_to_tokens(tokenizer(" postprocessing").input_ids) == [
        "Ġpost",
        "processing",
    ]
    assert tokenizer(" zebra!").input_ids  # any text: bytes where no word fits, no <unk>


@slow
@pytest.mark.parametrize(("n_frames", "fps"), [(9, 24.0), (17, 25.0)])
def test_the_backend_s_sound_spans_exactly_the_frames(
    backend: DiffusersVideoBackend, n_frames: int, fps: float
) -> None:
    clips = backend.render(job(n_frames=n_frames, fps=fps), StepHooks())
    assert clips.frames.shape == (2, n_frames, 48, 64, 3)
    assert clips.sound is not None and clips.sound.rate == RATE
    assert clips.sound.samples.shape == (2, 1, round(n_frames / fps * RATE))  # mono
    assert clips.sound.samples.dtype == np.float32 and np.abs(clips.sound.samples).max() <= 1
    assert not np.array_equal(clips.sound.samples[0], clips.sound.samples[1]), "seeds differ"


@slow
def test_same_seed_same_picture_and_sound(backend: DiffusersVideoBackend) -> None:
    a, b = (backend.render(job(seeds=[5]), StepHooks()) for _ in range(2))
    assert a.sound is not None and b.sound is not None
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.sound.samples, b.sound.samples)


@slow
def test_a_batched_variant_equals_its_seed_alone(backend: DiffusersVideoBackend) -> None:
    both, alone = backend.render(job(), StepHooks()), backend.render(job(seeds=[2]), StepHooks())
    assert both.sound is not None and alone.sound is not None
    np.testing.assert_allclose(both.frames[1], alone.frames[0], atol=1e-4)
    np.testing.assert_allclose(both.sound.samples[1], alone.sound.samples[0], atol=1e-4)


@slow
def test_no_sound_wanted_skips_it(
    backend: DiffusersVideoBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[bool] = []
    real = Kandinsky6TI2VAPipeline.__call__

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["sample_audio"])
        assert kwargs["expand_prompts"] is False  # prompts are never rewritten
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Kandinsky6TI2VAPipeline, "__call__", spy)
    silent = backend.render(job(sound=False, seeds=[3]), StepHooks())
    assert silent.sound is None and silent.frames.shape == (1, 9, 48, 64, 3)
    assert asked == [False]  # the pipeline makes none: no audio latents, no vocoder
    # The transformer then runs its video path alone: the same seed draws another picture.
    with_sound = backend.render(job(seeds=[3]), StepHooks())
    assert not np.allclose(silent.frames, with_sound.frames, atol=1e-4)


def test_the_sound_s_words_join_the_prompt_in_its_audio_tags() -> None:
    wanted = job(negative_audio_prompt="hiss")
    assert kandinsky6.prompts(wanted) == (
        "a red ball bouncing <AUDCAP>a ball thumps on wood<ENDAUDCAP>",
        "blurry <AUDCAP>hiss<ENDAUDCAP>",
    )
    assert kandinsky6.prompts(dataclasses.replace(wanted, negative_audio_prompt="")) == (
        "a red ball bouncing <AUDCAP>a ball thumps on wood<ENDAUDCAP>",
        "blurry",
    )
    assert kandinsky6.prompts(dataclasses.replace(wanted, sound=False)) == (
        "a red ball bouncing",
        "blurry",
    )


@slow
def test_the_audio_prompt_reaches_the_model(backend: DiffusersVideoBackend) -> None:
    a = backend.render(job(seeds=[4]), StepHooks())
    b = backend.render(job(seeds=[4], audio_prompt="a dog barks"), StepHooks())
    assert a.sound is not None and b.sound is not None
    assert not np.allclose(a.sound.samples, b.sound.samples, atol=1e-6)


def _frames(n: int, colour: tuple[int, int, int]) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (n, 48, 64, 3)).copy()


def _first_frame(colour: tuple[int, int, int]) -> Keep:
    mask = np.zeros((9, 48, 64), bool)
    mask[0] = True
    return Keep(_frames(9, colour), mask)


@slow
def test_image_to_video_batches_its_seeds_in_the_same_pipeline(
    backend: DiffusersVideoBackend,
) -> None:
    steps: list[int] = []
    hooks = StepHooks(on_step=lambda done, total: steps.append(total))
    red = backend.render(job(keep=_first_frame((200, 40, 40))), hooks)
    assert red.frames.shape == (2, 9, 48, 64, 3) and red.sound is not None
    assert steps == [2, 2]  # both seeds in one call
    assert backend._pipes["i2v"] is backend._pipes["t2v"]  # one pipeline, one set of weights
    green = backend.render(job(keep=_first_frame((40, 200, 40))), StepHooks())
    assert not np.allclose(red.frames, green.frames, atol=1e-5)  # the image reaches the model


@slow
def test_previews_decode_the_first_frame(backend: DiffusersVideoBackend) -> None:
    previews: list[np.ndarray] = []
    hooks = StepHooks(on_preview=previews.append, preview_every_s=0)
    backend.render(job(seeds=[1], keep=_first_frame((200, 40, 40))), hooks)
    assert [p.shape for p in previews] == [(48, 64, 3)] * 2
    assert all(p.dtype == np.uint8 for p in previews)


def spec(**fields: Any) -> Any:
    base = {"prompt": "a red ball", "width": 128, "height": 64, "n_frames": 9, "fps": 24,
            "seed": 3, "model": "kandinsky-6"}  # fmt: skip
    return parse_spec({**base, **fields})


@slow
def test_weights_load_from_a_local_directory(tmp_path: Path) -> None:
    """The path a user's downloaded weights take, end to end through the engine."""
    build_tiny_pipeline("kandinsky-6", "t2v").save_pretrained(tmp_path / "kandinsky-6")
    settings = Settings(model_paths={"kandinsky-6": tmp_path / "kandinsky-6"}, visible_mark=False)
    rendered = Engine(settings).run(spec(preset="turbo"))
    assert rendered.variant(0).shape == (9, 64, 128, 3)
    (piece,) = rendered.pieces
    assert piece.sound is not None and piece.sound.samples.shape == (1, 1, round(9 / 24 * RATE))
    assert rendered.backend["device"] == "cpu"


@slow
def test_a_generation_carries_its_sound_as_48_khz_stereo(engine: Engine, tmp_path: Path) -> None:
    model = "kandinsky-6-tiny-random"
    result = cinegen.generate(
        spec(model=model, preset="turbo", n_frames=24, audio="on"), out=tmp_path, engine=engine
    )
    decoded, rate = read_audio(result.variants[0].video)
    assert rate == audio.RATE and decoded.shape == (2, audio.samples_for(24 / 24))
    facts = json.loads(result.sidecar.read_text())["files"][0]["audio"]
    assert facts["rate"] == 48_000 and facts["channels"] == 2 and facts["codec"] == "aac"
    assert facts["made_by"] == {"with_picture": True, "model": model}
    # Mastered to the target before coding. The decoded file measures quieter: the twin's
    # random vocoder puts most of its energy above 16 kHz, which AAC's low-pass drops.
    assert abs(facts["loudness_lufs"] - audio.TARGET_LUFS) <= 0.5


@pytest.mark.xfail(
    strict=True,
    raises=(AttributeError, ImportError, ValueError),
    reason="Qwen2_5_VLProcessor needs torchvision, which does not load with the CPU torch",
)
def test_canary_the_qwen_processor_cannot_be_built_here() -> None:
    """When it can, the twin should register the processor, as the real checkpoints do."""
    from transformers import Qwen2_5_VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessorPil(), tokenizer=tiny_kandinsky6.qwen_tokenizer()
    )


def test_real_weights_that_need_torchvision_say_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real checkpoint's tokenizer is a Qwen2.5-VL processor, which transformers builds
    with torchvision: where that is missing the user learns which package, and the extra."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise AttributeError("'dict' object has no attribute '_extra_content'")  # measured

    monkeypatch.setattr(Kandinsky6TI2VAPipeline, "from_pretrained", broken)
    real = importlib.import_module

    def without_torchvision(name: str, *args: Any) -> Any:
        if name == "torchvision":
            raise ImportError("No module named 'torchvision'")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_torchvision)
    settings = Settings(model_paths={"kandinsky-6": tmp_path})
    with pytest.raises(ModelLoadError, match=r"needs torchvision.*'cinegen\[kandinsky-6\]'"):
        Engine(settings).run(spec(preset="turbo"))
