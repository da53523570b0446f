"""C2PA manifests: signed into every MP4, PNG, WebP and JPEG cinegen writes, read back by
``cinegen verify``, ``POST /v1/verify`` and ``POST /v1/content_provenance_checks`` (which
also read GIF, MOV and audio: WAV, MP3, FLAC, M4A).

A manifest says what made the file and when: one ``c2pa.created`` action with the IPTC
digital source type *trainedAlgorithmicMedia*, cinegen and its version as the software
agent, the model and preset as parameters and the time as ``when``; the files a remix,
extension, loop, blend, inpaint or re-cut started from are its ingredients. Reading
checks the signature chain against the trust anchors given: ``Trusted`` (signed, intact,
chain to an anchor), ``Valid`` (signed and intact, signer not anchored), ``Invalid`` (any
byte changed since signing), ``None`` (no manifest).
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cinegen.media.atomic import atomic_path
from cinegen.provenance.identity import SigningIdentity
from cinegen.version import __version__

MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".png": "image/png",
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".mov": "video/quicktime",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
}
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


@dataclass(frozen=True)
class Verification:
    state: str  # Trusted, Valid, Invalid or None
    manifest: dict[str, Any] | None  # the active manifest
    problems: list[str]  # validation codes, e.g. assertion.hashedURI.mismatch

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "manifest": self.manifest, "problems": self.problems}


def media_type(path: Path) -> str:
    try:
        return MEDIA_TYPES[path.suffix.lower()]
    except KeyError:
        raise ValueError(
            f"{path.name}: C2PA is read and written here for {', '.join(MEDIA_TYPES)} files"
        ) from None


def manifest_for(title: str, *, model: str, preset: str, facts: dict[str, Any]) -> dict[str, Any]:
    """The manifest definition of one generated file."""
    agent = {"name": "cinegen", "version": __version__}
    action = {
        "action": "c2pa.created",
        "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
        "softwareAgent": agent,
        # C2PA's own field for an action's time: what a provenance check reports as
        # generated_at (a signature carries a time only when a timestamp authority signs).
        "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "parameters": {"model": model, "preset": preset, **facts},
    }
    return {
        "claim_generator_info": [agent],
        "title": title,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}],
    }


def sign_file(
    path: Path,
    *,
    identity: SigningIdentity,
    manifest: dict[str, Any],
    parents: Sequence[Path] = (),
) -> None:
    """Sign ``manifest`` (with ``parents`` as ingredients) into the file at ``path``, which is
    replaced atomically by its signed version."""
    import c2pa

    info = c2pa.C2paSignerInfo(
        alg=c2pa.C2paSigningAlg.ES256,
        sign_cert=identity.chain,
        private_key=identity.key,
        ta_url=None,
    )
    with c2pa.Signer.from_info(info) as signer, c2pa.Builder(json.dumps(manifest)) as builder:
        for parent in parents:
            ingredient = {"title": parent.name, "relationship": "componentOf"}
            with open(parent, "rb") as stream:
                builder.add_ingredient(json.dumps(ingredient), media_type(parent), stream)
        with atomic_path(path) as tmp, open(path, "rb") as source, open(tmp, "w+b") as dest:
            builder.sign(signer, media_type(path), source, dest)
            dest.flush()
            os.fsync(dest.fileno())


def _carries_manifest(path: Path) -> bool:
    """Whether the file holds a C2PA manifest box (a JUMBF box labelled c2pa), readable or
    not."""
    data = path.read_bytes()
    return b"jumb" in data and b"c2pa" in data


def read_file(path: Path, anchors: bytes | None) -> Verification:
    """The file's C2PA state and active manifest, checked against ``anchors`` (PEM)."""
    import c2pa

    config: dict[str, Any] = {"verify": {"verify_cert_anchors": True}}
    if anchors:
        config["trust"] = {"trust_anchors": anchors.decode()}
    with open(path, "rb") as stream, c2pa.Context(c2pa.Settings.from_dict(config)) as context:
        try:
            with c2pa.Reader(media_type(path), stream, context=context) as reader:
                store = json.loads(reader.json())
        except c2pa.C2paError as exc:
            if _carries_manifest(path):  # a manifest is there but cannot be read: broken
                return Verification("Invalid", None, [f"unreadable manifest: {exc}"])
            return Verification("None", None, [])
    manifest = store.get("manifests", {}).get(store.get("active_manifest", ""))
    problems = [s.get("code", "") for s in store.get("validation_status") or []]
    return Verification(store.get("validation_state", "Invalid"), manifest, problems)


def signed_by(path: Path, identity: SigningIdentity) -> bool:
    """Whether the file is one ``identity`` signed, unchanged since: its manifest Trusted
    against the identity's anchors and signed with the identity's own certificate (by serial
    number; a manifest signed by another certificate the same anchors trust is not ours)."""
    if path.suffix.lower() not in MEDIA_TYPES:
        return False
    from cryptography import x509

    found = read_file(path, identity.anchors)
    signer = (found.manifest or {}).get("signature_info") or {}
    ours = x509.load_pem_x509_certificate(identity.chain).serial_number
    return found.state == "Trusted" and signer.get("cert_serial_number") == str(ours)
