"""The choices a request names from a closed list: what it makes (``GenerationType``), what
it does (``Operation``), whether it has sound (``AudioMode``) and how it trades speed for
quality (``Preset``). The CLI, the API's enums and the studio's menus offer these values;
``spec.py`` re-exports them with ``GenerationSpec``."""

from __future__ import annotations

from enum import StrEnum


class GenerationType(StrEnum):
    video_gen = "video_gen"
    image_gen = "image_gen"


class Operation(StrEnum):
    simple_compose = "simple_compose"
    remix = "remix"
    extend = "extend"
    loop = "loop"
    blend = "blend"
    inpaint = "inpaint"
    recut = "recut"
    storyboard = "storyboard"


class AudioMode(StrEnum):
    """Whether a video carries sound: ``auto`` where its model makes sound, ``off`` never,
    ``on`` always (refused, naming the models that can, where the model makes none)."""

    auto = "auto"
    on = "on"
    off = "off"


class Preset(StrEnum):
    """Speed/quality trade-off; each model defines what the two mean for it."""

    turbo = "turbo"
    quality = "quality"


# Operations that work on earlier output and so need ``source``.
OPERATIONS_NEEDING_SOURCE = frozenset(
    {
        Operation.remix,
        Operation.extend,
        Operation.loop,
        Operation.blend,
        Operation.inpaint,
        Operation.recut,
    }
)
