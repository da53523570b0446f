"""The nested parts of ``Settings`` (a role's quota, a turbo LoRA, the queue's routing) and
the names its fields take (roles, moderation categories)."""

from __future__ import annotations

import typing
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# What the content policy knows (safety/moderation.py keeps the same list).
ModerationCategory = Literal[
    "sexual/minors", "sexual", "violence/graphic", "self-harm", "hate", "public-figures",
    "elections",
]  # fmt: skip
MODERATION_CATEGORIES: tuple[ModerationCategory, ...] = typing.get_args(ModerationCategory)


class Quota(BaseModel):
    """What one API key may make (unset: no limit). Videos count each variant; seconds are
    the videos' lengths. Days and months are the last 24 hours and the last 30 days."""

    model_config = ConfigDict(extra="forbid")

    videos_per_day: Annotated[int, Field(ge=0)] | None = None
    videos_per_month: Annotated[int, Field(ge=0)] | None = None
    seconds_per_day: Annotated[float, Field(ge=0)] | None = None
    seconds_per_month: Annotated[float, Field(ge=0)] | None = None
    max_long_side: Annotated[int, Field(ge=16)] | None = None  # pixels, width or height
    max_seconds: Annotated[float, Field(gt=0)] | None = None  # one video's length
    max_active_tasks: Annotated[int, Field(ge=1)] | None = None  # queued or running at once

    def over(self, other: Quota) -> Quota:
        """This quota with ``other``'s limits wherever ``other`` sets one."""
        return self.model_copy(update=other.model_dump(exclude_none=True))


class TurboLora(BaseModel):
    """A step-distillation LoRA (the 4-8-step distills published for Wan and LTX): the
    turbo preset loads it and runs its own steps and guidance (1: distilled guidance)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)]
    steps: Annotated[int, Field(ge=1, le=100)] = 4
    guidance: Annotated[float, Field(ge=0, le=20)] = 1.0
    scale: Annotated[float, Field(ge=-2, le=2)] = 1.0


RoleName = Literal["artist", "reviewer", "admin"]


class QueueSettings(BaseModel):
    """How workers choose among queued tasks (jobs/routing.py), e.g.
    CINEGEN_QUEUE__MAX_WAIT_S=120 or CINEGEN_QUEUE__ROLE_WEIGHTS__ADMIN=4."""

    model_config = ConfigDict(extra="forbid")

    # A task waiting this long is taken by the next free worker that can hold it, whatever
    # that worker has loaded (before that, a worker prefers its loaded models' tasks).
    max_wait_s: Annotated[float, Field(ge=0)] = 300.0
    # Turns per round among accounts with waiting tasks, by role (a role left out: 1).
    role_weights: dict[RoleName, Annotated[float, Field(gt=0, le=100)]] = {
        "artist": 1.0,
        "reviewer": 1.0,
        "admin": 2.0,
    }
    # Fair share counts each account's tasks running, or started or finished this long ago
    # at most: an account served nothing in that time goes next. Also the most an idle
    # account can catch up on a busy one, so keep it to a few renders.
    share_window_s: Annotated[float, Field(gt=0)] = 600.0
    # A worker leaves a task to another live worker that has its model loaded while that
    # model has at most this many waiting tasks per such worker (0: never leaves one).
    leave_depth: Annotated[int, Field(ge=0, le=100)] = 2
    # Workers write their row (loaded models, free memory) this often; one silent for three
    # beats counts as gone when claims ask which workers could hold a task.
    beat_s: Annotated[float, Field(gt=0, le=600)] = 10.0
