"""A variant's sound over its whole timeline, stereo at ``media.audio.RATE``: from the
pieces a model rendered with their sound, or from a video-to-audio model hearing the
finished frames. ``media.audio`` masters it for the file."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from cinegen.engine.backends.base import Sound, Soundtrack
from cinegen.engine.operations import Segment
from cinegen.engine.plan import RenderPlan
from cinegen.media import audio
from cinegen.spec import GenerationSpec


def sample_at(frame: int, fps: float) -> int:
    """The first sample of timeline frame ``frame`` (or where the video ends, for n)."""
    return audio.samples_for(frame / fps)


def heard(soundtrack: Soundtrack, frames: np.ndarray, plan: RenderPlan, i: int) -> np.ndarray:
    """What ``soundtrack`` makes of variant ``i``'s finished frames, from the prompt and the
    audio prompt, with the variant's seed."""
    spec = plan.spec
    words = " ".join(w for w in (plan.prompt, spec.audio_prompt) if w)
    made = soundtrack(frames, fps=spec.fps, prompt=words, seed=plan.seeds[i])
    return audio.fit(made.samples[0], made.rate, sample_at(spec.n_frames, spec.fps))


def joined(
    pieces: Iterable[tuple[Segment, Sound | None]], spec: GenerationSpec, i: int
) -> np.ndarray:
    """Variant ``i``'s sound from the rendered pieces: each piece's sound spans its window
    and is laid under the frames the piece made, crossfaded with its neighbours where they
    overlap. Frames no piece made with sound are silent."""
    parts = []
    for seg, sound in pieces:
        if sound is None:
            continue
        start = sample_at(seg.window.start, spec.fps)
        span = sample_at(seg.window.stop, spec.fps) - start
        own = range(
            sample_at(seg.start, spec.fps), sample_at(min(seg.stop, spec.n_frames), spec.fps)
        )
        parts.append((start, audio.fit(sound.samples[i], sound.rate, span), own))
    return audio.join(parts, sample_at(spec.n_frames, spec.fps))
