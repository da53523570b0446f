"""Sound over HTTP: both dialects ask for it, refuse what cannot be had, and deliver it in the
downloaded MP4."""

from __future__ import annotations

import io

import av
import httpx
import openai
import pytest

from cinegen.media import audio

from .conftest import video_gen_ended

SOUND_MODEL, SILENT_MODEL = "ltx-2-tiny-random", "wan-tiny-random"
SMALL = {"type": "video_gen", "width": 128, "height": 64, "n_frames": 24, "seed": 6}


@pytest.fixture(scope="module")
def http(service) -> httpx.Client:
    key = service.key("sound")
    return httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {key}"})


def _track(content: bytes) -> tuple[int, float, float] | None:
    """(channels, seconds of sound, seconds of picture) of a downloaded MP4, None if silent."""
    with av.open(io.BytesIO(content)) as container:
        if not container.streams.audio:
            return None
        (track,) = container.streams.audio
        video = container.streams.video[0]
        return (
            track.codec_context.channels,
            float(track.duration * track.time_base),
            float(video.duration * video.time_base),
        )


@pytest.mark.slow  # renders
def test_a_video_gen_task_of_a_model_with_sound_downloads_with_its_track(http) -> None:
    body = {**SMALL, "prompt": 'a door creaks open, "hello"', "model": SOUND_MODEL}
    created = http.post("/backend/video_gen", json=body)
    assert created.status_code == 200, created.text
    task = video_gen_ended(http, created.json()["id"])
    assert task["status"] == "succeeded", task
    assert task["audio"] == "auto"
    (generation,) = task["generations"]
    assert generation["has_audio"] is True
    channels, sound_s, picture_s = _track(http.get(generation["url"]).content)
    assert channels == 2 and abs(sound_s - picture_s) <= 1024 / audio.RATE


@pytest.mark.slow  # renders
def test_audio_off_makes_a_silent_video(http) -> None:
    body = {**SMALL, "prompt": "a quiet street", "model": SOUND_MODEL, "audio": "off"}
    task = video_gen_ended(http, http.post("/backend/video_gen", json=body).json()["id"])
    (generation,) = task["generations"]
    assert generation["has_audio"] is False
    assert _track(http.get(generation["url"]).content) is None


def test_audio_on_for_a_silent_model_names_the_models_that_make_sound(http) -> None:
    body = {**SMALL, "prompt": "rain", "model": SILENT_MODEL, "audio": "on"}
    refused = http.post("/backend/video_gen", json=body)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["param"] == "audio"
    assert SILENT_MODEL in error["message"] and SOUND_MODEL in error["message"]


def test_an_unknown_audio_mode_names_the_allowed_ones(http) -> None:
    refused = http.post("/backend/video_gen", json={**SMALL, "prompt": "rain", "audio": "loud"})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["param"] == "audio"
    assert all(mode in error["message"] for mode in ("auto", "on", "off"))


@pytest.mark.slow  # renders
def test_the_openai_sdk_gets_sound_by_default_as_sora_2_gave_it(service) -> None:
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key=service.key("sdk-sound"))
    video = client.videos.create_and_poll(
        prompt="waves on a beach", model=SOUND_MODEL, seconds="4", size="128x64",
        extra_body={"seed": 3},
    )  # fmt: skip
    assert video.status == "completed", video.error
    content = client.videos.download_content(video.id).read()
    channels, sound_s, picture_s = _track(content)
    assert channels == 2 and picture_s == 4.0 and abs(sound_s - 4.0) <= 1024 / audio.RATE


@pytest.mark.slow  # renders
def test_the_openai_sdk_can_turn_sound_off(service) -> None:
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key=service.key("sdk-silent"))
    video = client.videos.create_and_poll(
        prompt="waves on a beach", model=SOUND_MODEL, seconds="4", size="128x64",
        extra_body={"seed": 3, "audio": "off"},
    )  # fmt: skip
    assert video.status == "completed", video.error
    assert _track(client.videos.download_content(video.id).read()) is None
