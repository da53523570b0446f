"""Quotas: what one API key may make. A key's quota is its role's (``Settings.quotas``) with
the key's own limits over it (``cinegen keys quota``). Counts are rolling: the last 24 hours
and the last 30 days of tasks the key asked for, each variant a video; and the key's
unfinished tasks at this moment (``max_active_tasks``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cinegen.config import Quota, Settings
from cinegen.errors import CinegenError
from cinegen.spec import GenerationSpec
from cinegen.store.models import ApiKey, Task, TaskState, utcnow

DAY, MONTH = timedelta(days=1), timedelta(days=30)
UNFINISHED = (TaskState.queued, TaskState.running)
ACTIVE_RETRY_AFTER_S = 10  # a short video's render: a slot may well be free by then


class OverQuota(CinegenError):
    """A request past a key's quota: ``status`` 429 for counts that free up with time (with
    ``retry_after`` seconds), 403 for a video larger or longer than the key may make."""

    def __init__(
        self, message: str, field: str | None, status: int, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.field, self.status, self.retry_after = field, status, retry_after


def quota_of(settings: Settings, key: ApiKey) -> Quota:
    role = settings.quotas.get(key.account.role.value, Quota())
    return role.over(Quota.model_validate(key.quota or {}))


@dataclass(frozen=True)
class Window:
    name: str  # "day" or "month", as the quota's fields say
    span: timedelta
    videos: int
    seconds: float
    oldest: datetime | None  # when the oldest counted task was asked for


def usage(session: Session, key_id: str, now: datetime) -> list[Window]:
    """What the key asked for in the last day and the last month."""
    rows = session.execute(
        select(Task.created_at, Task.spec).where(
            Task.key_id == key_id, Task.created_at > now - MONTH
        )
    ).all()
    windows = []
    for name, span in (("day", DAY), ("month", MONTH)):
        inside = [(at, spec) for at, spec in rows if at > now - span]
        windows.append(
            Window(
                name,
                span,
                sum(int(spec.get("n_variants", 1)) for _, spec in inside),
                sum(_seconds(spec) for _, spec in inside),
                min((at for at, _ in inside), default=None),
            )
        )
    return windows


def check(
    session: Session,
    settings: Settings,
    key: ApiKey,
    spec: GenerationSpec,
    now: datetime | None = None,
) -> None:
    """Raise ``OverQuota`` if ``spec`` would take ``key`` past its quota."""
    quota, now = quota_of(settings, key), now or utcnow()
    role = key.account.role.value
    long_side = max(spec.width, spec.height)
    if quota.max_long_side is not None and long_side > quota.max_long_side:
        raise OverQuota(
            f"this key may make videos up to {quota.max_long_side} px on the long side "
            f"(role {role}); {spec.width}x{spec.height} is larger",
            "width" if spec.width >= spec.height else "height",
            403,
        )
    if quota.max_seconds is not None and spec.seconds > quota.max_seconds + 1e-9:
        raise OverQuota(
            f"this key may make videos up to {quota.max_seconds:g} s long (role {role}); "
            f"this one is {spec.seconds:g} s",
            "n_frames",
            403,
        )
    if quota.max_active_tasks is not None:
        active = session.scalar(
            select(func.count()).where(Task.key_id == key.id, Task.state.in_(UNFINISHED))
        )
        if (active or 0) >= quota.max_active_tasks:
            raise OverQuota(
                f"this key has {active} unfinished tasks and may have {quota.max_active_tasks} "
                f"at once (role {role}); wait for one to finish",
                None,
                429,
                retry_after=ACTIVE_RETRY_AFTER_S,
            )
    videos, seconds = spec.n_variants, spec.seconds * spec.n_variants
    for window in usage(session, key.id, now):
        videos_limit = getattr(quota, f"videos_per_{window.name}")
        seconds_limit = getattr(quota, f"seconds_per_{window.name}")
        limits = (
            ("videos", videos_limit, window.videos, videos),
            ("seconds of video", seconds_limit, window.seconds, seconds),
        )
        for what, limit, used, asked in limits:
            if limit is not None and used + asked > limit + 1e-9:
                wait = _until_free(window, now)
                raise OverQuota(
                    f"this key has made {used:g} {what} in the last {window.name} and may make "
                    f"{limit:g} a {window.name} (role {role}); this request asks for "
                    f"{asked:g} more. Try again in {_words(wait)}, or ask the operator for "
                    "a larger quota",
                    "n_variants",
                    429,
                    retry_after=wait,
                )


def _seconds(spec: dict[str, object]) -> float:
    frames, fps = spec.get("n_frames"), spec.get("fps")
    variants = spec.get("n_variants", 1)
    if not isinstance(frames, int | float) or not isinstance(fps, int | float) or not fps:
        return 0.0
    return float(frames) / float(fps) * float(variants if isinstance(variants, int) else 1)


def _until_free(window: Window, now: datetime) -> int:
    """Seconds until the oldest counted task leaves the window."""
    if window.oldest is None:
        return 1
    return max(1, math.ceil((window.oldest + window.span - now).total_seconds()))


def _words(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"
