"""cinegen-tiny's weights on disk: one safetensors file and one JSON record beside it.

The record holds the networks' shapes, the latent normalisation, how the weights were made
(command, seed, hardware, wall time) and the weight file's sha256, which is checked before
the file is read. The shipped bundle lives in ``cinegen/models/tiny/shipped`` inside the
package; any other bundle (``cinegen train-tiny --out DIR``) loads from its directory.
cinegen-tiny-audio's bundle (``audionet``) is written and checked by the same two functions,
``write_bundle`` and ``read_bundle``, under its own ``BundleFiles``.
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


@dataclass(frozen=True)
class BundleFiles:
    """One model's bundle: its file names and the command that makes it (named in refusals)."""

    model: str  # "cinegen-tiny": the files are MODEL.safetensors and MODEL.json
    command: str  # "cinegen train-tiny"

    @property
    def weights(self) -> str:
        return f"{self.model}.safetensors"

    @property
    def record(self) -> str:
        return f"{self.model}.json"


FILES = BundleFiles("cinegen-tiny", "cinegen train-tiny")
WEIGHTS_NAME = FILES.weights
RECORD_NAME = FILES.record
MAX_BYTES = 30 * 1024 * 1024


def write_bundle(
    directory: Path,
    files: BundleFiles,
    *,
    tensors: dict[str, Tensor],
    config: dict[str, Any],
    record: dict[str, Any],
    max_bytes: int | None = None,
) -> Path:
    """Write ``tensors`` (atomically) and the record with ``config``, the file's sha256 and
    size into ``directory``; returns the weight file. A file over ``max_bytes`` is refused
    before its record is written."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / files.weights
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp))
    tmp.replace(path)
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise ValueError(f"{path} is {path.stat().st_size} bytes, over {max_bytes}")
    full = {**record, "config": config, "sha256": sha256_file(path)}
    full["bytes"] = path.stat().st_size
    (directory / files.record).write_text(json.dumps(full, indent=2) + "\n")
    return path


def read_bundle(directory: Path, files: BundleFiles) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The tensors and the record of the bundle in ``directory``, as stored, once the weight
    file's sha256 matches its record's; a missing or damaged bundle is a ``ModelLoadError``
    that names the command making a new one."""
    path, record_path = directory / files.weights, directory / files.record
    if not path.is_file() or not record_path.is_file():
        raise ModelLoadError(
            f"no {files.model} weights in {directory} (want {files.weights} and "
            f"{files.record}); make them with `{files.command} --out DIR`"
        )
    record = json.loads(record_path.read_text())
    actual = sha256_file(path)
    if actual != record.get("sha256"):
        raise ModelLoadError(
            f"{path} does not match its record (sha256 {actual[:12]}…, recorded "
            f"{str(record.get('sha256'))[:12]}…): the file is damaged or was replaced; "
            f"reinstall cinegen or retrain with `{files.command}`"
        )
    return load_file(str(path)), record


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
    tensors = {**_prefixed("autoencoder", autoencoder), **_prefixed("transformer", transformer)}
    tensors["latent.mean"] = mean.float().contiguous()
    tensors["latent.std"] = std.float().contiguous()
    return write_bundle(directory, FILES, tensors=tensors, config=config.to_dict(), record=record)


def load(directory: Path | None = None) -> TinyModel:
    """The bundle in ``directory`` (default: the shipped one), checked, on the CPU, float32."""
    tensors, record = read_bundle(directory or SHIPPED, FILES)
    config = TinyConfig.from_dict(record["config"])
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
