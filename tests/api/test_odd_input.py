"""Odd input at the HTTP edge (issue 17): each is a short 400 naming its field, never a 500,
never an answer as long as the request, and nothing is kept from a refused request."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from cinegen.api import bodies
from cinegen.api.app import create_app
from cinegen.config import Settings
from cinegen.limits import PROMPT_MAX_CHARS
from cinegen.media.encode import encode_mp4, is_faststart
from cinegen.store.db import open_database
from cinegen.store.keys import create_key
from cinegen.store.models import Task, Upload

SHORT = 2048  # bytes: what any refusal comes back within
OPENAI = {"prompt": "a red circle", "size": "160x96", "seconds": "1", "model": "wan-tiny-random",
          "seed": 7}  # fmt: skip
SORA = {"prompt": "a red circle", "width": 160, "height": 96, "n_frames": 30,
        "model": "wan-tiny-random", "seed": 7}  # fmt: skip


@pytest.fixture
def api(tmp_path):
    """A real app over a fresh database, no worker (nothing here should make a task), and
    the data dir to look into."""
    data_dir = tmp_path / "data"
    sessions = open_database(data_dir)
    app = create_app(Settings(data_dir=data_dir, default_model="wan-tiny-random"), sessions)
    with sessions() as session:
        secret = create_key(session, "ada").secret
    client = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    yield client, sessions, data_dir
    with sessions() as session:  # every request here is refused: nothing stays behind
        assert session.scalars(select(Task)).all() == []


def refused(response, param: str | None, status: int = 400) -> str:
    """Assert a refusal in the house shape, naming ``param``, in a short body; its message."""
    assert response.status_code == status, response.text[:500]
    assert len(response.content) < SHORT, len(response.content)
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param, error
    return str(error["message"])


def nested(levels: int, inner: str = "0") -> str:
    return "[" * levels + inner + "]" * levels


def post_json(client: TestClient, url: str, text: str):
    return client.post(url, content=text, headers={"Content-Type": "application/json"})


def post_form(client: TestClient, url: str, fields: dict[str, object]):
    """A multipart body of text fields only (as ``curl -F name=value`` sends them)."""
    return client.post(url, files={name: (None, str(value)) for name, value in fields.items()})


# --- deep nesting -------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/v1/videos", "/backend/video_gen", "/v1/videos/edits",
                                 "/v1/videos/extensions", "/v1/videos/task_x/remix"])  # fmt: skip
def test_a_body_nested_100000_deep_is_a_400_in_both_dialects(api, url):
    client, _, _ = api
    message = refused(post_json(client, url, "[" * 100_000), None)
    assert "deeper than 32" in message


@pytest.mark.parametrize("levels", [500, 100_000])  # parses, then breaks the serialiser / not
@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/v1/videos", OPENAI, "input_reference"),
        ("/backend/video_gen", SORA, "source"),
        ("/backend/video_gen", SORA, "storyboard"),
        ("/v1/videos/task_x/remix", {"prompt": "x"}, "strength"),
    ],
)
def test_a_field_nested_too_deep_is_named(api, url, body, field, levels):
    client, _, _ = api
    text = json.dumps(body)[:-1] + f', "{field}": {nested(levels)}}}'
    response = post_json(client, url, text)
    assert field in refused(response, field)


# --- numbers ------------------------------------------------------------------------------
@pytest.mark.parametrize("size", ["¹²⁸x¹²⁸", "١٢٨x١٢٨", "1" * 5000 + "x96", "160 x 96"])
def test_a_size_of_other_digits_is_refused(api, size):
    client, _, _ = api
    message = refused(client.post("/v1/videos", json={**OPENAI, "size": size}), "size")
    assert "WIDTHxHEIGHT" in message


@pytest.mark.parametrize("seconds", ["1e308", 1e308, 10**400, "inf", "nan", "٤", "61", 0])
def test_seconds_beyond_the_range_are_refused_with_the_range(api, seconds):
    client, _, _ = api
    text = json.dumps({**OPENAI, "seconds": seconds})  # 10**400 as a JSON integer
    message = refused(post_json(client, "/v1/videos", text), "seconds")
    assert "at most 60" in message


def test_seconds_to_add_beyond_the_range_are_refused(api):
    client, _, _ = api
    body = {"prompt": "x", "seconds": "1e308", "video": {"id": "task_x"}}
    assert "at most 60" in refused(client.post("/v1/videos/extensions", json=body), "seconds")


# --- booleans where numbers go, strings where objects go ---------------------------------
@pytest.mark.parametrize(
    ("url", "body", "param"),
    [
        ("/v1/videos", {**OPENAI, "seconds": True}, "seconds"),
        ("/v1/videos", {**OPENAI, "seconds": False}, "seconds"),
        ("/v1/videos", {**OPENAI, "seed": True}, "seed"),
        ("/v1/videos", {**OPENAI, "size": True}, "size"),
        ("/v1/videos", {**OPENAI, "model": False}, "model"),
        ("/v1/videos/extensions", {"prompt": "x", "seconds": True, "video": {"id": "t"}},
         "seconds"),
        ("/v1/videos/task_x/remix", {"prompt": "x", "strength": True}, "strength"),
        ("/v1/videos/task_x/remix", {"prompt": "x", "seed": False}, "seed"),
        ("/backend/video_gen", {**SORA, "n_frames": True}, "n_frames"),
        ("/backend/video_gen", {**SORA, "width": True}, "width"),
        ("/backend/video_gen", {**SORA, "n_variants": True}, "n_variants"),
        ("/backend/video_gen", {**SORA, "seed": True}, "seed"),
        ("/backend/video_gen", {**SORA, "inpaint_items": [
            {"type": "image", "upload_id": "upload_x", "frame_index": True}]},
         "inpaint_items.0.frame_index"),
        ("/backend/video_gen", {**SORA, "operation": "remix", "source": {
            "generation_ids": ["gen_x"], "strength": True}}, "source.strength"),
    ],
)  # fmt: skip
def test_true_or_false_is_no_number(api, url, body, param):
    client, _, _ = api
    message = refused(client.post(url, json=body), param).lower()
    assert "true" in message or "false" in message  # what was wrong, said


def test_an_input_reference_that_is_a_string_is_refused_in_json_and_in_a_form(api):
    client, _, _ = api
    as_json = client.post("/v1/videos", json={**OPENAI, "input_reference": "x"})
    assert "image_url" in refused(as_json, "input_reference")
    as_form = post_form(client, "/v1/videos", {**OPENAI, "input_reference": "x"})
    assert "image_url" in refused(as_form, "input_reference")
    nothing = client.post("/v1/videos", json={**OPENAI, "input_reference": {"file_id": "f"}})
    refused(nothing, "input_reference")


def test_a_video_that_is_a_string_is_refused(api):
    client, _, _ = api
    response = client.post("/v1/videos/edits", json={"prompt": "x", "video": "task_x"})
    assert "video file" in refused(response, "video")


# --- long strings: the limit said, an excerpt echoed --------------------------------------
@pytest.mark.parametrize("length", [1_000_000, 50_000_000])
@pytest.mark.parametrize(("url", "body"), [("/v1/videos", OPENAI), ("/backend/video_gen", SORA)])
def test_a_huge_prompt_is_refused_with_the_limit_and_an_excerpt(api, url, body, length):
    client, _, _ = api
    message = refused(client.post(url, json={**body, "prompt": "a" * length}), "prompt")
    assert str(PROMPT_MAX_CHARS) in message and f"({length} characters)" in message


def test_a_huge_prompt_in_a_form_is_refused_by_name(api):
    client, _, _ = api
    fields = {**OPENAI, "prompt": "a" * 2_000_000}  # past multipart's usual 1 MB a field
    response = post_form(client, "/v1/videos", fields)
    assert "(2000000 characters)" in refused(response, "prompt")


def test_long_names_and_ids_come_back_cut(api):
    client, _, _ = api
    key = "k" * 1_000_000
    message = refused(client.post("/v1/videos", json={**OPENAI, key: 1}), key[:100] + "… "
                      "(1000000 characters)")  # fmt: skip
    assert "unknown parameter" in message
    refused(client.get("/v1/videos/" + "v" * 8000), "id", status=404)
    sora = client.post("/backend/video_gen", json={**SORA, key: 1})
    assert sora.status_code == 400 and len(sora.content) < SHORT


def test_a_body_larger_than_any_request_is_refused_unread(api, monkeypatch):
    client, _, _ = api
    monkeypatch.setattr(bodies, "MAX_BODY_BYTES", 1 << 20)
    text = json.dumps({**OPENAI, "prompt": "a" * (2 << 20)})
    for url in ("/v1/videos", "/backend/video_gen"):
        assert "larger than 1 MB" in refused(post_json(client, url, text), None, status=413)
        chunked = client.post(  # no Content-Length: counted as it comes
            url,
            content=iter([text[i : i + 65536].encode() for i in range(0, len(text), 65536)]),
            headers={"Content-Type": "application/json"},
        )
        refused(chunked, None, status=413)


# --- uploads cut short --------------------------------------------------------------------
@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    """A faststart MP4 (index first) of 24 noise frames, made by the project's encoder."""
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    frames = np.random.default_rng(17).integers(0, 256, (24, 64, 96, 3), dtype=np.uint8)
    encode_mp4(frames, path, 24)
    assert is_faststart(path)
    return path.read_bytes()


def _nothing_kept(sessions, data_dir) -> None:
    with sessions() as session:
        assert session.scalars(select(Upload)).all() == []
    uploads = data_dir / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.999])
def test_an_mp4_cut_short_is_refused_on_every_route_that_takes_a_video(api, clip, keep):
    client, sessions, data_dir = api
    cut = clip[: int(len(clip) * keep)]
    upload = client.post("/backend/uploads", files={"file": ("clip.mp4", cut, "video/mp4")})
    assert "ends early" in refused(upload, "file")
    edit = client.post("/v1/videos/edits", data={"prompt": "purple", "seed": "7"},
                       files={"video": ("clip.mp4", cut, "video/mp4")})  # fmt: skip
    assert "ends early" in refused(edit, "video")
    extension = client.post("/v1/videos/extensions",
                            data={"prompt": "on", "seconds": "1", "seed": "7"},
                            files={"video": ("clip.mp4", cut, "video/mp4")})  # fmt: skip
    assert "ends early" in refused(extension, "video")
    _nothing_kept(sessions, data_dir)


def test_the_whole_mp4_is_kept(api, clip):
    client, sessions, _ = api
    upload = client.post("/backend/uploads", files={"file": ("clip.mp4", clip, "video/mp4")})
    assert upload.status_code == 200 and upload.json()["media_type"] == "video/mp4"
    with sessions() as session:
        assert [u.id for u in session.scalars(select(Upload))] == [upload.json()["id"]]


def test_an_image_cut_short_is_refused(api):
    client, sessions, data_dir = api
    png = io.BytesIO()
    Image.fromarray(np.random.default_rng(17).integers(0, 256, (64, 64, 3), np.uint8)).save(
        png, format="PNG"
    )
    cut = png.getvalue()[: len(png.getvalue()) // 2]
    refused(client.post("/backend/uploads", files={"file": ("a.png", cut, "image/png")}), "file")
    _nothing_kept(sessions, data_dir)
