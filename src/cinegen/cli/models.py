"""``cinegen models`` and ``cinegen styles``: the registries, as tables or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Table

from cinegen.cli.terminal import _settings, out


def models(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    memory: Annotated[
        bool, typer.Option("--memory", help="Each model's GPU memory need per memory tier.")
    ] = False,
) -> None:
    """List the models, what each can do and its native grid."""
    from cinegen.engine.backends.diffusers import lora
    from cinegen.engine.memory import tier_table
    from cinegen.registry import MODELS

    if memory:
        _memory_table(as_json)
        return
    settings = _settings()
    default = settings.default_model
    rows: list[dict[str, Any]] = []
    for entry in MODELS.values():
        caps = entry.capabilities
        rows.append(
            {
                "id": entry.id,
                "default": entry.id == default,
                "family": entry.family,
                "tasks": entry.tasks,
                "weights": entry.weights,
                "native_fps": caps.fps_rule,
                "max_seconds": round(caps.max_seconds, 2),  # one render
                "longest_seconds": round(caps.longest_seconds, 2),  # in windows, if it continues
                "frames": caps.frame_rule,
                "grid": (
                    f"{caps.fixed_size[0]}x{caps.fixed_size[1]}"
                    if caps.fixed_size
                    else f"×{caps.spatial_multiple}, ≤ {caps.max_area} px"
                ),
                "sound": _sound(entry),
                "presets": {p.value: asdict(c) for p, c in entry.presets.items()},
                "memory_gib": tier_table(entry),  # per tier, bf16 ("?": unknown)
                # What turbo is here (fewer steps, cache, distilled weights, a LoRA), and
                # the LoRA adapters installed for the model (null: it takes none).
                "turbo": lora.describe_turbo(entry, settings),
                "loras": lora.installed(settings, entry.id) if caps.lora else None,
            }
        )
    if as_json:
        print(json.dumps(rows))
        return
    table = Table(
        "model",
        "tasks",
        "sound",
        "native grid",
        "frames",
        "fps",
        "clip s",
        "video s",
        "turbo",
        "weights",
    )
    for r in rows:
        name = f"{r['id']} [bold](default)[/]" if r["default"] else r["id"]
        table.add_row(
            name,
            ", ".join(t for t in r["tasks"] if t != "sound"),
            r["sound"] or "—",
            r["grid"],
            r["frames"],
            r["native_fps"],
            f"{r['max_seconds']:g}",
            f"{r['longest_seconds']:g}",
            r["turbo"],
            r["weights"],
        )
    out.print(table)
    out.print(
        "Any size up to 1920x1080 is resampled from the native grid. Sound: made with the "
        "picture, or by a soundtrack model from it (--audio on|off). Videos longer than one "
        "clip render in windows, each continuing the one before. Local weights: "
        "CINEGEN_MODEL_PATHS__<MODEL_ID>=/path/to/diffusers/folder. GPU memory per tier: "
        "cinegen models --memory. LoRA adapters: "
        f"{settings.lora_folder}/<model id>/<name>.safetensors"
    )


def _memory_table(as_json: bool) -> None:
    """``cinegen models --memory``: GiB on the device per tier (CINEGEN_MEMORY), bf16, at
    each model's longest, largest native clip (engine/memory.py: weights as published,
    activations and decode estimated)."""
    from cinegen.engine.memory import tier_table
    from cinegen.registry import MODELS

    quantize = _settings().quantize
    rows = {
        entry.id: tier_table(entry, quantize=quantize)
        for entry in MODELS.values()
        if not entry.tiny_random  # a few thousand parameters each: always resident
    }
    if as_json:
        print(json.dumps(rows))
        return
    columns = next(iter(rows.values()))
    table = Table("model", *columns, title=f"GiB on the GPU (bf16, quantize {quantize})")
    for model, cells in rows.items():
        table.add_row(model, *cells.values())
    out.print(table)
    out.print(
        "Each tier assumes VAE tiling where it helps; the decode columns are the decode "
        "alone. CINEGEN_MEMORY=auto takes the first tier that fits 90% of the free memory; "
        "activations and decode are estimates. '?': parameter counts not in the registry."
    )


def _sound(entry: Any) -> str | None:
    """How a model's videos get their sound, in words, or None for a silent model."""
    if entry.capabilities.sound:
        return "with the picture"
    if entry.soundtrack is not None:
        return "from the picture"
    return None


def styles(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the style presets."""
    from cinegen.engine.styles import STYLES

    if as_json:
        print(json.dumps([asdict(s) for s in STYLES.values()]))
        return
    table = Table("style", "look", "adds to the prompt")
    for s in STYLES.values():
        table.add_row(s.name, s.description, s.prompt_suffix or "—")
    out.print(table)
