"""A withheld output, as both dialects report it: the task failed with
content_policy_violation, no file kept, Sora's moderation_result.is_output_rejection."""

from __future__ import annotations

import httpx
import openai
import pytest

from cinegen.safety import output
from cinegen.store import audit
from tests.api.conftest import video_gen_ended


class Flagging:
    """NudeNet's stand-in (the suite ships no picture it would flag): exposed, everywhere."""

    def detect(self, image: bytes) -> list[dict]:
        return [{"class": "MALE_GENITALIA_EXPOSED", "score": 0.88, "box": [0, 0, 9, 9]}]


def test_a_withheld_output_fails_its_task_and_keeps_no_file(service, monkeypatch):
    monkeypatch.setattr(output, "_detector", lambda: Flagging())
    key = service.key("artist")
    sora = httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {key}"})
    body = {"prompt": "a red circle", "n_frames": 15, "width": 64, "height": 64, "seed": 1}
    created = sora.post("/backend/video_gen", json=body)
    task_id = created.json()["id"]
    task = video_gen_ended(sora, task_id)
    assert task["status"] == "failed" and task["moderation_result"]["is_output_rejection"]
    assert "content policy" in task["failure_reason"] and task["generations"] == []
    assert not (service.data_dir / "assets" / task_id).exists()
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key=key, max_retries=0)
    video = client.videos.retrieve(task_id)
    assert video.status == "failed" and video.error.code == "content_policy_violation"
    with service.sessions() as session:
        (line,) = [e for e in audit.read(session) if e.action == "policy.withhold_output"]
    assert line.target == task_id and line.detail["categories"] == ["sexual"]


def test_an_uploaded_picture_is_checked_before_its_task_is_queued(service, monkeypatch):
    import io

    import numpy as np
    from PIL import Image

    key = service.key("uploader")
    sora = httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {key}"})
    png = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 120, np.uint8)).save(png, format="PNG")
    upload = sora.post("/backend/uploads", files={"file": ("a.png", png.getvalue(), "image/png")})
    item = {"type": "image", "upload_media_id": upload.json()["id"], "frame_index": 0}
    payload = {"prompt": "it moves", "n_frames": 15, "width": 64, "height": 64,
               "model": "cinegen-tiny", "inpaint_items": [item], "seed": 1}  # fmt: skip
    monkeypatch.setattr(output, "_detector", lambda: Flagging())
    refused = sora.post("/backend/video_gen", json=payload)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "content_policy_violation" and error["param"] == "upload"
    assert sora.get("/backend/video_gen").json()["task_responses"] == []
    monkeypatch.undo()
    assert sora.post("/backend/video_gen", json=payload).status_code == 200


@pytest.mark.slow  # renders and signs
def test_an_uploaded_video_this_server_signed_passes_and_a_copy_is_checked(
    service, monkeypatch, tmp_path
):
    """Extending one's own download: the signed file passed the policy when it was made, so
    its upload passes unchecked; the same frames re-encoded (no longer signed) are checked."""
    from cinegen.media.encode import encode_mp4, read_frames

    key = service.key("returning")
    sora = httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {key}"})
    body = {"prompt": "a red circle moving right over the ocean", "n_frames": 15,
            "width": 64, "height": 64, "model": "cinegen-tiny", "seed": 1}  # fmt: skip
    task_id = sora.post("/backend/video_gen", json=body).json()["id"]
    task = video_gen_ended(sora, task_id)
    assert task["status"] == "succeeded", task
    (tmp_path / "ours.mp4").write_bytes(sora.get(task["generations"][0]["url"]).content)
    encode_mp4(read_frames(tmp_path / "ours.mp4"), tmp_path / "copy.mp4", 24)

    def extend_of(name: str) -> dict:
        clip = (tmp_path / name).read_bytes()
        upload = sora.post("/backend/uploads", files={"file": (name, clip, "video/mp4")})
        assert upload.status_code == 200, upload.text
        source = {"generation_ids": [upload.json()["id"]]}
        return {**body, "n_frames": 30, "operation": "extend", "source": source}

    ours, copy = extend_of("ours.mp4"), extend_of("copy.mp4")
    monkeypatch.setattr(output, "_detector", lambda: Flagging())
    assert sora.post("/backend/video_gen", json=ours).status_code == 200
    refused = sora.post("/backend/video_gen", json=copy)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "content_policy_violation" and error["param"] == "upload"
