"""Frames -> H.264 MP4 with PyAV, and the read-back helpers the tests and clients use."""

from __future__ import annotations

import math
import struct
import warnings
from collections.abc import Callable, Set
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

from cinegen.media import audio as sound
from cinegen.media import x264
from cinegen.media.atomic import atomic_path
from cinegen.media.x264 import X264_PRESETS

# ffmpeg's AVColorPrimaries / AVColorTransferCharacteristic value for BT.709.
_BT709 = 1

# ffmpeg's scale from a quantiser to the lambda that global_quality holds.
_FF_QP2LAMBDA = 118

# Rates that are written as decimals but mean n*1000/1001 (NTSC). A float 23.976 turned
# into an exact Fraction (2997/125) would drift from real 24000/1001 content by a frame
# every ~17 minutes and confuse editors that expect the NTSC rate.
_NTSC_RATES = tuple(Fraction(n * 1000, 1001) for n in (24, 30, 48, 60, 120))


def _choose_encoder(available: Set[str]) -> str:
    if "libx264" in available:
        return "libx264"
    warnings.warn(
        "PyAV was built without libx264; falling back to the 'mpeg4' encoder (MPEG-4 Part 2). "
        "Files will be larger at the same quality and will not play in most browsers. "
        "Install the PyAV 18.1 wheels (pip install 'av==18.1.*'), which bundle libx264.",
        RuntimeWarning,
        stacklevel=2,
    )
    return "mpeg4"


ENCODER: str = _choose_encoder(av.codecs_available)


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    n_frames: int
    fps: float
    codec: str
    pix_fmt: str
    duration_s: float


def check_frames(frames: np.ndarray) -> None:
    """Raise ValueError unless ``frames`` is a non-empty (F, H, W, 3) uint8 array."""
    if not isinstance(frames, np.ndarray):
        raise ValueError(f"frames must be a numpy array, got {type(frames).__name__}")
    if frames.ndim != 4:
        raise ValueError(f"frames must be 4-D (F, H, W, 3), got shape {frames.shape}")
    if frames.shape[3] != 3:
        raise ValueError(f"frames must have 3 (RGB) channels, got {frames.shape[3]}")
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {frames.dtype}")
    if frames.shape[0] < 1:
        raise ValueError(f"frames must hold at least 1 frame, got {frames.shape[0]}")
    if frames.shape[1] < 1 or frames.shape[2] < 1:
        raise ValueError(f"frames must be at least 1x1 pixels, got shape {frames.shape}")


def _exact_rate(fps: float | Fraction) -> Fraction:
    if isinstance(fps, Fraction):
        rate = fps
    else:
        if not math.isfinite(fps):
            raise ValueError(f"fps must be a finite number, got {fps}")
        rate = Fraction(fps).limit_denominator(1001)
        for ntsc in _NTSC_RATES:
            if abs(fps - float(ntsc)) < 0.0015:
                rate = ntsc
    if rate <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    return rate


def _check_settings(frames: np.ndarray, crf: int, preset: str) -> None:
    check_frames(frames)
    _, height, width, _ = frames.shape
    if width % 2:
        raise ValueError(f"width must be even for H.264 yuv420p, got {width}")
    if height % 2:
        raise ValueError(f"height must be even for H.264 yuv420p, got {height}")
    if not 0 <= crf <= 51:
        raise ValueError(f"crf must be in [0, 51], got {crf}")
    if preset not in X264_PRESETS:
        raise ValueError(f"preset must be one of {', '.join(X264_PRESETS)}, got {preset!r}")


def encode_mp4(
    frames: np.ndarray,
    path: Path,
    fps: float | Fraction,
    *,
    crf: int = 23,
    preset: str = "medium",
    on_frame: Callable[[int, int], None] | None = None,
    audio: np.ndarray | None = None,
) -> Path:
    """Encode (F, H, W, 3) uint8 RGB frames to an H.264 yuv420p MP4 at ``path``, with
    ``audio`` (2, S) float32 at ``media.audio.RATE`` as an AAC-LC track beside them.

    The file holds exactly F frames at exactly ``fps`` (frame i has pts i in a 1/fps time
    base), has its ``moov`` atom first so browsers can start playing before the download
    ends, and appears at ``path`` only once complete. ``on_frame(done, total)`` runs after
    each frame is handed to the encoder, with ``done`` going 1..total. The audio should
    span the video (``media.audio.samples_for(F / fps)`` samples): it is muxed as given.
    """
    # 1. check inputs
    _check_settings(frames, crf, preset)
    if audio is not None:
        sound.check(audio)
    rate = _exact_rate(fps)
    total, height, width, _ = frames.shape
    path = Path(path)

    with (
        atomic_path(path) as tmp,
        av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as container,
    ):
        # 2. configure the stream
        # add_stream is typed per codec-name literal; ENCODER is a plain str, hence the cast.
        stream = cast(av.VideoStream, container.add_stream(ENCODER, rate=rate))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        # Kept in a local: the muxer rewrites stream.time_base (e.g. to 1/15360) once the
        # header is written, and frame pts must stay in frame units.
        time_base = 1 / rate
        stream.time_base = time_base
        cc = stream.codec_context
        # PyAV defaults to SLICE threading, which makes libx264 use sliced threads: x264's
        # low-latency, lower-efficiency mode (~3% larger files at the same crf, measured on
        # the bench clip). AUTO (frame|slice) gives frame threads, as the ffmpeg CLI does;
        # thread_count 0 lets x264 pick 1.5x the core count.
        cc.thread_type = "AUTO"
        cc.thread_count = 0
        # Tag BT.709 and convert with its matrix: browsers and players assume BT.709 for HD,
        # and untagged BT.601 output (swscale's default) shows as a visible hue shift.
        cc.colorspace = Colorspace.ITU709
        cc.color_range = ColorRange.MPEG
        cc.color_primaries = _BT709
        cc.color_trc = _BT709
        if ENCODER == "libx264":
            stream.options = {**x264.options(crf, preset)}
        else:
            # mpeg4 has no CRF; a fixed quantiser is the closest constant-quality mode.
            cc.qscale = True
            cc.global_quality = max(2, min(31, round(crf / 6))) * _FF_QP2LAMBDA

        track = sound.AacTrack(container, audio) if audio is not None else None

        # 3. encode, frame by frame, so memory stays at one converted frame, each frame's
        # sound right after it (interleaved, as players read them)
        for i in range(total):
            frame = av.VideoFrame.from_ndarray(frames[i], format="rgb24")
            # Converting here rather than letting the encoder do it is what lets us pick
            # the BT.709 matrix; threads=0 spreads swscale over all cores.
            frame = frame.reformat(
                format="yuv420p",
                dst_colorspace=Colorspace.ITU709,
                dst_color_range=ColorRange.MPEG,
                threads=0,
            )
            frame.pts = i
            frame.time_base = time_base
            # The last frame's length sets the container duration, from which players derive
            # fps. PyAV 18.1 already fills it from the codec rate; stating it keeps that true
            # should a later version stop doing so.
            frame.duration = 1
            container.mux(stream.encode(frame))
            if track is not None:
                track.encode_until((i + 1) / rate)
            if on_frame is not None:
                on_frame(i + 1, total)

        # 4. flush: x264 holds up to ~40 frames of lookahead that would otherwise be lost
        container.mux(stream.encode(None))
        if track is not None:
            track.finish()
    return path


def demuxer_for(head: bytes) -> str | None:
    """The one demuxer a video may be opened with, by its first bytes: ISO media (MP4,
    MOV) or EBML (Matroska, WebM). Nothing else reaches FFmpeg, whose other demuxers (HLS
    playlists, concat lists) could be made to open other files or URLs."""
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return "mov"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    return None


def probe(path: Path) -> VideoInfo:
    """Read a video's geometry, frame count, rate and codec with PyAV."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        cc = stream.codec_context
        n_frames = stream.frames
        if n_frames == 0:
            # Some containers (raw streams, fragmented MP4) do not store a count.
            n_frames = sum(1 for _ in container.decode(stream))
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if stream.duration is not None and stream.time_base is not None:
            duration_s = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration_s = container.duration / av.time_base
        else:
            duration_s = n_frames / float(rate) if rate else 0.0
        return VideoInfo(
            width=cc.width,
            height=cc.height,
            n_frames=n_frames,
            fps=float(rate) if rate else 0.0,
            codec=cc.name,
            pix_fmt=cc.format.name if cc.format is not None else "",
            duration_s=duration_s,
        )


def read_audio(path: Path) -> tuple[np.ndarray, int] | None:
    """A video's first sound track decoded to (channels, S) float32 in [-1, 1] at its own
    rate, or None when it has none. Any codec and sample format (AAC's planar floats, a
    camera's interleaved 16-bit PCM, …) comes out the same way; a damaged packet, as silence."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        # Planar float at the track's own rate and layout: one row per channel.
        planar = av.AudioResampler(format="fltp", rate=rate)
        channels = stream.codec_context.channels
        chunks: list[np.ndarray] = []
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                # A damaged packet is heard as silence of its length: the rest keeps its time.
                chunks.append(np.zeros((channels, _samples_in(packet, rate)), np.float32))
                continue
            chunks += [out.to_ndarray() for frame in frames for out in planar.resample(frame)]
        chunks += [out.to_ndarray() for out in planar.resample(None)]
        # The last AAC frame is padded to 1024 samples; the track's duration says where the
        # sound ends (the MP4 edit list also hides the encoder's priming at the start).
        length = None
        if stream.duration is not None and stream.time_base is not None:
            length = round(stream.duration * stream.time_base * rate)
    if not chunks:
        return None
    samples = np.concatenate(chunks, axis=1)[:, :length]
    return samples.astype(np.float32, copy=False), rate


def _samples_in(packet: Any, rate: int) -> int:
    if packet.duration is None or packet.time_base is None:
        return 0
    return round(float(packet.duration * packet.time_base) * rate)


def read_frames(path: Path) -> np.ndarray:
    """Decode every frame of a video to an (F, H, W, 3) uint8 RGB array."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    if not decoded:
        raise ValueError(f"no video frames could be decoded from {path}")
    return np.stack(decoded)


def is_faststart(path: Path) -> bool:
    """True when the top-level ``moov`` box comes before ``mdat`` (progressive playback)."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        file_size = f.tell()
        offset = 0
        while offset + 8 <= file_size:
            f.seek(offset)
            size, kind = struct.unpack(">I4s", f.read(8))
            header = 8
            if size == 1:
                # 64-bit "largesize" follows the type; used for boxes over 4 GiB.
                (size,) = struct.unpack(">Q", f.read(8))
                header = 16
            elif size == 0:
                size = file_size - offset
            if kind == b"moov":
                return True
            if kind == b"mdat":
                return False
            if size < header:
                return False
            offset += size
    return False
