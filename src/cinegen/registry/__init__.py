"""Model ids -> what each model can do, its presets and the factory that loads it.

Everything here is plain data, beside ``spec.py``: importing it loads no weights and no
torch, so the CLI, the API and the request validator can ask what a model supports before
anything heavy happens. The backend factory is named as ``"module:attribute"``; the engine
imports it when the model is first used (``engine.backends.load_backend``).

Where each part lives:
- ``capabilities.py``: ``Capabilities``, what a model can do and its native grid;
- ``entries.py``: ``ModelEntry`` (a model row) and ``PresetConfig`` (turbo and quality);
- ``diffusers_models.py``: the rows of the models on diffusers' pipelines;
- ``own_models.py``: models on backends of our own (Pyramid Flow);
- ``embedded.py``: cinegen-tiny, the embedded model;
- ``twins.py``: each model's ``-tiny-random`` twin;
- ``lora_families.py``: which families take LoRA adapters.
``MODELS`` joins them, by id.
"""

from __future__ import annotations

from cinegen.registry.capabilities import Capabilities
from cinegen.registry.diffusers_models import DIFFUSERS_MODELS
from cinegen.registry.embedded import CINEGEN_TINY
from cinegen.registry.entries import ModelEntry, PresetConfig
from cinegen.registry.lora_families import LORA_FAMILIES, with_lora
from cinegen.registry.own_models import OWN_MODELS
from cinegen.registry.twins import tiny_twin

__all__ = ["CINEGEN_TINY", "LORA_FAMILIES", "MODELS", "Capabilities", "ModelEntry", "PresetConfig"]

MODELS: dict[str, ModelEntry] = {
    e.id: with_lora(e)
    for e in (
        CINEGEN_TINY,
        *DIFFUSERS_MODELS,
        *(tiny_twin(e) for e in DIFFUSERS_MODELS),
        *OWN_MODELS,
        *(tiny_twin(e) for e in OWN_MODELS),
    )
}
