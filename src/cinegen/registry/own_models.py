"""Models on backends of our own, beyond diffusers' pipelines (``engine/backends/<family>/``):
Pyramid Flow."""

from __future__ import annotations

from cinegen import footprints
from cinegen.registry.capabilities import Capabilities
from cinegen.registry.entries import ModelEntry, PresetConfig
from cinegen.spec import Preset

# Backends of our own, beyond diffusers' pipelines (engine/backends/<family>/).
OWN_MODELS: tuple[ModelEntry, ...] = (
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
