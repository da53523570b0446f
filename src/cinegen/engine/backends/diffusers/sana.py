"""What SANA-Video adds to the diffusers backend: its call's arguments and its motion score.

diffusers 0.42.1's ``SanaVideoPipeline`` and ``SanaImageToVideoPipeline``
(``pipelines/sana_video/``) run one checkpoint, name the frame count ``frames`` (the row's
``frames_keyword``) and by default snap the size to their 480p / 720p aspect-ratio bins and
resize the frames back. The functions here are the ``sana-video`` row of
``families.FAMILIES``.
"""

from __future__ import annotations

from typing import Any

from cinegen.engine.backends.base import RenderJob

# The pipelines' docstring appends " motion score: 30." to the prompt: how much the video
# moves, a number the model was trained to read.
MOTION_SCORE = 30


def call_arguments(job: RenderJob) -> dict[str, Any]:
    # The engine already renders on the model's grid at the asked aspect: no bin snapping,
    # and no resize of the frames it made.
    return {"use_resolution_binning": False}


def prompts(job: RenderJob) -> tuple[str, str]:
    return f"{job.prompt.rstrip()} motion score: {MOTION_SCORE}.", job.negative_prompt
