"""Resampling to exactly the requested frames and size."""

import numpy as np
import pytest

from cinegen.media.resample import resample_video, time_positions


def ramp(frames, h=8, w=12):
    """A clip whose brightness encodes time: frame i is i / (frames - 1) everywhere."""
    values = np.linspace(0, 1, frames, dtype=np.float32)
    return np.broadcast_to(values[:, None, None, None], (frames, h, w, 3)).copy()


@pytest.mark.parametrize(("native", "wanted"), [(25, 120), (121, 120), (9, 9), (49, 30)])
def test_exact_frame_count_with_endpoints_kept(native, wanted):
    out = resample_video(ramp(native), wanted, 12, 8)
    assert out.shape == (wanted, 8, 12, 3) and out.dtype == np.uint8
    assert out[0].max() == 0 and out[-1].min() == 255
    assert np.all(np.diff(out[:, 0, 0, 0].astype(int)) >= 0)  # time never runs backwards


@pytest.mark.slow  # resamples many sizes
def test_size_changes_keep_a_flat_colour_flat():
    clip = np.full((5, 48, 64, 3), (0.2, 0.5, 0.8), dtype=np.float32)
    for w, h in [(1920, 1080), (30, 16)]:
        out = resample_video(clip, 7, w, h)
        assert out.shape == (7, h, w, 3)
        assert np.abs(out.astype(int) - [51, 128, 204]).max() <= 1


def test_single_frame_sources_and_targets():
    assert list(time_positions(1, 4)) == [0, 0, 0, 0]
    assert list(time_positions(9, 1)) == [4.0]  # an image is the middle of a clip


def test_aspect_is_kept_by_cropping_not_stretching():
    """A 720x480 grid asked for portrait video: a circle must stay round."""
    native = np.zeros((1, 480, 720, 3), np.float32)
    yy, xx = np.mgrid[:480, :720]
    native[0][(yy - 240) ** 2 + (xx - 360) ** 2 < 100**2] = 1.0  # radius 100 circle, centred
    out = resample_video(native, 1, 270, 480)[0, ..., 0] > 127
    rows, cols = np.nonzero(out)
    height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
    assert abs(height - width) <= 2, (height, width)  # round, not squashed
    assert abs(height - 200) <= 4  # 480 native rows -> 480 output rows: scale 1


def test_crop_box_is_centred():
    from cinegen.media.resample import crop_box

    assert crop_box(720, 480, 1080, 1920) == (225, 0, 495, 480)
    assert crop_box(128, 96, 1920, 1080) == (0, 12, 128, 84)
    assert crop_box(64, 64, 64, 64) == (0, 0, 64, 64)
