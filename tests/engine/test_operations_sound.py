"""Operations keep their sources' sound under the frames they keep, and join new sound to it
at the seams; a silent source gets sound only where new frames are made."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cinegen
from cinegen.engine.sources import SourceSound
from cinegen.jobs.media import read_pixels, read_sound
from cinegen.media import audio
from cinegen.media.encode import read_audio
from cinegen.spec import parse_spec
from cinegen.spec_parts import InpaintItem

pytestmark = pytest.mark.slow  # renders

MODEL, FPS = "ltx-2-tiny-random", 24
SEAM = audio.CROSSFADE_S + 0.01  # seconds either side of a seam where the two may mix


class Files:
    """Media by path, as the CLI reads them: pixels and sound."""

    def __call__(self, item: InpaintItem) -> np.ndarray:
        return read_pixels(Path(item.generation_id or item.upload_id or ""))

    def sound(self, item: InpaintItem) -> SourceSound | None:
        return read_sound(Path(item.generation_id or item.upload_id or ""))


def make(engine, out: Path, **fields) -> Path:
    base = {"prompt": "a drum beats", "model": MODEL, "width": 128, "height": 64,
            "fps": FPS, "seed": 11, "preset": "turbo"}  # fmt: skip
    spec = parse_spec({**base, **fields})
    return cinegen.generate(spec, out=out, engine=engine, media=Files()).variants[0].video


def sound_of(path: Path) -> np.ndarray:
    found = read_audio(path)
    assert found is not None, f"{path.name} has no sound"
    return found[0]


def at(seconds: float) -> int:
    return round(seconds * audio.RATE)


def assert_kept(out: np.ndarray, source: np.ndarray, out_s: tuple[float, float], src_start: float):
    """``out`` over ``out_s`` is ``source`` from ``src_start`` on, within what a second AAC
    coding changes (20 dB under the sound at least)."""
    a, b = at(out_s[0]), at(out_s[1])
    got = out[:, a:b]
    want = source[:, at(src_start) : at(src_start) + (b - a)]
    error = np.sqrt(np.mean((got - want) ** 2))
    assert error < 0.1 * np.sqrt(np.mean(want**2)), (error, np.sqrt(np.mean(want**2)))


@pytest.fixture(scope="module")
def source(engine, tmp_path_factory) -> Path:
    return make(engine, tmp_path_factory.mktemp("src") / "source.mp4", n_frames=48)


def test_extend_keeps_the_source_s_sound_and_adds_new_sound_after(engine, source, tmp_path):
    out = make(engine, tmp_path / "e.mp4", operation="extend", n_frames=72,
               source={"generation_ids": [str(source)]})  # fmt: skip
    sound, original = sound_of(out), sound_of(source)
    assert sound.shape[1] == audio.samples_for(3.0)
    assert_kept(sound, original, (0.02, 2.0 - SEAM), 0.02)
    new = sound[:, at(2.0 + SEAM) :]
    assert np.sqrt(np.mean(new**2)) > 0.01  # the new frames have new sound


def test_loop_keeps_the_source_s_sound_and_bridges_it(engine, source, tmp_path):
    out = make(engine, tmp_path / "l.mp4", operation="loop", n_frames=60,
               source={"generation_ids": [str(source)]})  # fmt: skip
    sound, original = sound_of(out), sound_of(source)
    assert_kept(sound, original, (0.02, 2.0 - SEAM), 0.02)
    assert np.sqrt(np.mean(sound[:, at(2.0 + SEAM) : at(2.5 - 0.02)] ** 2)) > 0.01


def test_blend_keeps_each_source_s_sound_under_its_third(engine, source, tmp_path):
    other = make(engine, tmp_path / "other.mp4", n_frames=48, seed=12, prompt="a bell")
    out = make(engine, tmp_path / "b.mp4", operation="blend", n_frames=72,
               source={"generation_ids": [str(source), str(other)]})  # fmt: skip
    sound = sound_of(out)
    assert_kept(sound, sound_of(source), (0.02, 1.0 - SEAM), 0.02)  # A's first second
    assert_kept(sound, sound_of(other), (2.0 + SEAM, 2.98), 1.0 + SEAM)  # B's last second


def test_a_silent_source_gets_sound_only_where_new_frames_are_made(engine, tmp_path):
    silent = make(engine, tmp_path / "silent.mp4", n_frames=48, audio="off")
    out = make(engine, tmp_path / "e.mp4", operation="extend", n_frames=72,
               source={"generation_ids": [str(silent)]})  # fmt: skip
    sound = sound_of(out)
    # the kept frames stay silent, but for AAC's pre-echo of the onset (~0.11 s measured)
    assert np.abs(sound[:, : at(2.0 - 0.15)]).max() < 1e-3
    assert np.sqrt(np.mean(sound[:, at(2.0 + SEAM) :] ** 2)) > 0.01


def camera_clip(path: Path) -> Path:
    """A camera's kind of file: MOV, 2 s at 24 fps, mono 44.1 kHz 16-bit PCM (a 440 Hz tone)."""
    import av

    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(88_200) / 44_100) * 32767).astype(np.int16)
    with av.open(str(path), "w", format="mov") as container:
        video = container.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 128, 64, "yuv420p"
        sound = container.add_stream("pcm_s16le", rate=44_100)
        sound.layout = "mono"
        for i in range(48):
            frame = av.VideoFrame.from_ndarray(np.full((64, 128, 3), 5 * i, np.uint8), "rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        for k in range(0, len(tone), 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, k : k + 1024].copy(), "s16", "mono")
            chunk.sample_rate, chunk.pts = 44_100, k
            container.mux(sound.encode(chunk))
        container.mux(sound.encode(None))
        container.mux(video.encode(None))
    return path


def test_an_uploaded_video_keeps_its_own_sound_resampled_and_levelled(engine, tmp_path):
    clip = camera_clip(tmp_path / "camera.mov")  # a loud tone: -8 LUFS
    out = make(engine, tmp_path / "e.mp4", operation="extend", n_frames=72,
               source={"generation_ids": [str(clip)]})  # fmt: skip
    sound = sound_of(out)
    tone = read_audio(clip)[0]
    gain = 10 ** ((audio.TARGET_LUFS - audio.loudness(audio.to_stereo(tone), 44_100)) / 20)
    expected = audio.fit(tone * gain, 44_100, audio.samples_for(2.0))  # in both ears
    assert_kept(sound, expected, (0.02, 2.0 - SEAM), 0.02)  # the same sound, turned down
    assert abs(audio.measure(sound).lufs - audio.TARGET_LUFS) <= 1.0


def test_the_embedded_model_s_soundtrack_hears_each_rendered_piece(engine, tmp_path):
    """cinegen-tiny renders one motion per window; its soundtrack hears the new window alone,
    and the kept source keeps the sound it had."""
    tiny = {"model": "cinegen-tiny", "width": 64, "height": 64, "seed": 3}
    prompt = "a red circle bouncing over the ocean"
    source = make(engine, tmp_path / "s.mp4", prompt=prompt, n_frames=48, **tiny)
    out = make(engine, tmp_path / "e.mp4", prompt=prompt, operation="extend", n_frames=96,
               source={"generation_ids": [str(source)]}, **tiny)  # fmt: skip
    sound = sound_of(out)
    assert_kept(sound, sound_of(source), (0.02, 2.0 - SEAM), 0.02)
    assert np.sqrt(np.mean(sound[:, at(2.0 + SEAM) :] ** 2)) > 0.01


TINY = {"model": "cinegen-tiny", "width": 64, "height": 64, "seed": 3}
RED_BALL = "a red circle bouncing over the ocean"
# Everything the red ball is not, in words cinegen-tiny knows (its prompt reader drops a
# background its world lacks, such as a desert, and the model then picks one).
BLUE_BOX = "a blue square sliding left over the grass"


@pytest.fixture(scope="module")
def tiny_source(engine, tmp_path_factory) -> Path:
    """2 s of cinegen-tiny with its sound: a red ball bouncing, knocks at each contact."""
    out = tmp_path_factory.mktemp("tiny") / "source.mp4"
    return make(engine, out, prompt=RED_BALL, n_frames=48, **TINY)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(a.shape[1], b.shape[1])
    a, b = a[:, :n].ravel(), b[:, :n].ravel()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def test_recut_keeps_the_picked_frames_sound_where_they_stay(engine, tiny_source, tmp_path):
    out = make(engine, tmp_path / "r.mp4", prompt=RED_BALL, operation="recut", n_frames=72,
               source={"generation_ids": [str(tiny_source)], "start_frame": 12,
                       "end_frame": 35}, **TINY)  # fmt: skip
    sound = sound_of(out)
    assert sound.shape[1] == audio.samples_for(3.0)
    # source frames 12..35 stay at 12..35 (0.5 s..1.5 s) and sound as they did there
    assert_kept(sound, sound_of(tiny_source), (0.5 + SEAM, 1.5 - SEAM), 0.5 + SEAM)
    assert np.sqrt(np.mean(sound[:, at(1.5 + SEAM) :] ** 2)) > 0.01  # new frames, new sound


def test_inpaint_keeps_the_sound_of_the_frames_it_keeps_and_sounds_the_new_ones(
    engine, tiny_source, tmp_path
):
    # Another seed than the source's: the embedded model keeps the held ball's colour in what
    # it paints on (so its voice), and one seed draws one waveform for one picture.
    out = make(engine, tmp_path / "i.mp4", prompt=BLUE_BOX, operation="inpaint", n_frames=48,
               source={"generation_ids": [str(tiny_source)], "start_frame": 24},
               **{**TINY, "seed": 4})  # fmt: skip
    sound, original = sound_of(out), sound_of(tiny_source)
    assert_kept(sound, original, (0.02, 1.0 - SEAM), 0.02)  # frames 0..23 are the source's
    # frames 24..47 are painted anew: their own sound, not the red ball's carried on
    new, old = sound[:, at(1.0 + SEAM) :], original[:, at(1.0 + SEAM) :]
    assert np.sqrt(np.mean(new**2)) > 0.01
    assert np.sqrt(np.mean((new - old) ** 2)) > 0.5 * np.sqrt(np.mean(old**2))


def test_inpainting_a_region_keeps_the_whole_sound(engine, tiny_source, tmp_path):
    """Most of every frame stays: so does all of the sound."""
    out = make(engine, tmp_path / "i.mp4", prompt=BLUE_BOX, operation="inpaint", n_frames=48,
               source={"generation_ids": [str(tiny_source)],
                       "region": [0.0, 0.0, 0.25, 0.25]}, **TINY)  # fmt: skip
    assert_kept(sound_of(out), sound_of(tiny_source), (0.02, 1.98), 0.02)


def test_a_remix_keeps_as_much_of_its_source_s_sound_as_of_its_picture(engine, tmp_path):
    """A camera clip's 440 Hz tone, a sound cinegen-tiny never makes: a light remix keeps
    most of it under the new sound, a heavy one little."""
    clip = camera_clip(tmp_path / "camera.mov")
    tone = audio.fit(audio.to_stereo(read_audio(clip)[0]), 44_100, audio.samples_for(2.0))

    def remixed(strength: float) -> float:
        out = make(engine, tmp_path / f"{strength}.mp4", prompt=BLUE_BOX, operation="remix",
                   n_frames=48, source={"generation_ids": [str(clip)], "strength": strength},
                   **TINY)  # fmt: skip
        return correlation(sound_of(out), tone)

    light, heavy = remixed(0.25), remixed(0.95)
    assert light > 0.8, light  # three quarters of the mix is the tone
    assert heavy < 0.5 * light, (heavy, light)
