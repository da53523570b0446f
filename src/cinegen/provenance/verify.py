"""``cinegen verify FILE`` and ``POST /v1/verify``: where a file came from.

The report holds the C2PA state and active manifest (checked against this server's trust
anchors) and, when that manifest is Trusted, the model and the task it came from. The
invisible watermark (``watermark``) is reported once it exists: until then it is null.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cinegen.config import Settings
from cinegen.provenance.identity import load_identity
from cinegen.provenance.manifest import read_file

# What a file is by its first bytes, for uploads that come without a trustworthy name.
MAGIC = ((b"\x89PNG", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"RIFF", ".webp"))


def verify(path: Path, settings: Settings) -> dict[str, Any]:
    """The provenance report of one file."""
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
        "watermark": None,  # the invisible mark arrives with its own module
        "generator": parameters.get("model")
        and {
            "model": parameters.get("model"),
            "preset": parameters.get("preset"),
            "seed": parameters.get("seed"),
        },
        "task": parameters.get("task"),
    }


def suffix_of(head: bytes) -> str:
    """A file's suffix by its first bytes: PNG, JPEG, WebP, else MP4 (ISO media)."""
    for magic, suffix in MAGIC:
        if head.startswith(magic):
            return suffix
    return ".mp4"
