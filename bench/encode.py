"""Is cinegen's PyAV encode as fast as the ffmpeg CLI, and is the visible mark cheap?

Encodes the same synthetic 1080p clip with ``cinegen.media.encode_mp4`` and with the
ffmpeg binary that imageio-ffmpeg ships (raw rgb24 on a pipe, identical x264 settings),
then times ``VisibleMark.apply`` on those frames. Prints one JSON object.

    .venv/bin/python bench/encode.py [--frames 300 --width 1920 --height 1080]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np

from cinegen.media.encode import ENCODER, encode_mp4, probe
from cinegen.media.watermark import VisibleMark

CRF = 23
PRESET = "medium"
FPS = 30
ENCODE_RATIO_TARGET = 1.1
MARK_SHARE_TARGET = 0.10


def make_frames(n: int, width: int, height: int, seed: int = 0) -> np.ndarray:
    """Natural-ish motion: drifting colour gradients, a panning grain texture, a moving disc.

    Pure per-frame noise would be incompressible and turn the benchmark into a test of
    x264's worst case; this content gives motion search real, trackable work.
    """
    rng = np.random.default_rng(seed)
    pan = 2  # px per frame
    grain = rng.normal(0.0, 7.0, (height + pan * n, width + pan * n)).astype(np.int16)
    xs = np.arange(width, dtype=np.float32)
    ys = np.arange(height, dtype=np.float32)
    frames = np.empty((n, height, width, 3), dtype=np.uint8)
    radius = height / 8
    for t in range(n):
        texture = grain[pan * t : pan * t + height, pan * t : pan * t + width]
        cx = width * (0.2 + 0.6 * t / max(1, n - 1))
        cy = height * (0.5 + 0.25 * np.sin(t / 15))
        disc = ((xs[None, :] - cx) ** 2 + (ys[:, None] - cy) ** 2 < radius**2) * np.int16(60)
        for c in range(3):
            phase = t / 40 + c * 2.1
            gx = 70 * np.sin(xs / width * (2 + c) * np.pi + phase)
            gy = 50 * np.cos(ys / height * (1 + c) * np.pi - 0.7 * phase)
            base = (128 + gx[None, :] + gy[:, None]).astype(np.int16)
            frames[t, ..., c] = np.clip(base + texture + disc, 0, 255)
    return frames


def ffmpeg_encode(frames: np.ndarray, path: Path) -> None:
    """The reference: ffmpeg CLI with the settings encode_mp4 uses (BT.709, yuv420p, faststart)."""
    n, height, width, _ = frames.shape
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(FPS),
        "-i", "-",
        "-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
        "-c:v", "libx264", "-crf", str(CRF), "-preset", PRESET, "-threads", "0",
        "-pix_fmt", "yuv420p", "-colorspace", "bt709", "-color_primaries", "bt709",
        "-color_trc", "bt709", "-color_range", "tv",
        "-movflags", "+faststart",
        str(path),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for i in range(n):
        proc.stdin.write(memoryview(frames[i]).cast("B"))
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed with exit code {proc.returncode}")


def convert_only(frames: np.ndarray) -> None:
    """The Python-side work of encode_mp4 without x264: ndarray -> frame -> yuv420p."""
    from av.video.reformatter import ColorRange, Colorspace

    for i in range(frames.shape[0]):
        frame = av.VideoFrame.from_ndarray(frames[i], format="rgb24")
        frame.reformat(
            format="yuv420p",
            dst_colorspace=Colorspace.ITU709,
            dst_color_range=ColorRange.MPEG,
            threads=0,
        )


def _cpu_s() -> float:
    # Children too: the ffmpeg side spends its CPU in a subprocess.
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], object], cpu: list[float] | None = None) -> float:
    """Wall seconds of fn(); its CPU seconds are appended to ``cpu`` when given.

    CPU time is reported next to wall time because this box may be shared: a neighbour's
    load inflates wall time but barely moves CPU time.
    """
    cpu_start, start = _cpu_s(), time.perf_counter()
    fn()
    wall = time.perf_counter() - start
    if cpu is not None:
        cpu.append(_cpu_s() - cpu_start)
    return wall


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--repeats", type=int, default=3, help="best-of count per measurement")
    args = parser.parse_args(argv)

    frames = make_frames(args.frames, args.width, args.height)
    load_before = os.getloadavg()[0]
    mark = VisibleMark()
    cinegen_s: list[float] = []
    ffmpeg_s: list[float] = []
    cinegen_cpu: list[float] = []
    ffmpeg_cpu: list[float] = []
    mark_s: list[float] = []
    mark_cpu: list[float] = []
    mark_inplace_s: list[float] = []
    convert_s: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = Path(tmp, "cinegen.mp4"), Path(tmp, "ffmpeg.mp4")
        for rep in range(args.repeats):
            # Alternate who goes first so thermal/cache drift does not favour one side.
            runs = [
                (
                    cinegen_s,
                    cinegen_cpu,
                    lambda: encode_mp4(frames, ours, FPS, crf=CRF, preset=PRESET),
                ),
                (ffmpeg_s, ffmpeg_cpu, lambda: ffmpeg_encode(frames, theirs)),
            ]
            for times, cpu, fn in runs if rep % 2 == 0 else reversed(runs):
                times.append(timed(fn, cpu))
            mark_s.append(timed(lambda: mark.apply(frames), mark_cpu))
            convert_s.append(timed(lambda: convert_only(frames)))
        # In place last: it changes `frames`, and the encodes above must see clean frames.
        for _ in range(args.repeats):
            mark_inplace_s.append(timed(lambda: mark.apply(frames, inplace=True)))
        info_ours, info_theirs = probe(ours), probe(theirs)
        size_ours, size_theirs = ours.stat().st_size, theirs.stat().st_size

    cinegen, ffmpeg, mark_best = min(cinegen_s), min(ffmpeg_s), min(mark_s)
    encode_ratio = cinegen / ffmpeg
    mark_share = mark_best / cinegen
    return {
        "frames": args.frames,
        "width": args.width,
        "height": args.height,
        "encoder": ENCODER,
        "crf": CRF,
        "preset": PRESET,
        "cpu_count": os.cpu_count(),
        "x264_threads": "auto (0) on both sides",
        "pyav_ffmpeg": av.ffmpeg_version_info,
        "cli_ffmpeg": imageio_ffmpeg.get_ffmpeg_version(),
        "cinegen_encode_s": round(cinegen, 3),
        "ffmpeg_encode_s": round(ffmpeg, 3),
        "encode_ratio": round(encode_ratio, 3),
        "cinegen_encode_cpu_s": round(min(cinegen_cpu), 3),
        "ffmpeg_encode_cpu_s": round(min(ffmpeg_cpu), 3),
        "encode_cpu_ratio": round(min(cinegen_cpu) / min(ffmpeg_cpu), 3),
        "cinegen_fps": round(args.frames / cinegen, 2),
        "cinegen_convert_s": round(min(convert_s), 3),
        "cinegen_bytes": size_ours,
        "ffmpeg_bytes": size_theirs,
        "frames_written": [info_ours.n_frames, info_theirs.n_frames],
        "mark_s": round(mark_best, 3),
        # The blend alone; the rest of mark_s is allocating and filling the returned copy.
        "mark_inplace_s": round(min(mark_inplace_s), 3),
        "mark_share_of_encode": round(mark_share, 4),
        # What cinegen.generate() pays: it stamps frames it owns in place.
        "mark_inplace_share_of_encode": round(min(mark_inplace_s) / cinegen, 5),
        "mark_cpu_share_of_encode": round(min(mark_cpu) / min(cinegen_cpu), 4),
        "loadavg_1m_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "all_runs_s": {
            "cinegen": [round(t, 3) for t in cinegen_s],
            "ffmpeg": [round(t, 3) for t in ffmpeg_s],
            "mark": [round(t, 3) for t in mark_s],
        },
        "targets_met": encode_ratio <= ENCODE_RATIO_TARGET and mark_share <= MARK_SHARE_TARGET,
    }


if __name__ == "__main__":
    json.dump(main(sys.argv[1:]), sys.stdout)
    sys.stdout.write("\n")
