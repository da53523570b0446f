"""A model row: ``ModelEntry`` (id, family, weights, capabilities, presets, the factory
that loads it) and ``PresetConfig``, what the turbo and quality presets run; ``presets``
makes the usual pair."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cinegen.footprints import Footprint
from cinegen.registry.capabilities import Capabilities
from cinegen.spec import Preset


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
    # Spend more of the steps at high noise (SD3's timestep shift; 1: evenly spaced). Read by
    # cinegen-tiny's own sampler; diffusers models keep their schedulers' own shift.
    shift: float = 1.0
    # Guidance for a render that holds pixels (frames it continues or keeps, a source it
    # remixes), where the prompt pulls against what is held, and for every piece of a video
    # made of several renders (long video's windows, a storyboard's shots); None: guidance.
    conditioned_guidance: float | None = None

    def guidance_for(self, conditioned: bool) -> float:
        """The guidance of a render that holds pixels (``conditioned``) or not."""
        if conditioned and self.conditioned_guidance is not None:
            return self.conditioned_guidance
        return self.guidance


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


def presets(quality: tuple[int, float], turbo: tuple[int, float]) -> dict[Preset, PresetConfig]:
    return {
        Preset.quality: PresetConfig(steps=quality[0], guidance=quality[1]),
        Preset.turbo: PresetConfig(steps=turbo[0], guidance=turbo[1], cache=True),
    }
