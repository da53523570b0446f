"""Kandinsky 6's text/image-to-video-and-audio pipeline with tiny random weights, built in code.

diffusers 0.42.1 ships no tests for it; the components follow the pipeline's ``__init__``
(``pipelines/kandinsky6/pipeline_kandinsky6_ti2va.py``): the Kandinsky 6 transformer, the
HunyuanVideo VAE (8x spatial, 4x temporal, as in Kandinsky 5), Qwen2.5-VL and CLIP text
encoders with their tokenizers made here, MMAudio's VAE and BigVGAN vocoder. The transformer
takes the released checkpoints' flags (``text_token_padding``, ``ca_rope``, ``cross_gates``,
``fix_modulation``: its docstring) and image conditioning (``visual_cond``, two token
types), so one pipeline serves text-to-video and image-to-video. The audio keeps the real
rate and hops (44.1 kHz, 512 samples a mel frame, two mel frames a latent), so the sound's
length behaves as on the real checkpoint.

How long the sound is (``__call__`` step 6 and 9): F frames at ``frame_rate`` fps make
L = ceil(F / fps * 44100 / 1024) audio latents; the audio VAE decodes them to 2L mel frames
and the vocoder makes 512 samples of each, mono: 1024 L samples, up to 23 ms longer than
the frames.
"""

# diffusers' and transformers' constructors are untyped.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import math
import re

from diffusers import (
    AutoencoderKLHunyuanVideo,
    FlowMatchEulerDiscreteScheduler,
    Kandinsky6TI2VAPipeline,
    Kandinsky6Transformer3DModel,
    MMAudioVAE,
    MMAudioVocoder,
)
from diffusers.pipelines.kandinsky6.pipeline_kandinsky6_ti2va import _PROMPT_TEMPLATE
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from tokenizers import pre_tokenizers
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2Tokenizer,
)

from cinegen.engine.backends.diffusers.tiny_pipelines import assemble
from cinegen.engine.backends.diffusers.tiny_text import _WORDS

TEXT_HIDDEN = 32  # Qwen's hidden size == the transformer's in_text_dim
POOLED = 16  # CLIP's hidden size == the transformer's in_text_dim2 (its pooler_output)
VIDEO_LATENT_CHANNELS = 4
AUDIO_LATENT_CHANNELS = 4
SAMPLE_RATE = 44_100
MEL_HOP = 512  # samples a mel frame: the vocoder's upsampling, (8, 4, 2, 2, 2, 2)
LATENT_HOP = 2 * MEL_HOP  # samples an audio latent: the VAE's encoder halves the mel frames

_QWEN_SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
# Trap: the pipeline crops a fixed 129 tokens (its ``_QWEN_CROP_START``) off the front of
# its chat template, counted by Qwen2.5's own tokenizer. Qwen's pre-tokenizer cuts the
# template's front into 125 pieces; Qwen's 151k-token BPE leaves four of them in two tokens.
# This tokenizer keeps every piece whole except these four, so the count is 129 and the crop
# lands on the prompt's first token (which four Qwen cuts does not matter to the crop).
_CUT = {" promt": " prom", " scren": " sc", " dynamism": " dynam", " postprocessing": " post"}


_BYTE_LEVEL = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)


def _byte_level(text: str) -> str:
    """``text`` as byte-level BPE spells it (a space is "Ġ", a newline "Ċ")."""
    return "".join(piece for piece, _ in _BYTE_LEVEL.pre_tokenize_str(text))


def _template_pieces() -> list[str]:
    """The pieces Qwen's pre-tokenizer cuts the template's text into, the four cut in two."""
    split = Qwen2Tokenizer(vocab={"<|endoftext|>": 0}, merges=[]).backend_tokenizer.pre_tokenizer
    specials = "|".join(re.escape(special) for special in _QWEN_SPECIALS)
    pieces: list[str] = []
    for text in re.split(specials, _PROMPT_TEMPLATE.replace("{}", "")):
        for piece, _ in split.pre_tokenize_str(text):
            plain = piece.replace("Ġ", " ").replace("Ċ", "\n")
            front = _CUT.get(plain)
            pieces += [_byte_level(front), _byte_level(plain[len(front) :])] if front else [piece]
    return pieces


def _merges(words: list[str]) -> list[tuple[str, str]]:
    """BPE merges that build each word left to right, one character at a time.

    Trap: BPE applies the lowest-ranked merge first, anywhere in a piece. Words that start
    with a space ("Ġ") come first, so a piece's space-led chain always finishes before any
    other merge can take its letters. Words without a space (the template's line starts,
    the four cut words' tails) do not have that guarantee against each other: few enough
    that none breaks another, which tests/engine/test_kandinsky6.py checks."""
    merges: dict[tuple[str, str], None] = {}
    for word in sorted(words, key=lambda w: not w.startswith("Ġ")):  # stable: keeps order
        for k in range(1, len(word)):
            merges.setdefault((word[:k], word[k]), None)
    return list(merges)


def qwen_tokenizer() -> Qwen2Tokenizer:
    """A byte-level BPE Qwen2 tokenizer: the template's words and a small prompt vocabulary
    (after a space, as words inside a prompt come) are whole tokens; any other text falls
    back to smaller pieces, down to bytes (no unknown token)."""
    prompt_words = [f"Ġ{word}" for word in _WORDS]
    words = list(dict.fromkeys([*_template_pieces(), *prompt_words]))
    merges = _merges(words)
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    built = [f"{a}{b}" for a, b in merges]
    tokens = list(dict.fromkeys([*_QWEN_SPECIALS, *alphabet, *built]))
    return Qwen2Tokenizer(
        vocab={t: i for i, t in enumerate(tokens)},
        # Trap: typed as strings, but tokenizers' BPE takes only (left, right) pairs.
        merges=merges,  # type: ignore[arg-type]
        extra_special_tokens=list(_QWEN_SPECIALS[1:]),
    )


def _qwen(tokenizer: Qwen2Tokenizer) -> Qwen2_5_VLForConditionalGeneration:
    ids = {t: tokenizer.get_vocab()[t] for t in _QWEN_SPECIALS}
    text = dict(
        vocab_size=len(tokenizer),
        hidden_size=TEXT_HIDDEN,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        # Qwen2.5-VL's multimodal rope: (t, h, w) sections of half the head dim (8 / 2).
        rope_parameters={"rope_type": "default", "mrope_section": [2, 1, 1]},
        pad_token_id=ids["<|endoftext|>"],
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
    )
    # The vision tower is never called (no prompt expansion), but the class needs one.
    vision = dict(
        depth=1,
        hidden_size=16,
        intermediate_size=16,
        num_heads=2,
        out_hidden_size=TEXT_HIDDEN,
        patch_size=4,
        spatial_merge_size=2,
        temporal_patch_size=2,
        window_size=16,
        fullatt_block_indexes=[0],
    )
    config = Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    return Qwen2_5_VLForConditionalGeneration(config)


def clip_tokenizer() -> CLIPTokenizer:
    """A character-level CLIP tokenizer: no merges, so every character is a token (with its
    end-of-word form); the pipeline reads CLIP only for its pooled embedding.

    Trap: end-of-text has the highest id, so CLIP pools at the first one whichever way it
    looks for it (argmax of the ids, or the first ``eos_token_id``)."""
    chars = sorted(pre_tokenizers.ByteLevel.alphabet())
    tokens = [*chars, *(f"{c}</w>" for c in chars), "<|startoftext|>", "<|endoftext|>"]
    return CLIPTokenizer(vocab={t: i for i, t in enumerate(tokens)}, merges=[])


def _clip(tokenizer: CLIPTokenizer) -> CLIPTextModel:
    return CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=POOLED,
            intermediate_size=37,
            num_attention_heads=2,
            num_hidden_layers=2,
            max_position_embeddings=77,  # the pipeline's _CLIP_MAX_LENGTH
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    )


def _transformer() -> Kandinsky6Transformer3DModel:
    return Kandinsky6Transformer3DModel(
        in_visual_dim=VIDEO_LATENT_CHANNELS,
        out_visual_dim=VIDEO_LATENT_CHANNELS,
        in_text_dim=TEXT_HIDDEN,
        in_text_dim2=POOLED,
        time_dim=16,
        patch_size=(1, 2, 2),  # the real patch: 2x2 latents a token
        model_dim=32,
        ff_dim=64,
        num_text_blocks=1,
        num_visual_blocks=2,
        axes_dims=(4, 6, 6),  # head dim 16: two heads of model_dim
        in_audio_dim=AUDIO_LATENT_CHANNELS,
        out_audio_dim=AUDIO_LATENT_CHANNELS,
        # The released checkpoints' flags (the class docstring), and image conditioning:
        # the reference frame rides as an extra frame of token type 1.
        text_token_padding=True,
        ca_rope=True,
        cross_gates=True,
        fix_modulation=True,
        visual_cond=True,
        visual_token_type_num_embeddings=2,
    )


def _vae() -> AutoencoderKLHunyuanVideo:
    return AutoencoderKLHunyuanVideo(
        latent_channels=VIDEO_LATENT_CHANNELS,
        block_out_channels=(8, 8, 8, 8),
        layers_per_block=1,
        norm_num_groups=4,
        spatial_compression_ratio=8,
        temporal_compression_ratio=4,
    )


def _audio_vae() -> MMAudioVAE:
    # Trap: two levels at least: the decoder upsamples the mel frames 2x only after its
    # second level, while the encoder always halves them (``latent_hop_length`` = 2 hops).
    return MMAudioVAE(
        mel_bins=8,
        latent_channels=AUDIO_LATENT_CHANNELS,
        hidden_channels=8,
        channel_multipliers=(1, 2),
        layers_per_block=1,
        sample_rate=SAMPLE_RATE,
        hop_length=MEL_HOP,
    )


def _vocoder() -> MMAudioVocoder:
    return MMAudioVocoder(
        num_mels=8,
        upsample_initial_channel=64,  # halved at each of the six stages
        # The real strides and kernels: each stage multiplies the length exactly.
        upsample_rates=(8, 4, 2, 2, 2, 2),
        upsample_kernel_sizes=(16, 8, 4, 4, 4, 4),
        resblock_kernel_sizes=(3,),
        resblock_dilation_sizes=((1,),),
    )


def build_kandinsky6(task: str) -> DiffusionPipeline:
    """Kandinsky 6's one pipeline, for text-to-video ("t2v") and image-to-video ("i2v")
    alike: an image is one more argument of the same call.

    Trap: the pipeline's ``tokenizer`` is a ``Qwen2_5_VLProcessor``, which transformers 5.25
    cannot build without torchvision (its video processor requires it), and torchvision's
    wheels here do not load with the CPU torch. The pipeline reads the processor only as a
    tokenizer (``text=``, ``images=None``, ``videos=None``) unless asked to expand prompts,
    which cinegen never does: the twin registers the Qwen tokenizer itself."""
    tokenizer, tokenizer_2 = qwen_tokenizer(), clip_tokenizer()
    return assemble(
        Kandinsky6TI2VAPipeline,
        transformer=_transformer(),
        vae=_vae(),
        text_encoder=_qwen(tokenizer),
        tokenizer=tokenizer,
        text_encoder_2=_clip(tokenizer_2),
        tokenizer_2=tokenizer_2,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        audio_vae=_audio_vae(),
        vocoder=_vocoder(),
    )


def raw_samples(n_frames: int, fps: float) -> int:
    """The samples the pipeline makes for ``n_frames`` (4k + 1) at ``fps`` (module docstring)."""
    latents = math.ceil(n_frames / fps * SAMPLE_RATE / LATENT_HOP)
    return latents * LATENT_HOP
