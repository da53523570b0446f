"""Which models take LoRA adapters: the families whose diffusers pipelines load them."""

from __future__ import annotations

import dataclasses

from cinegen.registry.entries import ModelEntry

# The families whose diffusers pipelines load LoRA adapters (a LoraLoaderMixin: LTX, LTX-2,
# Wan 2.1 and 2.2, Wan VACE, CogVideoX, Mochi, Hunyuan, SkyReels-V2, SANA-Video; a test checks
# each pipeline class). Kandinsky 6's and HunyuanVideo 1.5's pipelines, Pyramid Flow and the
# embedded model take none.
LORA_FAMILIES = frozenset(
    {
        "ltx",
        "ltx-2",
        "wan",
        "wan-flf2v",
        "wan-2.2",
        "wan-2.2-ti2v",
        "wan-vace",
        "cogvideox",
        "mochi",
        "hunyuan",
        "skyreels-v2",
        "sana-video",
    }
)


def with_lora(entry: ModelEntry) -> ModelEntry:
    caps = dataclasses.replace(entry.capabilities, lora=entry.family in LORA_FAMILIES)
    return dataclasses.replace(entry, capabilities=caps)
