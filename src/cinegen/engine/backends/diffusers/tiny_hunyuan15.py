"""The tiny twin of HunyuanVideo 1.5 (480p), text or image to video.

Config after diffusers' ``tests/pipelines/hunyuan_video1_5/test_hunyuan_1_5.py``
(``get_dummy_components``), with the real grid (VAE 16x spatial, 4x temporal, patch 1) and
everything the test fetches from the hub made here:
- Qwen2.5-VL's text model reads a chat-formatted prompt: a byte-level ``Qwen2Tokenizer``
  without merges (every byte a token) and Qwen's chat template, set in code;
- the glyph encoder, ByT5 (``ByT5Tokenizer()`` needs no files, a two-layer T5 reads it),
  which the pipeline runs only on text quoted in the prompt;
- for image to video, SigLIP's vision tower, which gives the transformer 729 image tokens as
  the real one does (27 x 27 patches).
The pipelines take their guidance from a ``ClassifierFreeGuidance`` guider, not an argument:
``hunyuan15.call`` sets it per call.
"""

# transformers' and diffusers' constructors are untyped.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from diffusers import (
    AutoencoderKLHunyuanVideo15,
    FlowMatchEulerDiscreteScheduler,
    HunyuanVideo15ImageToVideoPipeline,
    HunyuanVideo15Pipeline,
    HunyuanVideo15Transformer3DModel,
)
from diffusers.guiders.classifier_free_guidance import ClassifierFreeGuidance
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from tokenizers import pre_tokenizers
from transformers import (
    ByT5Tokenizer,
    Qwen2_5_VLTextConfig,
    Qwen2_5_VLTextModel,
    Qwen2Tokenizer,
    SiglipImageProcessorPil,
    SiglipVisionConfig,
    SiglipVisionModel,
)

from cinegen.engine.backends.diffusers import tiny_text
from cinegen.engine.backends.diffusers.tiny_pipelines import assemble

LATENT_CHANNELS = 4
TEXT_HIDDEN = 16  # Qwen's hidden size == the transformer's text_embed_dim
GLYPH_HIDDEN = 32  # ByT5's d_model == the transformer's text_embed_2_dim
IMAGE_HIDDEN = 12  # SigLIP's hidden size == the transformer's image_embed_dim
SIGLIP_SIDE, SIGLIP_PATCH = 54, 2  # (54 / 2) ** 2 = 729 tokens, the pipeline's count

_QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
# Qwen2's chat template, as far as the pipeline uses it: system and user turns, then the
# assistant's turn opened (add_generation_prompt).
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def qwen_chat_tokenizer() -> Qwen2Tokenizer:
    """Qwen2's byte-level tokenizer with no merges: every byte of text one token.

    Trap: the pipeline crops 108 tokens off the front (its ``prompt_template_encode_start_idx``),
    counted by Qwen2.5's own 151k-token BPE: the chat-formatted system message. Byte by
    byte that front is ~560 tokens, so the twin's embeddings keep most of the system message
    before the prompt (and a prompt beyond ~540 bytes is cut at the pipeline's 1108 tokens).
    Random weights read either the same; the real tokenizer comes with the checkpoint."""
    tokens = [*_QWEN_SPECIALS, *sorted(pre_tokenizers.ByteLevel.alphabet())]
    tokenizer = Qwen2Tokenizer(
        vocab={t: i for i, t in enumerate(tokens)},
        merges=[],
        extra_special_tokens=list(_QWEN_SPECIALS[1:]),
    )
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    return tokenizer


def _qwen(vocab_size: int) -> Qwen2_5_VLTextModel:
    config = Qwen2_5_VLTextConfig(
        vocab_size=vocab_size,
        hidden_size=TEXT_HIDDEN,
        intermediate_size=16,
        num_hidden_layers=2,  # the pipeline reads hidden_states[-3]: the embeddings' layer
        num_attention_heads=2,
        num_key_value_heads=2,
        # Qwen2.5-VL's multimodal rope: (t, h, w) sections of half the head dim (8 / 2).
        rope_parameters={"rope_type": "default", "mrope_section": [1, 1, 2], "rope_theta": 1e6},
        pad_token_id=0,  # <|endoftext|>
        bos_token_id=0,
        eos_token_id=2,  # <|im_end|>
    )
    return Qwen2_5_VLTextModel(config)


def _transformer(task: str) -> HunyuanVideo15Transformer3DModel:
    return HunyuanVideo15Transformer3DModel(
        # noise + the image's latents (zeros for text) + a mask channel
        in_channels=2 * LATENT_CHANNELS + 1,
        out_channels=LATENT_CHANNELS,
        num_attention_heads=2,
        attention_head_dim=8,  # == sum(rope_axes_dim)
        num_layers=2,  # FirstBlockCache needs a first block and at least one more
        num_refiner_layers=1,
        mlp_ratio=2.0,
        patch_size=1,
        patch_size_t=1,
        text_embed_dim=TEXT_HIDDEN,
        text_embed_2_dim=GLYPH_HIDDEN,
        image_embed_dim=IMAGE_HIDDEN,
        rope_axes_dim=(2, 2, 4),
        target_size=640,  # the 480p checkpoints' (diffusers' conversion script)
        task_type=task,
    )


def _vae() -> AutoencoderKLHunyuanVideo15:
    return AutoencoderKLHunyuanVideo15(
        latent_channels=LATENT_CHANNELS,
        block_out_channels=(8, 8, 8, 8, 8),  # four 2x steps + the patch: 16x, as the real one
        layers_per_block=1,
        spatial_compression_ratio=16,
        temporal_compression_ratio=4,
    )


def build_hunyuan15(task: str) -> DiffusionPipeline:
    tokenizer, glyph_tokenizer = qwen_chat_tokenizer(), ByT5Tokenizer()
    components: dict[str, object] = dict(
        transformer=_transformer(task),
        vae=_vae(),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=5.0),  # the 480p checkpoints' shift
        text_encoder=_qwen(len(tokenizer)),
        tokenizer=tokenizer,
        text_encoder_2=tiny_text.t5(vocab_size=len(glyph_tokenizer), width=GLYPH_HIDDEN),
        tokenizer_2=glyph_tokenizer,
        guider=ClassifierFreeGuidance(guidance_scale=6.0),  # the 480p guider's
    )
    if task == "t2v":
        return assemble(HunyuanVideo15Pipeline, **components)
    vision = SiglipVisionConfig(
        hidden_size=IMAGE_HIDDEN,
        intermediate_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=SIGLIP_SIDE,
        patch_size=SIGLIP_PATCH,
    )
    return assemble(
        HunyuanVideo15ImageToVideoPipeline,
        **components,
        image_encoder=SiglipVisionModel(vision),
        # The PIL backend needs no torchvision.
        feature_extractor=SiglipImageProcessorPil(
            size={"height": SIGLIP_SIDE, "width": SIGLIP_SIDE}
        ),
    )
