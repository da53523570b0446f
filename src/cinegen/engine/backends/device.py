"""Where a backend runs: the torch device and dtype from the settings, shared by every
backend (the diffusers families and cinegen-tiny alike)."""

from __future__ import annotations

import torch

from cinegen.config import Settings
from cinegen.errors import ModelLoadError


def pick_device_dtype(settings: Settings, tiny: bool) -> tuple[torch.device, torch.dtype]:
    """CUDA + bfloat16 when present, else CPU + float32; settings may override either."""
    if settings.device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    else:
        device = settings.device
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available[device]:
        raise ModelLoadError(
            f"CINEGEN_DEVICE={device} but this machine has no {device} device torch can use; "
            "set CINEGEN_DEVICE=auto or cpu"
        )
    if settings.dtype == "auto":
        # Random tiny weights gain nothing from bf16 and CPUs run it slowly.
        dtype = torch.bfloat16 if device == "cuda" and not tiny else torch.float32
    else:
        dtype = getattr(torch, settings.dtype)
    return torch.device(device), dtype
