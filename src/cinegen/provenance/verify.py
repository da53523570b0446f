"""``cinegen verify FILE`` and ``POST /v1/verify``: where a file came from.

Two witnesses, reported side by side:

- ``c2pa``: the state and active manifest, checked against this server's trust anchors;
  when Trusted, its ``generator`` (model, preset, seed, generated_at) and ``task``;
- ``watermark``: the invisible mark (invisible_watermark.py), which outlives what strips
  a manifest (re-encoding, scaling, cropping, cutting): ``detected``, ``payload``
  (server-task, hexadecimal), ``confidence``, and ``this_server`` when the server it names
  is this one, in which case ``tasks_with_mark`` finds the task it names.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
from sqlalchemy import select
from sqlalchemy.orm import Session

from cinegen.config import Settings
from cinegen.provenance.identity import load_identity
from cinegen.provenance.invisible_watermark_files import detect_file
from cinegen.provenance.manifest import read_file
from cinegen.provenance.payload import server_mark
from cinegen.store.models import Task


@dataclass(frozen=True)
class Format:
    """A kind of file provenance is read from, told by its first bytes (uploads come
    without a trustworthy name)."""

    name: str  # as people call it: PNG, MP3, …
    kind: str  # image, audio or video
    suffix: str  # what it is read as (manifest.MEDIA_TYPES)


# ISO media brands of audio-only files (iTunes' AAC, audiobook, protected).
AUDIO_BRANDS = (b"M4A ", b"M4B ", b"M4P ")
# Checked in order: MP4 last, as any ISO media file that is none of the ones before.
# Trap: c2pa signs a FLAC by putting an ID3v2 tag that holds the manifest before its
# "fLaC", so a signed FLAC's first bytes say MP3. c2pa reads the manifest there as either,
# and the kind (audio) is right; only the name is not (tests/provenance/test_c2pa_sound.py).
FORMATS: tuple[tuple[Format, Callable[[bytes], bool]], ...] = (
    (Format("PNG", "image", ".png"), lambda h: h.startswith(b"\x89PNG")),
    (Format("JPEG", "image", ".jpg"), lambda h: h.startswith(b"\xff\xd8\xff")),
    (Format("WebP", "image", ".webp"), lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP"),
    (Format("GIF", "image", ".gif"), lambda h: h[:6] in (b"GIF87a", b"GIF89a")),
    (Format("WAV", "audio", ".wav"), lambda h: h[:4] == b"RIFF" and h[8:12] == b"WAVE"),
    (Format("MP3", "audio", ".mp3"), lambda h: h.startswith(b"ID3") or _mp3_frame(h)),
    (Format("FLAC", "audio", ".flac"), lambda h: h.startswith(b"fLaC")),
    (Format("M4A", "audio", ".m4a"), lambda h: h[4:8] == b"ftyp" and h[8:12] in AUDIO_BRANDS),
    (Format("MOV", "video", ".mov"), lambda h: h[4:8] == b"ftyp" and h[8:12] == b"qt  "),
    (Format("MP4", "video", ".mp4"), lambda h: h[4:8] == b"ftyp"),
)


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
                if action.get("action") == "c2pa.created":
                    parameters["generated_at"] = action.get("when")
    return {
        "file": path.name,
        "c2pa": c2pa.to_json(),
        "watermark": _watermark(path, settings, server_mark(anchors), on_frame),
        "generator": parameters.get("model")
        and {
            "model": parameters.get("model"),
            "preset": parameters.get("preset"),
            "seed": parameters.get("seed"),
            "generated_at": parameters.get("generated_at"),
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


def format_of(head: bytes) -> Format | None:
    """What a file is by its first 16 bytes, or None for a kind provenance is not read from."""
    return next((found for found, test in FORMATS if test(head)), None)


def suffix_of(head: bytes) -> str:
    """A file's suffix by its first bytes (``format_of``), else MP4 (a video, whose container
    is then told by its own first bytes)."""
    found = format_of(head)
    return found.suffix if found is not None else ".mp4"


def verify_bytes(data: bytes, settings: Settings) -> dict[str, Any]:
    """``verify`` on an upload's bytes, read as what its first bytes say it is."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix_of(data[:16])}"
        path.write_bytes(data)
        return verify(path, settings)


def _mp3_frame(head: bytes) -> bool:
    """An MPEG audio layer III frame header: 11 sync bits, then layer bits 01 (ADTS AAC,
    which c2pa does not read, has 00 there)."""
    return len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 == 2
