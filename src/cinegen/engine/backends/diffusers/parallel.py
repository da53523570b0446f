"""One video over a group of GPUs: diffusers' context parallelism, where the model's
transformer has a plan for it (``_cp_plan``: LTX, LTX-2, Wan 2.1/2.2 in diffusers 0.42.1).

Each rank of the group (``jobs/group.py``) runs the same pipeline call; the transformer
splits the video's tokens over the ranks (Ulysses: attention heads exchanged, when the
heads divide among the ranks; else ring attention) and gathers its output, so every rank
decodes the same frames. Which models can is read from the transformer classes themselves,
so the list follows diffusers rather than a list of ours.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any

import diffusers
import torch
import torch.distributed as dist

from cinegen.engine.backends.diffusers.families import FAMILIES
from cinegen.registry import MODELS

DIFFUSERS_BACKEND = "cinegen.engine.backends.diffusers.backend:DiffusersVideoBackend"


@functools.cache
def _transformer_class(pipeline_class: str) -> type | None:
    """The transformer class a diffusers pipeline declares in its constructor."""
    hints = typing.get_type_hints(getattr(diffusers, pipeline_class).__init__)
    declared = hints.get("transformer")
    options = typing.get_args(declared) if isinstance(declared, types.UnionType) else (declared,)
    return next((c for c in options if isinstance(c, type) and c is not type(None)), None)


def splits(model_id: str) -> bool:
    """Whether ``model_id`` can render one video over several GPUs."""
    entry = MODELS[model_id]
    if entry.factory != DIFFUSERS_BACKEND:
        return False
    transformer = _transformer_class(FAMILIES[entry.family].t2v)
    return getattr(transformer, "_cp_plan", None) is not None


def models_that_split() -> list[str]:
    return [m for m in MODELS if not MODELS[m].tiny_random and splits(m)]


def split_over_group(pipe: Any) -> str | None:
    """Split ``pipe``'s transformers over the process group, if there is one of several
    ranks and they have a plan; the kind of split ("ulysses" or "ring"), else None."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return None
    if not torch.accelerator.is_available():
        # Trap: diffusers places each rank on an accelerator (rank % device_count): a CPU
        # group (gloo, the tests') renders the whole video on every rank instead.
        return None
    transformers = [
        module
        for name in ("transformer", "transformer_2")
        if (module := getattr(pipe, name, None)) is not None
        and getattr(module, "_cp_plan", None) is not None
    ]
    if not transformers:
        return None
    world = dist.get_world_size()
    heads = getattr(transformers[0].config, "num_attention_heads", 0)
    kind = "ulysses" if heads and heads % world == 0 else "ring"
    config = diffusers.ContextParallelConfig(**{f"{kind}_degree": world})  # type: ignore[no-untyped-call]
    for module in transformers:
        module.enable_parallelism(config=config)
    return kind
