"""A variant's sound over its whole timeline, stereo at ``media.audio.RATE``.

Where frames are kept, their sound is kept: a layout's placed video frames (the clip being
extended, looped, blended, re-cut, inpainted, an uploaded video) keep the sound they came
with, and stay silent if they had none. Every other frame has the sound made for it: by the
model with the picture (each rendered piece's sound laid under the frames the piece made)
or by a soundtrack model hearing the finished frames. Where kept and made sound meet,
``media.audio.join`` crossfades them. A remix mixes its source's sound in as much as the
remix keeps of its picture. ``media.audio.master`` then makes it what the file carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cinegen.engine.backends.base import Sound, Soundtrack
from cinegen.engine.layout import Layout, Segment
from cinegen.engine.plan import RenderPlan
from cinegen.media import audio
from cinegen.spec import GenerationSpec


@dataclass(frozen=True)
class Made:
    """New sound: ``samples`` (2, m) at ``media.audio.RATE`` from sample ``start`` on, made
    for timeline frames ``frames`` (it may reach beyond them, for crossfades)."""

    start: int
    samples: np.ndarray
    frames: range


def sample_at(frame: int, fps: float) -> int:
    """The first sample of timeline frame ``frame`` (or where the video ends, for n)."""
    return audio.samples_for(frame / fps) if frame > 0 else 0


def samples_of(frames: range, fps: float) -> range:
    return range(sample_at(frames.start, fps), sample_at(frames.stop, fps))


def heard(
    soundtrack: Soundtrack, frames: np.ndarray, plan: RenderPlan, i: int, segment: Segment
) -> Made:
    """What ``soundtrack`` makes of the finished frames of one rendered piece of variant
    ``i`` (its window: a model such as cinegen-tiny renders one motion per window, and its
    soundtrack hears one), from the prompt and the audio prompt, with the variant's seed."""
    spec = plan.spec
    window = range(max(segment.window.start, 0), min(segment.window.stop, spec.n_frames))
    own = range(segment.start, min(segment.stop, spec.n_frames))
    span = samples_of(window, spec.fps)
    if len(window) < 2:  # one picture: nothing to hear
        return Made(span.start, audio.silence(len(span)), own)
    words = " ".join(w for w in (plan.prompt, spec.audio_prompt) if w)
    piece = frames[window.start : window.stop]
    made = soundtrack(piece, fps=spec.fps, prompt=words, seed=plan.seeds[i])
    return Made(span.start, audio.fit(made.samples[0], made.rate, len(span)), own)


def rendered(segment: Segment, sound: Sound, spec: GenerationSpec, i: int) -> Made:
    """Variant ``i``'s sound from one rendered piece: it spans the piece's window, and was
    made for the piece's own frames."""
    window = samples_of(segment.window, spec.fps)
    samples = audio.fit(sound.samples[i], sound.rate, len(window))
    return Made(window.start, samples, range(segment.start, min(segment.stop, spec.n_frames)))


def timeline(
    layout: Layout, made: Sequence[Made], spec: GenerationSpec, remix_strength: float
) -> np.ndarray:
    """The whole video's sound: kept frames' own sound, made sound everywhere else."""
    fps, n = spec.fps, spec.n_frames
    kept = np.zeros(n, bool)
    parts = []
    for item in layout.placed:
        span = range(max(item.start, 0), min(item.stop, n))
        if not item.keeps_sound or not span:
            continue
        kept[span.start : span.stop] = True
        if item.sound is not None:
            parts.append(audio.Part(sample_at(item.start, fps), item.sound, samples_of(span, fps)))
    beside_kept = bool(parts)
    for new in made:
        # beside kept sound, new sound is mastered on its own: the whole is then not regained
        samples = audio.master(new.samples)[0] if beside_kept else new.samples
        for run in _runs(new.frames, kept):
            parts.append(audio.Part(new.start, samples, samples_of(run, fps)))
    track = audio.join(parts, sample_at(n, fps))
    remix = layout.remix
    if remix is not None and remix.sound is not None:
        source = remix.sound[:, : track.shape[1]]
        track[:, : source.shape[1]] *= np.float32(remix_strength)
        track[:, : source.shape[1]] += np.float32(1 - remix_strength) * source
    return track


def _runs(frames: range, kept: np.ndarray) -> list[range]:
    """The runs of ``frames`` that are not kept."""
    runs, start = [], None
    for t in frames:
        if not kept[t] and start is None:
            start = t
        elif kept[t] and start is not None:
            runs.append(range(start, t))
            start = None
    if start is not None:
        runs.append(range(start, frames.stop))
    return runs
