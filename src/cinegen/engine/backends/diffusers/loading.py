"""A model's diffusers pipelines, loaded: the pipeline class each task runs, the weights
from a local directory or the hub (saying what to install where a package they need does
not import), and a sibling pipeline over modules already loaded."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import torch

from cinegen.engine import memory
from cinegen.engine.backends.diffusers import placement
from cinegen.engine.backends.diffusers.families import Family
from cinegen.errors import ModelLoadError
from cinegen.registry import ModelEntry


def load_pipeline(
    entry: ModelEntry,
    family: Family,
    task: str,
    *,
    device: torch.device,
    dtype: torch.dtype,
    weights_from: str,
    quantize: memory.Quantize,
) -> Any:
    """The pipeline of ``task`` (t2v, i2v, keyframes), not yet placed on the device."""
    if entry.tiny_random:
        from cinegen.engine.backends.diffusers.tiny_twins import build_tiny_pipeline

        pipe = build_tiny_pipeline(entry.family, task)
        # Built in float32; casting with .to() only when asked for another dtype.
        return pipe if dtype == torch.float32 else pipe.to(dtype=dtype)
    import diffusers

    cls = getattr(diffusers, class_name(entry, family, task))
    quantized = placement.quantization(quantize, device)
    try:
        return cls.from_pretrained(weights_from, dtype=dtype, quantization_config=quantized)
    except Exception as exc:
        explain_needs(entry, family, exc)
        if not isinstance(exc, (OSError, ValueError)):
            raise
        env = "CINEGEN_MODEL_PATHS__" + entry.id.upper().replace("-", "_")
        where = "directory" if Path(weights_from).exists() else "hub id"
        raise ModelLoadError(
            f"could not load {entry.id} from {where} {weights_from!r} ({exc}). "
            f"Download the diffusers-format weights of {entry.weights} and point "
            f"{env} at that directory."
        ) from exc


def explain_needs(entry: ModelEntry, family: Family, failure: Exception) -> None:
    """Where loading failed and a package the family's weights need does not import, say
    which to install (transformers' own failure names neither the package nor the fix)."""
    for package in family.needs:
        try:
            importlib.import_module(package)
        except Exception as exc:  # absent, or built for another torch (a RuntimeError)
            raise ModelLoadError(
                f"could not load {entry.id} ({failure}): it needs {package}, which "
                f"did not import ({exc}). Install the {package} built for your torch "
                f"{torch.__version__.split('+')[0]}: pip install 'cinegen[{entry.family}]'"
            ) from failure


def class_name(entry: ModelEntry, family: Family, task: str) -> str:
    """The diffusers pipeline class that runs ``task`` for this family."""
    name = {"t2v": family.t2v, "i2v": family.i2v}.get(task, family.keyframes)
    if name is None:
        raise ModelLoadError(f"{entry.id} has no {task} pipeline")
    return name


def sibling(pipe: Any, class_name: str) -> Any:
    """Another pipeline class over ``pipe``'s loaded modules: no copy, no reload, no cast.

    One class for both (Kandinsky 6) is the same pipeline. Trap: diffusers' ``from_pipe``
    casts every shared module to float32 (its dtype defaults to it), doubling a bf16 model's
    memory in place; passing it the dtype would cast the modules a model keeps in float32.
    Trap: ``components`` leaves out the pipeline's settings (Wan 2.2 TI2V's
    ``expand_timesteps``, ``boundary_ratio``), without which the sibling would read the
    image the Wan 2.1 way and fail: they are carried over from its config."""
    if type(pipe).__name__ == class_name:
        return pipe
    import diffusers

    cls = getattr(diffusers, class_name)
    wanted, optional = cls._get_signature_keys(cls)
    # A module's config entry is its (library, class) pair: only plain values are settings.
    settings = {
        name: pipe.config[name]
        for name in optional
        if name in pipe.config and not isinstance(pipe.config[name], (list, tuple))
    }
    modules = {name: module for name, module in pipe.components.items() if name in wanted}
    sibling = cls(**modules, **settings)
    sibling.set_progress_bar_config(disable=True)
    return sibling
