"""The official `openai` SDK, unmodified, against a real cinegen server on loopback."""

from __future__ import annotations

import io

import httpx
import numpy as np
import openai
import pytest
from PIL import Image

from cinegen.media.encode import probe, read_frames
from cinegen.models.tiny.analyse import analyse
from cinegen.models.tiny.vocab import Color, Motion

pytestmark = pytest.mark.slow  # the official SDK against a live server that renders

SMALL = {"size": "160x96", "seconds": "2", "extra_body": {"seed": 1}}


@pytest.fixture(scope="module")
def client(service) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{service.url}/v1", api_key=service.key("sdk"), max_retries=0)


def test_create_and_poll_then_download_every_variant(client, tmp_path):
    video = client.videos.create_and_poll(
        prompt="a red circle moving left over the ocean", model="sora-2", poll_interval_ms=100,
        **SMALL,
    )  # fmt: skip
    assert video.status == "completed" and video.progress == 100, video.error
    assert (video.size, video.seconds, video.model) == ("160x96", "2", "sora-2")
    assert video.completed_at >= video.created_at and video.expires_at > video.completed_at
    assert video.error is None and video.remixed_from_video_id is None

    path = tmp_path / "video.mp4"
    client.videos.download_content(video.id).write_to_file(path)
    info = probe(path)
    assert (info.width, info.height, info.n_frames) == (160, 96, 48)
    thumbnail = client.videos.download_content(video.id, variant="thumbnail").read()
    assert Image.open(io.BytesIO(thumbnail)).format == "WEBP"
    sprites = client.videos.download_content(video.id, variant="spritesheet").read()
    assert Image.open(io.BytesIO(sprites)).format == "JPEG"


def test_polls_are_told_when_to_come_back(client, service):
    created = client.videos.with_raw_response.create(prompt="a green star spinning", **SMALL)
    assert created.headers["openai-poll-after-ms"] == "100"
    video = created.parse()
    assert video.status in ("queued", "in_progress", "completed") and 0 <= video.progress <= 100
    done = client.videos.poll(video.id, poll_interval_ms=100)
    assert done.status == "completed"


def test_list_pages_with_a_cursor_and_delete_removes(client, service):
    fresh = openai.OpenAI(base_url=client.base_url, api_key=service.key("lister"), max_retries=0)
    ids = [fresh.videos.create(prompt=f"a blue square number {i}", **SMALL).id for i in range(3)]
    for video_id in ids:
        fresh.videos.poll(video_id, poll_interval_ms=100)
    first = fresh.videos.list(limit=2)
    assert [v.id for v in first.data] == ids[::-1][:2] and first.has_more
    rest = fresh.videos.list(limit=2, after=first.last_id)
    assert [v.id for v in rest.data] == ids[:1] and not rest.has_more
    assert [v.id for v in fresh.videos.list(order="asc")] == ids  # the SDK's auto-paging too

    deleted = fresh.videos.delete(ids[0])
    assert deleted.deleted and deleted.id == ids[0] and deleted.object == "video.deleted"
    with pytest.raises(openai.NotFoundError):
        fresh.videos.retrieve(ids[0])
    assert not (service.data_dir / "assets" / ids[0]).exists()


def test_another_accounts_video_does_not_exist_and_a_revoked_key_stops(client, service):
    video = client.videos.create(prompt="a white triangle falling", **SMALL)
    stranger = openai.OpenAI(base_url=client.base_url, api_key=service.key("other"), max_retries=0)
    videos = stranger.videos
    for call in (videos.retrieve, videos.delete, videos.download_content):
        with pytest.raises(openai.NotFoundError) as caught:
            call(video.id)
        assert caught.value.body["code"] == "not_found"
    nobody = openai.OpenAI(base_url=client.base_url, api_key="cg-made-up", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        nobody.videos.list()


def test_mistakes_are_named_in_the_openai_error_shape(client):
    cases = {
        "size": {"size": "big"},
        "seconds": {"seconds": "0"},
        "model": {"model": "sora-9"},
    }
    for param, change in cases.items():
        with pytest.raises(openai.BadRequestError) as caught:
            client.videos.create(prompt="a pink circle", **{**SMALL, **change})
        error = caught.value.body
        assert error["param"] == param and error["type"] == "invalid_request_error", error
        assert error["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        client.videos.create(prompt="x", **{**SMALL, "extra_body": {"colour": "red"}})
    assert caught.value.body["param"] == "colour"


TINY = {"size": "96x96", "seconds": "2", "model": "cinegen-tiny"}
RIGHT = "a red circle moving right in a grey studio"


@pytest.fixture(scope="module")
def red_circle(client) -> openai.types.Video:
    """A finished cinegen-tiny video to remix, edit and extend."""
    video = client.videos.create_and_poll(
        prompt=RIGHT, poll_interval_ms=100, extra_body={"seed": 1}, **TINY
    )
    assert video.status == "completed", video.error
    return video


def _frames(client, video_id: str, folder) -> np.ndarray:
    path = folder / f"{video_id}.mp4"
    client.videos.download_content(video_id).write_to_file(path)
    return read_frames(path)


def test_a_subtle_remix_recolours_and_keeps_the_motion(client, red_circle, tmp_path):
    remix = client.videos.remix(
        red_circle.id, prompt="a blue circle moving right in a grey studio",
        extra_body={"strength": "subtle", "seed": 2},
    )  # fmt: skip
    assert remix.remixed_from_video_id == red_circle.id
    done = client.videos.poll(remix.id, poll_interval_ms=100)
    assert done.status == "completed", done.error
    assert (done.size, done.seconds, done.model) == (red_circle.size, "2", "cinegen-tiny")
    (circle,) = analyse(_frames(client, remix.id, tmp_path)).objects
    assert circle.color is Color.BLUE and circle.motion is Motion.RIGHT


def test_an_extension_keeps_the_video_and_adds_seconds(client, red_circle, tmp_path):
    source = _frames(client, red_circle.id, tmp_path)
    # SDK 3.54's extend() refuses its own {"id"} form (it only sends files), so as JSON:
    extended = client.post(
        "/videos/extensions", cast_to=openai.types.Video,
        body={"prompt": RIGHT, "seconds": "2", "video": {"id": red_circle.id}, "seed": 3},
    )  # fmt: skip
    assert extended.seconds == "4"  # the stitched whole
    done = client.videos.poll(extended.id, poll_interval_ms=100)
    assert done.status == "completed", done.error
    frames = _frames(client, extended.id, tmp_path)
    assert len(frames) == 2 * len(source)
    kept = np.abs(frames[: len(source)].astype(int) - source).mean()
    assert kept < 4  # the source, re-encoded once more
    x = [track[0] for track in analyse(frames[len(source) :]).objects[0].track]
    assert x[-1] > x[0]  # still moving right


def test_an_uploaded_file_can_be_edited(client, red_circle, tmp_path):
    path = tmp_path / "clip.mp4"
    client.videos.download_content(red_circle.id).write_to_file(path)
    edit = client.videos.edit(
        prompt="a yellow circle moving right in a grey studio",
        video=("clip.mp4", path.read_bytes(), "video/mp4"),
        extra_body={"model": "cinegen-tiny", "strength": "subtle", "seed": 4},
    )
    assert edit.remixed_from_video_id is None
    done = client.videos.poll(edit.id, poll_interval_ms=100)
    assert done.status == "completed", done.error
    assert (done.size, done.seconds) == ("96x96", "2")
    (circle,) = analyse(_frames(client, edit.id, tmp_path)).objects
    assert circle.color is Color.YELLOW and circle.motion is Motion.RIGHT


def test_operation_mistakes_are_named_and_keep_no_file(client, service, red_circle):
    uploads = service.data_dir / "uploads"
    before = set(uploads.iterdir()) if uploads.exists() else set()
    clip = ("clip.mp4", client.videos.download_content(red_circle.id).read(), "video/mp4")
    not_a_video = ("clip.mp4", b"not really a video", "video/mp4")
    with pytest.raises(openai.BadRequestError) as caught:
        client.videos.edit(prompt="purple", video=not_a_video)
    assert caught.value.body["param"] == "video" and "video" in caught.value.body["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        client.videos.extend(prompt="on", seconds="-1", video=clip)  # type: ignore[arg-type]
    assert caught.value.body["param"] == "seconds"
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/videos/edits", cast_to=openai.types.Video, body={"prompt": "purple"})
    assert caught.value.body["param"] == "video"
    with pytest.raises(openai.BadRequestError) as caught:  # wan-tiny-random cannot remix
        client.videos.remix(red_circle.id, prompt="x", extra_body={"model": "wan-tiny-random"})
    assert caught.value.body["param"] == "model" and "cinegen-tiny" in caught.value.body["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        client.videos.remix(red_circle.id, prompt="x", extra_body={"strength": "wild"})
    assert caught.value.body["param"] == "strength" and "subtle" in caught.value.body["message"]
    with pytest.raises(openai.BadRequestError) as caught:  # refused after the upload
        client.videos.edit(prompt="x", video=clip, extra_body={"model": "wan-tiny-random"})
    assert caught.value.body["param"] == "model"
    stranger = openai.OpenAI(base_url=client.base_url, api_key=service.key("x"), max_retries=0)
    with pytest.raises(openai.NotFoundError):
        stranger.videos.remix(red_circle.id, prompt="mine now")
    assert (set(uploads.iterdir()) if uploads.exists() else set()) == before


def test_a_character_keeps_its_look_in_new_scenes(client, service, red_circle, tmp_path):
    clip = client.videos.download_content(red_circle.id).read()
    hero = client.videos.create_character(name="hero", video=("hero.mp4", clip, "video/mp4"))
    assert hero.name == "hero" and hero.id.startswith("char_") and hero.created_at > 0
    assert client.videos.get_character(hero.id).model_extra["description"] == "a red circle"

    video = client.videos.create_and_poll(
        prompt="@hero moving up over the ocean", poll_interval_ms=100, extra_body={"seed": 5},
        **TINY,
    )  # fmt: skip
    assert video.status == "completed" and video.prompt == "@hero moving up over the ocean"
    sora = httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {client.api_key}"})
    created = sora.post("/backend/video_gen", json={
        "prompt": f"@{hero.id} moving down in a desert", "model": "cinegen-tiny", "width": 96,
        "height": 96, "n_frames": 48, "seed": 6})  # fmt: skip
    assert created.status_code == 200, created.text
    other = client.videos.poll(created.json()["id"], poll_interval_ms=100)
    assert other.status == "completed", other.error
    # The prompts name no colour: the red is the character's. (At 96 px cinegen-tiny draws
    # circles that read as squares about half the time, so the shape is not checked.)
    for scene, motion in ((video, Motion.UP), (other, Motion.DOWN)):
        (subject,) = analyse(_frames(client, scene.id, tmp_path)).objects
        assert (subject.color, subject.motion) == (Color.RED, motion)


def test_character_mistakes_are_named(client, service, red_circle):
    clip = ("hero.mp4", client.videos.download_content(red_circle.id).read(), "video/mp4")
    grey = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(grey, format="PNG")
    uploads = service.data_dir / "uploads"
    before = set(uploads.iterdir())
    cases = {
        "name": lambda: client.videos.create_character(name="Ada Lovelace", video=clip),
        "description": lambda: client.videos.create_character(
            name="wall", video=("wall.png", grey.getvalue(), "image/png")
        ),
        "prompt": lambda: client.videos.create(prompt="@nobody waves", **TINY),
    }
    for param, call in cases.items():
        with pytest.raises(openai.BadRequestError) as caught:
            call()
        assert caught.value.body["param"] == param, caught.value.body
    assert set(uploads.iterdir()) == before  # nothing kept from a refused character
    client.videos.create_character(name="twin", video=clip)
    with pytest.raises(openai.ConflictError) as caught:
        client.videos.create_character(name="twin", video=clip)
    assert caught.value.body["code"] == "name_taken"
    described = client.videos.create_character(
        name="wall", video=("wall.png", grey.getvalue(), "image/png"),
        extra_body={"description": "a grey brick wall"},
    )  # fmt: skip
    assert described.model_extra["description"] == "a grey brick wall"
    stranger = openai.OpenAI(base_url=client.base_url, api_key=service.key("y"), max_retries=0)
    with pytest.raises(openai.NotFoundError):
        stranger.videos.get_character(described.id)
    with pytest.raises(openai.BadRequestError) as caught:  # another account's character
        stranger.videos.create(prompt="@twin waves", **TINY)
    assert caught.value.body["param"] == "prompt" and "@twin" in caught.value.body["message"]


def test_only_a_completed_video_can_be_a_source(client, service, monkeypatch):
    from cinegen.safety import output

    class Flagging:  # NudeNet's stand-in: the video made is withheld, its task fails
        def detect(self, image: bytes) -> list[dict]:
            return [{"class": "BUTTOCKS_EXPOSED", "score": 0.9, "box": [0, 0, 9, 9]}]

    monkeypatch.setattr(output, "_detector", lambda: Flagging())
    created = client.videos.create(prompt=RIGHT, model="wan-tiny-random", **SMALL)
    failed = client.videos.poll(created.id, poll_interval_ms=100)
    assert failed.status == "failed" and failed.error.code == "content_policy_violation"
    with pytest.raises(openai.ConflictError) as caught:
        client.videos.remix(failed.id, prompt="try again")
    assert caught.value.body["code"] == "not_ready" and "failed" in caught.value.body["message"]


def test_an_image_reference_becomes_the_first_frame(client, service, tmp_path):
    image = np.zeros((96, 160, 3), np.uint8)
    image[:, :80] = (230, 30, 30)
    image[:, 80:] = (30, 30, 230)
    png = io.BytesIO()
    Image.fromarray(image).save(png, format="PNG")
    # A fixed seed: cinegen-tiny turns the wall into two big blobs side by side, which
    # NudeNet reads as "BUTTOCKS_EXPOSED" above the threshold for some seeds (output
    # moderation would then withhold the video; README, output moderation).
    video = client.videos.create_and_poll(
        prompt="a red and blue wall", model="cinegen-tiny", poll_interval_ms=100,
        input_reference=("wall.png", png.getvalue(), "image/png"),
        **{**SMALL, "extra_body": {"seed": 0}},
    )  # fmt: skip
    assert video.status == "completed", video.error
    path = tmp_path / "v.mp4"
    client.videos.download_content(video.id).write_to_file(path)
    from cinegen.media.encode import read_frames

    first = read_frames(path)[0].astype(int)
    assert first[40:60, 10:60, 0].mean() > first[40:60, 10:60, 2].mean() + 80  # red left
    assert first[40:60, 100:150, 2].mean() > first[40:60, 100:150, 0].mean() + 80  # blue right


def test_a_retried_create_with_the_same_idempotency_key_is_one_video(client):
    headers = {"Idempotency-Key": "retry-1"}
    a = client.videos.create(prompt="a red star rising", extra_headers=headers, **SMALL)
    b = client.videos.create(prompt="a red star rising", extra_headers=headers, **SMALL)
    assert a.id == b.id
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.videos.create(prompt="a blue star falling", extra_headers=headers, **SMALL)
    error = caught.value.body
    assert error["code"] == "idempotency_key_reused" and error["param"] == "Idempotency-Key"
    assert a.id in error["message"]


def test_a_retried_upload_keeps_one_image(client, service):
    png = io.BytesIO()
    Image.fromarray(np.full((96, 160, 3), 200, np.uint8)).save(png, format="PNG")
    uploads = service.data_dir / "uploads"
    before = set(uploads.iterdir()) if uploads.exists() else set()
    other = io.BytesIO()
    Image.fromarray(np.zeros((96, 160, 3), np.uint8)).save(other, format="PNG")

    def create(image: bytes) -> str:
        return client.videos.create(
            prompt="a grey wall", model="cinegen-tiny", extra_headers={"Idempotency-Key": "up"},
            input_reference=("wall.png", image, "image/png"), **SMALL,
        ).id  # fmt: skip

    assert create(png.getvalue()) == create(png.getvalue())
    assert len(set(uploads.iterdir()) - before) == 1
    with pytest.raises(openai.UnprocessableEntityError):
        create(other.getvalue())
    assert len(set(uploads.iterdir()) - before) == 1


def _png(colour: tuple[int, int, int]) -> bytes:
    png = io.BytesIO()
    Image.fromarray(np.full((96, 96, 3), colour, np.uint8)).save(png, format="PNG")
    return png.getvalue()


def test_reference_images_reach_a_model_that_takes_them(client, service, red_circle):
    """Upload ids and completed videos' ids, in JSON and in a multipart body; refused by
    name on a model without reference images, past three, and for an unknown video."""
    key = {"Authorization": f"Bearer {client.api_key}"}
    upload = httpx.post(
        f"{service.url}/backend/uploads", headers=key,
        files={"file": ("green.png", _png((30, 220, 30)), "image/png")},
    ).json()["id"]  # fmt: skip
    vace = {**TINY, "model": "wan-vace-tiny-random"}
    video = client.videos.create_and_poll(
        prompt="a ball", poll_interval_ms=100, **vace,
        extra_body={"seed": 1, "reference_images": [upload, red_circle.id]},
    )  # fmt: skip
    assert video.status == "completed", video.error
    form = httpx.post(
        f"{service.url}/v1/videos", headers=key,
        data={"prompt": "a ball", **vace, "seed": "1", "reference_images[]": [upload]},
        files={"input_reference": ("red.png", _png((220, 30, 30)), "image/png")},
    )  # fmt: skip
    assert form.status_code == 200, form.text
    assert client.videos.poll(form.json()["id"], poll_interval_ms=100).status == "completed"
    refusals = [
        ({**TINY, "extra_body": {"reference_images": [upload]}}, "model", "wan-vace"),
        ({**vace, "extra_body": {"reference_images": [upload] * 4}}, "reference_images", "up to 3"),
        ({**vace, "extra_body": {"reference_images": ["video_nope"]}}, "reference_images", "nope"),
    ]
    for fields, param, words in refusals:
        with pytest.raises(openai.BadRequestError) as caught:
            client.videos.create(prompt="a ball", **fields)
        assert caught.value.body["param"] == param and words in caught.value.body["message"]
