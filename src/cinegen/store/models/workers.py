"""Running workers, as they report themselves, so that claims route."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from cinegen.store.models.base import Base, utcnow


class WorkerRow(Base):
    """One running ``cinegen worker``: what it has loaded and how much device memory it can
    give a task, so that claims route (jobs/routing.py). Written when the worker starts and
    at each beat; deleted when it exits. A row whose beats stopped is a worker that died."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)  # as in Task.lease_owner
    models: Mapped[list[str]] = mapped_column(JSON, default=list)  # loaded, least recent first
    device: Mapped[str] = mapped_column(String(32), default="cpu")
    # Bytes the worker can give one task (free on its device before it loaded anything);
    # None: unplanned (a CPU), any task fits.
    capacity_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    free_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)  # at the beat
    task_id: Mapped[str | None] = mapped_column(String(40), default=None)  # running now
    draining: Mapped[bool] = mapped_column(Boolean, default=False)  # told to stop
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_beat: Mapped[datetime] = mapped_column(default=utcnow)
