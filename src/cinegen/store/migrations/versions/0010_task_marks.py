"""tasks keep the 32 bits of their id that their files' invisible watermark carries, so
that a marked file whose C2PA manifest was stripped still leads back to its task

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mark", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_tasks_mark", ["mark"])
    tasks = sa.table("tasks", sa.column("id", sa.String), sa.column("mark", sa.BigInteger))
    connection = op.get_bind()
    for (task_id,) in connection.execute(sa.select(tasks.c.id)).all():
        update = tasks.update().where(tasks.c.id == task_id).values(mark=task_mark(task_id))
        connection.execute(update)


def task_mark(task_id: str) -> int:
    """As provenance/payload.py computed it when this migration was written (a copy: the
    migration must write the same bits whatever that module becomes)."""
    return int.from_bytes(hashlib.sha256(task_id.encode()).digest()[:4], "big")


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_mark")
        batch_op.drop_column("mark")
