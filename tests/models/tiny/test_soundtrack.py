"""The shipped sound network on held-out pictures, delivered as the engine delivers them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cinegen.config import Settings
from cinegen.engine.backends.base import load_soundtrack
from cinegen.engine.backends.cinegen_tiny_sound import CinegenTinySoundtrack
from cinegen.errors import ModelLoadError
from cinegen.media.resample import resample_video
from cinegen.models.tiny import audionet, sound
from cinegen.models.tiny.hear import hear
from cinegen.models.tiny.scene import ObjectSpec, Scene
from cinegen.models.tiny.soundtrack import TinySoundtrack
from cinegen.models.tiny.toyworld import is_heldout, render_clip
from cinegen.models.tiny.vocab import Background, Color, Motion, Shape
from cinegen.registry import CINEGEN_TINY

# Square+bouncing and red+star are pairs the training split never shows.
BOUNCING_SQUARE = Scene(
    Background.OCEAN, (ObjectSpec(Color.YELLOW, Shape.SQUARE, Motion.BOUNCING, 0.36, 0.4, 0.55),)
)
RED_STAR_RIGHT = Scene(
    Background.GRASS, (ObjectSpec(Color.RED, Shape.STAR, Motion.RIGHT, 0.34, 0.5, 0.4),)
)


@pytest.fixture(scope="module")
def soundtrack() -> CinegenTinySoundtrack:
    return CinegenTinySoundtrack(TinySoundtrack())


def delivered(scene: Scene, n_frames: int, width: int, height: int) -> np.ndarray:
    return resample_video(render_clip(scene).astype(np.float32) / 255, n_frames, width, height)


@pytest.mark.parametrize("n_frames, fps", [(120, 24), (48, 16)])
def test_a_held_out_bounce_sounds_its_colour_with_knocks_on_the_contacts(soundtrack, n_frames, fps):
    assert is_heldout(BOUNCING_SQUARE)
    frames = delivered(BOUNCING_SQUARE, n_frames, 854, 480)
    made = soundtrack(frames, fps=fps, prompt="a yellow box hopping over the sea", seed=3)
    assert made.rate == sound.RATE
    assert made.samples.shape == (1, 2, round(n_frames / fps * sound.RATE))
    heard = hear(made.samples[0], made.rate, n_frames, fps)
    assert heard.color is Color.YELLOW
    contacts = [c * (n_frames - 1) for c in sound.CONTACTS]
    onsets = np.array(heard.onsets)
    assert all(np.abs(onsets - c).min() <= 1.0 for c in contacts), heard.onsets
    assert len(onsets) == 3


def test_a_held_out_move_pans_with_the_object(soundtrack):
    assert is_heldout(RED_STAR_RIGHT)
    frames = delivered(RED_STAR_RIGHT, 72, 640, 360)
    made = soundtrack(frames, fps=24, prompt="", seed=0)  # the picture alone decides
    heard = hear(made.samples[0], made.rate, 72, 24)
    assert heard.color is Color.RED and heard.onsets == [0.0]
    assert heard.pan[-8:].mean() - heard.pan[:8].mean() > 0.4


def test_the_registry_gives_cinegen_tiny_this_soundtrack(tmp_path):
    assert CINEGEN_TINY.makes_sound
    made = load_soundtrack(CINEGEN_TINY, Settings())
    record = json.loads((audionet.SHIPPED / audionet.RECORD_NAME).read_text())
    assert made.describe()["weights_sha256"] == record["sha256"]
    assert record["bytes"] <= audionet.MAX_BYTES and record["command"].startswith("cinegen")
    retrained = Settings(model_paths={"cinegen-tiny-audio": tmp_path})
    with pytest.raises(ModelLoadError, match="train-tiny-audio"):
        load_soundtrack(CINEGEN_TINY, retrained)
