"""LoRA adapters: the set the operator installs, what a request runs, and one backend's
adapters loaded once and switched between requests.

Installed adapters are files ``<Settings.lora_folder>/<model id>/<name>.safetensors`` in
diffusers' LoRA format (what ``save_lora_weights`` writes; the loaders also convert the
common trainers' layouts). A request names them by file stem; a name is never a path
(``spec.LORA_NAME``) and must be one of the model's installed set (``resolve``).

Per model the deployment may pin a set (``Settings.loras``): it runs whenever a request names
none, fused into the weights for speed. A turbo preset may be a step-distillation LoRA
(``Settings.turbo_loras``, or an adapter named ``turbo`` in the model's folder): the turbo
preset then adds it to the set and runs its steps and guidance.

Wan 2.2 A14B runs two experts (``transformer`` for high noise, ``transformer_2`` for low),
and an adapter reaches both (``experts``): a file in the one-transformer layout is loaded into
each, as Wan 2.2 LoRAs published as one file are used; a file whose keys also (or only) start
with ``transformer_2.`` (what diffusers' own saving names that module's layers) gives the
low-noise expert those weights and the high-noise expert the rest. A published pair
(``high_noise_model`` / ``low_noise_model``) is installed as one such file (``join_experts``).

Torch and diffusers are imported only by ``Adapters``: the API process validates names
with this module and never loads a model.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinegen.errors import SpecError
from cinegen.registry import MODELS, ModelEntry, PresetConfig
from cinegen.spec import GenerationSpec, Preset

if TYPE_CHECKING:
    from cinegen.config import Settings, TurboLora

SUFFIX = ".safetensors"
# Keys of an adapter file meant for Wan 2.2's low-noise expert (diffusers' module name).
LOW_NOISE = "transformer_2."
TURBO_NAME = "turbo"  # a LoRA of this name in a model's folder is its turbo preset

# What a render runs: (name, scale) pairs, in the order given.
LoraSet = tuple[tuple[str, float], ...]


def folder(settings: Settings, model_id: str) -> Path:
    return settings.lora_folder / model_id


def installed(settings: Settings, model_id: str) -> list[str]:
    """The names of the adapters installed for a model, sorted."""
    return settings.installed_loras(model_id)


def turbo(settings: Settings, model_id: str) -> TurboLora | None:
    """The step-distillation LoRA a model's turbo preset runs in this deployment, if any."""
    from cinegen.config import TurboLora

    if model_id in settings.turbo_loras:
        return settings.turbo_loras[model_id]
    if MODELS[model_id].capabilities.lora and TURBO_NAME in installed(settings, model_id):
        return TurboLora(name=TURBO_NAME)
    return None


def preset_config(
    model: ModelEntry, preset: Preset, settings: Settings
) -> tuple[PresetConfig, LoraSet]:
    """The preset a render runs and the LoRA it adds: a turbo LoRA's own steps and guidance
    (no step cache, no distilled weights: the LoRA is the distillation), else the model's."""
    config = model.presets[preset]
    distill = turbo(settings, model.id) if preset is Preset.turbo else None
    if distill is None:
        return config, ()
    changed = dataclasses.replace(
        config,
        steps=distill.steps,
        guidance=distill.guidance,
        conditioned_guidance=None,  # the distillation's guidance, for every render
        cache=False,
        distilled=False,
    )
    return changed, ((distill.name, distill.scale),)


def resolve(spec: GenerationSpec, model: ModelEntry, settings: Settings, added: LoraSet) -> LoraSet:
    """The adapters a request runs: the ones it names (left out: the deployment's set for
    the model), then ``added`` (the turbo LoRA) unless named already. ``SpecError`` for a
    model that takes none, or a name not installed for it."""
    asked = spec.loras
    if asked and not model.capabilities.lora:
        raise SpecError(
            "loras",
            f"{model.id} cannot take LoRA adapters",
            value=model.id,
            allowed=", ".join(m.id for m in MODELS.values() if m.capabilities.lora),
        )
    have = installed(settings, model.id)
    for i, lora in enumerate(asked or []):
        if lora.name not in have:
            raise SpecError(
                f"loras.{i}.name",
                f"is not installed for {model.id}",
                value=lora.name,
                allowed=", ".join(have) or f"none installed for {model.id}",
            )
    chosen = (
        {lora.name: lora.scale for lora in asked}
        if asked is not None
        else dict(settings.loras.get(model.id, {}))
    )
    for name, scale in added:
        chosen.setdefault(name, scale)
    return tuple(chosen.items())


def pinned(settings: Settings, model_id: str) -> LoraSet:
    """The deployment's set for a model: what runs, fused, when a request names none."""
    return tuple(settings.loras.get(model_id, {}).items())


def describe_turbo(model: ModelEntry, settings: Settings) -> str:
    """What the turbo preset is for a model in this deployment, in words."""
    distill = turbo(settings, model.id)
    if distill is not None:
        return f"LoRA {distill.name} ({distill.steps} steps)"
    config = model.presets[Preset.turbo]
    named = model.distilled_weights or settings.model_paths.get(f"{model.id}-distilled")
    if config.distilled and named:
        return "distilled weights"
    return "fewer steps" + (", step cache" if config.cache else "")


def experts(state: dict[str, Any], *, two: bool) -> list[tuple[bool, dict[str, Any]]]:
    """An adapter file's weights by expert: (into ``transformer_2``, weights in the
    one-transformer layout) pairs. On one expert the file must not name a second; on two,
    a file that names none is loaded into both, else each part into its own expert."""
    low = {
        "transformer." + k.removeprefix(LOW_NOISE): v
        for k, v in state.items()
        if k.startswith(LOW_NOISE)
    }
    high = {k: v for k, v in state.items() if not k.startswith(LOW_NOISE)}
    if not two:
        if low:
            raise ValueError(f"weights for a second expert ({LOW_NOISE}*) on a model with one")
        return [(False, high)]
    if not low:
        return [(False, high), (True, high)]
    return [(False, high)] * bool(high) + [(True, low)]


def join_experts(high: dict[str, Any], low: dict[str, Any]) -> dict[str, Any]:
    """One installable file from a Wan 2.2 LoRA published as a pair, both in diffusers'
    layout (keys ``transformer.*``): the low-noise expert's keys renamed ``transformer_2.*``."""
    renamed = {LOW_NOISE + k.removeprefix("transformer."): v for k, v in low.items()}
    return {**high, **renamed}


class Adapters:
    """The LoRA adapters of one pipeline: each loaded on first use and kept, switched per
    render with ``set_adapters`` (the model is never reloaded), the pinned set fused.

    Trap: a fused set is in the weights, and a peft layer that is merged ignores which
    adapters are active, so another set needs an unfuse first. Each fuse and unfuse rounds
    the weights (W + ΔW - ΔW is not W in bf16), so the pinned set is fused once, at load,
    and unfused at most once, by the first render that asks for another set; from then on
    every set, the pinned one too, runs unfused (the same output, a little slower)."""

    def __init__(self, pipe: Any, *, where: Path, pinned: LoraSet) -> None:
        self.pipe, self.where, self.pinned = pipe, where, pinned
        self.loaded: set[str] = set()
        self.active: LoraSet = ()
        self.fused = False
        # Wan 2.2 A14B's low-noise expert takes adapters too (the pipeline's ``transformer_2``;
        # None on one-transformer checkpoints of the same pipeline class).
        self.two_experts = getattr(pipe, "transformer_2", None) is not None
        self.components = ["transformer", "transformer_2"] if self.two_experts else ["transformer"]
        if pinned:
            self.use(pinned)
            self.pipe.fuse_lora(
                components=self.components, adapter_names=[name for name, _ in pinned]
            )
            self.fused = True

    def use(self, wanted: LoraSet) -> None:
        """Make the pipeline run with exactly ``wanted`` (none: the base model)."""
        if wanted == self.active:
            return
        if self.fused:
            self.pipe.unfuse_lora(components=self.components)
            self.fused = False
        for name, _ in wanted:
            self._load(name)
        if wanted:
            self.pipe.enable_lora()
            self.pipe.set_adapters([n for n, _ in wanted], [s for _, s in wanted])
        elif self.loaded:
            self.pipe.disable_lora()
        self.active = wanted

    def _load(self, name: str) -> None:
        if name in self.loaded:
            return
        from safetensors.torch import load_file

        # Read here and handed over as tensors: diffusers never looks for a hub repository.
        state = load_file(self.where / f"{name}{SUFFIX}")
        for low_noise, part in experts(state, two=self.two_experts):
            # Trap: diffusers' Wan loader takes ``load_into_transformer_2`` (default False: the
            # high-noise expert alone); other pipelines' loaders know no such argument.
            into = {"load_into_transformer_2": True} if low_noise else {}
            with warnings.catch_warnings():
                # peft warns at every adapter after the first that the model has several: the
                # point.
                warnings.filterwarnings("ignore", message="Already found a `peft_config`")
                self.pipe.load_lora_weights(part, adapter_name=name, **into)
        self.loaded.add(name)
