"""Each model's ``-tiny-random`` twin: the same row and grid with random weights built in
code, rendering small, for tests and CI."""

from __future__ import annotations

import dataclasses

from cinegen.registry.entries import ModelEntry, presets

# The in-code random-weight twins (engine/backends/diffusers/tiny_twins.py) share the real
# models' grids (a test checks them against the built pipelines) but render small, so tests
# and CI run every real pipeline class end to end without a download. Their output is noise.
_TINY_MAX_AREA = 128 * 96
_TINY_PRESETS = presets(quality=(6, 4.0), turbo=(3, 4.0))


def tiny_twin(entry: ModelEntry) -> ModelEntry:
    caps = dataclasses.replace(entry.capabilities, max_area=_TINY_MAX_AREA, fixed_size=None)
    # Fewer steps, the same recipe (two stages, distilled weights where named).
    scaled = {
        preset: dataclasses.replace(
            entry.presets[preset], steps=tiny.steps, guidance=tiny.guidance, cache=tiny.cache
        )
        for preset, tiny in _TINY_PRESETS.items()
    }
    return dataclasses.replace(
        entry,
        id=f"{entry.id}-tiny-random",
        description=f"random weights, built in code, for tests: {entry.id}'s pipeline",
        weights="built in code",
        capabilities=caps,
        presets=scaled,
        tiny_random=True,
        distilled_weights=None,
        footprint=None,  # a few thousand parameters: always fully resident
    )
