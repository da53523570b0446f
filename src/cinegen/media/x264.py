"""x264's speed presets: the names settings and the encoder share (no PyAV to import them)."""

from __future__ import annotations

from typing import Literal, get_args

X264Preset = Literal[
    "ultrafast", "superfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow", "placebo",
]  # fmt: skip
X264_PRESETS: tuple[str, ...] = get_args(X264Preset)
