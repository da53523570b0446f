"""Full-size networks with random weights, built within this machine's memory: what
``fullsize.py`` (the diffusers families) and ``pyramid_flow/fullsize.py`` both need."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch


def param_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Parameters made in ``dtype`` at once: a 5 B transformer built in float32 and cast
    would hold 20 GB on the way, more than this machine has."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def wider_text_encoder(encoder: Any, width: int) -> Any:
    """The twin's text encoder, one layer deep, at ``width``: what the transformer reads."""
    config = encoder.config.__class__(**encoder.config.to_dict())
    size_key = "d_model" if hasattr(config, "d_model") else "hidden_size"
    setattr(config, size_key, width)
    for depth in ("num_layers", "num_hidden_layers"):
        if hasattr(config, depth):
            setattr(config, depth, 1)
    if hasattr(config, "layer_types") and config.layer_types is not None:
        config.layer_types = config.layer_types[:1]
    torch.manual_seed(0)
    return type(encoder)(config).to(torch.bfloat16).eval()
