"""``cinegen verify FILE`` and ``POST /v1/verify``: where a file came from.

Two witnesses, reported side by side:

- ``c2pa``: the state and active manifest, checked against this server's trust anchors;
  when Trusted, its ``generator`` (model, preset, seed) and ``task``;
- ``watermark``: the invisible mark (invisible_watermark.py), which outlives what strips
  a manifest (re-encoding, scaling, cropping, cutting): ``detected``, ``payload``
  (server-task, hexadecimal), ``confidence``, and ``this_server`` when the server it names
  is this one, in which case ``tasks_with_mark`` finds the task it names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
from sqlalchemy import select
from sqlalchemy.orm import Session

from cinegen.config import Settings
from cinegen.provenance.identity import load_identity
from cinegen.provenance.invisible_watermark import detect_file
from cinegen.provenance.manifest import read_file
from cinegen.provenance.payload import server_mark
from cinegen.store.models import Task

# What a file is by its first bytes, for uploads that come without a trustworthy name.
MAGIC = ((b"\x89PNG", ".png"), (b"\xff\xd8\xff", ".jpg"))


def verify(
    path: Path, settings: Settings, on_frame: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """The provenance report of one file; ``on_frame(done, total)`` follows the frames read
    for the watermark."""
    anchors = load_identity(settings).anchors
    c2pa = read_file(path, anchors)
    parameters: dict[str, Any] = {}
    # Who made it and for which task: said only by a manifest this server's anchors trust.
    trusted = c2pa.manifest if c2pa.state == "Trusted" else None
    for assertion in (trusted or {}).get("assertions", []):
        if assertion.get("label", "").startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions", []):
                parameters.update(action.get("parameters") or {})
    return {
        "file": path.name,
        "c2pa": c2pa.to_json(),
        "watermark": _watermark(path, settings, server_mark(anchors), on_frame),
        "generator": parameters.get("model")
        and {
            "model": parameters.get("model"),
            "preset": parameters.get("preset"),
            "seed": parameters.get("seed"),
        },
        "task": parameters.get("task"),
    }


def _watermark(
    path: Path, settings: Settings, here: int, on_frame: Callable[[int, int], None] | None
) -> dict[str, Any]:
    try:
        found = detect_file(path, key=settings.invisible_mark_key, on_frame=on_frame)
    except (av.FFmpegError, OSError, ValueError) as exc:  # not a picture we can read
        return {
            "detected": False,
            "payload": None,
            "confidence": 0.0,
            "this_server": False,
            "problem": f"cannot read its frames: {exc}",
        }
    report = found.to_json()
    report["this_server"] = found.payload is not None and found.payload.server == here
    return report


def tasks_with_mark(session: Session, report: dict[str, Any]) -> list[str]:
    """The ids of this server's tasks whose 32 bits the report's watermark carries (one,
    almost always: two tasks share their bits about once in four billion)."""
    watermark = report["watermark"]
    if not watermark.get("this_server"):
        return []
    mark = int(watermark["payload"].split("-")[1], 16)
    query = select(Task.id).where(Task.mark == mark).order_by(Task.created_at)
    return list(session.scalars(query))


def suffix_of(head: bytes) -> str:
    """A file's suffix by its first bytes: PNG, JPEG, WebP, else MP4 (a video, whose
    container is then told by its own first bytes)."""
    for magic, suffix in MAGIC:
        if head.startswith(magic):
            return suffix
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":  # (AVI and WAV are RIFF too)
        return ".webp"
    return ".mp4"
