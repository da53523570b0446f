"""Read a prompt back into toy-world attributes, with every training and paraphrase word."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

from cinegen.models.tiny.vocab import Background, Color, Motion, Shape, phrases

_KINDS: tuple[type[StrEnum], ...] = (Background, Color, Shape, Motion)


@dataclass(frozen=True)
class PromptAttributes:
    """What a prompt asks for: the background and the first-named object; None if unsaid."""

    background: Background | None = None
    color: Color | None = None
    shape: Shape | None = None
    motion: Motion | None = None

    def named(self) -> dict[str, StrEnum]:
        """The attributes the prompt names, by field name."""
        values = {
            "background": self.background,
            "color": self.color,
            "shape": self.shape,
            "motion": self.motion,
        }
        return {name: value for name, value in values.items() if value is not None}


@functools.cache
def _matcher() -> tuple[re.Pattern[str], dict[str, StrEnum]]:
    table: dict[str, StrEnum] = {}
    for kind in _KINDS:
        for phrase, value in phrases(kind).items():
            if table.setdefault(phrase, value) is not value:
                raise ValueError(f"phrase {phrase!r} names both {table[phrase]!r} and {value!r}")
    # Longest first, so "springing up" style phrases win over the bare "up" inside them.
    ordered = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"(?<![a-z])(" + "|".join(map(re.escape, ordered)) + r")(?![a-z])")
    return pattern, table


def parse_prompt(text: str) -> PromptAttributes:
    """The background and the first-mentioned colour, shape and motion named in ``text``.

    Captions name each object's attributes before the next object's, so the first colour,
    shape and motion all belong to the first object.
    """
    pattern, table = _matcher()
    normalised = " ".join(re.sub(r"[^a-z-]+", " ", text.lower()).split())
    first: dict[type[StrEnum], StrEnum] = {}
    for match in pattern.finditer(normalised):
        value = table[match.group(1)]
        first.setdefault(type(value), value)
    return PromptAttributes(
        background=Background(first[Background]) if Background in first else None,
        color=Color(first[Color]) if Color in first else None,
        shape=Shape(first[Shape]) if Shape in first else None,
        motion=Motion(first[Motion]) if Motion in first else None,
    )
