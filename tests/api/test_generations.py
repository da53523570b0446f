"""GET /v1/generations/{id}: the record, downloads, spritesheet layout and provenance the
studio's detail view shows, for the owner only."""

from __future__ import annotations

import io
from datetime import datetime

import httpx
import pytest
from PIL import Image

from tests.api.conftest import video_gen_ended

PAYLOAD = {"prompt": "a purple square moving right over a sunset", "n_frames": 21,
           "width": 96, "height": 64, "seed": 5, "style": "natural"}  # fmt: skip


def _client(service, name: str) -> httpx.Client:
    key = service.key(name)
    return httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {key}"})


@pytest.fixture(scope="module")
def made(service) -> tuple[httpx.Client, dict]:
    """One finished task of the owner's, as the Sora dialect lists it."""
    owner = _client(service, "gena")
    created = owner.post("/backend/video_gen", json=PAYLOAD)
    assert created.status_code == 200, created.text
    task = video_gen_ended(owner, created.json()["id"])
    assert task["status"] == "succeeded", task
    return owner, task


@pytest.mark.slow  # renders
def test_the_record_says_what_was_made_when_and_how_long_it_took(made):
    owner, task = made
    generation = task["generations"][0]
    got = owner.get(f"/v1/generations/{generation['id']}")
    assert got.status_code == 200, got.text
    record = got.json()
    assert (record["task_id"], record["state"], record["variants"]) == (task["id"], "succeeded", 1)
    assert record["prompt"] == PAYLOAD["prompt"] and record["seed"] == 5
    assert record["model"] == "wan-tiny-random" and record["style"] == "natural"
    assert record["preset"] in ("turbo", "quality")
    assert (record["width"], record["height"], record["n_frames"]) == (96, 64, 21)
    assert (record["fps"], record["seconds"]) == (30.0, 0.7)  # the Sora dialect's 30 fps
    created, started, finished = (
        datetime.fromisoformat(record[k]) for k in ("created_at", "started_at", "finished_at")
    )
    assert created <= started <= finished
    assert record["render_s"] == pytest.approx((finished - started).total_seconds(), abs=1e-3)
    assert record["actions"] == task["actions"] and len(record["actions"]) == 3
    assert record["operation"] == "simple_compose" and record["source"] is None


@pytest.mark.slow  # renders
def test_downloads_and_the_spritesheet_layout_match_the_files(made):
    owner, task = made
    record = owner.get(f"/v1/generations/{task['generations'][0]['id']}").json()
    assert set(record["files"]) == {"video", "thumbnail", "spritesheet"}
    video = owner.get(record["files"]["video"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert owner.get(record["files"]["thumbnail"]).headers["content-type"] == "image/webp"
    sheet = record["spritesheet"]
    # 16 evenly spaced frames of 21, ends included, in 4 rows of 4
    assert sheet["frames"][0] == 0 and sheet["frames"][-1] == 20 and len(sheet["frames"]) == 16
    assert (sheet["columns"], sheet["rows"]) == (4, 4)
    image = Image.open(io.BytesIO(owner.get(sheet["url"]).content))
    tile_w, tile_h = image.width / sheet["columns"], image.height / sheet["rows"]
    assert tile_w == int(tile_w) and tile_h == int(tile_h)  # whole tiles: a scrub lands on one
    assert tile_w / tile_h == pytest.approx(96 / 64, rel=0.02)


@pytest.mark.slow  # renders
def test_provenance_is_the_marks_the_server_recorded(made):
    owner, task = made
    provenance = owner.get(f"/v1/generations/{task['generations'][0]['id']}").json()["provenance"]
    assert provenance["recorded"] and provenance["c2pa"] is True
    assert provenance["visible_mark"]  # the corner mark's text
    assert provenance["invisible_mark"] is None  # 96x64 is too small to carry one


@pytest.mark.slow  # renders
def test_the_sound_track_is_described_as_the_sidecar_recorded_it(made):
    owner, task = made
    silent = owner.get(f"/v1/generations/{task['generations'][0]['id']}").json()
    assert (silent["has_audio"], silent["sound"]) == (False, None)  # wan makes no sound

    body = {**PAYLOAD, "model": "ltx-2-tiny-random", "audio": "on", "n_variants": 2}
    created = owner.post("/backend/video_gen", json=body)
    assert created.status_code == 200, created.text
    loud = video_gen_ended(owner, created.json()["id"])
    assert loud["status"] == "succeeded", loud
    sounds = [owner.get(f"/v1/generations/{g['id']}").json() for g in loud["generations"]]
    for generation, record in zip(loud["generations"], sounds, strict=True):
        sound = record["sound"]
        assert record["has_audio"] is True
        assert (sound["rate"], sound["channels"], sound["codec"]) == (48_000, 2, "aac")
        assert sound["loudness_lufs"] == pytest.approx(-16.0, abs=0.5)
        assert sound["true_peak_dbtp"] <= -1.0
        assert sound["seed"] == generation["seed"]  # each variant's own, not the first's
        assert sound["made_by"] == {"with_picture": True, "model": "ltx-2-tiny-random"}


@pytest.mark.slow  # renders
def test_the_record_says_where_sharing_it_stands(made):
    owner, task = made
    generation_id = task["generations"][0]["id"]
    assert owner.get(f"/v1/generations/{generation_id}").json()["share"] is None  # not asked
    asked = owner.post(f"/v1/generations/{generation_id}/share").json()
    share = owner.get(f"/v1/generations/{generation_id}").json()["share"]
    assert share == asked == owner.get(f"/v1/generations/{generation_id}/share").json()
    assert share["state"] == "approved" and share["url"]  # review is off on this server


@pytest.mark.slow  # renders
def test_only_the_owner_sees_it_and_a_deleted_one_is_gone(service, made):
    owner, task = made
    generation_id = task["generations"][0]["id"]
    stranger = _client(service, "genevieve")
    theirs, missing = (
        stranger.get(f"/v1/generations/{generation_id}"),
        stranger.get("/v1/generations/gen_nothing"),
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    assert httpx.get(f"{service.url}/v1/generations/{generation_id}").status_code == 401

    assert owner.delete(f"/v1/videos/{task['id']}").status_code == 200
    assert owner.get(f"/v1/generations/{generation_id}").status_code == 404
