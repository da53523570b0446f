"""POST /v1/verify: a file's C2PA state, and whether the task it names was made here."""

from __future__ import annotations

import httpx
import openai


def test_a_downloaded_video_verifies_as_this_server_s(service, tmp_path):
    key = service.key("maker")
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key=key, max_retries=0)
    video = client.videos.create_and_poll(prompt="a red circle", size="64x64", seconds="1",
                                          poll_interval_ms=100)  # fmt: skip
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
    assert mine["task"] == {"id": video.id, "on_this_server": True, "yours": True}
    assert mine["generator"]["model"] == "wan-tiny-random" and mine["watermark"] is None
    assert verify(service.key("someone"), data)["task"]["yours"] is False
    broken = bytearray(data)
    broken[broken.find(b"mdat") + 64] ^= 0x01
    assert verify(key, bytes(broken))["c2pa"]["state"] == "Invalid"
    assert verify(key, b"\x00" * 64)["c2pa"]["state"] == "None"
