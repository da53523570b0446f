"""cinegen's own task routes: the stored task, cancel, and the server-sent event stream."""

from __future__ import annotations

import base64
import io
import json

import httpx
import pytest
from PIL import Image

PAYLOAD = {"prompt": "an orange circle shrinking over a meadow", "n_frames": 30,
           "width": 160, "height": 96, "n_variants": 1, "seed": 1}  # fmt: skip


@pytest.fixture(scope="module")
def http(service) -> httpx.Client:
    key = service.key("native")
    return httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {key}"})


def _stream(http: httpx.Client, task_id: str, last_event_id: str | None = None) -> list[dict]:
    # (as latin-1 bytes: what a header may carry beyond ASCII)
    headers = {"Last-Event-ID": last_event_id.encode("latin-1")} if last_event_id else {}
    events = []
    with http.stream("GET", f"/v1/tasks/{task_id}/events", headers=headers, timeout=120) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        for line in r.iter_lines():
            if line.startswith(":"):
                continue
            if not line:
                if fields:
                    events.append({**json.loads(fields["data"]), "sse_id": fields["id"]})
                fields = {}
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
    return events


@pytest.mark.slow  # renders
def test_events_stream_the_task_to_its_end_and_resume_where_they_left(http):
    task_id = http.post("/backend/video_gen", json=PAYLOAD).json()["id"]
    events = _stream(http, task_id)
    assert events[0]["state"] == "queued" and events[-1]["state"] == "succeeded"
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert "denoise" in {e["stage"] for e in events}
    ids = [int(e["sse_id"]) for e in events]
    assert ids == sorted(set(ids))
    resumed = _stream(http, task_id, last_event_id=str(ids[1]))
    # Nothing missed, nothing repeated; of the previews only the latest is kept, so a slow
    # render's earlier previews (seen live) are gone by the time the stream is resumed.
    previews = [int(e["sse_id"]) for e in events if e.get("type") == "preview"]
    superseded = set(previews[:-1])
    assert [int(e["sse_id"]) for e in resumed] == [i for i in ids[2:] if i not in superseded]
    anew = _stream(http, task_id, last_event_id="\u00b2")  # a digit, not a number: from the start
    assert [int(e["sse_id"]) for e in anew] == [i for i in ids if i not in superseded]

    stored = http.get(f"/v1/tasks/{task_id}").json()
    assert stored["state"] == "succeeded" and stored["attempts"] == 1
    assert stored["generations"][0]["files"] == ["sidecar", "spritesheet", "thumbnail", "video"]


@pytest.mark.slow  # renders
def test_the_embedded_model_streams_preview_frames(http):
    created = http.post("/backend/video_gen", json={**PAYLOAD, "model": "cinegen-tiny"})
    events = _stream(http, created.json()["id"])
    previews = [e for e in events if e["type"] == "preview"]
    assert previews and events[-1]["state"] == "succeeded"
    for event in previews:
        assert event["state"] == "running" and event["stage"] == "denoise"
        header, _, data = event["image"].partition(",")
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        assert header == "data:image/jpeg;base64" and image.format == "JPEG"
        assert image.size == (64, 64)  # cinegen-tiny's native frame
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)


def test_cancel_a_task_and_not_a_finished_one(http):
    task_id = http.post("/backend/video_gen", json=PAYLOAD).json()["id"]
    cancelled = http.post(f"/v1/tasks/{task_id}/cancel").json()
    assert cancelled["state"] in ("cancelled", "running") and (
        cancelled["state"] == "cancelled" or cancelled["cancel_requested"]
    )
    events = _stream(http, task_id)
    assert events[-1]["state"] == "cancelled"
    again = http.post(f"/v1/tasks/{task_id}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_finished"
