"""A throwaway PostgreSQL server for the tests: its own cluster in a temp folder, on loopback.

It uses the server programs of Debian's ``postgresql`` package (``.ci/run`` installs it).
PostgreSQL refuses to run as root, so under root the cluster belongs to the ``postgres``
user the package creates. Without the programs the PostgreSQL tests are skipped, unless
``REQUIRE_POSTGRES=1`` (set by ``.ci/run``; not a ``CINEGEN_`` name, which the settings
would refuse as unknown) makes that a failure.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .servers import free_port


def server_programs() -> Path | None:
    """The folder holding initdb and pg_ctl, if PostgreSQL is installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


@dataclass
class PostgresServer:
    root: Path
    programs: Path
    port: int = field(default_factory=free_port)
    databases: int = 0

    @property
    def _as_owner(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as_owner, *args], capture_output=True, text=True)
        if done.returncode:
            log = self.root / "server.log"
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}"
                + (f"\nserver log:\n{log.read_text()}" if log.exists() else "")
            )

    @classmethod
    @contextlib.contextmanager
    def started(cls, programs: Path) -> Iterator[PostgresServer]:
        """A running server in a new folder of its own (pytest's temp folders are closed to
        the ``postgres`` user), stopped and removed afterwards."""
        root = Path(tempfile.mkdtemp(prefix="cinegen-postgres-"))
        try:
            server = cls(root, programs)
            server.start()
            try:
                yield server
            finally:
                server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def start(self) -> None:
        data = self.root / "cluster"
        data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(data, "postgres")
        self._run(str(self.programs / "initdb"), "-D", str(data), "-A", "trust", "-U",
                  "cinegen", "--no-sync", "-E", "UTF8")  # fmt: skip
        # 200 connections: the claim storm alone holds 64 beside what other tests left open.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
            " -c max_connections=200"
        )
        self._run(str(self.programs / "pg_ctl"), "-D", str(data), "-o", options,
                  "-l", str(self.root / "server.log"), "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self._run(str(self.programs / "pg_ctl"), "-D", str(self.root / "cluster"), "-m",
                  "immediate", "-w", "stop")  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://cinegen@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """The URL of a new, empty database (one per test keeps tests apart)."""
        from sqlalchemy import create_engine, text

        self.databases += 1
        name = f"test_{self.databases}"
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)
