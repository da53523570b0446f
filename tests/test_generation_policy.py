"""cinegen.generate() holds a request to the server's content policy, from the same settings:
its words, the pictures it starts from, and what the model made (models that can draw people).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import cinegen
from cinegen.config import MODERATION_CATEGORIES, Settings
from cinegen.engine.engine import Engine
from cinegen.media.encode import encode_mp4, read_frames
from cinegen.safety import output
from cinegen.safety.moderation import ContentPolicyViolation
from cinegen.spec import parse_spec
from cinegen.spec_parts import InpaintItem

pytestmark = pytest.mark.slow  # renders

PUBLIC_FIGURE = "Taylor Swift singing on stage at a concert"


class Flagging:
    """NudeNet's stand-in (the suite ships no picture it would flag): exposed, everywhere."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: bytes) -> list[dict]:
        self.calls += 1
        return [{"class": "BUTTOCKS_EXPOSED", "score": 0.9, "box": [0, 0, 9, 9]}]


def spec(**fields):
    base = {"prompt": "a red circle moving right over the ocean", "width": 96, "height": 96,
            "n_frames": 16, "fps": 8, "seed": 3, "model": "wan-tiny-random"}  # fmt: skip
    return parse_spec({**base, **fields})


def files(path: InpaintItem) -> np.ndarray:
    """The CLI's way with media: ids are paths of pictures and clips."""
    name = path.upload_id or path.generation_id or ""
    if name.endswith(".mp4"):
        return read_frames(name)
    with Image.open(name) as picture:
        return np.asarray(picture.convert("RGB"))[None]


def engine_with(engine: Engine, tmp_path, **settings) -> Engine:
    """The session's loaded models under other settings (and a data folder of the test's)."""
    fresh = Engine(engine.settings.model_copy(update={"data_dir": tmp_path / "data", **settings}))
    fresh._loaded = engine._loaded
    return fresh


def test_a_refused_prompt_loads_nothing_and_writes_nothing(tmp_path):
    fresh = Engine(Settings(data_dir=tmp_path / "data"))
    with pytest.raises(ContentPolicyViolation) as refused:
        cinegen.generate(spec(prompt=PUBLIC_FIGURE), out=tmp_path / "new" / "clip.mp4",
                         engine=fresh)  # fmt: skip
    assert refused.value.field == "prompt" and refused.value.result.reasons == ["public-figures"]
    assert fresh._loaded == {} and not (tmp_path / "new").exists()


def test_an_operator_turns_a_category_off_for_the_python_api_too(engine, tmp_path):
    others = [c for c in MODERATION_CATEGORIES if c != "public-figures"]
    allowed = engine_with(engine, tmp_path, moderation_categories=others)
    result = cinegen.generate(spec(prompt=PUBLIC_FIGURE), out=tmp_path / "out", engine=allowed)
    assert read_frames(result.variants[0].video).shape == (16, 96, 96, 3)


def test_a_withheld_video_leaves_no_file_and_no_folder_it_made(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(output, "_detector", lambda: Flagging())
    out = tmp_path / "renders" / "today" / "clip.mp4"
    with pytest.raises(ContentPolicyViolation) as withheld:
        cinegen.generate(spec(n_variants=2), out=out, engine=engine_with(engine, tmp_path))
    assert withheld.value.is_output_rejection
    assert not (tmp_path / "renders").exists()


def test_the_embedded_model_s_output_is_not_searched_for_people(tmp_path, monkeypatch):
    """Its world is shapes over five backgrounds: the detector, which reads its soft blobs as
    skin, is not asked. A people-capable model's output is (the test above)."""
    detector = Flagging()
    monkeypatch.setattr(output, "_detector", lambda: detector)
    tiny = Engine(Settings(data_dir=tmp_path / "data", default_model="cinegen-tiny"))
    result = cinegen.generate(spec(model="cinegen-tiny"), out=tmp_path / "out", engine=tiny)
    assert result.variants[0].video.is_file() and detector.calls == 0


def test_a_given_picture_is_checked_before_the_model_loads(tmp_path, monkeypatch):
    picture = tmp_path / "wall.png"
    Image.fromarray(np.full((96, 96, 3), 200, np.uint8)).save(picture)
    image = {"type": "image", "upload_id": str(picture)}
    monkeypatch.setattr(output, "_detector", lambda: Flagging())
    fresh = Engine(Settings(data_dir=tmp_path / "data"))
    with pytest.raises(ContentPolicyViolation) as refused:
        cinegen.generate(spec(model="cinegen-tiny", inpaint_items=[image]),
                         out=tmp_path / "out", engine=fresh, media=files)  # fmt: skip
    assert refused.value.field == "image" and not refused.value.is_output_rejection
    assert fresh._loaded == {} and not (tmp_path / "out").exists()


def test_a_clip_this_server_signed_passes_unchecked_and_a_copy_is_checked(
    engine, tmp_path, monkeypatch
):
    """``cinegen remix clip.mp4`` on one's own video: its signed file passed when it was made.
    The same frames in a file it did not sign are held to the policy like any upload."""
    ours = engine_with(engine, tmp_path)
    made = cinegen.generate(spec(model="cinegen-tiny"), out=tmp_path / "clip.mp4", engine=ours)
    clip = made.variants[0].video
    copy = encode_mp4(read_frames(clip), tmp_path / "copy.mp4", 8)
    detector = Flagging()
    monkeypatch.setattr(output, "_detector", lambda: detector)

    def remix(source):
        return spec(model="cinegen-tiny", operation="remix", prompt="a blue circle",
                    source={"generation_ids": [str(source)], "strength": "subtle"})  # fmt: skip

    result = cinegen.generate(remix(clip), out=tmp_path / "remix.mp4", engine=ours, media=files)
    assert result.variants[0].video.is_file() and detector.calls == 0
    with pytest.raises(ContentPolicyViolation) as refused:
        cinegen.generate(remix(copy), out=tmp_path / "again.mp4", engine=ours, media=files)
    assert refused.value.field == "video" and detector.calls == output.SAMPLES
    assert not (tmp_path / "again.mp4").exists()
