from __future__ import annotations

from pathlib import Path

import pytest

from cinegen.media.atomic import atomic_path


def test_success_moves_temp_onto_final_and_leaves_nothing_else(tmp_path: Path) -> None:
    final = tmp_path / "out" / "nested" / "clip.mp4"
    with atomic_path(final) as tmp:
        assert tmp.parent == final.parent
        assert tmp.suffix == ".mp4"
        assert tmp.name.startswith(".")
        tmp.write_bytes(b"payload")
        assert not final.exists(), "final must not appear before the block ends"
    assert final.read_bytes() == b"payload"
    assert sorted(p.name for p in final.parent.iterdir()) == ["clip.mp4"]


def test_failure_removes_temp_and_keeps_previous_file(tmp_path: Path) -> None:
    final = tmp_path / "clip.mp4"
    final.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(final) as tmp:
        tmp.write_bytes(b"half-writ")
        raise RuntimeError("boom")
    assert final.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_result_gets_the_same_permissions_as_a_plain_write(tmp_path: Path) -> None:
    # A 0600 temp file (mkstemp's default) would keep that mode after the rename.
    plain = tmp_path / "plain.png"
    plain.write_bytes(b"x")
    final = tmp_path / "still.png"
    with atomic_path(final) as tmp:
        tmp.write_bytes(b"x")
    assert final.stat().st_mode == plain.stat().st_mode
