"""A diffusers pipeline placed by its memory tier (``engine/memory.py``), and the weight-only
quantization its transformer loads with (``CINEGEN_QUANTIZE``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from cinegen.engine.memory import Choice, Tier
from cinegen.errors import ModelLoadError


def _full(pipe: Any, device: torch.device, choice: Choice) -> None:
    pipe.to(device)


def _model(pipe: Any, device: torch.device, choice: Choice) -> None:
    pipe.enable_model_cpu_offload(device=device)


def _group(pipe: Any, device: torch.device, choice: Choice) -> None:
    """Every component by block groups (one group for a module without repeated blocks);
    the next group copies on a CUDA stream while the current one runs."""
    pipe.enable_group_offload(
        onload_device=device,
        offload_device=torch.device("cpu"),
        offload_type="block_level",
        num_blocks_per_group=choice.blocks_per_group,
        use_stream=device.type == "cuda",
    )


def _sequential(pipe: Any, device: torch.device, choice: Choice) -> None:
    pipe.enable_sequential_cpu_offload(device=device)


PLACE: dict[Tier, Callable[[Any, torch.device, Choice], None]] = {
    "full": _full,
    "model": _model,
    "group": _group,
    "sequential": _sequential,
}


def place(pipe: Any, device: torch.device, choice: Choice) -> Any:
    """``pipe`` with its weights where ``choice`` says, the VAE tiled if it says so."""
    vae = getattr(pipe, "vae", None)
    if vae is not None and hasattr(vae, "enable_tiling"):
        vae.enable_tiling() if choice.vae_tiling else vae.disable_tiling()
    PLACE[choice.tier](pipe, device, choice)
    return pipe


def place_module(module: Any, device: torch.device, choice: Choice) -> Any:
    """A module loaded beside the pipeline (distilled transformer, upsampler): resident under
    ``full``, else moved by block groups (one layer at a time under ``sequential``), so that
    swapping it in does not bring a whole transformer onto the device."""
    if choice.tier == "full":
        return module.to(device)
    from diffusers.hooks.group_offloading import apply_group_offloading

    leaf = choice.tier == "sequential"
    apply_group_offloading(
        module,
        onload_device=device,
        offload_type="leaf_level" if leaf else "block_level",
        num_blocks_per_group=None if leaf else choice.blocks_per_group,
        use_stream=device.type == "cuda",
    )
    return module


def quantization(quantize: str, device: torch.device) -> Any | None:
    """The ``quantization_config`` for a pipeline's ``from_pretrained``: the transformer's
    weights in int8 or fp8 (torchao, weight-only), everything else as loaded; None for
    "none"."""
    transformer = transformer_quantization(quantize, device)
    if transformer is None:
        return None
    from diffusers.quantizers.pipe_quant_config import PipelineQuantizationConfig

    return PipelineQuantizationConfig(quant_mapping={"transformer": transformer})


def transformer_quantization(quantize: str, device: torch.device) -> Any | None:
    """The ``quantization_config`` for a transformer's own ``from_pretrained``, or None."""
    if quantize == "none":
        return None
    if quantize == "fp8" and device.type == "cpu":
        raise ModelLoadError(
            "CINEGEN_QUANTIZE=fp8 needs a GPU (float8 weights have no CPU kernels); on the "
            "CPU use CINEGEN_QUANTIZE=int8 or none"
        )
    try:
        from torchao.quantization import Float8WeightOnlyConfig, Int8WeightOnlyConfig
    except Exception as exc:  # absent, or built for another torch
        raise ModelLoadError(
            f"CINEGEN_QUANTIZE={quantize} needs torchao, which did not import ({exc}): "
            "pip install 'cinegen[quantize]'"
        ) from exc
    import diffusers

    weights = Int8WeightOnlyConfig() if quantize == "int8" else Float8WeightOnlyConfig()
    return diffusers.TorchAoConfig(weights)  # type: ignore[no-untyped-call]
