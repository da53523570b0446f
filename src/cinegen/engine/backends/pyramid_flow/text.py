"""Pyramid Flow's text side: CLIP-L's pooled output and T5-XXL's token states, as
``pyramid_dit/flux_modules/modeling_text_encoder.py`` (``FluxTextEncoderWithMask``) of
jy0205/Pyramid-Flow reads them from the checkpoint folder: ``tokenizer/`` + ``text_encoder/``
(CLIP) and ``tokenizer_2/`` + ``text_encoder_2/`` (T5), with transformers' own classes.

Trap: the reference names ``CLIPTokenizer`` and ``T5TokenizerFast``; we load both with
``AutoTokenizer``, which reads the same files (the folder's tokenizer_config.json names the
class) and also takes the tiny twin's tokenizers, made in code."""

# transformers' loaders are untyped.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

T5_MAX_LENGTH = 128  # the reference's max_sequence_length


@dataclass
class TextEncoders:
    clip_tokenizer: Any
    clip: Any  # transformers CLIPTextModel
    t5_tokenizer: Any
    t5: Any  # transformers T5EncoderModel

    @classmethod
    def load(cls, folder: Path, dtype: torch.dtype) -> TextEncoders:
        from transformers import AutoTokenizer, CLIPTextModel, T5EncoderModel

        return cls(
            clip_tokenizer=AutoTokenizer.from_pretrained(folder / "tokenizer"),
            clip=CLIPTextModel.from_pretrained(folder / "text_encoder", dtype=dtype).eval(),
            t5_tokenizer=AutoTokenizer.from_pretrained(folder / "tokenizer_2"),
            t5=T5EncoderModel.from_pretrained(folder / "text_encoder_2", dtype=dtype).eval(),
        )

    def to(self, device: torch.device) -> TextEncoders:
        self.clip.to(device)
        self.t5.to(device)
        return self

    @torch.inference_mode()
    def __call__(self, prompts: list[str]) -> tuple[Tensor, Tensor, Tensor]:
        """-> T5 states (B, 128, d_t5), their mask (B, 128), CLIP pooled (B, d_clip)."""
        device = self.t5.device
        clip_ids = self.clip_tokenizer(
            prompts,
            padding="max_length",
            max_length=self.clip_tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids
        pooled = self.clip(clip_ids.to(device)).pooler_output  # (B, d_clip)
        t5 = self.t5_tokenizer(
            prompts,
            padding="max_length",
            max_length=T5_MAX_LENGTH,
            truncation=True,
            return_tensors="pt",
        )
        mask = t5.attention_mask.to(device)  # (B, 128)
        states = self.t5(t5.input_ids.to(device), attention_mask=mask)[0]  # (B, 128, d_t5)
        return states, mask, pooled
