"""Write-then-rename, so a reader never sees a half-written file."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a hidden temp path next to ``final``; move it onto ``final`` only on success.

    The temp path keeps ``final``'s suffix because writers (PyAV, Pillow) pick the
    container format from it. It lives in the same directory so ``os.replace`` is a
    same-filesystem rename, which POSIX makes atomic. On any exception the temp file is
    removed and the exception propagates; ``final`` is left as it was.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    # The file is deliberately not created here (unlike mkstemp): mkstemp makes it 0600,
    # and that mode would survive the rename, hiding outputs from e.g. a web server.
    # 64 random bits make a collision with a concurrent writer negligible.
    tmp = final.with_name(f".{final.name}.tmp-{secrets.token_hex(8)}{final.suffix}")
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, final)
    except BaseException:
        # BaseException too: a Ctrl-C mid-encode must not leave a stray temp file behind.
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)


def _fsync(path: Path) -> None:
    # Without this, a crash shortly after the rename can leave `final` empty on ext4/xfs:
    # the rename may reach the disk before the data does.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    # Persists the rename itself; best effort because some filesystems refuse it.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
