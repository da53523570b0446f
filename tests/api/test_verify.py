"""POST /v1/verify: a file's C2PA state and invisible watermark, and whether the task
either names was made here."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest
from sqlalchemy import select

from cinegen.api.native.verify import WITHHELD
from cinegen.media.encode import encode_mp4, read_frames
from cinegen.store.keys import create_key
from cinegen.store.models import AuditEvent, Role

pytestmark = pytest.mark.slow  # renders and reads marks back


def test_a_downloaded_video_verifies_as_this_server_s(service, tmp_path):
    key = service.key("maker")
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key=key, max_retries=0)
    video = client.videos.create_and_poll(prompt="a red circle", size="64x64", seconds="1",
                                          poll_interval_ms=100, extra_body={"seed": 3})  # fmt: skip
    assert video.status == "completed", video.error
    data = client.videos.download_content(video.id).read()

    def verify(secret: str, blob: bytes) -> dict:
        auth = {"Authorization": f"Bearer {secret}"}
        answer = httpx.post(f"{service.url}/v1/verify", headers=auth,
                            files={"file": ("clip.mp4", blob, "video/mp4")})  # fmt: skip
        assert answer.status_code == 200, answer.text
        return answer.json()

    mine = verify(key, data)
    assert mine["c2pa"]["state"] == "Trusted" and mine["file"] == "clip.mp4"
    assert mine["task"] == {"id": video.id, "on_this_server": True, "yours": True,
                            "found_by": "c2pa"}  # fmt: skip
    assert mine["generator"]["model"] == "wan-tiny-random"
    assert mine["watermark"]["detected"] is False  # 64x64 is below the mark's smallest tile
    assert verify(service.key("someone"), data)["task"]["yours"] is False
    broken = bytearray(data)
    broken[broken.find(b"mdat") + 64] ^= 0x01
    assert verify(key, bytes(broken))["c2pa"]["state"] == "Invalid"
    assert verify(key, b"\x00" * 64)["c2pa"]["state"] == "None"
    playlist = verify(key, b"ffconcat version 1.0\nfile upload.mp4\n")  # never reaches FFmpeg
    assert playlist["c2pa"]["state"] == "None" and playlist["watermark"]["detected"] is False
    assert "not an image or a video" in playlist["watermark"]["problem"]


def test_a_re_encoded_video_without_its_manifest_still_leads_to_its_task(service, tmp_path):
    """What an upload site does (decode, re-encode at crf 28) strips the C2PA manifest;
    the invisible watermark still names this server and the task."""
    key = service.key("maker")
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key=key, max_retries=0)
    video = client.videos.create_and_poll(prompt="a red circle", size="480x272", seconds="2",
                                          poll_interval_ms=100, extra_body={"seed": 5})  # fmt: skip
    assert video.status == "completed", video.error
    original = tmp_path / "original.mp4"
    original.write_bytes(client.videos.download_content(video.id).read())
    reuploaded = encode_mp4(read_frames(original), tmp_path / "reuploaded.mp4", 24, crf=28)

    upload = {"file": ("clip.mp4", reuploaded.read_bytes(), "video/mp4")}
    answer = httpx.post(f"{service.url}/v1/verify", headers={"Authorization": f"Bearer {key}"},
                        files=upload)  # fmt: skip
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["c2pa"]["state"] == "None"
    mark = report["watermark"]
    assert mark["detected"] is True and mark["this_server"] is True, mark
    assert mark["confidence"] > 0.99
    assert report["task"] == {"id": video.id, "on_this_server": True, "yours": True,
                              "found_by": "watermark"}  # fmt: skip


def test_another_account_learns_the_server_but_not_the_task(service, tmp_path):
    """Found by the manifest or, re-encoded, by the watermark: the maker's own account and an
    admin learn the task; anyone else only that the file was made here."""
    maker, stranger = service.key("verify-maker"), service.key("verify-stranger")
    with service.sessions() as session:
        admin = create_key(session, "verify-admin", role=Role.admin).secret
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key=maker, max_retries=0)
    video = client.videos.create_and_poll(
        prompt="a red circle",
        size="480x272",
        seconds="2",
        poll_interval_ms=100,
        extra_body={"seed": 17},
    )
    assert video.status == "completed", video.error
    original = tmp_path / "original.mp4"
    original.write_bytes(client.videos.download_content(video.id).read())
    reuploaded = encode_mp4(read_frames(original), tmp_path / "reuploaded.mp4", 24, crf=28)

    def verify(secret: str, path: Path) -> dict:
        upload = {"file": ("clip.mp4", path.read_bytes(), "video/mp4")}
        auth = {"Authorization": f"Bearer {secret}"}
        answer = httpx.post(f"{service.url}/v1/verify", headers=auth, files=upload)
        assert answer.status_code == 200, answer.text
        return answer.json()

    for path, found_by in ((original, "c2pa"), (reuploaded, "watermark")):
        theirs = verify(stranger, path)
        here = {"on_this_server": True, "found_by": found_by}
        assert theirs["task"] == {"id": None, "yours": False, **here}
        assert video.id not in json.dumps(theirs)  # nor in the manifest, nor anywhere else
        assert verify(maker, path)["task"] == {"id": video.id, "yours": True, **here}
        assert verify(admin, path)["task"] == {"id": video.id, "yours": False, **here}
    (action,) = _actions(verify(stranger, original))
    assert action["parameters"]["task"] == WITHHELD and action["parameters"]["seed"] == 17
    (action,) = _actions(verify(maker, original))
    assert action["parameters"]["task"] == video.id
    with service.sessions() as session:
        looks = select(AuditEvent).where(AuditEvent.action == "verify.reveal_task")
        seen = [(e.target, e.detail["found_by"]) for e in session.scalars(looks)]
    assert seen == [(video.id, "c2pa"), (video.id, "watermark")]  # each admin look


def _actions(report: dict) -> list[dict]:
    """The actions of the report's C2PA manifest."""
    assertions = report["c2pa"]["manifest"]["assertions"]
    (actions,) = [a for a in assertions if a["label"].startswith("c2pa.actions")]
    return actions["data"]["actions"]
