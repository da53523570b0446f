"""The tiny twins of LTX, Wan, Wan VACE, CogVideoX, Mochi and Hunyuan, built in code
(LTX-2's: ``tiny_ltx2.py``), and ``assemble``, which every twin goes through.

The configs follow diffusers' own `tests/pipelines/<family>/test_*.py::get_dummy_components`;
the hub tokenizers those tests fetch are replaced by ``tiny_text``'s word-level tokenizer.
``tiny_twins.build_tiny_pipeline`` is the way in: it seeds the weights and checks the task.
"""

# diffusers' constructors are untyped, and mypy resolves its lazy top-level names to placeholder
# classes; `assemble` is the one place where pipelines get their static type.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

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
from transformers import (
    CLIPImageProcessorPil,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPVisionConfig,
    CLIPVisionModel,
    LlamaModel,
)

from cinegen.engine.backends.diffusers import tiny_text


def assemble(pipeline_cls: Any, **components: object) -> DiffusionPipeline:
    """``pipeline_cls`` over ``components``, ready to call: eval mode, no progress bar."""
    pipe: DiffusionPipeline = pipeline_cls(**components)
    # Trap: modules built in code start in training mode (T5 dropout 0.1 makes every call
    # random); `from_pretrained` would have called eval().
    for component in components.values():
        if isinstance(component, torch.nn.Module):
            component.eval()
    pipe.set_progress_bar_config(disable=True)
    return pipe


def build_ltx(task: str) -> DiffusionPipeline:
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
    return assemble(
        LTXPipeline if task == "t2v" else LTXConditionPipeline,
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=tiny_text.t5(),
        tokenizer=tiny_text.tokenizer(128),
    )


def wan_vae() -> AutoencoderKLWan:
    """Wan 2.1's autoencoder (8x spatial, 4x temporal) at its thinnest; Wan, VACE and Wan 2.2
    A14B share it."""
    return AutoencoderKLWan(
        base_dim=3,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],  # [sic] diffusers' spelling
    )


def wan_transformer(
    in_channels: int,
    out_channels: int = 16,
    image_dim: int | None = None,
    pos_embed_seq_len: int | None = None,
) -> WanTransformer3DModel:
    """A two-block Wan transformer (Wan 2.1, and each of Wan 2.2's experts)."""
    return WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=in_channels,
        out_channels=out_channels,  # == vae z_dim
        text_dim=32,  # == UMT5 d_model
        ffn_dim=32,
        num_layers=2,  # FirstBlockCache needs a first block and at least one more
        rope_max_seq_len=1024,  # as the real model: sides up to 1024 latent patches
        image_dim=image_dim,  # == image encoder hidden_size (Wan 2.1 I2V's CLIP tokens)
        pos_embed_seq_len=pos_embed_seq_len,
    )


# CLIP image tokens per picture: (32 / 8)^2 patches and the class token.
CLIP_TOKENS = (32 // 8) ** 2 + 1


def build_wan(task: str, *, pictures: int = 1) -> DiffusionPipeline:
    # Wan 2.1 I2V layout: the transformer sees noise (16) + image latents (16) + a first-frame
    # mask (4 == vae temporal compression) channels, and CLIP image tokens via `image_dim`.
    # FLF2V (``pictures`` 2): the first and last frames' tokens, side by side, each with a
    # learned position (``pos_embed``); Wan 2.1 I2V's embedder has none and takes one.
    i2v = task == "i2v"
    transformer = wan_transformer(
        in_channels=36 if i2v else 16,
        image_dim=4 if i2v else None,
        pos_embed_seq_len=pictures * CLIP_TOKENS if pictures > 1 else None,
    )
    vae = wan_vae()
    components: dict[str, object] = dict(
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder=tiny_text.t5(umt5=True),
        tokenizer=tiny_text.tokenizer(512),
    )
    if not i2v:
        return assemble(WanPipeline, **components)
    # CLIPVisionModel, as in the Wan2.1-I2V checkpoints; the pipeline reads hidden_states[-2].
    image_encoder = CLIPVisionModel(
        CLIPVisionConfig(
            hidden_size=4,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=16,
            image_size=32,  # == image processor crop_size (CLIP_TOKENS)
            patch_size=8,
        )
    )
    # The PIL backend needs no torchvision and gives the same numbers on every machine.
    image_processor = CLIPImageProcessorPil(crop_size=32, size=32)
    return assemble(
        WanImageToVideoPipeline,
        **components,
        image_encoder=image_encoder,
        image_processor=image_processor,
    )


def build_wan_flf2v(task: str) -> DiffusionPipeline:
    """Wan 2.1 FLF2V: the image-to-video pipeline only, a first and a last frame."""
    if task != "i2v":
        raise ValueError(f"task={task!r}, family='wan-flf2v': its one pipeline is i2v")
    return build_wan("i2v", pictures=2)


def build_wan_vace(task: str) -> DiffusionPipeline:
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
    vae = wan_vae()
    return assemble(
        WanVACEPipeline,
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder=tiny_text.t5(umt5=True),
        tokenizer=tiny_text.tokenizer(512),
    )


def build_cogvideox(task: str) -> DiffusionPipeline:
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
    return assemble(
        CogVideoXImageToVideoPipeline if i2v else CogVideoXPipeline,
        transformer=transformer,
        vae=vae,
        scheduler=CogVideoXDDIMScheduler(),
        text_encoder=tiny_text.t5(),
        tokenizer=tiny_text.tokenizer(226),
    )


def build_mochi(task: str) -> DiffusionPipeline:
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
    return assemble(
        MochiPipeline,
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=tiny_text.t5(),
        tokenizer=tiny_text.tokenizer(256),
    )


def build_hunyuan(task: str) -> DiffusionPipeline:
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
            vocab_size=tiny_text.VOCAB_SIZE,
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
        tokenizer_2=tiny_text.tokenizer(77),  # CLIP's 77 positions
    )
    if not i2v:
        return assemble(
            HunyuanVideoPipeline,
            **common,
            text_encoder=LlamaModel(tiny_text.llama_config()),
            tokenizer=tiny_text.tokenizer(512),
        )
    return assemble(
        HunyuanVideoImageToVideoPipeline,
        **common,
        text_encoder=tiny_text.llava(),
        tokenizer=tiny_text.tokenizer(1024),
        image_processor=CLIPImageProcessorPil(size=336, crop_size=336),
    )
