"""spec -> RenderPlan: every registry lookup and grid choice, before any weights load.

A plan says which model and preset run, with which styled prompts, on which
native grid, and what the engine will resample to. Anything a model cannot serve
is refused here with the field, the value and the allowed range.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

from cinegen.config import Settings
from cinegen.engine.registry import MODELS, Capabilities, ModelEntry, PresetConfig
from cinegen.engine.styles import Style, apply_style, get_style
from cinegen.errors import SpecError
from cinegen.spec import GenerationSpec, GenerationType, Operation, Preset


@dataclass(frozen=True)
class RenderPlan:
    spec: GenerationSpec
    model: ModelEntry
    preset: Preset
    preset_config: PresetConfig
    style: Style
    prompt: str  # what the model receives, style applied
    negative_prompt: str
    seeds: list[int]
    native_width: int
    native_height: int
    native_frames: int
    native_fps: float


# Operations the engine itself runs; the rest arrive with the operations module.
SUPPORTED_OPERATIONS = (Operation.simple_compose,)


def plan(spec: GenerationSpec, settings: Settings) -> RenderPlan:
    model, preset = resolve_model(spec.model, spec.preset, settings)
    caps = model.capabilities
    if spec.operation not in SUPPORTED_OPERATIONS:
        raise SpecError(
            "operation",
            "is not available in this version",
            value=spec.operation.value,
            allowed=", ".join(op.value for op in SUPPORTED_OPERATIONS),
        )
    if not caps.text_to_video and not spec.inpaint_items:
        raise SpecError(
            "model",
            f"{model.id} animates a given image and cannot start from text alone; "
            "add an image in inpaint_items or choose a text-to-video model",
            value=model.id,
        )
    style = get_style(spec.style)
    prompt, negative = apply_style(style, spec.prompt, spec.negative_prompt)
    width, height = native_size(caps, spec.width, spec.height)
    frames = native_frames(caps, spec, model.id)
    base_seed = spec.seed if spec.seed is not None else secrets.randbelow(2**32)
    return RenderPlan(
        spec=spec,
        model=model,
        preset=preset,
        preset_config=model.presets[preset],
        style=style,
        prompt=prompt,
        negative_prompt=negative,
        seeds=spec.variant_seeds(base_seed),
        native_width=width,
        native_height=height,
        native_frames=frames,
        native_fps=caps.native_rate(spec.seconds),
    )


def resolve_model(
    name: str | None, preset: Preset | None, settings: Settings
) -> tuple[ModelEntry, Preset]:
    """A model id or alias -> (model, preset). Aliases name a preset of the default model."""
    alias_preset: Preset | None = None
    if name is None:
        name = settings.default_model
    elif name in Preset.__members__:
        alias_preset, name = Preset(name), settings.default_model
    elif name in settings.preset_aliases:
        alias_preset, name = Preset(settings.preset_aliases[name]), settings.default_model
    if name not in MODELS:
        aliases = [p.value for p in Preset] + list(settings.preset_aliases)
        raise SpecError(
            "model", "unknown model", value=name, allowed=", ".join([*MODELS, *aliases])
        )
    if alias_preset and preset and alias_preset != preset:
        raise SpecError(
            "preset",
            f"conflicts with the model alias, which means preset {alias_preset.value}",
            value=preset.value,
        )
    return MODELS[name], preset or alias_preset or Preset.quality


def native_size(caps: Capabilities, width: int, height: int) -> tuple[int, int]:
    """The model's own grid point nearest the request, at most ``max_area`` pixels."""
    if caps.fixed_size:
        return caps.fixed_size
    m = caps.spatial_multiple
    scale = min(1.0, math.sqrt(caps.max_area / (width * height)))
    w = max(m, round(width * scale / m) * m)
    h = max(m, round(height * scale / m) * m)
    while w * h > caps.max_area and (w > m or h > m):  # rounding up may overshoot the area
        if w >= h:
            w -= m
        else:
            h -= m
    return w, h


def native_frames(caps: Capabilities, spec: GenerationSpec, model_id: str) -> int:
    """Frames at the model's own rate covering the same duration, on its k*step+1 rule."""
    if spec.type is GenerationType.image_gen:
        return 1
    if caps.fixed_frames:  # any duration the spec allows (up to 20 s): frames stretch
        return caps.fixed_frames
    step = caps.frame_step
    longest_valid = (caps.max_frames - 1) // step * step + 1
    wanted = spec.seconds * caps.native_fps
    if wanted > longest_valid + step / 2:  # half a step of slack: snapping, not a longer clip
        longest = (longest_valid - 1) / caps.native_fps
        raise SpecError(
            "n_frames",
            f"{spec.seconds:g} s is longer than {model_id} can make in one clip",
            value=spec.n_frames,
            allowed=f"up to {longest:.2f} s (≤ {int(longest * spec.fps)} frames at "
            f"{spec.fps:g} fps)",
        )
    k = max(1, round((wanted - 1) / step))
    return min(k * step + 1, longest_valid)
