"""What one toy-world clip shows: a background and one or two objects, each a colour, a
shape and a motion (the words are ``vocab.py``'s). ``toyworld.py`` draws a scene,
``captions.py`` describes it, ``analyse.py`` reads one back from frames."""

from __future__ import annotations

from dataclasses import dataclass

from cinegen.models.tiny.vocab import Background, Color, Motion, Shape


@dataclass(frozen=True)
class ObjectSpec:
    color: Color
    shape: Shape
    motion: Motion
    size: float  # circumcircle diameter at scale 1, as a fraction of the frame width
    x: float  # centre of the motion path, fractions of the frame (y grows downwards)
    y: float


@dataclass(frozen=True)
class Scene:
    background: Background
    objects: tuple[ObjectSpec, ...]  # one or two; captions name them in this order
