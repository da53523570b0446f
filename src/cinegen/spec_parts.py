"""The parts a ``GenerationSpec`` is made of, each validated where it is parsed: media on
the timeline (``InpaintItem``), pictures of a subject (``ReferenceImage``), storyboard
shots, characters, LoRA adapters and the earlier generations an operation works on
(``Source``)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from cinegen.errors import SpecError, excerpt
from cinegen.limits import (
    CHARACTER_DESCRIPTION_MAX,
    CHARACTER_NAME,
    CHARACTER_NAME_MAX,
    LAST_FRAME,
    LORA_NAME,
    LORA_NAME_MAX,
    LORA_SCALES,
    MENTION,
    PROMPT_MAX_CHARS,
)


def holds_boolean(value: Any) -> bool:
    """Whether ``value`` is, or lists, true or false, which no field of a request takes."""
    items = value if isinstance(value, list | tuple) else (value,)
    return any(isinstance(item, bool) for item in items)


def not_boolean(value: Any) -> Any:
    """A field validator (mode ``before``) for a number: pydantic reads ``true`` as 1 (a
    one-frame video, seed 1, full strength) where it ought to refuse it."""
    if holds_boolean(value):
        raise ValueError("must be a number, not true or false")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans(cls, data: Any) -> Any:
        # No field of the spec is a yes/no, and pydantic would read true as 1 in a number's.
        if isinstance(data, dict):
            for name, value in data.items():
                if holds_boolean(value):
                    raise SpecError(str(name), "must not be true or false", value=value)
        return data


Box = tuple[float, float, float, float]


def _check_box(box: Box) -> Box:
    x0, y0, x1, y1 = box
    if not all(0.0 <= v <= 1.0 for v in box) or not (x0 < x1 and y0 < y1):
        raise ValueError(
            f"must be [x0, y0, x1, y1] within 0..1 with x0 < x1 and y0 < y1, got {list(box)}"
        )
    return box


# A normalised box [x0, y0, x1, y1], checked.
CheckedBox = Annotated[Box, AfterValidator(_check_box)]


class CropBounds(Strict):
    """Normalised ``[x0, y0, x1, y1]`` of the source to use, as the Sora client sends it."""

    bounds: CheckedBox = (0.0, 0.0, 1.0, 1.0)


class InpaintItem(Strict):
    """Media placed on the timeline: an upload or an earlier generation. In a request's
    ``inpaint_items``, ``frame_index`` -1 means its last frame (first and last frame)."""

    type: Literal["image", "video"]
    upload_id: str | None = None
    generation_id: str | None = None
    frame_index: Annotated[int, Field(ge=LAST_FRAME)] = 0
    source_start_frame: Annotated[int, Field(ge=0)] | None = None
    source_end_frame: Annotated[int, Field(ge=0)] | None = None
    crop_bounds: CropBounds = CropBounds()

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.upload_id is None) == (self.generation_id is None):
            raise ValueError("give exactly one of upload_id or generation_id")
        start, end = self.source_start_frame, self.source_end_frame
        if start is not None and end is not None and end < start:
            raise ValueError(f"source_end_frame ({end}) is before source_start_frame ({start})")
        return self


class ReferenceImage(Strict):
    """A picture of a subject the model sees wherever it appears (not at a frame): an
    upload or an earlier generation (its middle frame)."""

    upload_id: Annotated[str, Field(max_length=500)] | None = None
    generation_id: Annotated[str, Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.upload_id is None) == (self.generation_id is None):
            raise ValueError("give exactly one of upload_id or generation_id")
        return self

    @property
    def media(self) -> InpaintItem:
        """The same media as a timeline item, for a ``MediaResolver``."""
        return InpaintItem(type="video", upload_id=self.upload_id, generation_id=self.generation_id)


class Shot(Strict):
    """One shot of a storyboard: its prompt from ``start_frame`` until the next shot."""

    prompt: Annotated[str, Field(min_length=1, max_length=PROMPT_MAX_CHARS)]
    start_frame: Annotated[int, Field(ge=0)] = 0
    media: InpaintItem | None = None


class Character(Strict):
    """A subject kept the same across generations: a prompt mentions it as ``@name`` (or
    ``@id``) and the model receives ``description`` in its place. ``id`` names the stored
    character it came from, if any; ``upload_id`` its reference picture or clip, which
    models that take reference images see as well."""

    name: Annotated[str, AfterValidator(lambda name: check_character_name(name))]
    description: Annotated[str, Field(min_length=1, max_length=CHARACTER_DESCRIPTION_MAX)]
    id: Annotated[str, Field(max_length=40)] | None = None
    upload_id: Annotated[str, Field(max_length=500)] | None = None


def check_character_name(name: str) -> str:
    if len(name) > CHARACTER_NAME_MAX or not re.fullmatch(CHARACTER_NAME, name):
        raise ValueError(
            f"{excerpt(name)} cannot be a character's name: use up to {CHARACTER_NAME_MAX} "
            "letters, digits and _ "
            "(with . or - inside), as written after @ in a prompt, e.g. ada_lovelace"
        )
    return name


def mentions(text: str) -> list[str]:
    """The ``@name`` mentions in a prompt, in order, without the ``@``."""
    return MENTION.findall(text)


class Lora(Strict):
    """A LoRA adapter the operator installed for the model, by name, and how strongly it
    applies (0: not at all, 1: as trained)."""

    name: Annotated[str, AfterValidator(lambda name: check_lora_name(name))]
    scale: Annotated[float, Field(ge=LORA_SCALES[0], le=LORA_SCALES[1], allow_inf_nan=False)] = 1.0


def check_lora_name(name: str) -> str:
    if len(name) > LORA_NAME_MAX or not re.fullmatch(LORA_NAME, name):
        raise ValueError(
            f"{excerpt(name)} cannot be a LoRA's name: give the name of an installed adapter "
            f"(up to {LORA_NAME_MAX} letters, digits, _ and -, with . inside; no path), "
            "e.g. style-a (`cinegen models --json` lists them)"
        )
    return name


def parse_loras(value: Any) -> Any:
    """``"name:scale,name"`` (the CLI's, a form field's and the deployment setting's way of
    writing a list; scale 1 when left out) as ``[{name, scale}]``; anything else as given."""
    if not isinstance(value, str):
        return value
    loras: list[dict[str, Any]] = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        name, sep, scale = part.rpartition(":") if ":" in part else (part, "", "")
        loras.append({"name": name.strip(), **({"scale": scale.strip()} if sep else {})})
    return loras


# Remix strengths by name, weakest first; each model says what number each means for it
# (``registry.Capabilities.remix_strengths``).
RemixStrength = Literal["subtle", "mild", "strong"]
REMIX_STRENGTH_NAMES: tuple[RemixStrength, ...] = ("subtle", "mild", "strong")


class Source(Strict):
    """Earlier generations an operation works on (remix, extend, loop, blend, inpaint, recut).

    ``start_frame`` and ``end_frame`` (inclusive) pick the part of the first source to use
    (for inpaint: the frames to regenerate); ``region`` is the normalised box to regenerate
    (inpaint); ``strength`` how much of the source a remix changes: 0 (nothing) to 1 (all),
    or ``subtle``, ``mild`` (the default) or ``strong``; ``direction`` which way an
    extension grows.
    """

    generation_ids: Annotated[list[str], Field(min_length=1, max_length=2)]
    strength: Annotated[float, Field(ge=0.0, le=1.0)] | RemixStrength | None = None
    start_frame: Annotated[int, Field(ge=0)] | None = None
    end_frame: Annotated[int, Field(ge=0)] | None = None
    direction: Literal["forward", "backward"] = "forward"
    region: CheckedBox | None = None

    @field_validator("strength", mode="before")
    @classmethod
    def _strength(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in REMIX_STRENGTH_NAMES:
            try:
                return float(value)
            except ValueError:
                names = ", ".join(REMIX_STRENGTH_NAMES)
                raise ValueError(
                    f"must be {names} or a number from 0 to 1, got {excerpt(value)}"
                ) from None
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        start, end = self.start_frame, self.end_frame
        if start is not None and end is not None and end < start:
            raise SpecError(
                "end_frame", f"is before start_frame ({start})", value=end, allowed=f"≥ {start}"
            )
        return self

    def frames(self, length: int) -> slice:
        """The picked part of a source of ``length`` frames."""
        start = self.start_frame or 0
        end = length - 1 if self.end_frame is None else self.end_frame
        if start >= length:
            raise SpecError(
                "source.start_frame",
                "is past the source's last frame",
                value=start,
                allowed=f"0..{length - 1}",
            )
        return slice(start, min(end, length - 1) + 1)
