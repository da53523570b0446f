"""The request vocabulary: one ``GenerationSpec`` from the CLI to the engine.

Its limits live in ``limits.py``, its closed choices (type, operation, audio, preset) in
``spec_choices.py`` (re-exported here) and its parts (timeline items, references, shots,
characters, LoRA adapters, sources) in ``spec_parts.py``; what a whole request must hold
together is checked here, once. Limits that depend on the chosen model (its native grid,
its longest clip, what it can condition on) are checked by ``cinegen.engine.plan``
against the model registry, before any weights load, with the same ``SpecError`` shape.
"""

from __future__ import annotations

import math
import secrets
from typing import Annotated, Any, Self

import numpy as np
from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cinegen.errors import SpecError
from cinegen.limits import (
    LAST_FRAME,
    MAX_ASPECT,
    MAX_CHARACTERS,
    MAX_FPS,
    MAX_FRAMES,
    MAX_LONG_SIDE,
    MAX_LORAS,
    MAX_REFERENCE_IMAGES,
    MAX_REFERENCE_PICTURES,
    MAX_SECONDS,
    MAX_SEED,
    MAX_SHORT_SIDE,
    MAX_VARIANTS,
    MENTION,
    MIN_FPS,
    MIN_SIDE,
    PROMPT_MAX_CHARS,
)
from cinegen.spec_choices import (
    OPERATIONS_NEEDING_SOURCE,
    AudioMode,
    GenerationType,
    Operation,
    Preset,
)
from cinegen.spec_parts import (
    Character,
    InpaintItem,
    Lora,
    ReferenceImage,
    Shot,
    Source,
    Strict,
    mentions,
    parse_loras,
)

# The choices are re-exported: one import gives a caller the whole request vocabulary.
__all__ = [
    "DEFAULT_FPS",
    "DEFAULT_HEIGHT",
    "DEFAULT_SECONDS",
    "DEFAULT_WIDTH",
    "OPERATIONS_NEEDING_SOURCE",
    "AudioMode",
    "GenerationSpec",
    "GenerationType",
    "Operation",
    "Preset",
    "frames_for",
    "new_seed",
    "parse_spec",
    "spec_error_from",
]


def new_seed() -> int:
    """A fresh seed for a request that gave none: the one place seeds are drawn (the test
    suite watches it, so that no rendering test goes unseeded)."""
    return secrets.randbelow(MAX_SEED + 1)


DEFAULT_WIDTH, DEFAULT_HEIGHT = 854, 480
DEFAULT_FPS = 24.0
DEFAULT_SECONDS = 5.0


class GenerationSpec(Strict):
    """Everything a generation needs to know, already validated.

    ``model`` is a registered model id or an alias (``turbo``, ``quality``,
    ``sora-2``, ``sora-2-pro``); ``preset`` left unset means the alias's preset,
    else ``quality``. ``n_frames`` left unset means 5 s of video (1 for images).
    """

    type: GenerationType = GenerationType.video_gen
    operation: Operation = Operation.simple_compose
    prompt: Annotated[str, Field(min_length=1, max_length=PROMPT_MAX_CHARS)]
    negative_prompt: Annotated[str, Field(max_length=PROMPT_MAX_CHARS)] | None = None
    model: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    preset: Preset | None = None
    style: Annotated[str, Field(min_length=1, max_length=64)] = "natural"
    width: Annotated[int, Field(ge=MIN_SIDE, le=MAX_LONG_SIDE)] = DEFAULT_WIDTH
    height: Annotated[int, Field(ge=MIN_SIDE, le=MAX_LONG_SIDE)] = DEFAULT_HEIGHT
    # fps before n_frames: a bad fps is reported before the length derived from it.
    fps: Annotated[float, Field(ge=MIN_FPS, le=MAX_FPS, allow_inf_nan=False)] = DEFAULT_FPS
    # Unset (or null): 5 s of video at fps, or 1 for an image; filled by _default_length.
    n_frames: Annotated[int, Field(ge=1, le=MAX_FRAMES)] = Field(default=None)  # type: ignore[assignment]
    n_variants: Annotated[int, Field(ge=1, le=MAX_VARIANTS)] = 1
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] | None = None
    inpaint_items: list[InpaintItem] = Field(default_factory=list)
    storyboard: list[Shot] = Field(default_factory=list)
    source: Source | None = None
    characters: Annotated[list[Character], Field(max_length=MAX_CHARACTERS)] = Field(
        default_factory=list
    )
    # Checked in _check_references (count, with the characters' pictures).
    reference_images: list[ReferenceImage] = Field(default_factory=list)
    # Sound. The prompt describes it as Sora 2 prompts did (dialogue in quotes, effects,
    # ambience); ``audio_prompt`` and its negative go to the models that take them.
    audio: AudioMode = AudioMode.auto
    audio_prompt: Annotated[str, Field(max_length=PROMPT_MAX_CHARS)] | None = None
    negative_audio_prompt: Annotated[str, Field(max_length=PROMPT_MAX_CHARS)] | None = None
    # LoRA adapters by name (installed for the model, see ``engine.plan``). Left out: the
    # deployment's set for the model (``Settings.loras``); given, even empty: exactly these.
    loras: Annotated[list[Lora], Field(max_length=MAX_LORAS)] | None = None

    @field_validator("loras", mode="before")
    @classmethod
    def _loras_text(cls, value: Any) -> Any:
        return parse_loras(value)

    @model_validator(mode="before")
    @classmethod
    def _default_length(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("n_frames") is not None:
            return data
        is_image = str(data.get("type", "")) == GenerationType.image_gen.value
        try:
            fps = float(data.get("fps", DEFAULT_FPS))
        except (TypeError, ValueError):
            return data  # fps's own validation names the problem
        if is_image:
            return {**data, "n_frames": 1}
        if math.isfinite(fps) and fps > 0:
            return {**data, "n_frames": frames_for(DEFAULT_SECONDS, fps)}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.prompt.strip():
            raise SpecError("prompt", "must contain some text, not only whitespace")
        _check_size(self.type, self.width, self.height)
        if self.type is GenerationType.image_gen and self.n_frames != 1:
            raise SpecError("n_frames", "must be 1 for image_gen", value=self.n_frames, allowed="1")
        # Half a frame of slack: 20 s at 23.976 fps is 480 frames, 20.02 s.
        if self.seconds > MAX_SECONDS + 0.5 / self.fps:
            raise SpecError(
                "n_frames",
                f"n_frames / fps is {self.seconds:g} s, longer than the {MAX_SECONDS:g} s maximum",
                value=self.n_frames,
                allowed=f"1..{int(MAX_SECONDS * self.fps)} at {self.fps:g} fps",
            )
        if self.type is GenerationType.image_gen and self.audio is AudioMode.on:
            raise SpecError(
                "audio", "an image has no sound", value=self.audio.value, allowed="auto, off"
            )
        _check_operation(self)
        _check_characters(self)
        names = [lora.name for lora in self.loras or []]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise SpecError(f"loras.{i}.name", "is given twice", value=name)
        _check_references(self)
        _resolve_last_frame(self)
        for i, item in enumerate(self.inpaint_items):
            if item.frame_index >= self.n_frames:
                raise SpecError(
                    f"inpaint_items.{i}.frame_index",
                    "is past the last frame",
                    value=item.frame_index,
                    allowed=f"0..{self.n_frames - 1}, or -1 for the last frame",
                )
        return self

    @property
    def seconds(self) -> float:
        return self.n_frames / self.fps

    def media_ids(self) -> list[str]:
        """Every media id the request works from: its sources, then its timeline items."""
        ids = list(self.source.generation_ids) if self.source else []
        items = [*self.inpaint_items, *(s.media for s in self.storyboard if s.media)]
        items += [r.media for r in self.reference_images]
        return ids + [i.generation_id or i.upload_id or "" for i in items]

    def characters_in(self, text: str) -> list[Character]:
        """The characters ``text`` mentions, each once, in the order listed."""
        named = set(mentions(text))
        return [c for c in self.characters if c.name in named or (c.id and c.id in named)]

    def cast(self, text: str) -> str:
        """``text`` (this request's prompt or a shot's) with each ``@character`` replaced by
        the character's description: what the model receives."""
        described = {c.name: c.description for c in self.characters}
        described.update({c.id: c.description for c in self.characters if c.id})
        return MENTION.sub(lambda m: described.get(m.group(1), m.group(0)), text)

    def variant_seeds(self, base_seed: int) -> list[int]:
        """Distinct, reproducible seeds for ``n_variants`` videos from one base seed.

        Variant 1 uses the seed itself; the others are hashed from (seed, i), so the
        runs for seed 7 and seed 8 share no video.
        """
        extra = [
            int(np.random.SeedSequence([base_seed, i]).generate_state(1)[0])
            for i in range(1, self.n_variants)
        ]
        return [base_seed, *extra]


def frames_for(seconds: float, fps: float) -> int:
    """Frames covering ``seconds`` at ``fps``, rounding halves up (12.5 fps x 1 s = 13)."""
    return max(1, math.floor(seconds * fps + 0.5))


def _check_characters(spec: GenerationSpec) -> None:
    names = [c.name for c in spec.characters]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise SpecError(f"characters.{i}.name", "is given twice", value=name)
    known = set(names) | {c.id for c in spec.characters if c.id}
    prompts = [("prompt", spec.prompt)]
    prompts += [(f"storyboard.{i}.prompt", shot.prompt) for i, shot in enumerate(spec.storyboard)]
    for field, text in prompts:
        for name in mentions(text):
            if name not in known:
                raise SpecError(
                    field,
                    f"mentions @{name}, but there is no character of that name; create it "
                    "first (POST /v1/videos/characters, or --character NAME=FILE)",
                    value=f"@{name}",
                    allowed=", ".join(f"@{n}" for n in names) or "no characters given",
                )


def _check_references(spec: GenerationSpec) -> None:
    given = len(spec.reference_images)
    if given > MAX_REFERENCE_IMAGES:
        raise SpecError(
            "reference_images",
            f"takes up to {MAX_REFERENCE_IMAGES} pictures",
            value=given,
            allowed=f"up to {MAX_REFERENCE_IMAGES}",
        )
    pictured = sum(c.upload_id is not None for c in spec.characters)
    if given and given + pictured > MAX_REFERENCE_PICTURES:
        room = max(0, MAX_REFERENCE_PICTURES - pictured)
        raise SpecError(
            "reference_images",
            f"with the characters' {pictured} pictures, more than the "
            f"{MAX_REFERENCE_PICTURES} reference pictures a model sees at once",
            value=given,
            allowed=f"up to {room} beside these characters",
        )


def _resolve_last_frame(spec: GenerationSpec) -> None:
    """``frame_index`` -1 (the last frame) as the frame it is; a shot's media has no last
    frame of its own. Trap: the spec is frozen, its lists are not: the items are swapped in
    place, once, while the spec is being validated."""
    for i, item in enumerate(spec.inpaint_items):
        if item.frame_index == LAST_FRAME:
            spec.inpaint_items[i] = item.model_copy(update={"frame_index": spec.n_frames - 1})
    for i, shot in enumerate(spec.storyboard):
        if shot.media is not None and shot.media.frame_index == LAST_FRAME:
            raise SpecError(
                f"storyboard.{i}.media.frame_index",
                "-1 (the last frame) is for inpaint_items",
                value=LAST_FRAME,
                allowed="0 or more, counted from the shot's start_frame",
            )


def _check_size(kind: GenerationType, width: int, height: int) -> None:
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise SpecError(
            "width" if width > height else "height",
            f"{width}x{height} is more elongated than {MAX_ASPECT:g}:1",
            value=max(width, height),
            allowed=f"aspect ratios up to {MAX_ASPECT:g}:1 (16:9 is 1.78:1)",
        )
    # The field limits already cap each side at MAX_LONG_SIDE; this caps the pair at 1080p.
    if min(width, height) > MAX_SHORT_SIDE:
        field = "height" if height <= width else "width"
        raise SpecError(
            field,
            f"{width}x{height} is larger than 1080p",
            value=min(width, height),
            allowed=f"short side ≤ {MAX_SHORT_SIDE}, long side ≤ {MAX_LONG_SIDE}",
        )
    for field, value in (("width", width), ("height", height)):
        if kind is GenerationType.video_gen and value % 2:
            raise SpecError(
                field, "must be even for H.264 video (yuv420p)", value=value, allowed="even numbers"
            )


def _check_operation(spec: GenerationSpec) -> None:
    op = spec.operation
    if op is Operation.storyboard and not spec.storyboard:
        raise SpecError("storyboard", "operation storyboard needs at least one shot")
    if spec.storyboard and op is not Operation.storyboard:
        raise SpecError("operation", "storyboard shots need operation storyboard", value=op.value)
    if spec.storyboard:
        starts = [shot.start_frame for shot in spec.storyboard]
        if starts[0] != 0 or starts != sorted(set(starts)) or starts[-1] >= spec.n_frames:
            raise SpecError(
                "storyboard",
                "start_frame values must begin at 0 and increase strictly",
                value=starts,
                allowed=f"0 ≤ start_frame < n_frames ({spec.n_frames})",
            )
    if spec.type is GenerationType.image_gen and op is not Operation.simple_compose:
        raise SpecError(
            "operation",
            "image_gen makes one new image",
            value=op.value,
            allowed=Operation.simple_compose.value,
        )
    source = spec.source
    if op in OPERATIONS_NEEDING_SOURCE and source is None:
        raise SpecError("source", f"operation {op.value} needs source.generation_ids")
    if source is not None and op not in OPERATIONS_NEEDING_SOURCE:
        raise SpecError(
            "source",
            f"operation {op.value} takes no source",
            allowed=", ".join(sorted(o.value for o in OPERATIONS_NEEDING_SOURCE)),
        )
    if source is None:
        return
    wanted = 2 if op is Operation.blend else 1
    if len(source.generation_ids) != wanted:
        raise SpecError(
            "source.generation_ids",
            f"operation {op.value} needs exactly {wanted}",
            value=source.generation_ids,
        )
    if source.strength is not None and op is not Operation.remix:
        raise SpecError("source.strength", f"is for remix, not {op.value}")
    if source.region is not None and op is not Operation.inpaint:
        raise SpecError("source.region", f"is for inpaint, not {op.value}")
    framed = source.start_frame is not None or source.end_frame is not None
    if op is Operation.inpaint and source.region is None and not framed:
        raise SpecError(
            "source.region",
            "inpaint needs a region to regenerate, a frame range, or both",
            allowed="region: [x0, y0, x1, y1]; start_frame, end_frame",
        )


def parse_spec(data: dict[str, Any]) -> GenerationSpec:
    """Validate raw input into a spec, turning pydantic's error into one ``SpecError``.

    The first problem is reported with its dotted field path so the user can fix
    it and try again; nothing about the request is half-applied.
    """
    try:
        return GenerationSpec.model_validate(data)
    except ValidationError as exc:
        raise spec_error_from(exc) from None


def spec_error_from(exc: ValidationError) -> SpecError:
    err = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in err["loc"]) or "request"
    original = err.get("ctx", {}).get("error")
    if isinstance(original, SpecError):  # raised by our own cross-field checks
        if err["loc"]:  # nested model: qualify the field with where it sits
            original.field = f"{field}.{original.field}"
        return original
    message = str(err["msg"]).removeprefix("Value error, ")
    value = err.get("input") if err["type"] not in ("missing", "value_error") else None
    if isinstance(value, dict | list):
        value = None  # a whole sub-object is noise in a one-line message
    return SpecError(field, message, value=value)
