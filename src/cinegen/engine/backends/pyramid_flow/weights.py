"""Reading a published component folder's tensors: one safetensors file, its shards, or the
older ``.bin`` pickle (read with ``weights_only``)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import Tensor

from cinegen.errors import ModelLoadError

STEM = "diffusion_pytorch_model"  # diffusers' ModelMixin name, which the reference saves


def read_state_dict(folder: Path, dtype: torch.dtype) -> dict[str, Tensor]:
    """Every tensor of ``folder``'s weights, cast to ``dtype``."""
    single, index = folder / f"{STEM}.safetensors", folder / f"{STEM}.safetensors.index.json"
    if single.exists():
        tensors = load_file(single)
    elif index.exists():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        tensors = {k: v for shard in shards for k, v in load_file(folder / shard).items()}
    elif (folder / f"{STEM}.bin").exists():
        tensors = torch.load(folder / f"{STEM}.bin", map_location="cpu", weights_only=True)
    else:
        raise ModelLoadError(f"no {STEM}.safetensors (or its shards, or .bin) in {folder}")
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}


def write_state_dict(folder: Path, tensors: dict[str, Tensor], config: dict[str, object]) -> None:
    """A component folder as the reference's ``save_pretrained`` leaves it."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    save_file({k: v.contiguous() for k, v in tensors.items()}, folder / f"{STEM}.safetensors")
