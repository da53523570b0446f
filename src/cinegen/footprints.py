"""What each model holds in memory, as published: parameters per component and the shapes
the memory tiers' estimates read (``engine/memory.py`` turns them into bytes per tier;
``registry.ModelEntry.footprint`` names a model's row). Plain data, like the registry.

Each row cites its source. "(config)" marks a count summed from diffusers 0.42.1's (or
transformers') own class built with the published configuration on the meta device, no
weights: it checks the model card's round figure.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Footprint:
    transformer: float  # parameters of the denoiser (both streams where it has two)
    text_encoder: float  # every text encoder together (and an image encoder, where loaded)
    vae: float  # the video autoencoder
    blocks: int  # repeated transformer blocks: group offloading moves them a group at a time
    hidden: int  # the transformer's width (the video stream's, where it has two)
    # Pixels per transformer token, (frames, height, width): the VAE's compression times the
    # transformer's patch.
    compression: tuple[int, int, int]
    audio: float = 0.0  # the audio autoencoder and vocoder, where the model makes sound
    other: float = 0.0  # anything else loaded beside (text connectors, …)
    guidance_batch: int = 2  # latents per step: 2 with classifier-free guidance batched
    # Frames the VAE decodes at once, untiled (None: the whole clip; Wan's causal VAE
    # decodes 4 frames at a time with a cache, CogVideoX's 8).
    decode_frames: int | None = None
    # Channels per output pixel at the VAE decoder's last stage (about 128 in most; LTX's
    # decoders end at a quarter of the size and unpatchify 4x4: 128 / 16 = 8).
    decode_width: int = 128
    # One tile of a tiled decode, (frames, height, width): the VAE class's defaults in
    # diffusers 0.42.1 (frames None: tiles split only space, as Mochi's do).
    tile: tuple[int | None, int, int] = (16, 512, 512)
    # Frames one denoising pass sees (None: the whole clip). Diffusion forcing denoises a
    # window of its base_num_frames at a time, however long the clip (skyreels.Forcing).
    step_frames: int | None = None


# Text encoders, encoder only (T5, umT5: (config), one embedding table).
T5_XXL = 4.76e9  # google/t5-v1_1-xxl (CogVideoX, LTX-Video, Mochi)
UMT5_XXL = 5.68e9  # google/umt5-xxl (Wan)
CLIP_L_TEXT = 0.123e9  # openai/clip-vit-large-patch14's text tower (HunyuanVideo, Kandinsky)

# Lightricks/LTX-Video-0.9.5: the card's 2B (config: 1.923B, 28 blocks of 2048), VAE
# (config) 0.419B, 32x32x8 with patch 1.
LTX_VIDEO = Footprint(
    transformer=1.923e9, text_encoder=T5_XXL, vae=0.419e9, blocks=28, hidden=2048,
    compression=(8, 32, 32), decode_width=8,
)  # fmt: skip

# Lightricks/LTX-2: the card's 19B (14B video + 5B audio stream; config: 18.88B, 48 blocks
# of 4096); Gemma 3 12B (its card: 12.2B); video VAE (config) 1.22B; audio VAE and vocoder
# (config) 0.053B + 0.056B; the text connectors (config) 1.43B.
LTX_2 = Footprint(
    transformer=18.88e9, text_encoder=12.2e9, vae=1.222e9, audio=0.109e9, other=1.431e9,
    blocks=48, hidden=4096, compression=(8, 32, 32), decode_width=8,
)  # fmt: skip

# kandinskylab/Kandinsky-6.0-Lite-5s: the card's "Video Lite (3B parameters)"; width and
# depth are not published: Kandinsky 5 Lite's 32 blocks of 1792 are ASSUMED. Qwen2.5-VL-7B
# (its card: 8.29B) + CLIP-L text; HunyuanVideo VAE (config) 0.246B; MMAudio VAE and
# vocoder (config) 0.305B + 0.122B.
KANDINSKY_6_LITE = Footprint(
    transformer=3.0e9, text_encoder=8.29e9 + CLIP_L_TEXT, vae=0.246e9, audio=0.427e9,
    blocks=32, hidden=1792, compression=(4, 16, 16), tile=(16, 256, 256),
)  # fmt: skip

# Wan-AI/Wan2.1-T2V-1.3B: the card's 1.3B (config: 1.42B, 30 blocks of 1536); Wan-VAE
# (config) 0.127B, 4x8x8 with patch (1, 2, 2).
WAN_1_3B = Footprint(
    transformer=1.42e9, text_encoder=UMT5_XXL, vae=0.127e9, blocks=30, hidden=1536,
    compression=(4, 16, 16), decode_frames=4, tile=(None, 256, 256),
)  # fmt: skip

# Wan-AI/Wan2.1-VACE-1.3B: Wan 1.3B with 15 VACE blocks (config, vace_layers 0, 2, …, 28).
WAN_VACE_1_3B = dataclasses.replace(WAN_1_3B, transformer=2.15e9)

# Wan-AI/Wan2.1-I2V-14B-480P: the card's 14B (config: 16.39B with its image projection, 40
# blocks of 5120); the CLIP ViT-H/14 image encoder (0.632B) beside umT5.
WAN_I2V_14B = dataclasses.replace(
    WAN_1_3B, transformer=16.39e9, text_encoder=UMT5_XXL + 0.632e9, blocks=40, hidden=5120
)

# THUDM/CogVideoX-5b (and -I2V): the card's 5B (config: 5.57B, 42 blocks of 3072); VAE
# (config) 0.216B, 4x8x8 with patch 2, decoding 2 latent frames (8 frames) at a time.
COGVIDEOX_5B = Footprint(
    transformer=5.57e9, text_encoder=T5_XXL, vae=0.216e9, blocks=42, hidden=3072,
    compression=(4, 16, 16), decode_frames=8, tile=(None, 240, 360),
)  # fmt: skip

# genmo/mochi-1-preview: the card's 10B (config: 10.03B, 48 blocks of 3072); VAE (config)
# 0.460B, 6x8x8 with patch 2.
MOCHI_1 = Footprint(
    transformer=10.03e9, text_encoder=T5_XXL, vae=0.460e9, blocks=48, hidden=3072,
    compression=(6, 16, 16), tile=(None, 256, 256),
)  # fmt: skip

# hunyuanvideo-community/HunyuanVideo (and -I2V): the card's 13B (config: 12.82B, 20 double
# + 40 single blocks of 3072), guidance embedded (one latent a step); llava-llama-3-8b
# (8.03B) + CLIP-L text; VAE (config) 0.246B, 4x8x8 with patch 2.
HUNYUAN_VIDEO = Footprint(
    transformer=12.82e9, text_encoder=8.03e9 + CLIP_L_TEXT, vae=0.246e9, blocks=60,
    hidden=3072, compression=(4, 16, 16), guidance_batch=1, tile=(16, 256, 256),
)  # fmt: skip

# Skywork/SkyReels-V2-DF-1.3B-540P: Wan 1.3B's shape with sample-info injection (config
# from diffusers' scripts/convert_skyreelsv2_to_diffusers.py: 1.44B, 30 blocks of 1536);
# umT5 and Wan-VAE as Wan's.
SKYREELS_V2_DF_1_3B = dataclasses.replace(WAN_1_3B, transformer=1.436e9, step_frames=97)

# Efficient-Large-Model/SANA-Video_2B_480p: the card's 2B (config from diffusers'
# scripts/convert_sana_video_to_diffusers.py: 2.06B, 20 blocks of 2240); Gemma-2 2B as the
# pipeline loads it, Gemma2Model without the LM head (config: 2.61B); Wan 2.1's VAE
# (config) 0.127B, 4x8x8 with patch (1, 2, 2).
SANA_VIDEO_2B = dataclasses.replace(
    WAN_1_3B, transformer=2.057e9, text_encoder=2.614e9, blocks=20, hidden=2240
)

# hunyuanvideo-community/HunyuanVideo-1.5-480p_t2v: the card's 8.3B (config from diffusers'
# scripts/convert_hunyuan_video1_5_to_diffusers.py: 8.33B, 54 blocks of 2048); Qwen2.5-VL-7B
# as the pipeline loads it, its text model only (config: 7.07B), + the Glyph-SDXL-v2 ByT5
# encoder (byt5-small's encoder, config: 0.218B); its VAE (config, the class defaults)
# 1.26B, 4x16x16 with patch 1. Its guider runs each condition as its own batch.
HUNYUAN_VIDEO_15 = Footprint(
    transformer=8.327e9, text_encoder=7.071e9 + 0.218e9, vae=1.261e9, blocks=54, hidden=2048,
    compression=(4, 16, 16), guidance_batch=1, tile=(None, 256, 256),
)  # fmt: skip

# hunyuanvideo-community/HunyuanVideo-1.5-480p_i2v: the same shapes, with the SigLIP
# so400m image encoder (config: 0.428B) beside the text encoders.
HUNYUAN_VIDEO_15_I2V = dataclasses.replace(
    HUNYUAN_VIDEO_15, text_encoder=HUNYUAN_VIDEO_15.text_encoder + 0.428e9
)

# Wan-AI/Wan2.2-T2V-A14B (and I2V-A14B): two 14B experts, both resident (config, Wan 2.1
# 14B's shape: 14.29B each, 40 blocks of 5120; the I2V experts' 36 input channels add
# 0.4M); umT5; Wan 2.1's VAE. blocks counts both experts' so one block keeps its size.
WAN_22_A14B = dataclasses.replace(WAN_1_3B, transformer=2 * 14.29e9, blocks=80, hidden=5120)

# Wan-AI/Wan2.2-TI2V-5B: the card's 5B (config, the published transformer config: 5.00B,
# 30 blocks of 3072); umT5; Wan 2.2's VAE (config: z_dim 48, is_residual, 0.705B), 4x16x16
# with patch (1, 2, 2); its decoder's last stage is 256 channels at half size before a 2x2
# unpatchify (256 / 4 = 64).
WAN_22_TI2V_5B = dataclasses.replace(
    WAN_1_3B, transformer=5.00e9, vae=0.705e9, blocks=30, hidden=3072,
    compression=(4, 32, 32), decode_width=64,
)  # fmt: skip

# rain1011/pyramid-flow-miniflux: the reference PyramidFluxTransformer's defaults, which our
# PyramidFluxConfig copies (19 double + 38 single blocks of 1536: 2.98B, counted on our
# class); that the published config.json carries the same numbers is ASSUMED (not read
# here). CLIP-L text + T5-XXL; the causal VAE with 16 latent channels and the reference's
# widths (counted on our class: 0.335B; the widths are ASSUMED), 8x8x8 with a 2x2 patch.
# Guidance doubles the batch; the VAE decodes 3 latent frames (17 frames), then 2 at a time
# (vae.CausalVideoVAE.decode), and is never tiled in space.
PYRAMID_FLOW_MINIFLUX = Footprint(
    transformer=2.978e9, text_encoder=CLIP_L_TEXT + T5_XXL, vae=0.335e9, blocks=57,
    hidden=1536, compression=(8, 16, 16), decode_frames=17, tile=(None, 768, 1280),
)  # fmt: skip

# cinegen-tiny, counted in the shipped weights (models/tiny/shipped): transformer 12.16M
# (8 blocks of 256, tokens of 2 frames x 16 x 16 pixels), autoencoder 1.63M, sound network
# 0.85M; all-MiniLM-L6-v2 22.7M.
CINEGEN_TINY = Footprint(
    transformer=12.16e6, text_encoder=22.7e6, vae=1.63e6, audio=0.85e6, blocks=8,
    hidden=256, compression=(2, 16, 16),
)  # fmt: skip
