"""The C2PA manifest covers the whole file, sound included: a video with a soundtrack verifies
as Trusted, and one changed byte of its sound, pictures and boxes untouched, makes it
Invalid. The same for the audio files provenance is read from (WAV, MP3, FLAC, M4A), which
cinegen does not write but signs and checks."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.generation import generate
from cinegen.media.encode import read_audio
from cinegen.provenance.identity import load_identity
from cinegen.provenance.manifest import manifest_for, sign_file
from cinegen.provenance.verify import format_of, verify_bytes
from cinegen.spec import parse_spec

from .tampering import flip_sound

RATE = 48_000


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("data"), default_model="cinegen-tiny")


@pytest.mark.slow  # renders
def test_a_video_s_sound_is_signed_with_its_pictures(settings, tmp_path):
    spec = parse_spec(
        {
            "prompt": "a red circle moving right",
            "width": 64,
            "height": 64,
            "n_frames": 16,
            "seed": 3,
            "preset": "turbo",
        }
    )
    (variant,) = generate(spec, out=tmp_path, engine=Engine(settings)).variants
    assert variant.video is not None and variant.audio is not None
    assert read_audio(variant.video) is not None  # the file carries its soundtrack
    data = variant.video.read_bytes()
    assert format_of(data[:16]) is not None and format_of(data[:16]).kind == "video"

    signed = verify_bytes(data, settings)
    assert (signed["c2pa"]["state"], signed["c2pa"]["problems"]) == ("Trusted", [])
    assert signed["generator"]["model"] == "cinegen-tiny"

    tampered = flip_sound(data)
    (changed,) = np.flatnonzero(np.frombuffer(data, np.uint8) != np.frombuffer(tampered, np.uint8))
    mdat = data.find(b"mdat") - 4  # the file's one mdat box: its size, then its name
    assert mdat + 8 <= changed < mdat + int.from_bytes(data[mdat : mdat + 4], "big")
    found = verify_bytes(tampered, settings)
    assert found["c2pa"]["state"] == "Invalid"
    assert "assertion.bmffHash.mismatch" in found["c2pa"]["problems"]
    assert found["generator"] is None  # nothing vouched for any more


# (suffix, container, codec, sample format): each audio format verify.py reads.
AUDIO_FILES = [
    (".wav", "wav", "pcm_s16le", "s16"),
    (".mp3", "mp3", "libmp3lame", "fltp"),
    (".flac", "flac", "flac", "s16"),
    (".m4a", "ipod", "aac", "fltp"),  # FFmpeg's ipod muxer writes the M4A brand
]


def _tone(path: Path, container: str, codec: str, sample_format: str) -> Path:
    """Half a second of a 440 Hz stereo tone in ``container``."""
    t = np.arange(RATE // 2) / RATE
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=RATE)
        stream.layout, stream.format = "stereo", sample_format
        size = stream.codec_context.frame_size or 1024
        for start in range(0, len(t), size):
            wave = 0.3 * np.sin(2 * np.pi * 440 * t[start : start + size])
            if sample_format == "s16":  # packed: (1, samples x channels)
                samples = (np.repeat(wave, 2) * 32767).astype(np.int16)[None]
            else:  # planar: (channels, samples)
                samples = np.stack([wave, wave]).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format=sample_format, layout="stereo")
            frame.sample_rate, frame.pts = RATE, start
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(("suffix", "container", "codec", "sample_format"), AUDIO_FILES)
def test_an_audio_file_signed_here_is_trusted_until_its_sound_changes(
    settings, tmp_path, suffix, container, codec, sample_format
):
    sound = _tone(tmp_path / f"tone{suffix}", container, codec, sample_format)
    assert verify_bytes(sound.read_bytes(), settings)["c2pa"]["state"] == "None"
    manifest = manifest_for(sound.name, model="cinegen-tiny", preset="turbo", facts={"seed": 4})
    sign_file(sound, identity=load_identity(settings), manifest=manifest)
    data = sound.read_bytes()
    # Trap: c2pa signs a FLAC by putting an ID3 tag before its fLaC, so its first bytes
    # read as MP3; c2pa reads the manifest there either way. What counts is that it is
    # taken for audio (the provenance check then gives only the C2PA result).
    found = format_of(data[:16])
    assert found is not None and found.kind == "audio"

    signed = verify_bytes(data, settings)
    assert (signed["c2pa"]["state"], signed["c2pa"]["problems"]) == ("Trusted", [])
    assert signed["generator"]["model"] == "cinegen-tiny"

    tampered = verify_bytes(flip_sound(data), settings)
    assert tampered["c2pa"]["state"] == "Invalid" and tampered["generator"] is None
    # M4A is ISO media, hashed box by box; the others as a byte range around the manifest.
    mismatch = "bmffHash" if suffix == ".m4a" else "dataHash"
    assert f"assertion.{mismatch}.mismatch" in tampered["c2pa"]["problems"]
