"""x264's speed presets: the names settings and the encoder share (no PyAV to import them),
and the CPU kernels it may use for encodes that come out the same every time."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib.util
import itertools
from pathlib import Path
from typing import Literal, get_args

X264Preset = Literal[
    "ultrafast", "superfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow", "placebo",
]  # fmt: skip
X264_PRESETS: tuple[str, ...] = get_args(X264Preset)


def options(crf: int, preset: str | None = None) -> dict[str, str]:
    """libx264's options for a constant-quality encode whose bytes depend on the frames
    alone (``reproducible_asm``)."""
    chosen = {"crf": str(crf)} | ({"preset": preset} if preset else {})
    asm = reproducible_asm()
    return chosen | ({"x264-params": f"asm={asm}"} if asm else {})


@functools.cache
def reproducible_asm() -> str | None:
    """x264's ``asm`` parameter that keeps every kernel this CPU can run but AVX-512's, or
    None where x264 would not pick AVX-512 anyway (or its library cannot be asked).

    x264's AVX-512 kernels (as built into PyAV's wheels) read memory they did not write:
    on an AVX-512 CPU the same frames encode to different bytes depending on what the
    process allocated before (17 code values apart at worst on a 320x180 clip, a mean
    code value on a 64x64 one). With them left out, or with glibc told to fill new
    memory (MALLOC_PERTURB_), every encode of the same frames is the same file.
    """
    lib = _bundled_x264()
    if lib is None:
        return None
    try:
        names = (_CpuName * 64).in_dll(lib, "x264_cpu_names")
        flags = {n.name.decode(): n.flags for n in itertools.takewhile(lambda n: n.name, names)}
        lib.x264_cpu_detect.restype = ctypes.c_uint32
        detected = lib.x264_cpu_detect()
    except (AttributeError, ValueError):
        return None
    if "AVX512" not in flags or "AVX2" not in flags:  # not an x86 build
        return None
    avx512_only = flags["AVX512"] & ~flags["AVX2"]
    if not detected & avx512_only:
        return None
    return str(detected & ~avx512_only)


class _CpuName(ctypes.Structure):
    """One entry of x264's ``x264_cpu_names`` table."""

    _fields_ = [("name", ctypes.c_char_p), ("flags", ctypes.c_uint32)]


def _bundled_x264() -> ctypes.CDLL | None:
    """The libx264 that PyAV's libavcodec uses: the copy its wheel bundles (Linux
    ``av.libs``, macOS ``av/.dylibs``, Windows ``av.libs``), else the system's."""
    spec = importlib.util.find_spec("av")
    if spec is None or spec.origin is None:
        return None
    package = Path(spec.origin).parent
    for folder in (package.parent / "av.libs", package / ".dylibs"):
        for path in sorted(folder.glob("*x264*")):
            try:
                return ctypes.CDLL(str(path))
            except OSError:
                continue
    system = ctypes.util.find_library("x264")
    try:
        return ctypes.CDLL(system) if system else None
    except OSError:
        return None
