"""Durable state: accounts and API keys, tasks and their events, generations, uploads.

SQLAlchemy 2 models (``models/``, one module per concept) on SQLite by default (a file in
the data directory, nothing to install) or PostgreSQL (``CINEGEN_DATABASE_URL``); the schema
is created and upgraded only by Alembic migrations (``migrations/``), never by ``create_all``.
"""
