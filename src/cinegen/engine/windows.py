"""Long video: segments longer than one render split into windows.

A model renders a clip of at most so many frames (its native grid, ``plan.py``); a segment
longer than that is rendered as windows in order, each holding the last frames of the one
before (``Capabilities.window_overlap_seconds``), as an extension holds its source. The
layout records the split (``layout.Windows``) for the engine and the sidecar.
"""

from __future__ import annotations

import dataclasses
import itertools

from cinegen.engine.layout import Layout, Segment, Windows


def in_windows(layout: Layout, length: int, overlap: int) -> Layout:
    """The layout with every segment longer than ``length`` output frames (context
    included) split into windows of nearly equal length, each after the first holding the
    ``overlap`` last frames of the one before, as an extension holds its source.

    The first window keeps the segment's own ``before`` and the last its ``after``; the
    renders then run in order, each joining the one before (``engine._Renders``)."""
    segments: list[Segment] = []
    for seg in layout.segments:
        if len(seg.window) <= length:
            segments.append(seg)
            continue
        room = length - max(seg.before, overlap) - seg.after  # new frames any window fits
        if room < 1:
            raise ValueError(f"a window of {length} frames leaves no room past {overlap}")
        n = seg.stop - seg.start
        count = -(-n // room)
        cuts = [seg.start + round(n * k / count) for k in range(count + 1)]
        for k, (start, stop) in enumerate(itertools.pairwise(cuts)):
            before = seg.before if k == 0 else overlap
            after = seg.after if k == count - 1 else 0
            segments.append(Segment(seg.prompt, start, stop, before=before, after=after))
    if len(segments) == len(layout.segments):
        return layout
    return dataclasses.replace(layout, segments=tuple(segments), windows=Windows(length, overlap))
