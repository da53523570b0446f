"""The invisible watermark read from a file, as ``verify`` reads what it is sent: a video's
mean luma over its first frames (or an image's luma), within bounds on size and frames
whatever arrives, and ``detect`` run on it. The mark itself is ``invisible_watermark.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
from PIL import Image

from cinegen.media.encode import demuxer_for
from cinegen.provenance.invisible_watermark import DEFAULT_KEY, DETECT_SIDE, Detection, detect

# Pictures read whole (a GIF: its first frame); anything else is read as a video.
IMAGE_SUFFIXES = frozenset({".png", ".webp", ".jpg", ".jpeg", ".gif"})
# What verify reads of a file it is sent: a bound on memory and time whatever arrives.
MAX_READ_FRAMES = 240  # 10 s at 24 fps; any 2 s hold the whole pattern
MAX_IMAGE_SIDE, MAX_VIDEO_SIDE = 8192, 4096  # pixels on the long side
MAX_ASPECT = 8  # long side over short side


def mean_luma(path: Path, on_frame: Callable[[int, int], None] | None = None) -> np.ndarray:
    """The mean luma (0..255) of a video's first MAX_READ_FRAMES frames, or of an image
    (large ones already brought down to a DETECT_SIDE short side). ValueError for what
    cannot or will not be read: no picture, a container other than ISO media or Matroska
    (FFmpeg's playlist demuxers could be made to open other files), a picture too large or
    too elongated."""
    if Path(path).suffix.lower() in IMAGE_SUFFIXES:
        try:
            with Image.open(path) as image:
                _check_size(*image.size, MAX_IMAGE_SIDE)
                picture = image.convert("L").convert("F")
        except Image.DecompressionBombError as exc:
            raise ValueError(str(exc)) from None
        scale = DETECT_SIDE / min(picture.size)
        if scale < 1:
            size = (round(picture.width * scale), round(picture.height * scale))
            picture = picture.resize(size, Image.Resampling.BOX)
        return np.asarray(picture, np.float64)
    total: np.ndarray | None = None
    count = 0
    for luma in _frames(path, on_frame):
        total = luma.astype(np.float64) if total is None else total + luma
        count += 1
    if total is None:
        raise ValueError("it holds no video frames")
    return total / count


def _frames(path: Path, on_frame: Callable[[int, int], None] | None) -> Iterator[np.ndarray]:
    with open(path, "rb") as file:
        demuxer = demuxer_for(file.read(16))
    if demuxer is None:
        raise ValueError("it is not an image or a video cinegen reads (MP4, MOV, WebM, MKV)")
    with av.open(str(path), format=demuxer) as container:
        if not container.streams.video:
            raise ValueError("it holds no video stream")
        stream = container.streams.video[0]
        _check_size(stream.codec_context.width, stream.codec_context.height, MAX_VIDEO_SIDE)
        stream.thread_type = "AUTO"
        total = min(stream.frames or MAX_READ_FRAMES, MAX_READ_FRAMES)
        for i, frame in enumerate(container.decode(stream)):
            if i == MAX_READ_FRAMES:
                return
            yield frame.to_ndarray(format="gray")
            if on_frame is not None:
                on_frame(i + 1, total)


def _check_size(width: int, height: int, largest: int) -> None:
    if max(width, height) > largest:
        raise ValueError(f"it is {width}x{height}; at most {largest} px on a side is read")
    if min(width, height) < 1 or max(width, height) > MAX_ASPECT * min(width, height):
        raise ValueError(f"it is {width}x{height}; at most {MAX_ASPECT}:1 is read")


def detect_file(
    path: Path, *, key: str = DEFAULT_KEY, on_frame: Callable[[int, int], None] | None = None
) -> Detection:
    """``detect`` on a video's mean luma (or an image's); ValueError as ``mean_luma``."""
    return detect(mean_luma(path, on_frame), key=key)
