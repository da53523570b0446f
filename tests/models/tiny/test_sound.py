"""The sound design, its synthesiser and the ear: what is designed is heard back, also
after what delivery does to a file (48 kHz, another gain, AAC)."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from cinegen.models.tiny import sound
from cinegen.models.tiny.hear import hear
from cinegen.models.tiny.scene import ObjectSpec, Scene
from cinegen.models.tiny.vocab import Background, Color, Motion, Shape

SHAPES_BY_COLOR = {c: list(Shape)[i % len(Shape)] for i, c in enumerate(Color)}


def scene(color: Color, shape: Shape, motion: Motion) -> Scene:
    return Scene(Background.STUDIO, (ObjectSpec(color, shape, motion, 0.36, 0.5, 0.5),))


def through_aac(samples: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """To 48 kHz at a tenth of the level, AAC in an MP4, and decoded again (PyAV)."""
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48_000)
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples), format="fltp", layout="stereo"
    )
    frame.sample_rate, frame.pts = rate, 0
    x = np.concatenate(
        [f.to_ndarray() for f in (*resampler.resample(frame), *resampler.resample(None))], axis=1
    )
    x = np.ascontiguousarray(x / np.abs(x).max() * 0.1)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=48_000, layout="stereo")
        for i in range(0, x.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(x[:, i : i + 1024], format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 48_000, i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    buffer.seek(0)
    with av.open(buffer) as container:
        decoded = [f.to_ndarray() for f in container.decode(audio=0)]
    return np.concatenate(decoded, axis=1), 48_000


def test_design_puts_knocks_on_the_contacts_and_pan_on_x():
    controls = sound.design(scene(Color.RED, Shape.CIRCLE, Motion.BOUNCING))
    red = sound.COLORS.index(Color.RED)
    assert np.allclose(sound.knock_times(controls.knock[red]), sound.CONTACTS, atol=1e-3)
    assert controls.amplitude[np.arange(sound.VOICES) != red].max() == 0
    moving = sound.design(scene(Color.BLUE, Shape.STAR, Motion.RIGHT))
    pan = moving.pan[sound.COLORS.index(Color.BLUE)]
    assert pan[0] < -0.4 and pan[-1] > 0.4 and np.all(np.diff(pan) > 0)


@pytest.mark.parametrize("n_frames, fps", [(16, 8), (120, 24), (150, 30)])
@pytest.mark.parametrize("coded", [False, True], ids=["samples", "aac"])
def test_a_bounce_is_heard_in_its_colour_with_knocks_on_the_contact_frames(n_frames, fps, coded):
    samples = sound.synthesise(
        sound.design(scene(Color.GREEN, Shape.TRIANGLE, Motion.BOUNCING)),
        n_frames=n_frames,
        fps=fps,
        seed=1,
    )
    assert samples.shape == (2, round(n_frames / fps * sound.RATE))
    rate = sound.RATE
    if coded:
        samples, rate = through_aac(samples, rate)
    heard = hear(samples, rate, n_frames, fps)
    assert heard.colors == [Color.GREEN]
    contacts = [c * (n_frames - 1) for c in sound.CONTACTS]
    assert len(heard.onsets) == 3
    assert np.all(np.abs(np.array(heard.onsets) - contacts) <= 1.0), heard.onsets


@pytest.mark.parametrize("color", list(Color))
def test_every_colour_is_its_own_pitch_class_after_aac(color):
    shape = SHAPES_BY_COLOR[color]
    samples = sound.synthesise(
        sound.design(scene(color, shape, Motion.GROWING)), n_frames=48, fps=24, seed=2
    )
    heard = hear(*through_aac(samples, sound.RATE), 48, 24)
    assert heard.color is color and heard.frame_colors.count(color) >= 40
    assert heard.onsets == [0.0]  # a steady tone, however bright, knocks nowhere
    assert heard.loudness[-1] > heard.loudness[0] + 4  # grows: louder by the diameter


def test_the_pan_follows_a_left_move_after_aac():
    samples = sound.synthesise(
        sound.design(scene(Color.WHITE, Shape.STAR, Motion.LEFT)), n_frames=72, fps=24, seed=3
    )
    heard = hear(*through_aac(samples, sound.RATE), 72, 24)
    assert heard.pan[0] > 0.3 and heard.pan[-1] < -0.3
    assert np.corrcoef(heard.pan, np.arange(72))[0, 1] < -0.95
    assert heard.onsets == [0.0]  # only the sound's start: no knocks without a bounce


def test_two_objects_are_two_voices():
    # Red and purple: C and A. A second voice a fifth or a major third from the first is not
    # told from the first's partials (hear._clip_colors).
    two = Scene(
        Background.NIGHT,
        (
            ObjectSpec(Color.RED, Shape.CIRCLE, Motion.LEFT, 0.3, 0.7, 0.3),
            ObjectSpec(Color.PURPLE, Shape.SQUARE, Motion.RIGHT, 0.3, 0.3, 0.7),
        ),
    )
    samples = sound.synthesise(sound.design(two), n_frames=32, fps=16, seed=4)
    assert set(hear(samples, sound.RATE, 32, 16).colors) == {Color.RED, Color.PURPLE}


def test_one_seed_one_waveform():
    controls = sound.design(scene(Color.PINK, Shape.STAR, Motion.BOUNCING))
    a, b, c = (sound.synthesise(controls, n_frames=16, fps=8, seed=s) for s in (5, 5, 6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
