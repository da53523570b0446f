"""What the provenance tests share: a file's sound changed and nothing else, as someone would
change it to pass off a different soundtrack under pictures a manifest vouches for."""

from __future__ import annotations

import io

import av


def packets(data: bytes, kind: str) -> list[bytes]:
    """The payloads of the file's ``kind`` (audio or video) packets, in file order."""
    with av.open(io.BytesIO(data)) as container:
        streams = [s for s in container.streams if s.type == kind]
        if not streams:  # demux() of no stream would demux them all
            return []
        return [bytes(p) for p in container.demux(*streams) if p.size]


def flip_sound(data: bytes) -> bytes:
    """``data`` with one byte inverted in the middle of its middle sound packet: inside the
    coded samples (for an MP4, in the audio track's chunk in ``mdat``), where PyAV says the
    packet lies, never in a box, a header or a picture."""
    with av.open(io.BytesIO(data)) as container:
        found = [(p.pos, p.size) for p in container.demux(audio=0) if p.size]
    assert found, "the file has no sound"
    pos, size = found[len(found) // 2]
    assert pos is not None and pos > 0
    tampered = bytearray(data)
    tampered[pos + size // 2] ^= 0xFF
    changed = bytes(tampered)
    # Only the sound changed: every picture packet as it was. (How many sound packets differ
    # is the demuxer's business: FLAC's re-reads its frames and joins a damaged one.)
    assert packets(changed, "video") == packets(data, "video")
    assert packets(changed, "audio") != packets(data, "audio")
    return changed
