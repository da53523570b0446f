"""Tiny random-weight diffusers video pipelines, built entirely in code.

Every family gets the *real* diffusers pipeline class with 1-2 layer models, so tests and CI
run the true code path (text encoding, CFG, denoising loop, callbacks, VAE decode, save/load)
on CPU in a fraction of a second per call, with no download. The configs follow diffusers'
own `tests/pipelines/<family>/test_*.py::get_dummy_components`; the hub tokenizers those
tests fetch are replaced by a word-level tokenizer made here. Outputs are noise: only shapes,
determinism and plumbing mean anything.

Pipeline quirks these builds reproduce (diffusers 0.42.1 pipeline code, so real checkpoints
share them; tests/engine/test_tiny_twins.py pins each one):
- CogVideoX pipelines ignore `num_videos_per_prompt` (forced to 1), and Wan / Hunyuan
  image-to-video break with it. Batch variants by repeating the prompt instead; CogVideoX and
  Hunyuan i2v then want the image repeated too, Wan i2v exactly one image.
- LTX image-to-video encodes the image once, sampling with `generator[0]`, so a batched
  variant differs from the same seed run alone.
- Hunyuan: real CFG is `true_cfg_scale` > 1 with a negative prompt; `guidance_scale` is the
  distilled guidance embedding. Hunyuan i2v with true CFG works only for a batch of one.
- Mochi needs num_inference_steps >= 2 (its linear-quadratic sigma schedule divides by zero).
"""

# diffusers' constructors are untyped, and mypy resolves its lazy top-level names to placeholder
# classes; `_assemble` is the one place where pipelines get their static type.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from diffusers import (
    AutoencoderKLCogVideoX,
    AutoencoderKLHunyuanVideo,
    AutoencoderKLLTXVideo,
    AutoencoderKLMochi,
    AutoencoderKLWan,
    CogVideoXDDIMScheduler,
    CogVideoXImageToVideoPipeline,
    CogVideoXPipeline,
    CogVideoXTransformer3DModel,
    FlowMatchEulerDiscreteScheduler,
    HunyuanVideoImageToVideoPipeline,
    HunyuanVideoPipeline,
    HunyuanVideoTransformer3DModel,
    LTXConditionPipeline,
    LTXPipeline,
    LTXVideoTransformer3DModel,
    MochiPipeline,
    MochiTransformer3DModel,
    WanImageToVideoPipeline,
    WanPipeline,
    WanTransformer3DModel,
    WanVACEPipeline,
    WanVACETransformer3DModel,
)
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordLevel
from transformers import (
    CLIPImageProcessorPil,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPVisionConfig,
    CLIPVisionModel,
    LlamaConfig,
    LlamaModel,
    LlavaConfig,
    LlavaForConditionalGeneration,
    PreTrainedTokenizerFast,
    T5Config,
    T5EncoderModel,
    UMT5Config,
    UMT5EncoderModel,
)

TINY_FAMILIES: tuple[str, ...] = (
    "ltx",
    "ltx-2",
    "wan",
    "wan-vace",
    "cogvideox",
    "mochi",
    "hunyuan",
)
TASKS: tuple[str, ...] = ("t2v", "i2v")


@dataclass(frozen=True)
class TinyGrid:
    """Valid generation sizes of a family's TINY config (real checkpoints compress more)."""

    # height and width: multiples of this. It is vae spatial compression × patch size, raised
    # to what the pipeline's check_inputs demands (LTX 32, Wan and Hunyuan 16).
    spatial_multiple: int
    # num_frames = k * frame_step + 1 comes out exactly; other counts are rounded (Wan up to
    # the next valid count, the others down). It is vae temporal compression × temporal patch,
    # except CogVideoX 1.0, whose VAE decodes latent frames in pairs: 8k+1, not 4k+1.
    frame_step: int
    example_size: tuple[int, int]  # (height, width) of a fast call
    example_frames: int


TINY_GRID: dict[str, TinyGrid] = {
    "ltx": TinyGrid(spatial_multiple=32, frame_step=8, example_size=(32, 32), example_frames=9),
    "ltx-2": TinyGrid(spatial_multiple=32, frame_step=8, example_size=(32, 32), example_frames=9),
    "wan": TinyGrid(spatial_multiple=16, frame_step=4, example_size=(16, 32), example_frames=5),
    "wan-vace": TinyGrid(
        spatial_multiple=16, frame_step=4, example_size=(16, 32), example_frames=5
    ),
    "cogvideox": TinyGrid(
        spatial_multiple=16, frame_step=8, example_size=(16, 32), example_frames=9
    ),
    "mochi": TinyGrid(spatial_multiple=16, frame_step=6, example_size=(16, 32), example_frames=7),
    "hunyuan": TinyGrid(spatial_multiple=16, frame_step=4, example_size=(16, 32), example_frames=5),
}


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
_VOCAB_SIZE = len(_TOKEN_IDS)


def _tokenizer(max_length: int) -> PreTrainedTokenizerFast:
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


def _t5(umt5: bool = False) -> T5EncoderModel | UMT5EncoderModel:
    config: dict[str, Any] = dict(
        vocab_size=_VOCAB_SIZE,
        d_model=32,  # == each transformer's text/caption dim
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


def _assemble(pipeline_cls: Any, **components: object) -> DiffusionPipeline:
    pipe: DiffusionPipeline = pipeline_cls(**components)
    # Trap: modules built in code start in training mode (T5 dropout 0.1 makes every call
    # random); `from_pretrained` would have called eval().
    for component in components.values():
        if isinstance(component, torch.nn.Module):
            component.eval()
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _build_ltx(task: str) -> DiffusionPipeline:
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,  # == vae latent_channels
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=2,  # FirstBlockCache needs a first block and at least one more
        caption_channels=32,  # == T5 d_model
    )
    vae = AutoencoderKLLTXVideo(
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        # The real LTX grid: patch 4 then three 2x scalings = 32x spatial, 8x temporal.
        # Matching it keeps token counts (and CPU time) as small as the real model's.
        spatio_temporal_scaling=(True, True, True, False),
        decoder_spatio_temporal_scaling=(True, True, True, False),
        patch_size=4,
    )
    return _assemble(
        LTXPipeline if task == "t2v" else LTXConditionPipeline,
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=_t5(),
        tokenizer=_tokenizer(128),
    )


def _wan_vae() -> AutoencoderKLWan:
    """Wan 2.1's autoencoder (8x spatial, 4x temporal) at its thinnest; Wan and VACE share it."""
    return AutoencoderKLWan(
        base_dim=3,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],  # [sic] diffusers' spelling
    )


def _build_wan(task: str) -> DiffusionPipeline:
    # Wan 2.1 I2V layout: the transformer sees noise (16) + image latents (16) + a first-frame
    # mask (4 == vae temporal compression) channels, and CLIP image tokens via `image_dim`.
    i2v = task == "i2v"
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=36 if i2v else 16,
        out_channels=16,  # == vae z_dim
        text_dim=32,  # == UMT5 d_model
        ffn_dim=32,
        num_layers=2,
        rope_max_seq_len=1024,  # as the real model: sides up to 1024 latent patches
        image_dim=4 if i2v else None,  # == image encoder hidden_size
    )
    vae = _wan_vae()
    components: dict[str, object] = dict(
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder=_t5(umt5=True),
        tokenizer=_tokenizer(512),
    )
    if not i2v:
        return _assemble(WanPipeline, **components)
    # CLIPVisionModel, as in the Wan2.1-I2V checkpoints; the pipeline reads hidden_states[-2].
    image_encoder = CLIPVisionModel(
        CLIPVisionConfig(
            hidden_size=4,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=16,
            image_size=32,  # == image processor crop_size
            patch_size=8,
        )
    )
    # The PIL backend needs no torchvision and gives the same numbers on every machine.
    image_processor = CLIPImageProcessorPil(crop_size=32, size=32)
    return _assemble(
        WanImageToVideoPipeline,
        **components,
        image_encoder=image_encoder,
        image_processor=image_processor,
    )


def _build_wan_vace(task: str) -> DiffusionPipeline:
    # VACE adds context blocks beside chosen layers; their input is the inactive and reactive
    # video latents (2 x z_dim) and the mask folded to 64 channels (8 x 8 spatial compression).
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=32,
        ffn_dim=32,
        num_layers=2,
        rope_max_seq_len=1024,
        vace_layers=[0, 1],
        vace_in_channels=2 * 16 + 8 * 8,
    )
    vae = _wan_vae()
    return _assemble(
        WanVACEPipeline,
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder=_t5(umt5=True),
        tokenizer=_tokenizer(512),
    )


def _build_cogvideox(task: str) -> DiffusionPipeline:
    i2v = task == "i2v"
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=2,
        attention_head_dim=16,  # RoPE needs a multiple of 16
        in_channels=8 if i2v else 4,  # i2v: noise + image latents, each vae latent_channels
        out_channels=4,
        time_embed_dim=2,
        text_embed_dim=32,  # == T5 d_model
        num_layers=2,  # FirstBlockCache needs a first block and at least one more
        sample_width=2,
        sample_height=2,
        sample_frames=9,
        patch_size=2,
        # RoPE (CogVideoX-5B style). The default sin-cos positions are laid out for
        # max_text_seq_length text tokens; learned ones pin the size to sample_height/width.
        use_rotary_positional_embeddings=True,
    )
    vae = AutoencoderKLCogVideoX(
        block_out_channels=(8, 8, 8, 8),
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=2,
    )
    return _assemble(
        CogVideoXImageToVideoPipeline if i2v else CogVideoXPipeline,
        transformer=transformer,
        vae=vae,
        scheduler=CogVideoXDDIMScheduler(),
        text_encoder=_t5(),
        tokenizer=_tokenizer(226),
    )


def _build_mochi(task: str) -> DiffusionPipeline:
    del task  # t2v only, checked by the caller
    transformer = MochiTransformer3DModel(
        patch_size=2,  # Trap: MochiPipeline hard-codes patch 2, vae 8× spatial / 6× temporal
        num_attention_heads=2,
        attention_head_dim=8,
        num_layers=2,
        pooled_projection_dim=16,
        in_channels=12,  # == vae latent_channels
        text_embed_dim=32,  # == T5 d_model
        time_embed_dim=4,
    )
    vae = AutoencoderKLMochi(
        latent_channels=12,
        encoder_block_out_channels=(32, 32, 32, 32),
        decoder_block_out_channels=(32, 32, 32, 32),
        layers_per_block=(1, 1, 1, 1, 1),
    )
    return _assemble(
        MochiPipeline,
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=_t5(),
        tokenizer=_tokenizer(256),
    )


def _llama_config() -> LlamaConfig:
    return LlamaConfig(
        vocab_size=_VOCAB_SIZE,
        hidden_size=16,  # == Hunyuan transformer text_embed_dim
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=3,  # the pipeline reads hidden_states[-3]
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=1,
    )


def _llava() -> LlavaForConditionalGeneration:
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
        text_config=_llama_config(),
        image_token_index=_TOKEN_IDS["<image>"],
        pad_token_id=0,  # type: ignore[call-arg]  # an extra kwarg, read by the pipeline
    )
    return LlavaForConditionalGeneration(config)


def _build_hunyuan(task: str) -> DiffusionPipeline:
    i2v = task == "i2v"
    transformer = HunyuanVideoTransformer3DModel(
        in_channels=4,  # == vae latent_channels
        out_channels=4,
        num_attention_heads=2,
        attention_head_dim=10,  # == sum(rope_axes_dim)
        num_layers=1,
        num_single_layers=1,
        num_refiner_layers=1,
        patch_size=1,
        patch_size_t=1,
        guidance_embeds=True,  # guidance-distilled: `guidance_scale` is embedded, not CFG
        text_embed_dim=16,  # == Llama hidden_size
        pooled_projection_dim=8,  # == CLIP text hidden_size (the pipeline uses pooler_output)
        rope_axes_dim=(2, 4, 4),
        # HunyuanVideo-I2V layout: the image latent replaces the first latent frame's tokens.
        # ("latent_concat", the 33-channel variant, drops 4 output frames.)
        image_condition_type="token_replace" if i2v else None,
    )
    vae = AutoencoderKLHunyuanVideo(
        latent_channels=4,
        block_out_channels=(8, 8, 8, 8),
        layers_per_block=1,
        norm_num_groups=4,
        spatial_compression_ratio=8,
        temporal_compression_ratio=4,
    )
    clip = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=_VOCAB_SIZE,
            hidden_size=8,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=1,  # pooler_output is read at the first </s>
        )
    )
    common: dict[str, object] = dict(
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder_2=clip,
        tokenizer_2=_tokenizer(77),  # CLIP's 77 positions
    )
    if not i2v:
        return _assemble(
            HunyuanVideoPipeline,
            **common,
            text_encoder=LlamaModel(_llama_config()),
            tokenizer=_tokenizer(512),
        )
    return _assemble(
        HunyuanVideoImageToVideoPipeline,
        **common,
        text_encoder=_llava(),
        tokenizer=_tokenizer(1024),
        image_processor=CLIPImageProcessorPil(size=336, crop_size=336),
    )


def _build_ltx2(task: str) -> DiffusionPipeline:
    from cinegen.engine.backends.diffusers.tiny_ltx2 import build_ltx2  # its own module

    return build_ltx2(task)


_BUILDERS: dict[str, Callable[[str], DiffusionPipeline]] = {
    "ltx": _build_ltx,
    "ltx-2": _build_ltx2,
    "wan": _build_wan,
    "wan-vace": _build_wan_vace,
    "cogvideox": _build_cogvideox,
    "mochi": _build_mochi,
    "hunyuan": _build_hunyuan,
}

_NO_I2V = {
    "mochi": "mochi has no image-to-video pipeline in diffusers",
    "wan-vace": "VACE's one pipeline takes every condition: build task t2v",
}


def build_tiny_pipeline(family: str, task: str = "t2v", seed: int = 0) -> DiffusionPipeline:
    """Build `family`'s real diffusers pipeline for `task` ("t2v" or "i2v") with tiny random
    weights; the same `seed` gives the same weights. The global torch RNG is left untouched."""
    if family not in _BUILDERS:
        raise ValueError(f"family={family!r}: expected one of {', '.join(TINY_FAMILIES)}")
    if task not in TASKS:
        raise ValueError(f"task={task!r}: expected one of {', '.join(TASKS)}")
    if task == "i2v" and family in _NO_I2V:
        raise ValueError(f"task='i2v', family={family!r}: {_NO_I2V[family]}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _BUILDERS[family](task)
