"""spec -> RenderPlan: every registry lookup and grid choice, before any weights load.

A plan says which model and preset run, with which styled prompts, on which
native grid, and what the engine will resample to. Anything a model cannot serve
is refused here with the field, the value and the allowed range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cinegen.config import Settings
from cinegen.engine.backends.diffusers import lora
from cinegen.engine.styles import Style, apply_style, get_style
from cinegen.errors import SpecError
from cinegen.registry import MODELS, Capabilities, ModelEntry, PresetConfig
from cinegen.spec import AudioMode, GenerationSpec, GenerationType, Operation, Preset, new_seed


@dataclass(frozen=True)
class RenderPlan:
    spec: GenerationSpec
    model: ModelEntry
    preset: Preset
    preset_config: PresetConfig
    style: Style
    prompt: str  # what the model receives: characters described, style applied
    negative_prompt: str
    seeds: list[int]
    native_width: int
    native_height: int
    # The LoRA adapters it runs, (name, scale): the request's or the deployment's, and a
    # turbo preset's step-distillation LoRA (engine/backends/diffusers/lora.py).
    loras: tuple[tuple[str, float], ...] = ()

    @property
    def sound(self) -> bool:
        """Whether the videos carry sound: asked for (or left to ``auto``) and made by the
        model. ``plan`` refuses ``on`` where the model makes none."""
        spec = self.spec
        wanted = spec.type is GenerationType.video_gen and spec.audio is not AudioMode.off
        return wanted and self.model.makes_sound

    def styled(self, prompt: str) -> str:
        """Another prompt of the same request (a storyboard's shot) with its characters
        described and its style applied."""
        return apply_style(self.style, self.spec.cast(prompt), None)[0]

    @property
    def longest_render(self) -> int | None:
        """Output frames one render covers, context included, where longer segments render
        in windows (the model continues a clip: ``windows.in_windows``); else None and a
        longer render is refused."""
        caps = self.model.capabilities
        if not caps.video_conditioning or self.spec.type is GenerationType.image_gen:
            return None
        return max(2, math.floor(caps.max_seconds * self.spec.fps + 1e-9))

    @property
    def window_overlap(self) -> int:
        """Output frames each window of a long video holds of the one before."""
        seconds = self.model.capabilities.window_overlap_seconds
        return max(1, round(seconds * self.spec.fps))

    def window(self, n_frames: int) -> tuple[int, float]:
        """(native frames, native fps) for one render of ``n_frames`` output frames, or a
        ``SpecError`` when that is longer than the model makes in one clip."""
        spec, caps = self.spec, self.model.capabilities
        if spec.type is GenerationType.image_gen:
            return 1, caps.native_rate(spec.seconds)
        seconds = n_frames / spec.fps
        size = (self.native_width, self.native_height)
        frames = native_frames(caps, seconds, spec, self.model.id, size=size)
        return frames, caps.native_rate(seconds)


# What each operation needs of a model, by the name of the capability (registry.Capabilities).
# Image and video items in ``inpaint_items`` add their own need (see ``needs``).
OPERATION_NEEDS: dict[Operation, tuple[str, ...]] = {
    Operation.simple_compose: (),
    Operation.storyboard: (),  # more than one shot: video_conditioning (see needs)
    Operation.remix: ("remix",),
    Operation.extend: ("video_conditioning",),  # backward: holds_frames_anywhere (needs)
    # Needs in order, the first one missing is the refusal: a model that holds no frames is
    # told so before one that holds only a clip's first frames.
    Operation.loop: ("video_conditioning", "holds_frames_anywhere"),  # ends on the first frame
    Operation.blend: ("video_conditioning", "holds_frames_anywhere"),  # leads into video B
    Operation.recut: ("video_conditioning",),  # frames kept later: holds_frames_anywhere
    Operation.inpaint: ("inpaint",),
}

# Operations whose output is one render over the whole request; the others render windows
# of it (a storyboard's shots, the new part of an extension) and check each window.
WHOLE_CLIP_OPERATIONS = frozenset({Operation.simple_compose, Operation.remix, Operation.inpaint})


def plan(spec: GenerationSpec, settings: Settings) -> RenderPlan:
    model, preset = resolve_model(spec.model, spec.preset, settings)
    caps = model.capabilities
    if caps.both_frames and not _first_and_last(spec):
        raise SpecError(
            "inpaint_items",
            f"both frames required: {model.id} renders only the frames between a given first "
            "and last frame; send two image items, one at frame_index 0 and one at -1",
            value=[f"{i.type} at {i.frame_index}" for i in spec.inpaint_items] or "none",
            allowed="an image at frame_index 0 and an image at frame_index -1 (the last)",
        )
    wanted = needs(spec)
    for need in wanted:
        if not getattr(caps, need):
            # The models that can serve the whole request, not only the need that failed: a
            # loop needs video conditioning on a clip's later frames too.
            able = [
                m.id for m in MODELS.values() if all(getattr(m.capabilities, n) for n in wanted)
            ]
            raise SpecError(
                "model",
                f"{model.id} cannot do {_NEED_WORDS[need]} ({_asked(spec, need)})",
                value=model.id,
                allowed=", ".join(able),
            )
    if not caps.text_to_video and not spec.inpaint_items:
        raise SpecError(
            "model",
            f"{model.id} animates a given image and cannot start from text alone; "
            "add an image in inpaint_items or choose a text-to-video model",
            value=model.id,
        )
    if spec.audio is AudioMode.on and not model.makes_sound:
        raise SpecError(
            "audio",
            f"{model.id} makes no sound; choose a model that does, or audio auto or off",
            value=spec.audio.value,
            allowed=", ".join(m.id for m in MODELS.values() if m.makes_sound) or "none installed",
        )
    style = get_style(spec.style)
    prompt, negative = apply_style(style, spec.cast(spec.prompt), spec.negative_prompt)
    width, height = native_size(caps, spec.width, spec.height)
    config, turbo_lora = lora.preset_config(model, preset, settings)
    loras = lora.resolve(spec, model, settings, added=turbo_lora)
    base_seed = spec.seed if spec.seed is not None else new_seed()
    planned = RenderPlan(
        spec=spec,
        model=model,
        preset=preset,
        preset_config=config,
        style=style,
        prompt=prompt,
        negative_prompt=negative,
        seeds=spec.variant_seeds(base_seed),
        native_width=width,
        native_height=height,
        loras=loras,
    )
    if spec.operation in WHOLE_CLIP_OPERATIONS and planned.longest_render is None:
        planned.window(spec.n_frames)  # refuses a request longer than one clip, now
    return planned


_NEED_WORDS = {
    "image_to_video": "image-to-video",
    "holds_last_frame": "a last frame after the first",
    "reference_images": "reference images",
    "video_conditioning": "video conditioning (holding frames of a clip)",
    "holds_frames_anywhere": "video conditioning later in a clip "
    "(it holds only a clip's first frames and continues them)",
    "inpaint": "inpainting",
    "remix": "remix",
}


def needs(spec: GenerationSpec) -> list[str]:
    """The capabilities a request needs, by name."""
    wanted = list(OPERATION_NEEDS[spec.operation])
    if len(spec.storyboard) > 1:
        wanted.append("video_conditioning")
    items = [*spec.inpaint_items, *(s.media for s in spec.storyboard if s.media is not None)]
    if _leads_into_held(spec):
        wanted.append("holds_frames_anywhere")
    for item in items:
        if item.frame_index > 0:  # new frames lead into it (a shot's media: from its start)
            wanted += ["video_conditioning", "holds_frames_anywhere"]
        else:
            wanted.append("image_to_video" if item.type == "image" else "video_conditioning")
    if _first_and_last(spec):  # the one pair an image-to-video pipeline may take natively
        held = ("video_conditioning", "holds_frames_anywhere")
        wanted = [n for n in wanted if n not in held] + ["holds_last_frame"]
    if spec.reference_images:
        wanted.append("reference_images")
    return list(dict.fromkeys(wanted))


def _leads_into_held(spec: GenerationSpec) -> bool:
    """Whether an operation makes new frames before frames it keeps of a source."""
    source = spec.source
    if source is None:
        return False
    if spec.operation is Operation.extend:
        return source.direction == "backward"
    return spec.operation is Operation.recut and bool(source.start_frame)


def _first_and_last(spec: GenerationSpec) -> bool:
    """Whether the request holds exactly an image at its first frame and one at its last."""
    at = sorted(i.frame_index for i in spec.inpaint_items if i.type == "image")
    only_images = all(i.type == "image" for i in spec.inpaint_items)
    plain = spec.operation is Operation.simple_compose and spec.n_frames > 1
    return plain and only_images and at == [0, spec.n_frames - 1]


def _asked(spec: GenerationSpec, need: str) -> str:
    if need == "reference_images":
        return "reference_images"
    if spec.operation is not Operation.simple_compose:
        if spec.source is not None and _leads_into_held(spec):
            field = "direction" if spec.operation is Operation.extend else "start_frame"
            return f"operation {spec.operation.value}, source.{field} {getattr(spec.source, field)}"
        return f"operation {spec.operation.value}"
    return "the media in inpaint_items"


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


def native_frames(
    caps: Capabilities,
    seconds: float,
    spec: GenerationSpec,
    model_id: str,
    *,
    size: tuple[int, int] | None = None,
) -> int:
    """Frames at the model's own rate covering ``seconds``, on its k*step+1 rule, at most
    as many as it makes at its native ``size`` (None: at its largest)."""
    if caps.fixed_frames:  # any duration: frames stretch (segments come in windows)
        return caps.fixed_frames
    step = caps.frame_step
    most = caps.frames_at(*size) if size else caps.max_frames
    longest_valid = (most - 1) // step * step + 1
    wanted = seconds * caps.native_fps
    if wanted > longest_valid + step / 2:  # half a step of slack: snapping, not a longer clip
        longest = (longest_valid - 1) / caps.native_fps
        whole = spec.operation in WHOLE_CLIP_OPERATIONS
        part = "" if whole else f" (one render of {spec.operation.value})"
        longer = [m.id for m in MODELS.values() if m.capabilities.longest_seconds >= seconds]
        at = ""
        if size and most < caps.most_frames:  # a larger native size runs longer
            at = f" at {size[0]}x{size[1]} (larger sizes: up to {caps.max_seconds:g} s)"
        elif size and caps.max_frames_by_size:
            at = f" at {size[0]}x{size[1]}"
        raise SpecError(
            "n_frames",
            f"{seconds:g} s{part} is longer than {model_id} can make in one clip{at}; "
            f"longer videos: {', '.join(longer) or 'no installed model'}",
            value=spec.n_frames,
            allowed=f"up to {longest:.2f} s (≤ {int(longest * spec.fps)} frames at "
            f"{spec.fps:g} fps)",
        )
    k = max(1, round((wanted - 1) / step))
    return min(k * step + 1, longest_valid)
