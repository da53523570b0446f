"""shares: generations their owners asked to share, reviewed before they are public

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("generation_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending", "approved", "rejected", name="sharestate", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("public_id", sa.String(length=64), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["generation_id"], ["generations.id"]),
        sa.PrimaryKeyConstraint("generation_id"),
        sa.UniqueConstraint("public_id"),
    )
    op.create_index("ix_shares_account_id", "shares", ["account_id"])
    op.create_index("ix_shares_state", "shares", ["state"])


def downgrade() -> None:
    op.drop_index("ix_shares_state", table_name="shares")
    op.drop_index("ix_shares_account_id", table_name="shares")
    op.drop_table("shares")
