"""cinegen-tiny's weights on disk: one safetensors file and one JSON record beside it.

The record holds the networks' shapes, the latent normalisation, how the weights were made
(command, seed, hardware, wall time) and the weight file's sha256, which is checked before
the file is read. The shipped bundle lives in ``cinegen/models/tiny/shipped`` inside the
package; any other bundle (``cinegen train-tiny --out DIR``) loads from its directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from cinegen.errors import ModelLoadError
from cinegen.models.tiny.network import AutoEncoder, TinyConfig, VideoDiT
from cinegen.models.tiny.text import sha256_file

SHIPPED = Path(__file__).resolve().parent / "shipped"
WEIGHTS_NAME = "cinegen-tiny.safetensors"
RECORD_NAME = "cinegen-tiny.json"
MAX_BYTES = 30 * 1024 * 1024


@dataclass
class TinyModel:
    config: TinyConfig
    autoencoder: AutoEncoder
    transformer: VideoDiT
    latent_mean: Tensor  # (C,) raw latents = normalised * std + mean
    latent_std: Tensor
    record: dict[str, Any]

    def to(self, device: torch.device | str) -> TinyModel:
        self.autoencoder.to(device)
        self.transformer.to(device)
        self.latent_mean = self.latent_mean.to(device)
        self.latent_std = self.latent_std.to(device)
        return self


def _prefixed(prefix: str, module: nn.Module) -> dict[str, Tensor]:
    return {f"{prefix}.{k}": v.detach().half().contiguous() for k, v in module.state_dict().items()}


def export(
    directory: Path,
    config: TinyConfig,
    autoencoder: AutoEncoder,
    transformer: VideoDiT,
    mean: Tensor,
    std: Tensor,
    record: dict[str, Any],
) -> Path:
    """Write the bundle (float16 weights) into ``directory``; returns the weight file."""
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {**_prefixed("autoencoder", autoencoder), **_prefixed("transformer", transformer)}
    tensors["latent.mean"] = mean.float().contiguous()
    tensors["latent.std"] = std.float().contiguous()
    path = directory / WEIGHTS_NAME
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp))
    tmp.replace(path)
    full = {**record, "config": config.to_dict(), "sha256": sha256_file(path)}
    full["bytes"] = path.stat().st_size
    (directory / RECORD_NAME).write_text(json.dumps(full, indent=2) + "\n")
    return path


def load(directory: Path | None = None) -> TinyModel:
    """The bundle in ``directory`` (default: the shipped one), checked, on the CPU, float32."""
    directory = directory or SHIPPED
    path, record_path = directory / WEIGHTS_NAME, directory / RECORD_NAME
    if not path.is_file() or not record_path.is_file():
        raise ModelLoadError(
            f"no cinegen-tiny weights in {directory} (want {WEIGHTS_NAME} and {RECORD_NAME}); "
            "make them with `cinegen train-tiny --out DIR`"
        )
    record = json.loads(record_path.read_text())
    actual = sha256_file(path)
    if actual != record.get("sha256"):
        raise ModelLoadError(
            f"{path} does not match its record (sha256 {actual[:12]}…, recorded "
            f"{str(record.get('sha256'))[:12]}…): the file is damaged or was replaced; "
            "reinstall cinegen or retrain with `cinegen train-tiny`"
        )
    config = TinyConfig.from_dict(record["config"])
    tensors = load_file(str(path))
    autoencoder, transformer = AutoEncoder(config), VideoDiT(config)
    for prefix, module in (("autoencoder", autoencoder), ("transformer", transformer)):
        state = {
            k.removeprefix(prefix + "."): v.float()
            for k, v in tensors.items()
            if k.startswith(prefix + ".")
        }
        module.load_state_dict(state)
        module.eval().requires_grad_(False)
    return TinyModel(
        config, autoencoder, transformer, tensors["latent.mean"], tensors["latent.std"], record
    )
