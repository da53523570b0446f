"""Every intrinsic limit of a request, once: the spec checks them, and the CLI, the API's
schemas and the docs quote them. Limits that depend on the chosen model (its native grid,
its longest clip, what it can condition on) are rows of the model registry instead."""

from __future__ import annotations

import re

PROMPT_MAX_CHARS = 32_000
MIN_SIDE = 16
MAX_LONG_SIDE = 1920  # 1080p landscape or portrait
MAX_SHORT_SIDE = 1080
# One video; a model that continues a clip renders a longer one as overlapping windows
# (engine/windows.in_windows), the diffusion-forcing models natively.
MAX_SECONDS = 60.0
MIN_FPS, MAX_FPS = 1.0, 60.0
MAX_FRAMES = int(MAX_SECONDS * MAX_FPS)
MAX_ASPECT = 4.0  # long side / short side; 16:9 and 9:16 are 1.78
MAX_VARIANTS = 4
MAX_SEED = 2**32 - 1
MAX_CHARACTERS = 4
# Pictures of a subject a model sees anywhere (``reference_images``), and all it sees in one
# render with the characters' own pictures: more crowds out the prompt (Wan VACE gives each
# its own latent frame ahead of the clip).
MAX_REFERENCE_IMAGES = 3
MAX_REFERENCE_PICTURES = 4
LAST_FRAME = -1  # a frame_index meaning the request's last frame
# A character's name, written ``@name`` in a prompt: letters, digits and _, with . or -
# inside (so that "@ada." at the end of a sentence mentions ada).
CHARACTER_NAME = r"[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*"
CHARACTER_NAME_MAX = 40
CHARACTER_DESCRIPTION_MAX = 300
MENTION = re.compile(rf"(?<![\w@])@({CHARACTER_NAME})")
# LoRA adapters a request names: an installed file's stem (letters, digits, _ and -, with .
# inside), never a path; a scale in LORA_SCALES (negative scales push away from the style).
LORA_NAME = r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*"
LORA_NAME_MAX = 100
LORA_SCALES = (-2.0, 2.0)
MAX_LORAS = 4
