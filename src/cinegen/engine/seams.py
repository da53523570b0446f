"""Seams: where a render that continues a clip meets what it holds.

A model that continues a clip (a long video's next window, an extension) is shown the
frames it holds and draws the rest; how far its first new frame steps from the last held
one varies from seed to seed, and a large step shows as a jump. A model may try several
seeds per continuation (``Capabilities.seam_candidates``): the engine keeps the render
whose first new frame steps least from the held one, against that render's own usual step
(``seam_step``; ``bench/operations.py``'s long-video figure is the same ratio over a whole
video).
"""

from __future__ import annotations

import numpy as np

from cinegen.engine.backends.base import Clips, Sound
from cinegen.media.keep import Keep

# Seeds of a continuation's further candidates: the variant's own, then this far apart, so
# that candidates of neighbouring variants (seed, seed + 1, ...) never share a seed.
CANDIDATE_SEED_STRIDE = 7_919


def candidate_seeds(seed: int, tries: int) -> list[int]:
    """The seeds a continuation tries: the variant's own first."""
    return [seed + CANDIDATE_SEED_STRIDE * k for k in range(max(tries, 1))]


def steps(frames: np.ndarray) -> np.ndarray:
    """Mean absolute change between consecutive frames: (F, ...) -> (F - 1,)."""
    f = frames.astype(np.float32)
    change: np.ndarray = np.abs(np.diff(f, axis=0)).reshape(len(f) - 1, -1).mean(axis=1)
    return change


def seam_step(frames: np.ndarray, last_held: int) -> float:
    """The step from frame ``last_held`` to the next, over the median step after it."""
    change = steps(frames)
    own = change[last_held + 1 :]
    usual = float(np.median(own)) if len(own) else float(np.median(change))
    return float(change[last_held] / max(usual, 1e-6))


def smoothest(tried: Clips, keep: Keep | None) -> Clips:
    """Of ``tried`` (one video per candidate seed), the one whose seam steps least: the
    first when there is one candidate or no held frame is followed by a drawn one."""
    count = len(tried.frames)
    last = -1
    if keep is not None:
        held = np.flatnonzero(keep.mask.reshape(len(keep.mask), -1).any(axis=1))
        last = int(held[-1]) if len(held) else -1
    if count == 1 or last < 0 or last + 1 >= tried.frames.shape[1]:
        best = 0
    else:
        best = int(np.argmin([seam_step(video, last) for video in tried.frames]))
    frames = tried.frames[best : best + 1]
    if tried.sound is None:
        return Clips(frames)
    return Clips(frames, Sound(tried.sound.samples[best : best + 1], tried.sound.rate))
