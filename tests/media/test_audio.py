"""media/audio.py and the AAC track: what a listener and a player get from a video's sound."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest

from cinegen.media import audio, encode

RNG = np.random.default_rng(20)


def tone(freq: float, seconds: float, rate: int = audio.RATE, level: float = 0.1) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)[None]  # (1, S)


def knocks(seconds: float, every_s: float = 0.5) -> np.ndarray:
    """A quiet hum with a loud 10 ms noise burst every ``every_s``: mostly peaks."""
    x = np.repeat(tone(110, seconds, level=0.02), 2, axis=0)
    burst = round(0.01 * audio.RATE)
    for start in range(0, x.shape[1] - burst, round(every_s * audio.RATE)):
        x[:, start : start + burst] += 0.9 * RNG.standard_normal((2, burst)).astype(np.float32)
    return x


def dominant_hz(x: np.ndarray, rate: int = audio.RATE) -> float:
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize(
    "sound",
    [tone(440, 3.0, level=0.005), tone(440, 3.0, level=0.9), knocks(4.0), tone(440, 0.2)],
    ids=["quiet tone", "loud tone", "knocks", "shorter than a gating block"],
)
def test_mastering_reaches_the_target_loudness_under_the_peak_ceiling(sound: np.ndarray) -> None:
    mastered, measured = audio.master(audio.to_stereo(sound))
    assert abs(measured.lufs - audio.TARGET_LUFS) <= 0.5
    assert measured.true_peak_dbtp <= audio.CEILING_DBTP
    assert audio.measure(mastered) == measured  # what the sidecar says is the file's own


def test_silence_stays_silent() -> None:
    mastered, measured = audio.master(audio.silence(48_000))
    assert not mastered.any()
    assert measured.to_json() == {"loudness_lufs": None, "true_peak_dbtp": None}


def test_a_file_neither_starts_nor_ends_with_a_click() -> None:
    mastered, _ = audio.master(np.repeat(tone(440, 1.0, level=0.5), 2, axis=0))
    edge = round(0.001 * audio.RATE)  # the first and last millisecond of a 10 ms fade
    assert np.abs(mastered[:, :edge]).max() < 0.05 * np.abs(mastered).max()
    assert np.abs(mastered[:, -edge:]).max() < 0.05 * np.abs(mastered).max()
    assert abs(mastered[:, 0]).max() < 1e-3 and abs(mastered[:, -1]).max() < 1e-3


def test_an_offset_is_removed_before_it_takes_the_headroom() -> None:
    offset = np.repeat(tone(440, 2.0, level=0.05) - 0.3, 2, axis=0)
    mastered, measured = audio.master(offset)
    middle = mastered[:, 24_000:72_000]
    assert abs(float(middle.mean())) < 1e-3
    assert abs(measured.lufs - audio.TARGET_LUFS) <= 0.5


def test_fit_resamples_a_model_rate_to_48_khz_without_moving_the_pitch() -> None:
    out = audio.fit(tone(1000, 2.0, rate=24_000), 24_000, 96_000)
    assert out.shape == (2, 96_000) and out.dtype == np.float32
    assert dominant_hz(out[0]) == pytest.approx(1000, abs=1)
    # polyphase, not linear: nothing folds back above the source's Nyquist or below it
    spectrum = np.abs(np.fft.rfft(out[0]))
    freqs = np.fft.rfftfreq(out.shape[1], 1 / audio.RATE)
    assert spectrum[np.abs(freqs - 1000) > 50].max() < 0.01 * spectrum.max()


def test_fit_stretches_a_slightly_longer_render_onto_the_video() -> None:
    # 121 frames at 24 fps (5.04 s) of sound for a 5 s video: stretched, not cut
    marker = np.zeros((1, round(5.04 * 24_000)), np.float32)
    marker[0, -2400:] = 0.5  # the render's last 0.1 s
    out = audio.fit(marker, 24_000, audio.samples_for(5.0))
    assert out.shape == (2, 240_000)
    assert np.abs(out[0, -2000:]).mean() > 0.4  # its end is still at the video's end


def test_mono_is_heard_in_both_ears_and_surround_folds_down() -> None:
    mono = tone(440, 0.1)
    assert np.array_equal(audio.to_stereo(mono)[0], audio.to_stereo(mono)[1])
    five = np.concatenate([tone(440, 0.1)] * 5)
    assert audio.to_stereo(five).shape == (2, mono.shape[1])


def test_joining_a_sound_to_its_own_continuation_changes_nothing() -> None:
    whole = np.repeat(tone(440, 2.0), 2, axis=0)
    n, seam = whole.shape[1], 48_000
    reach = 4_800  # each part has sound a little past its own range
    parts = [
        audio.Part(0, whole[:, : seam + reach], range(0, seam)),
        audio.Part(seam - reach, whole[:, seam - reach :], range(seam, n)),
    ]
    assert np.allclose(audio.join(parts, n), whole, atol=1e-5)


def test_a_seam_between_two_sounds_crossfades_without_a_jump() -> None:
    n, seam, reach = 96_000, 48_000, 4_800
    a = np.repeat(tone(300, 2.0, level=0.3), 2, axis=0)
    b = np.repeat(tone(700, 2.0, level=0.3), 2, axis=0)
    parts = [
        audio.Part(0, a[:, : seam + reach], range(0, seam)),
        audio.Part(seam - reach, b[:, seam - reach :], range(seam, n)),
    ]
    joined = audio.join(parts, n)
    fade = round(audio.CROSSFADE_S * audio.RATE / 2)
    assert np.array_equal(joined[:, : seam - fade], a[:, : seam - fade])  # exactly, up to it
    assert np.array_equal(joined[:, seam + fade :], b[:, seam + fade :])
    assert np.abs(np.diff(joined[0])).max() < 0.1  # no step anywhere: a click would be one


def test_a_sound_that_ends_at_its_seam_crossfades_before_it() -> None:
    # an extension: the source's sound stops at the seam; the new render reaches back
    n, seam, reach = 96_000, 48_000, 9_600
    a = np.repeat(tone(300, 2.0, level=0.3), 2, axis=0)
    b = np.repeat(tone(700, 2.0, level=0.3), 2, axis=0)
    parts = [
        audio.Part(0, a[:, :seam], range(0, seam)),
        audio.Part(seam - reach, b[:, seam - reach :], range(seam, n)),
    ]
    joined = audio.join(parts, n)
    width = round(audio.CROSSFADE_S * audio.RATE)
    assert np.array_equal(joined[:, : seam - width], a[:, : seam - width])
    assert np.array_equal(joined[:, seam:], b[:, seam:])  # the new sound, whole, from the seam
    assert np.abs(np.diff(joined[0])).max() < 0.1


def test_a_sound_beside_silence_fades_instead_of_clicking() -> None:
    loud = np.full((2, 4800), 0.5, np.float32)
    joined = audio.join([audio.Part(4800, loud, range(4800, 9600))], 14_400)
    assert not joined[:, :4800].any() and not joined[:, 9600:].any()
    assert np.abs(np.diff(joined[0])).max() < 0.01


def test_time_no_part_covers_is_silent() -> None:
    part = np.ones((2, 100), np.float32) * 0.5
    joined = audio.join([audio.Part(200, part, range(200, 300))], 400)
    assert not joined[:, :150].any() and not joined[:, 350:].any()


# --- the track in the file -----------------------------------------------------------------
@pytest.fixture(scope="module")
def with_sound(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    frames = np.zeros((60, 32, 48, 3), np.uint8)
    frames[:, :, :, 1] = np.linspace(0, 255, 60, dtype=np.uint8)[:, None, None]
    left, right = tone(440, 2.5), tone(660, 2.5)
    mastered, _ = audio.master(np.concatenate([left, right]))
    path = tmp_path_factory.mktemp("av") / "v.mp4"
    return encode.encode_mp4(frames, path, 24, audio=mastered), mastered


def test_the_mp4_carries_one_aac_track_as_long_as_the_video(with_sound) -> None:
    path, _ = with_sound
    with av.open(str(path)) as container:
        (track,) = container.streams.audio
        assert track.codec_context.name == "aac" and track.codec_context.profile == "LC"
        assert track.codec_context.sample_rate == 48_000 and track.codec_context.channels == 2
        video = container.streams.video[0]
        video_s = float(video.duration * video.time_base)
        audio_s = float(track.duration * track.time_base)
    assert abs(audio_s - video_s) <= 1024 / 48_000  # one AAC frame
    assert encode.is_faststart(path)
    assert encode.probe(path).n_frames == 60  # the picture is untouched


def test_the_decoded_sound_is_the_mastered_sound_in_time_and_loudness(with_sound) -> None:
    path, mastered = with_sound
    decoded, rate = encode.read_audio(path)
    assert rate == 48_000 and decoded.shape == mastered.shape
    # no delay: the encoder's priming is hidden by the edit list
    middle = slice(48_000, 52_800)
    lag = np.argmax(np.correlate(decoded[0, middle], mastered[0, 47_800:53_000], "valid")) - 200
    assert lag == 0
    assert dominant_hz(decoded[0]) == pytest.approx(440, abs=1)
    assert dominant_hz(decoded[1]) == pytest.approx(660, abs=1)  # channels kept apart
    measured = audio.measure(decoded)
    assert abs(measured.lufs - audio.TARGET_LUFS) <= 1.0
    assert measured.true_peak_dbtp <= audio.CEILING_DBTP


def test_a_damaged_sound_packet_is_heard_as_silence_and_the_rest_keeps_its_time(
    with_sound, tmp_path: Path
) -> None:
    """An upload whose sound has one bad packet (a copy cut short, a bit flipped) still reads:
    that packet's 1024 samples are silent, every other sample where it was."""
    path, _ = with_sound
    clean, _ = encode.read_audio(path)
    with av.open(str(path)) as container:
        found = [(p.pos, p.size) for p in container.demux(audio=0) if p.size]
    pos, size = found[len(found) // 2]
    damaged = bytearray(path.read_bytes())
    damaged[pos : pos + size] = bytes(size)  # the packet's coded samples zeroed
    (tmp_path / "damaged.mp4").write_bytes(bytes(damaged))
    decoded, rate = encode.read_audio(tmp_path / "damaged.mp4")
    assert rate == 48_000 and decoded.shape == clean.shape
    differs = np.flatnonzero(np.abs(decoded - clean).max(axis=0) > 1e-4)
    # the damage stays within the packet and its neighbours (the decoder's overlap)
    assert 0 < differs[-1] - differs[0] < 3 * 1024
    silent = np.abs(decoded[:, differs[0] : differs[-1] + 1]).max(axis=0) == 0
    assert silent.sum() >= 1024 - 64  # the bad packet itself: silence, not noise


def test_a_video_without_sound_has_no_track(tmp_path: Path) -> None:
    path = encode.encode_mp4(np.zeros((4, 16, 16, 3), np.uint8), tmp_path / "s.mp4", 24)
    assert encode.read_audio(path) is None


@pytest.mark.parametrize("bad", [np.zeros((1, 10), np.float32), np.zeros((2, 10), np.float64)])
def test_audio_that_is_not_stereo_float_is_refused(tmp_path: Path, bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="audio must be"):
        encode.encode_mp4(np.zeros((4, 16, 16, 3), np.uint8), tmp_path / "x.mp4", 24, audio=bad)
    assert not (tmp_path / "x.mp4").exists()


def test_loudness_of_silence_is_minus_infinity() -> None:
    assert audio.loudness(audio.silence(10)) == -math.inf


def test_noise_keeps_the_ceiling_once_coded_and_the_sidecar_measures_the_file_s_sound() -> None:
    # noise-like sound is what AAC overshoots most
    noise = (0.2 * RNG.standard_normal((2, 96_000))).astype(np.float32)
    mastered, measured = audio.master(noise)
    assert audio.measure(mastered) == measured
    assert audio.true_peak_dbtp(audio.aac_round_trip(mastered)) <= audio.CEILING_DBTP
    assert abs(measured.lufs - audio.TARGET_LUFS) <= 1.0
