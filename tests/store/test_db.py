"""The database: created and migrated on first use, shared by every process."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from cinegen.store.db import open_database
from cinegen.store.models import Account, Base, Role, new_id


def test_the_migrations_build_exactly_the_models(sessions):
    engine = sessions.kw["bind"]
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert "alembic_version" in inspect(engine).get_table_names()


def test_opening_again_keeps_what_is_stored(tmp_path):
    first = open_database(tmp_path / "data")
    with first() as session:
        session.add(Account(id=new_id("acct"), name="ada", role=Role.admin))
        session.commit()
    again = open_database(tmp_path / "data")  # migrating twice is a no-op
    with again() as session:
        (ada,) = session.scalars(select(Account)).all()
    assert ada.name == "ada" and ada.role is Role.admin
    assert ada.created_at.tzinfo is not None


def test_another_process_sees_a_commit_at_once(tmp_path):
    sessions = open_database(tmp_path / "data")
    code = (
        "import sys; from pathlib import Path; from cinegen.store.db import open_database;"
        "from cinegen.store.models import Account, Role;"
        "s = open_database(Path(sys.argv[1]))();"
        "s.add(Account(id='acct_other', name='other', role=Role.artist)); s.commit()"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "data")], check=True)
    with sessions() as session:
        assert session.get(Account, "acct_other").name == "other"
