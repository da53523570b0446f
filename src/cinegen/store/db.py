"""One database for every process: ``open_database(settings)`` upgrades it to the newest
schema (Alembic) and returns a session factory.

SQLite is set up for several processes at once (the API, each worker, ``cinegen keys``):
write-ahead logging so readers never wait for the writer, a busy timeout so a writer waits
for another instead of failing, and foreign keys on (SQLite leaves them off by default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_MS = 30_000


def database_url(data_dir: Path, url: str | None = None) -> str:
    """``url`` if set, else an SQLite file in ``data_dir``."""
    return url or f"sqlite:///{data_dir / 'cinegen.db'}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable at each checkpoint
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is there already)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_database(data_dir: Path, url: str | None = None) -> sessionmaker[Session]:
    """Create the data directory if needed, migrate, and return a session factory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url(data_dir, url))
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)
