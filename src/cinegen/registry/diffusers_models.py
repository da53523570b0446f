"""The open-weight models that run on diffusers' pipelines (``engine/backends/diffusers``):
their text-to-video checkpoints, then the image-to-video ones of the same families. A new
checkpoint is a new row; ``engine/backends/diffusers/families.py`` holds what differs
between the families' pipelines."""

from __future__ import annotations

import dataclasses
from typing import Any

from cinegen import footprints
from cinegen.registry.capabilities import Capabilities
from cinegen.registry.entries import ModelEntry, PresetConfig, presets
from cinegen.spec import Preset


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
        presets=presets(quality=(40, 3.0), turbo=(20, 3.0)),
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
        presets=presets(quality=(50, 5.0), turbo=(25, 5.0)),
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
        presets=presets(quality=(50, 5.0), turbo=(20, 5.0)),
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
        presets=presets(quality=(50, 5.0), turbo=(20, 5.0)),
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
        presets=presets(quality=(50, 6.0), turbo=(25, 6.0)),
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
        presets=presets(quality=(64, 4.5), turbo=(30, 4.5)),
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
        presets=presets(quality=(50, 6.0), turbo=(25, 6.0)),
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
        presets=presets(quality=(30, 6.0), turbo=(15, 6.0)),
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
        presets=presets(quality=(50, 6.0), turbo=(25, 6.0)),
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
        presets=presets(quality=(50, 6.0), turbo=(25, 6.0)),
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
        presets=presets(quality=(40, 4.0), turbo=(20, 4.0)),
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
        presets=presets(quality=(50, 5.0), turbo=(25, 5.0)),
        license="Apache-2.0",
        footprint=footprints.WAN_22_TI2V_5B,
    ),
)

_BY_ID = {e.id: e for e in _TEXT_TO_VIDEO}
DIFFUSERS_MODELS: tuple[ModelEntry, ...] = (
    *_TEXT_TO_VIDEO,
    _image_to_video(
        _BY_ID["wan"],
        "wan-i2v",
        "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers",
        "Wan 2.1 I2V 14B 480p: animates a given first frame",
        presets=presets(quality=(40, 5.0), turbo=(20, 5.0)),
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
        presets=presets(quality=(40, 3.5), turbo=(20, 3.5)),
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
        # Wan2.1's generate.py for flf2v: 50 steps (40 is i2v's only), guidance 5.0; its
        # flow shift (16) comes with the weights' scheduler config. Its configs make
        # flf2v-14B a copy of i2v-14B's (81 frames, sample_fps 16, 720p max area).
        presets=presets(quality=(50, 5.0), turbo=(20, 5.0)),
        license="Apache-2.0",
        footprint=footprints.WAN_I2V_14B,  # the same transformer, plus 2 x 257 positions
    ),
)
