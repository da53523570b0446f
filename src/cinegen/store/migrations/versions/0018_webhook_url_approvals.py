"""URL prefixes the operator approved for one account's webhook endpoints

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_url_approvals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("prefix", sa.String(length=2000), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "prefix"),
    )
    op.create_index("ix_webhook_url_approvals_account_id", "webhook_url_approvals", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_url_approvals_account_id", table_name="webhook_url_approvals")
    op.drop_table("webhook_url_approvals")
