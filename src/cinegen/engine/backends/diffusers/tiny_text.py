"""The text side of the tiny twins: a word-level tokenizer that stands in for the hub
tokenizers diffusers' own tests fetch, and tiny T5 / UMT5, Llama and LLaVA text encoders that
read its ids. LTX-2's Gemma 3 and its tokenizer are made in ``tiny_ltx2.py``.
"""

# transformers' constructors are untyped.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from typing import Any

from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordLevel
from transformers import (
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    PreTrainedTokenizerFast,
    T5Config,
    T5EncoderModel,
    UMT5Config,
    UMT5EncoderModel,
)

_SPECIALS = ("<pad>", "</s>", "<unk>")  # ids 0, 1, 2: the T5 convention
# Kept whole so HunyuanVideo's Llama-3 prompt templates find their markers and image slot.
_TEMPLATE_TOKENS = ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<image>")
_WORD_LIST = (
    "a an the of and in on with to at is moving slowly quickly left right up down around "
    "red green blue yellow white black orange purple circle square triangle ball cube dog cat "
    "car bird person tree sky water sea city street night day sun light camera pan zoom "
    "blurry low quality"
)
_WORDS = tuple(_WORD_LIST.split())
_TOKEN_IDS = {t: i for i, t in enumerate((*_SPECIALS, *_TEMPLATE_TOKENS, "\n", *_WORDS))}
VOCAB_SIZE = len(_TOKEN_IDS)


def tokenizer(max_length: int) -> PreTrainedTokenizerFast:
    """Lower-case word tokenizer that appends </s>, like T5's; unknown words map to <unk>.

    Trap: HunyuanVideo's default templates crop a fixed count of Llama-3 tokens off the front
    (95 t2v, 103 i2v). Counting each newline as a token makes this tokenizer split those
    prefixes into 95 / 104 tokens. With fewer, the crop eats the prompt, and a short negative
    prompt ends up fully masked: NaN frames."""
    tok = Tokenizer(WordLevel(dict(_TOKEN_IDS), unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Split(
        Regex(r"\n|\w+|[^\w\s]+"), behavior="removed", invert=True
    )
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        additional_special_tokens=list(_TEMPLATE_TOKENS),
        model_max_length=max_length,
    )


def t5(
    umt5: bool = False, *, vocab_size: int = VOCAB_SIZE, width: int = 32
) -> T5EncoderModel | UMT5EncoderModel:
    """A two-layer T5 (or umT5) encoder; ``width`` is each transformer's text/caption dim."""
    config: dict[str, Any] = dict(
        vocab_size=vocab_size,
        d_model=width,
        d_kv=8,
        d_ff=37,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    return UMT5EncoderModel(UMT5Config(**config)) if umt5 else T5EncoderModel(T5Config(**config))


def llama_config() -> LlamaConfig:
    return LlamaConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=16,  # == Hunyuan transformer text_embed_dim
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=3,  # the pipeline reads hidden_states[-3]
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=1,
    )


def llava() -> LlavaForConditionalGeneration:
    """HunyuanVideo-I2V's text encoder: Llama that also reads the image through a CLIP tower."""
    vision = CLIPVisionConfig(
        hidden_size=8,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        # Trap: the default I2V prompt template expands "<image>" to image_emb_len=576 tokens,
        # so the tower must give exactly 576 patch features: (336 / 14) ** 2.
        image_size=336,  # == image processor crop_size
        patch_size=14,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=llama_config(),
        image_token_index=_TOKEN_IDS["<image>"],
        pad_token_id=0,  # type: ignore[call-arg]  # an extra kwarg, read by the pipeline
    )
    return LlavaForConditionalGeneration(config)
