"""Pyramid Flow, our own backend: the tiny twin saved in the published layout and loaded
back, the sampler's math on toy fields with known answers, the first frame held, progress
and cancel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from cinegen.config import Settings
from cinegen.engine.backends.base import RenderJob, StepHooks
from cinegen.engine.backends.pyramid_flow import sampler, tiny
from cinegen.engine.backends.pyramid_flow.backend import PyramidFlowBackend
from cinegen.engine.backends.pyramid_flow.pipeline import PyramidFlow
from cinegen.errors import Cancelled, ModelLoadError
from cinegen.media.keep import Keep
from cinegen.registry import MODELS

pytestmark = pytest.mark.usefixtures("one_thread")
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def twin() -> PyramidFlow:
    return tiny.build()


def render(pipe: PyramidFlow, **changes: object) -> np.ndarray:
    args: dict[str, object] = dict(
        prompt="a red circle moving left",
        negative="blurry",
        width=128,
        height=64,
        frames=17,
        seeds=[5],
        steps=(2, 1),
        guidance=(7.0, 5.0),
    )
    return pipe.generate(**{**args, **changes})  # type: ignore[arg-type]


def job(**changes: object) -> RenderJob:
    base: dict[str, object] = dict(
        prompt="a red circle moving left",
        negative_prompt="",
        width=128,
        height=64,
        n_frames=25,
        fps=24.0,
        seeds=[3, 4],
        steps=2,
        guidance=7.0,
    )
    return RenderJob(**{**base, **changes})  # type: ignore[arg-type]


def test_the_twin_saved_in_the_published_layout_loads_back_and_renders_alike(tmp_path, twin):
    tiny.save(twin, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "causal_video_vae",
        "diffusion_transformer_384p",
        "diffusion_transformer_768p",
        "text_encoder",
        "text_encoder_2",
        "tokenizer",
        "tokenizer_2",
    ]
    config = json.loads((tmp_path / "diffusion_transformer_768p" / "config.json").read_text())
    assert config["_class_name"] == "PyramidFluxTransformer" and config["patch_size"] == 1
    loaded = PyramidFlow.load(tmp_path, CPU, torch.float32)
    video = render(loaded)
    assert video.shape == (1, 17, 64, 128, 3) and video.dtype == np.float32
    np.testing.assert_allclose(video, render(twin), atol=1e-4)


def test_the_backend_renders_exact_frames_from_a_folder(tmp_path, twin):
    tiny.save(twin, tmp_path)
    settings = Settings(model_paths={"pyramid-flow": tmp_path})
    backend = PyramidFlowBackend(MODELS["pyramid-flow"], settings)
    clips = backend.render(job(n_frames=25), StepHooks())
    assert clips.frames.shape == (2, 25, 64, 128, 3)
    assert backend.describe()["weights"] == str(tmp_path)
    assert backend.describe()["transformer"] == "diffusion_transformer_384p"


def test_a_missing_folder_says_what_to_download_and_where_to_point(tmp_path):
    settings = Settings(model_paths={"pyramid-flow": tmp_path})
    with pytest.raises(ModelLoadError) as e:
        PyramidFlowBackend(MODELS["pyramid-flow"], settings)
    assert "rain1011/pyramid-flow-miniflux" in str(e.value)
    assert "CINEGEN_MODEL_PATHS__PYRAMID_FLOW" in str(e.value)


def test_seeds_are_reproducible_and_distinct(twin):
    a = render(twin, seeds=[7, 8])
    np.testing.assert_array_equal(a, render(twin, seeds=[7, 8]))
    assert not np.array_equal(a[0], a[1])
    # a video depends on its own seed only, not on the batch beside it
    np.testing.assert_allclose(a[1], render(twin, seeds=[8])[0], atol=1e-4)


def test_the_flow_ends_at_its_target_through_every_stage_and_renoise():
    """With the exact velocity of the straight path to a constant target, (x - target) / r,
    each stage's Euler steps land on the target at r = 0 — also after the upsample and the
    block-noise renoise that start stages 2 and 3."""
    target, steps = 0.7, 3
    ratios = sampler.StageSchedule.ratios(steps)
    calls: list[int] = []

    def exact(clips: list[torch.Tensor], t: torch.Tensor, first: bool) -> torch.Tensor:
        r = ratios[len(calls) % steps]
        calls.append(1)
        return (clips[-1] - target) / r

    out = sampler.sample_video(
        shape=(1, 4, 1, 16, 24),
        velocity=exact,
        generators=[torch.Generator().manual_seed(0)],
        first_steps=steps,
        video_steps=steps,
        image=None,
        device=CPU,
        on_step=lambda first_frame: None,
    )
    assert out.shape == (1, 4, 1, 16, 24) and len(calls) == 3 * steps
    torch.testing.assert_close(out, torch.full_like(out, target), atol=1e-5, rtol=0)


def test_the_stage_schedule_is_the_reference_schedulers():
    """Numbers printed by PyramidFlowMatchEulerDiscreteScheduler(stages=3, gamma=1/3) of
    jy0205/Pyramid-Flow, set_timesteps(4, stage), run here against its own source."""
    reference = [
        (1000.0, 914.752, 829.504, 744.256),
        (744.0, 624.786, 505.572, 386.358),
        (386.0, 257.795, 129.590, 1.385),
    ]
    for stage, expected in zip(sampler.schedule(), reference, strict=True):
        np.testing.assert_allclose(stage.timesteps(4).numpy(), expected, atol=1e-3)
    np.testing.assert_allclose(
        sampler.StageSchedule.ratios(4).numpy(), (1.0, 0.667, 0.334, 0.001, 0.0), atol=1e-6
    )
    assert [s.start_sigma for s in sampler.schedule()] == pytest.approx([1.0, 0.667, 0.334])


def test_block_noise_has_the_reference_covariance():
    noise = sampler.block_noise((1, 64, 1, 64, 64), torch.Generator().manual_seed(0))
    blocks = noise.reshape(64, 32, 2, 32, 2).permute(0, 1, 3, 2, 4).reshape(-1, 4)
    g = sampler.GAMMA
    expected = (1 + g) * torch.eye(4) - g * torch.ones(4, 4)
    torch.testing.assert_close(torch.cov(blocks.T), expected, atol=0.02, rtol=0)


def test_decoding_in_windows_equals_one_pass(twin):
    z = torch.randn(1, tiny.LATENT, 6, 4, 6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = twin.vae.decode_whole(z)
        assert whole.shape == (1, 3, 41, 32, 48)
        for window in (1, 2, 3):
            torch.testing.assert_close(twin.vae.decode(z, window=window), whole)


def test_the_image_is_the_first_frame(twin):
    """Image-to-video holds the image's latents as frame 0: the first frame is the VAE's
    own reconstruction of the image, and another image gives another first frame."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 128, 3), dtype=np.uint8)
    video = render(twin, image=image)
    assert video.shape == (1, 17, 64, 128, 3)
    latents = twin._encode(image, [torch.Generator().manual_seed(5)])
    own = twin.decode(latents)[0, 0]
    np.testing.assert_allclose(video[0, 0], own, atol=1e-5)
    other = render(twin, image=255 - image)
    assert np.abs(other[0, 0] - video[0, 0]).mean() > 0.05


def test_progress_counts_every_step_and_the_last_preview_is_the_first_frame():
    backend = PyramidFlowBackend(MODELS["pyramid-flow-tiny-random"], Settings())
    seen: list[tuple[int, int]] = []
    previews: list[np.ndarray] = []
    hooks = StepHooks(on_step=lambda d, t: seen.append((d, t)), on_preview=previews.append)
    hooks.preview_every_s = 0.0
    frames = backend.render(job(n_frames=17), hooks).frames
    total = 3 * (2 + 2 * 1)  # 3 stages x (frame 0: 2 steps + 2 later frames x 1 step)
    assert seen == [(d, total) for d in range(1, total + 1)]
    assert len(previews) == total
    # the same latents, decoded alone rather than beside the second video: rounding apart
    assert np.abs(previews[-1] - np.round(frames[0, 0] * 255)).max() <= 1


def test_cancel_stops_between_steps():
    backend = PyramidFlowBackend(MODELS["pyramid-flow-tiny-random"], Settings())
    hooks = StepHooks(should_stop=lambda: hooks.steps_done >= 3)
    with pytest.raises(Cancelled):
        backend.render(job(), hooks)
    assert hooks.steps_done == 3


def test_image_to_video_through_the_backend_keeps_exact_frames():
    backend = PyramidFlowBackend(MODELS["pyramid-flow-tiny-random"], Settings())
    image = np.full((64, 128, 3), 200, np.uint8)
    frames = np.zeros((25, 64, 128, 3), np.uint8)
    frames[0] = image
    mask = np.zeros((25, 64, 128), bool)
    mask[0] = True
    clips = backend.render(job(keep=Keep(frames, mask), seeds=[1]), StepHooks())
    assert clips.frames.shape == (1, 25, 64, 128, 3)


def test_sizes_off_the_grid_are_refused(twin):
    with pytest.raises(ValueError, match="multiples of 64"):
        render(twin, width=96)
    with pytest.raises(ValueError, match="8k\\+1"):
        render(twin, frames=12)


def test_a_published_config_reads_without_its_training_keys(tmp_path: Path):
    """config.json as the reference saves it carries training switches; they are ignored."""
    from cinegen.engine.backends.pyramid_flow.model import PyramidFluxConfig

    raw = {
        "_class_name": "PyramidFluxTransformer",
        "_diffusers_version": "0.30.3",
        "in_channels": 64,
        "num_layers": 8,
        "num_single_layers": 16,
        "attention_head_dim": 64,
        "num_attention_heads": 30,
        "joint_attention_dim": 4096,
        "pooled_projection_dim": 768,
        "patch_size": 1,
        "use_flash_attn": False,
        "use_gradient_checkpointing": False,
        "gradient_checkpointing_ratio": 0.6,
        "use_temporal_causal": True,
        "interp_condition_pos": True,
    }
    (tmp_path / "config.json").write_text(json.dumps(raw))
    config = PyramidFluxConfig.from_file(tmp_path / "config.json")
    assert (config.width, config.latent_channels, config.axes_dims_rope) == (1920, 16, (16, 24, 24))


def test_the_history_is_the_references_temporal_pyramid():
    """At stage s the newest frame comes at stage s's size, the one before at the next size
    down, the rest at the lowest; sizes by halving twice (the reference's
    get_pyramid_latent), which a single quarter-size resample does not equal."""
    made = torch.randn(1, 4, 5, 16, 24, generator=torch.Generator().manual_seed(2))
    half = sampler.resize(made, 0.5, "bilinear")
    quarter = sampler.resize(half, 0.5, "bilinear")
    per_stage = sampler.history(made, unit=5)
    assert [c.shape[2:] for c in per_stage[2]] == [(3, 4, 6), (1, 8, 12), (1, 16, 24)]
    assert [c.shape[2:] for c in per_stage[0]] == [(4, 4, 6), (1, 4, 6)]
    torch.testing.assert_close(per_stage[2][0], quarter[:, :, :3])
    torch.testing.assert_close(per_stage[2][1], half[:, :, 3:4])
    torch.testing.assert_close(per_stage[2][2], made[:, :, 4:])
    assert not torch.allclose(quarter, sampler.resize(made, 0.25, "bilinear"))


def test_a_vae_saved_with_diffusers_older_attention_names_loads(tmp_path, twin):
    """The reference loads through diffusers, which renames query/key/value/proj_attn."""
    from cinegen.engine.backends.pyramid_flow.vae import load_vae
    from cinegen.engine.backends.pyramid_flow.weights import write_state_dict

    new_to_old = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}
    old = {}
    for key, tensor in twin.vae.state_dict().items():
        for new, before in new_to_old.items():
            key = key.replace(f".attentions.0.{new}.", f".attentions.0.{before}.")
        old[key] = tensor
    assert any(".query." in k for k in old)
    write_state_dict(tmp_path, old, twin.vae.config.to_json())
    loaded = load_vae(tmp_path, torch.float32)
    z = torch.randn(1, tiny.LATENT, 2, 4, 6, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(loaded.decode(z), twin.vae.decode(z))


def _plan(width: int, height: int, n_frames: int, model: str = "pyramid-flow") -> tuple[int, float]:
    from cinegen.engine.plan import plan
    from cinegen.spec import parse_spec

    asked = {"prompt": "a red circle", "model": model, "seed": 1, "fps": 24}
    spec = parse_spec({**asked, "width": width, "height": height, "n_frames": n_frames})
    return plan(spec, Settings()).window(n_frames)


def test_384p_is_refused_past_its_121_frames_naming_the_maximum():
    """The 384p transformer was made for 5 s (121 frames); 10 s is the 768p one's."""
    from cinegen.errors import SpecError

    assert _plan(640, 384, 121) == (121, 24.0)
    assert _plan(1280, 768, 240) == (241, 24.0)
    for model, size in (("pyramid-flow", (640, 384)), ("pyramid-flow-tiny-random", (128, 64))):
        with pytest.raises(SpecError) as refused:
            _plan(*size, 240, model=model)
        assert refused.value.field == "n_frames" and refused.value.value == 240
        assert refused.value.allowed == "up to 5.00 s (≤ 120 frames at 24 fps)"
        assert f"at {size[0]}x{size[1]}" in refused.value.message
    assert MODELS["pyramid-flow"].capabilities.frame_rule == "8k+1 ≤ 241, ≤ 121 up to 640x384"


def test_the_registry_s_384p_size_is_where_the_pipeline_picks_the_384p_transformer():
    from cinegen.engine.backends.pyramid_flow.pipeline import VARIANTS

    (((width, height), _),) = MODELS["pyramid-flow"].capabilities.max_frames_by_size
    assert VARIANTS[0] == ("diffusion_transformer_384p", width * height)
