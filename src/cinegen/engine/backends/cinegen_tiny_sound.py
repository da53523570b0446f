"""cinegen-tiny's soundtrack behind the ``Soundtrack`` protocol (``ModelEntry.soundtrack``).

A small video-to-audio network of its own (``models/tiny/soundtrack.py``), on the CPU
whatever the video model runs on: it costs milliseconds. Its weights ship inside the
package; a retrained bundle (``cinegen train-tiny-audio``) loads from
``Settings.model_paths["cinegen-tiny-audio"]``.
"""

from __future__ import annotations

from cinegen.config import Settings
from cinegen.models.tiny.soundtrack import TinySoundtrack
from cinegen.registry import ModelEntry

AUDIO_ID = "cinegen-tiny-audio"


def cinegen_tiny_soundtrack(entry: ModelEntry, settings: Settings) -> TinySoundtrack:
    return TinySoundtrack(settings.model_paths.get(AUDIO_ID))
