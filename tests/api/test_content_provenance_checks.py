"""POST /v1/content_provenance_checks: the official SDK's
``client.content_provenance_checks.create(file=…)`` reads what this server made (C2PA and
the invisible mark, reported where OpenAI reports SynthID) from videos, images and audio."""

from __future__ import annotations

import io
import time
import wave
from datetime import datetime
from pathlib import Path

import numpy as np
import openai
import pytest
from openai.types import ContentProvenanceCheck
from openai.types.content_provenance_check import ResultC2PA, ResultSynthID
from PIL import Image

from cinegen.engine.engine import Engine
from cinegen.generation import generate
from cinegen.provenance.identity import load_identity
from cinegen.provenance.manifest import manifest_for, sign_file
from cinegen.spec import parse_spec

from ..provenance.tampering import flip_sound

pytestmark = pytest.mark.slow  # the official SDK against a live server that renders

NOT_PRESENT = {
    "type": "c2pa",
    "outcome": "not_detected",
    "validation_state": "not_present",
    "issuer": None,
    "model": None,
    "generated_at": None,
}
NO_MARK = {"type": "synthid", "outcome": "not_detected", "model": None, "generated_at": None}
# What a file that changed since it was signed gets: nothing vouched for.
INVALID = {**NOT_PRESENT, "validation_state": "invalid"}


@pytest.fixture(scope="module")
def client(service) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{service.url}/v1", api_key=service.key("sdk"), max_retries=0)


def check(client: openai.OpenAI, name: str, data: bytes) -> ContentProvenanceCheck:
    found = client.content_provenance_checks.create(file=(name, data))
    assert isinstance(found, ContentProvenanceCheck)
    assert found.object == "content_provenance_check"
    assert abs(found.created_at - time.time()) < 120
    # Strictly as the SDK types it: every field there, nullable ones as null.
    ContentProvenanceCheck.model_validate(found.model_dump())
    return found


def _when(stamp: str | None) -> float:
    assert stamp is not None and stamp.endswith("Z"), stamp
    return datetime.fromisoformat(stamp).timestamp()


def test_the_sdk_reads_a_video_this_server_made_and_its_thumbnail(client, service):
    video = client.videos.create_and_poll(
        prompt="a red circle",
        size="480x272",
        seconds="2",
        poll_interval_ms=100,
        extra_body={"seed": 5},
    )
    assert video.status == "completed", video.error
    data = client.videos.download_content(video.id).read()

    signed, marked = check(client, "clip.mp4", data).results
    assert isinstance(signed, ResultC2PA) and isinstance(marked, ResultSynthID)
    assert (signed.outcome, signed.validation_state) == ("detected", "trusted")
    assert (signed.issuer, signed.model) == ("cinegen", "wan-tiny-random")
    made = _when(signed.generated_at)
    assert video.created_at - 1 <= made <= (video.completed_at or 0) + 1
    assert (marked.outcome, marked.model) == ("detected", "wan-tiny-random")
    assert abs(_when(marked.generated_at) - made) < 60

    thumbnail = client.videos.download_content(video.id, variant="thumbnail").read()
    signed, marked = check(client, "thumbnail.webp", thumbnail).results
    assert (signed.outcome, signed.validation_state) == ("detected", "trusted")
    assert signed.model == "wan-tiny-random"
    assert (marked.outcome, marked.model) == ("detected", "wan-tiny-random")  # one frame holds it

    # Another account learns that this server made it (the manifest says the rest to
    # anyone), but not what the task the mark names was made with, nor when.
    stranger = openai.OpenAI(
        base_url=client.base_url, api_key=service.key("someone"), max_retries=0
    )
    signed, marked = check(stranger, "clip.mp4", data).results
    assert signed.model == "wan-tiny-random"
    assert marked.model_dump() == {**NO_MARK, "outcome": "detected"}

    tampered = bytearray(data)
    tampered[tampered.find(b"mdat") + 64] ^= 0x01
    raw = client.content_provenance_checks.with_raw_response.create(
        file=("clip.mp4", bytes(tampered))
    )
    (signed, _) = raw.http_response.json()["results"]
    assert signed == INVALID


def test_a_video_whose_sound_changed_is_invalid(client, service, tmp_path):
    """The manifest covers the sound too: one byte changed in the audio track's samples
    (pictures and boxes as they were) and the check no longer vouches for the file."""
    # Made as this server's worker makes it, with its identity, but at the turbo preset:
    # the OpenAI dialect asks cinegen-tiny for its quality preset, four times the steps.
    spec = parse_spec(
        {
            "prompt": "a red circle moving right",
            "model": "cinegen-tiny",
            "width": 64,
            "height": 64,
            "n_frames": 16,
            "seed": 3,
            "preset": "turbo",
        }
    )
    (variant,) = generate(spec, out=tmp_path, engine=Engine(service.settings)).variants
    assert variant.video is not None and variant.audio is not None  # it has sound
    data = variant.video.read_bytes()

    signed, _ = check(client, "clip.mp4", data).results
    assert (signed.outcome, signed.validation_state) == ("detected", "trusted")
    assert signed.model == "cinegen-tiny"

    raw = client.content_provenance_checks.with_raw_response.create(
        file=("clip.mp4", flip_sound(data))
    )
    (signed, _) = raw.http_response.json()["results"]
    assert signed == INVALID


def test_a_picture_without_a_manifest_has_none(client):
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(picture, "PNG")
    found = check(client, "photo.png", picture.getvalue())
    assert [result.model_dump() for result in found.results] == [NOT_PRESENT, NO_MARK]


def _wav(path: Path) -> Path:
    """A tenth of a second of a 440 Hz tone, 16-bit mono."""
    samples = (np.sin(np.arange(1600) * 2 * np.pi * 440 / 16000) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(samples.tobytes())
    return path


def test_audio_signed_here_is_trusted_and_unsigned_has_no_manifest(client, service, tmp_path):
    """Audio gets the C2PA result only: cinegen's invisible mark lives in pictures."""
    sound = _wav(tmp_path / "tone.wav")
    (unsigned,) = check(client, "tone.wav", sound.read_bytes()).results
    assert unsigned.model_dump() == NOT_PRESENT

    manifest = manifest_for(sound.name, model="cinegen-tiny", preset="turbo", facts={"seed": 7})
    sign_file(sound, identity=load_identity(service.settings), manifest=manifest)
    (signed,) = check(client, "tone.wav", sound.read_bytes()).results
    assert isinstance(signed, ResultC2PA)
    assert (signed.outcome, signed.validation_state) == ("detected", "trusted")
    assert (signed.issuer, signed.model) == ("cinegen", "cinegen-tiny")
    assert abs(_when(signed.generated_at) - time.time()) < 120


def test_audio_whose_sound_changed_since_it_was_signed_is_invalid(client, service, tmp_path):
    sound = _wav(tmp_path / "tone.wav")
    manifest = manifest_for(sound.name, model="cinegen-tiny", preset="turbo", facts={"seed": 7})
    sign_file(sound, identity=load_identity(service.settings), manifest=manifest)
    raw = client.content_provenance_checks.with_raw_response.create(
        file=("tone.wav", flip_sound(sound.read_bytes()))
    )
    assert raw.http_response.json()["results"] == [INVALID]  # audio: the C2PA result alone


def test_refusals_name_the_file_field(client, service):
    with pytest.raises(openai.BadRequestError) as refused:
        client.content_provenance_checks.create(file=("notes.txt", b"just some words\n"))
    assert (refused.value.param, refused.value.code) == ("file", "invalid_value")
    error = refused.value.body
    assert isinstance(error, dict)
    for kind in ("PNG", "JPEG", "WebP", "GIF", "WAV", "MP3", "M4A", "MP4"):
        assert kind in error["message"]
    too_large = b"\x89PNG" + b"\x00" * (64 << 20)
    with pytest.raises(openai.APIStatusError) as refused:
        client.content_provenance_checks.create(file=("huge.png", too_large))
    assert refused.value.status_code == 413
    anonymous = openai.OpenAI(base_url=client.base_url, api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        anonymous.content_provenance_checks.create(file=("photo.png", b"\x89PNG"))
