"""Alembic environment: always run from ``cinegen.store.db.migrate`` with a connection."""

from __future__ import annotations

from alembic import context

from cinegen.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
)
with context.begin_transaction():
    context.run_migrations()
