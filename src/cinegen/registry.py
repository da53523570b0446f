"""Model ids -> what each model can do, its presets and the factory that loads it.

Everything here is plain data, beside ``spec.py``: importing it loads no weights and no
torch, so the CLI, the API and the request validator can ask what a model supports before
anything heavy happens. The backend factory is named as ``"module:attribute"``; the engine
imports it when the model is first used (``engine.backends.load_backend``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cinegen import footprints
from cinegen.footprints import Footprint
from cinegen.limits import MAX_SECONDS
from cinegen.spec import Preset
from cinegen.spec_parts import REMIX_STRENGTH_NAMES


@dataclass(frozen=True)
class Capabilities:
    """What a model can do and the grid it renders on natively.

    The engine renders on this grid and resamples to exactly what was asked;
    requests outside it (too long, an operation it lacks) are refused by name.
    """

    text_to_video: bool = True
    image_to_video: bool = False  # condition on a first frame
    video_conditioning: bool = False  # condition on frames of an existing clip
    # With video_conditioning: whether held frames may sit anywhere in a clip. False: only a
    # clip's first frames, continued forward (SkyReels-V2's video-to-video extends a clip; it
    # cannot lead into one, end on a frame, loop or join two).
    later_frames: bool = True
    inpaint: bool = False  # regenerate a masked region
    remix: bool = False  # start sampling from an existing clip, noised (video-to-video)
    reference_images: bool = False  # see pictures of a subject anywhere (characters)
    # Takes LoRA adapters by name (Settings.loras, a request's loras): set from LORA_FAMILIES
    lora: bool = False
    # Its image-to-video pipeline takes a last frame beside the first (Wan's ``last_image``);
    # a model with video_conditioning holds one anyway (``holds_last_frame``).
    last_frame: bool = False
    # Renders only between a given first and last frame (Wan 2.1 FLF2V): a request without
    # both is refused (engine.plan), text alone and a first frame alone included.
    both_frames: bool = False
    sound: bool = False  # its renders carry sound made with the picture (LTX-2, Kandinsky 6)
    # What remix strengths subtle, mild and strong mean for this model (0: keep, 1: ignore).
    remix_strengths: tuple[float, float, float] = (0.4, 0.6, 0.8)
    spatial_multiple: int = 32  # native width and height are multiples of this
    frame_step: int = 8  # native frame counts are frame_step * k + 1
    max_frames: int = 121  # longest native clip
    # Shorter limits at smaller sizes, where a checkpoint was made for fewer frames there:
    # ((width, height), longest native clip at up to that many pixels a frame), smallest
    # first; past the last, max_frames (``frames_at``).
    max_frames_by_size: tuple[tuple[tuple[int, int], int], ...] = ()
    native_fps: float = 24.0
    max_area: int = 768 * 512  # most native pixels per frame; larger asks are upscaled
    fixed_size: tuple[int, int] | None = None  # the only native (width, height), if any
    # The only native clip length, if any: those frames span whatever duration is asked
    # (the native rate is fixed_frames / seconds) and frame_step/max_frames do not apply.
    fixed_frames: int | None = None
    # For fixed_frames: the longest one render spans. Longer videos render as windows, each
    # holding the end of the one before (video_conditioning), as on every model whose clip
    # is shorter than the request. None: one render spans any length.
    window_seconds: float | None = None
    # What each window of a long video holds of the one before, in seconds (at least one
    # frame): the motion, which a model that continues a clip carries on.
    window_overlap_seconds: float = 0.5

    def remix_strength(self, strength: float | str | None) -> float:
        """A remix strength as a number: named ones by this model's scale, default mild."""
        if isinstance(strength, str) or strength is None:
            return self.remix_strengths[REMIX_STRENGTH_NAMES.index(strength or "mild")]
        return strength

    @property
    def max_seconds(self) -> float:
        """The longest clip, in seconds, one render covers."""
        if self.fixed_frames:
            return self.window_seconds or MAX_SECONDS
        return (self.most_frames - 1) / self.native_fps

    def frames_at(self, width: int, height: int) -> int:
        """The longest native clip at a native size."""
        for (w, h), frames in self.max_frames_by_size:
            if width * height <= w * h:
                return frames
        return self.max_frames

    @property
    def most_frames(self) -> int:
        """The longest native clip at any size it renders (its largest)."""
        return self.frames_at(self.max_area, 1)

    @property
    def holds_frames_anywhere(self) -> bool:
        """Whether it holds given frames at any place in a clip, not only its first ones."""
        return self.video_conditioning and self.later_frames

    @property
    def holds_last_frame(self) -> bool:
        """Whether it ends a clip on a given picture after a given first frame."""
        return self.last_frame or self.holds_frames_anywhere

    @property
    def longest_seconds(self) -> float:
        """The longest video it makes: one render, or any length in windows where it
        continues a clip (each window holds the end of the one before)."""
        return MAX_SECONDS if self.video_conditioning else min(self.max_seconds, MAX_SECONDS)

    @property
    def frame_rule(self) -> str:
        """Native clip lengths, in words for `cinegen models`."""
        if self.fixed_frames:
            return f"{self.fixed_frames}, stretched to any length"
        smaller = "".join(
            f", ≤ {f} up to {w}x{h}"
            for (w, h), f in self.max_frames_by_size
            if f < self.most_frames
        )
        return f"{self.frame_step}k+1 ≤ {self.most_frames}" + smaller

    def native_rate(self, seconds: float) -> float:
        """Native frames per second for a clip of ``seconds``."""
        return self.fixed_frames / seconds if self.fixed_frames else self.native_fps

    @property
    def fps_rule(self) -> str:
        return f"{self.fixed_frames}/length" if self.fixed_frames else f"{self.native_fps:g}"


@dataclass(frozen=True)
class PresetConfig:
    steps: int
    guidance: float
    cache: bool = False  # reuse transformer work across steps (diffusers' FirstBlockCache &c.)
    # Render at half the native size, double the latents with the model's latent upsampler,
    # then refine them at full size in a few steps (LTX-2's two-stage recipe).
    two_stage: bool = False
    # Run the model's distilled weights, where the deployment names them (``ModelEntry.
    # distilled_weights`` or a local directory under the key ``<id>-distilled``); without them
    # the preset is the same weights with fewer steps.
    distilled: bool = False


@dataclass(frozen=True)
class ModelEntry:
    id: str
    family: str
    description: str
    weights: str  # hub id or "built in code"
    capabilities: Capabilities
    presets: Mapping[Preset, PresetConfig]
    factory: str = "cinegen.engine.backends.diffusers.backend:DiffusersVideoBackend"
    tiny_random: bool = False
    license: str = ""
    # Whether its pictures can show people. Output moderation looks for nudity only in what
    # such a model made: NudeNet reads the embedded model's soft blobs as skin (4 of 48 toy
    # renders withheld, issue 17), and a world of shapes has nobody to show. The pixels any
    # model keeps from a given picture were checked as that picture (an upload) all the same.
    depicts_people: bool = True
    # A video-to-audio model that makes the soundtrack from the finished frames and the
    # prompt, for a model whose renders are silent: a factory ``"module:attribute"`` taking
    # (entry, settings) and giving an ``engine.backends.base.Soundtrack``.
    soundtrack: str | None = None
    # The hub id of the distilled weights (diffusers format) that presets with ``distilled``
    # run; a local directory under ``Settings.model_paths["<id>-distilled"]`` wins.
    distilled_weights: str | None = None
    # Published parameter counts and shapes (footprints.py), for the memory tiers. None:
    # unknown, shown as "?", loaded fully resident under CINEGEN_MEMORY=auto.
    footprint: Footprint | None = None

    @property
    def makes_sound(self) -> bool:
        """Whether its videos can carry sound: made with the picture, or after it."""
        return self.capabilities.sound or self.soundtrack is not None

    @property
    def tasks(self) -> list[str]:
        caps = self.capabilities
        flags = {
            "text-to-video": caps.text_to_video,
            "image-to-video": caps.image_to_video and not caps.both_frames,
            "video-conditioning": caps.holds_frames_anywhere,
            "extend forward": caps.video_conditioning and not caps.later_frames,
            "last frame": caps.last_frame and not caps.both_frames,  # beside a first
            "first and last frame, both required": caps.both_frames,
            "inpaint": caps.inpaint,
            "remix": caps.remix,
            "reference images": caps.reference_images,
            "sound": self.makes_sound,
        }
        return [name for name, on in flags.items() if on]


def _presets(quality: tuple[int, float], turbo: tuple[int, float]) -> dict[Preset, PresetConfig]:
    return {
        Preset.quality: PresetConfig(steps=quality[0], guidance=quality[1]),
        Preset.turbo: PresetConfig(steps=turbo[0], guidance=turbo[1], cache=True),
    }


def _image_to_video(
    base: ModelEntry,
    id: str,
    weights: str,
    description: str,
    last_frame: bool = False,
    **changes: Any,
) -> ModelEntry:
    """The image-to-video checkpoint of a family: the same grid, a first frame required."""
    caps = dataclasses.replace(
        base.capabilities, text_to_video=False, image_to_video=True, last_frame=last_frame
    )
    return dataclasses.replace(
        base, id=id, weights=weights, description=description, capabilities=caps, **changes
    )


# The open-weight families. Grids and limits follow each model card's recommended use.
_TEXT_TO_VIDEO: tuple[ModelEntry, ...] = (
    ModelEntry(
        id="ltx-video",
        family="ltx",
        description="Lightricks LTX-Video 0.9.5: fast DiT, text and image/video conditioning",
        weights="Lightricks/LTX-Video-0.9.5",
        capabilities=Capabilities(
            image_to_video=True,
            video_conditioning=True,  # LTXConditionPipeline: held frames at any frame index
            remix=True,  # the same pipeline from the source's latents (denoise_strength)
            spatial_multiple=32,
            frame_step=8,
            max_frames=257,
            native_fps=24.0,
            max_area=1216 * 704,
        ),
        presets=_presets(quality=(40, 3.0), turbo=(20, 3.0)),
        license="LTXV Open Weights",
        footprint=footprints.LTX_VIDEO,
    ),
    ModelEntry(
        id="ltx-2",
        family="ltx-2",
        description="Lightricks LTX-2 19B: video with its sound, from text, an image or keyframes",
        weights="Lightricks/LTX-2",  # diffusers format at the root, latent_upsampler/ beside it
        capabilities=Capabilities(
            image_to_video=True,  # LTX2ImageToVideoPipeline
            video_conditioning=True,  # LTX2ConditionPipeline: images or clips at latent indices
            sound=True,  # one transformer denoises picture and sound together
            # The VAE's grid is 32, but the quality preset's first stage renders at half size:
            # LTX-2's two-stage pipelines want sides divisible by 64.
            spatial_multiple=64,
            frame_step=8,
            max_frames=257,  # 10.7 s at 24 fps; diffusers' examples render 121
            native_fps=24.0,  # diffusers' examples (its tests use 25; frame_rate is an input)
            max_area=1536 * 1024,  # the two-stage example's output: 768x512, upsampled 2x
        ),
        presets={
            Preset.quality: PresetConfig(steps=40, guidance=4.0, two_stage=True),
            Preset.turbo: PresetConfig(steps=15, guidance=4.0, cache=True, distilled=True),
        },
        license="LTX-2 Community License",
        footprint=footprints.LTX_2,
    ),
    ModelEntry(
        id="kandinsky-6",
        family="kandinsky-6",
        description="Kandinsky 6.0 Video Lite 3B: 5 s with its sound, from text or an image",
        # The 3B checkpoint a single GPU holds; the pipeline's docstring runs the 29B
        # "Kandinsky-6.0-Pro-distill-5s-Diffusers" (16 steps, guidance 1.0 with its PiFlow
        # scheduler), which these presets do not fit.
        weights="kandinskylab/Kandinsky-6.0-Lite-5s-Diffusers",
        capabilities=Capabilities(
            image_to_video=True,  # the same pipeline with a first frame (``image``)
            sound=True,  # one transformer denoises picture and sound (mono, 44.1 kHz)
            spatial_multiple=16,  # the HunyuanVideo VAE's 8 x the transformer's 2x2 patch
            frame_step=4,
            max_frames=121,  # the pipeline's default: the 5 s the "5s" checkpoints make
            native_fps=24.0,  # the pipeline's default frame_rate, and its docstring's fps
            max_area=864 * 480,  # the docstring's example size
        ),
        # The pipeline's defaults for undistilled checkpoints: 50 steps, guidance 5.0.
        presets=_presets(quality=(50, 5.0), turbo=(25, 5.0)),
        license="see the model card",
        footprint=footprints.KANDINSKY_6_LITE,
    ),
    ModelEntry(
        id="wan",
        family="wan",
        description="Wan 2.1 T2V 1.3B: strong motion at 480p on an 8 GB GPU",
        weights="Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
        capabilities=Capabilities(
            spatial_multiple=16, frame_step=4, max_frames=81, native_fps=16.0, max_area=832 * 480
        ),
        presets=_presets(quality=(50, 5.0), turbo=(20, 5.0)),
        license="Apache-2.0",
        footprint=footprints.WAN_1_3B,
    ),
    ModelEntry(
        id="wan-vace",
        family="wan-vace",
        description="Wan 2.1 VACE 1.3B: Wan's text-to-video holding any frames or regions",
        weights="Wan-AI/Wan2.1-VACE-1.3B-diffusers",
        capabilities=Capabilities(
            image_to_video=True,
            video_conditioning=True,  # its video + mask: held frames anywhere
            inpaint=True,  # and held regions of a frame
            reference_images=True,  # a character's picture, wherever its subject appears
            spatial_multiple=16,
            frame_step=4,
            max_frames=81,
            native_fps=16.0,
            max_area=832 * 480,
        ),
        presets=_presets(quality=(50, 5.0), turbo=(20, 5.0)),
        license="Apache-2.0",
        footprint=footprints.WAN_VACE_1_3B,
    ),
    ModelEntry(
        id="cogvideox",
        family="cogvideox",
        description="CogVideoX 5B: 6 s at 720x480",
        weights="THUDM/CogVideoX-5b",
        capabilities=Capabilities(
            spatial_multiple=16, frame_step=8, max_frames=49, native_fps=8.0, fixed_size=(720, 480)
        ),
        presets=_presets(quality=(50, 6.0), turbo=(25, 6.0)),
        license="CogVideoX License",
        footprint=footprints.COGVIDEOX_5B,
    ),
    ModelEntry(
        id="mochi",
        family="mochi",
        description="Genmo Mochi 1 preview: 10B, 30 fps at 848x480",
        weights="genmo/mochi-1-preview",
        capabilities=Capabilities(
            spatial_multiple=16, frame_step=6, max_frames=163, native_fps=30.0, max_area=848 * 480
        ),
        presets=_presets(quality=(64, 4.5), turbo=(30, 4.5)),
        license="Apache-2.0",
        footprint=footprints.MOCHI_1,
    ),
    ModelEntry(
        id="hunyuan-video",
        family="hunyuan",
        description="Tencent HunyuanVideo 13B: 720p, 24 fps",
        weights="hunyuanvideo-community/HunyuanVideo",
        capabilities=Capabilities(
            spatial_multiple=16, frame_step=4, max_frames=129, native_fps=24.0, max_area=1280 * 720
        ),
        presets=_presets(quality=(50, 6.0), turbo=(25, 6.0)),
        license="Tencent Hunyuan Community",
        footprint=footprints.HUNYUAN_VIDEO,
    ),
    ModelEntry(
        id="skyreels-v2",
        family="skyreels-v2",
        description="SkyReels-V2 DF 1.3B 540p: diffusion forcing, up to 60 s in one render",
        # The pipelines' docstrings list DF-1.3B-540P, DF-14B-540P and DF-14B-720P; the one
        # a single consumer GPU holds. Its diffusion forcing pipelines (text, a first frame,
        # a clip's first frames) all run on these weights.
        weights="Skywork/SkyReels-V2-DF-1.3B-540P-Diffusers",
        capabilities=Capabilities(
            image_to_video=True,  # a first frame: the image-to-video DF pipeline
            video_conditioning=True,  # a clip's first frames (extend): its video-to-video
            # ...and only those: its pipelines take no frames after the ones they continue
            # (no backward extend, loop, blend or last frame: plan.needs).
            later_frames=False,
            spatial_multiple=16,  # Wan's VAE 8 x the transformer's 2x2 patch (check_inputs)
            frame_step=4,
            # 60 s at 24 fps, 4k + 1: past its 97-frame window the pipelines render the rest
            # in windows overlapping by 17 frames (skyreels.Forcing).
            max_frames=24 * 60 + 1,
            native_fps=24.0,  # the pipelines' default fps, and their docstrings' export
            max_area=960 * 544,  # the pipelines' default size, 540P
        ),
        # The text-to-video docstring: 30 steps at guidance 6.0 (its image-to-video one: 50
        # at 5.0; the pipelines' default 50).
        presets=_presets(quality=(30, 6.0), turbo=(15, 6.0)),
        license="see the model card",
        footprint=footprints.SKYREELS_V2_DF_1_3B,
    ),
    ModelEntry(
        id="sana-video",
        family="sana-video",
        description="NVIDIA SANA-Video 2B 480p: linear-attention DiT, fast, text or an image",
        weights="Efficient-Large-Model/SANA-Video_2B_480p_diffusers",  # both pipelines' docstring
        capabilities=Capabilities(
            image_to_video=True,  # SanaImageToVideoPipeline on the same checkpoint
            spatial_multiple=32,  # its check_inputs (Wan's VAE 8 x its 2x2 patch is 16)
            frame_step=4,
            max_frames=81,  # the pipelines' default, 5 s at 16 fps
            native_fps=16.0,  # the docstring's export_to_video(..., fps=16)
            max_area=832 * 480,  # the pipelines' default size
        ),
        # The pipelines' defaults and docstring: 50 steps at guidance 6.0.
        presets=_presets(quality=(50, 6.0), turbo=(25, 6.0)),
        license="see the model card",
        footprint=footprints.SANA_VIDEO_2B,
    ),
    ModelEntry(
        id="hunyuan-video-1.5",
        family="hunyuan-1.5",
        description="Tencent HunyuanVideo 1.5 8.3B: 480p, 5 s, text written in the picture",
        # The id HunyuanVideo15Pipeline's docstring loads (diffusers 0.42.1).
        weights="hunyuanvideo-community/HunyuanVideo-1.5-480p_t2v",
        capabilities=Capabilities(
            spatial_multiple=16,  # the VAE's 16x, patch 1
            frame_step=4,
            max_frames=121,  # the pipeline's default
            # 24 fps: the default 121 frames are the 5 s clips the model card speaks of (the
            # docstring's export_to_video writes 15 fps).
            native_fps=24.0,
            # 480p: the checkpoint's target_size 640 (diffusers' conversion script), whose
            # 16:9 bucket is the pipeline's default size, 848x480.
            max_area=848 * 480,
        ),
        # The docstring's 50 steps; guidance 6.0 is the 480p guider's (conversion script).
        presets=_presets(quality=(50, 6.0), turbo=(25, 6.0)),
        license="Tencent Hunyuan Community",
        footprint=footprints.HUNYUAN_VIDEO_15,
    ),
    ModelEntry(
        id="wan-2.2-t2v",
        family="wan-2.2",
        description="Wan 2.2 T2V A14B: two experts (high and low noise), 720p at 16 fps",
        weights="Wan-AI/Wan2.2-T2V-A14B-Diffusers",
        capabilities=Capabilities(
            # Wan2.2's t2v-A14B config: 81 frames at 16 fps, 1280x720 (and 832x480).
            spatial_multiple=16,
            frame_step=4,
            max_frames=81,
            native_fps=16.0,
            max_area=1280 * 720,
        ),
        # Wan2.2's t2v-A14B config: 40 steps, guidance 4.0 (the low-noise expert's 3.0:
        # families.WAN22_LOW_NOISE_GUIDANCE).
        presets=_presets(quality=(40, 4.0), turbo=(20, 4.0)),
        license="Apache-2.0",
        footprint=footprints.WAN_22_A14B,
    ),
    ModelEntry(
        id="wan-2.2-ti2v",
        family="wan-2.2-ti2v",
        description="Wan 2.2 TI2V 5B: 720p at 24 fps from text or a first frame, one checkpoint",
        weights="Wan-AI/Wan2.2-TI2V-5B-Diffusers",
        capabilities=Capabilities(
            image_to_video=True,  # the same weights with a first frame (expand_timesteps)
            spatial_multiple=32,  # the VAE's 16x, patch 2
            frame_step=4,
            # Wan2.2's ti2v-5B config: 121 frames at 24 fps, 1280x704, 50 steps, guidance 5.0.
            max_frames=121,
            native_fps=24.0,
            max_area=1280 * 704,
        ),
        presets=_presets(quality=(50, 5.0), turbo=(25, 5.0)),
        license="Apache-2.0",
        footprint=footprints.WAN_22_TI2V_5B,
    ),
)

_BY_ID = {e.id: e for e in _TEXT_TO_VIDEO}
_REAL = (
    *_TEXT_TO_VIDEO,
    _image_to_video(
        _BY_ID["wan"],
        "wan-i2v",
        "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers",
        "Wan 2.1 I2V 14B 480p: animates a given first frame",
        presets=_presets(quality=(40, 5.0), turbo=(20, 5.0)),
        footprint=footprints.WAN_I2V_14B,
    ),
    _image_to_video(
        _BY_ID["cogvideox"],
        "cogvideox-i2v",
        "THUDM/CogVideoX-5b-I2V",
        "CogVideoX 5B I2V: animates a given first frame at 720x480",
    ),
    _image_to_video(
        _BY_ID["hunyuan-video"],
        "hunyuan-video-i2v",
        "hunyuanvideo-community/HunyuanVideo-I2V",
        "Tencent HunyuanVideo I2V 13B: animates a given first frame at 720p",
    ),
    _image_to_video(
        _BY_ID["hunyuan-video-1.5"],
        "hunyuan-video-1.5-i2v",
        # The id HunyuanVideo15ImageToVideoPipeline's docstring loads.
        "hunyuanvideo-community/HunyuanVideo-1.5-480p_i2v",
        "Tencent HunyuanVideo 1.5 I2V 8.3B: animates a given first frame at 480p",
        footprint=footprints.HUNYUAN_VIDEO_15_I2V,
    ),
    _image_to_video(
        _BY_ID["wan-2.2-t2v"],
        "wan-2.2-i2v",
        "Wan-AI/Wan2.2-I2V-A14B-Diffusers",
        "Wan 2.2 I2V A14B: two experts animate a given first frame, 720p at 16 fps",
        # Its pipeline's last_image joins the first in the condition. Not on wan-i2v: Wan 2.1
        # I2V's image embedder takes one picture (two need the FLF2V checkpoint's pos_embed).
        last_frame=True,
        # Wan2.2's i2v-A14B config: 40 steps, guidance 3.5 for both experts.
        presets=_presets(quality=(40, 3.5), turbo=(20, 3.5)),
    ),
    ModelEntry(
        id="wan-flf2v",
        family="wan-flf2v",
        description="Wan 2.1 FLF2V 14B 720p: the frames between a given first and last frame",
        # WanImageToVideoPipeline with last_image; Wan 2.1 I2V 14B's transformer, its image
        # embedder reading both frames' CLIP tokens (a learned position each: pos_embed).
        weights="Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers",
        capabilities=Capabilities(
            text_to_video=False,
            image_to_video=True,
            last_frame=True,
            both_frames=True,
            # Wan2.1's flf2v-14B config: 81 frames at 16 fps, 1280x720.
            spatial_multiple=16,
            frame_step=4,
            max_frames=81,
            native_fps=16.0,
            max_area=1280 * 720,
        ),
        # Wan2.1's generate.py for flf2v: 50 steps, guidance 5.0.
        presets=_presets(quality=(50, 5.0), turbo=(20, 5.0)),
        license="Apache-2.0",
        footprint=footprints.WAN_I2V_14B,  # the same transformer, plus 2 x 257 positions
    ),
)

# The in-code random-weight twins (engine/backends/diffusers/tiny_twins.py) share the real
# models' grids (a test checks them against the built pipelines) but render small, so tests
# and CI run every real pipeline class end to end without a download. Their output is noise.
_TINY_MAX_AREA = 128 * 96
_TINY_PRESETS = _presets(quality=(6, 4.0), turbo=(3, 4.0))


def _tiny(entry: ModelEntry) -> ModelEntry:
    caps = dataclasses.replace(entry.capabilities, max_area=_TINY_MAX_AREA, fixed_size=None)
    # Fewer steps, the same recipe (two stages, distilled weights where named).
    presets = {
        preset: dataclasses.replace(
            entry.presets[preset], steps=tiny.steps, guidance=tiny.guidance, cache=tiny.cache
        )
        for preset, tiny in _TINY_PRESETS.items()
    }
    return dataclasses.replace(
        entry,
        id=f"{entry.id}-tiny-random",
        description=f"random weights, built in code, for tests: {entry.id}'s pipeline",
        weights="built in code",
        capabilities=caps,
        presets=presets,
        tiny_random=True,
        distilled_weights=None,
        footprint=None,  # a few thousand parameters: always fully resident
    )


# The embedded model, trained here (models/tiny): a toy world of coloured shapes moving
# over simple backgrounds, 16 frames at 64x64, on any CPU in seconds.
CINEGEN_TINY = ModelEntry(
    id="cinegen-tiny",
    family="tiny",
    description="embedded, trained here: coloured shapes in motion, 16 frames at 64x64, any CPU",
    weights="shipped with cinegen (models/tiny/shipped)",
    capabilities=Capabilities(
        image_to_video=True,
        video_conditioning=True,  # the sampler holds any given frames or pixels: media.keep.Keep
        inpaint=True,
        remix=True,  # pipeline's source + strength
        # Measured by bench/operations.py: colour follows a new prompt from 0.75 on, motion
        # and background hold up to 0.85; at 0.95 a remix follows its prompt like text would.
        remix_strengths=(0.75, 0.85, 0.95),
        spatial_multiple=64,
        max_area=64 * 64,
        fixed_size=(64, 64),
        fixed_frames=16,
        # Its world crosses the frame in one clip: 16 frames look like motion over a few
        # seconds, not over a minute. Longer videos are windows of this (in_windows).
        window_seconds=4.0,
        # One picture, as a storyboard's shot holds: it moves things a fixed distance per
        # render, so motion held from a window of another length jumps at the seam (a
        # bouncing object, 12 s at 8 fps: seams 5-9x the median step holding 0.5 s, 1.5x
        # holding one frame, like its steps inside a window).
        window_overlap_seconds=0.0,
    ),
    presets=_presets(quality=(32, 4.0), turbo=(6, 4.0)),
    factory="cinegen.engine.backends.cinegen_tiny:CinegenTinyBackend",
    soundtrack="cinegen.engine.backends.cinegen_tiny_sound:cinegen_tiny_soundtrack",
    license="Apache-2.0",
    depicts_people=False,  # coloured shapes over five backgrounds (models/tiny/toyworld.py)
    footprint=footprints.CINEGEN_TINY,
)

# Backends of our own, beyond diffusers' pipelines (engine/backends/<family>/).
_OWN: tuple[ModelEntry, ...] = (
    ModelEntry(
        id="pyramid-flow",
        family="pyramid-flow",
        description="Pyramid Flow miniFLUX: autoregressive pyramid flow, 5 s at 384p, 10 s at 768p",
        # The published folder, downloaded whole (docs/pyramid-flow.md says which files).
        weights="rain1011/pyramid-flow-miniflux",
        capabilities=Capabilities(
            image_to_video=True,  # generate_i2v: the image is latent frame 0
            # 8x VAE, 2x2 patches, and a first stage at 1/4 size: sides in 64s (640x384,
            # 1280x768 as the reference renders them).
            spatial_multiple=64,
            frame_step=8,  # one latent frame per 8 frames after the first
            max_frames=241,  # temp 31 latent frames (10 s at 24 fps), at 768p
            # 384p was made for 5 s: the reference's README (640x384 up to 5 s) and its
            # examples (temp 16 at 384p), as pipeline.VARIANTS picks the transformer.
            max_frames_by_size=(((640, 384), 121),),
            native_fps=24.0,
            max_area=1280 * 768,
        ),
        # The reference's examples: 20 steps per stage for frame 0 (10 for later frames,
        # derived in the backend) at guidance 7.
        presets={
            Preset.quality: PresetConfig(steps=20, guidance=7.0),
            Preset.turbo: PresetConfig(steps=10, guidance=7.0),
        },
        factory="cinegen.engine.backends.pyramid_flow.backend:PyramidFlowBackend",
        license="MIT",
        footprint=footprints.PYRAMID_FLOW_MINIFLUX,
    ),
)

# The families whose diffusers pipelines load LoRA adapters (a LoraLoaderMixin: LTX, LTX-2,
# Wan 2.1 and 2.2, Wan VACE, CogVideoX, Mochi, Hunyuan, SkyReels-V2, SANA-Video; a test checks
# each pipeline class). Kandinsky 6's and HunyuanVideo 1.5's pipelines, Pyramid Flow and the
# embedded model take none.
LORA_FAMILIES = frozenset(
    {
        "ltx",
        "ltx-2",
        "wan",
        "wan-flf2v",
        "wan-2.2",
        "wan-2.2-ti2v",
        "wan-vace",
        "cogvideox",
        "mochi",
        "hunyuan",
        "skyreels-v2",
        "sana-video",
    }
)


def _with_lora(entry: ModelEntry) -> ModelEntry:
    caps = dataclasses.replace(entry.capabilities, lora=entry.family in LORA_FAMILIES)
    return dataclasses.replace(entry, capabilities=caps)


MODELS: dict[str, ModelEntry] = {
    e.id: _with_lora(e)
    for e in (
        CINEGEN_TINY,
        *_REAL,
        *(_tiny(e) for e in _REAL),
        *_OWN,
        *(_tiny(e) for e in _OWN),
    )
}
