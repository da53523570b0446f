"""LTX-2's pipelines with tiny random weights, built in code: video and sound in one call.

The components follow diffusers' own `tests/pipelines/ltx2/test_ltx2*.py::get_dummy_components`,
with three changes: the Gemma 3 text encoder and its tokenizer are made here (the tests fetch
`hf-internal-testing/tiny-gemma3`), the video VAE keeps the real grid (32x spatial, 8x
temporal), and the vocoder keeps the real upsampling (240 samples per mel frame, 24 kHz), so
frame counts, sizes and the sound's length behave as on the real checkpoint.

How long the sound is (diffusers 0.42.1, `pipeline_ltx2.py` step 4 and the decoders): F frames
at `frame_rate` fps span F / fps seconds; the audio latents number
L = round(F / fps * sample_rate / hop / 4) (16000 / 160 / 4 = 25 a second); the causal audio
VAE decodes them to 4L - 3 mel frames, and the vocoder makes 240 samples of each, stereo.
"""

# diffusers' and transformers' constructors are untyped (and their config decorator makes
# some of them return Any).
# mypy: disable-error-code="no-untyped-call, no-any-return"

from __future__ import annotations

import string

import torch
from diffusers import (
    AutoencoderKLLTX2Audio,
    AutoencoderKLLTX2Video,
    FlowMatchEulerDiscreteScheduler,
    LTX2ImageToVideoPipeline,
    LTX2Pipeline,
    LTX2VideoTransformer3DModel,
)
from diffusers.pipelines.ltx2.connectors import LTX2TextConnectors
from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel
from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from transformers import Gemma3Config, Gemma3ForConditionalGeneration, GemmaTokenizer

from cinegen.engine.backends.diffusers.tiny_pipelines import assemble

TEXT_HIDDEN = 32  # Gemma's hidden size == the connectors' heads x head dim == caption_channels
TEXT_LAYERS = 2
VIDEO_LATENT_CHANNELS = 8
VOCODER_UPSAMPLING = (6, 5, 2, 2, 2)  # the real vocoder's: 240 samples per mel frame
SAMPLE_RATE = 24000  # 16000 / 160 mel frames a second x 240

_SPECIALS = ("<pad>", "<eos>", "<bos>", "<unk>")


def gemma_tokenizer() -> GemmaTokenizer:
    """A character-level Gemma tokenizer: every printable character is one token.

    Trap: ``GemmaTokenizer(vocab=...)`` with no merges never joins characters, which is what
    makes a dict of single characters enough; unknown characters become <unk>."""
    chars = sorted(set(string.printable) - set(string.whitespace) | {" ", "▁"})
    vocab = {token: i for i, token in enumerate((*_SPECIALS, *chars))}
    return GemmaTokenizer(
        vocab=vocab, merges=[], pad_token="<pad>", eos_token="<eos>", bos_token="<bos>"
    )


def _gemma(vocab_size: int) -> Gemma3ForConditionalGeneration:
    text = dict(
        vocab_size=vocab_size,
        hidden_size=TEXT_HIDDEN,
        intermediate_size=37,
        num_hidden_layers=TEXT_LAYERS,  # the pipeline stacks all hidden states: layers + 1
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        sliding_window=16,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )
    # The vision tower is never called (no prompt enhancement), but the class needs one.
    vision = dict(
        hidden_size=16,
        intermediate_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=16,
        patch_size=8,
    )
    config = Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=4)
    return Gemma3ForConditionalGeneration(config)


def _transformer() -> LTX2VideoTransformer3DModel:
    return LTX2VideoTransformer3DModel(
        in_channels=VIDEO_LATENT_CHANNELS,
        out_channels=VIDEO_LATENT_CHANNELS,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=2,
        attention_head_dim=8,
        cross_attention_dim=16,
        audio_in_channels=4,  # audio VAE latent_channels (2) x mel bins after its 4x (8 / 4)
        audio_out_channels=4,
        audio_num_attention_heads=2,
        audio_attention_head_dim=4,
        audio_cross_attention_dim=8,
        num_layers=2,  # FirstBlockCache needs a first block and at least one more
        caption_channels=TEXT_HIDDEN,
        rope_double_precision=False,
        rope_type="split",
    )


def _connectors() -> LTX2TextConnectors:
    # Trap: caption_channels must equal heads x head dim (4 x 8) = the text hidden size.
    return LTX2TextConnectors(
        caption_channels=TEXT_HIDDEN,
        text_proj_in_factor=TEXT_LAYERS + 1,
        video_connector_num_attention_heads=4,
        video_connector_attention_head_dim=8,
        video_connector_num_layers=1,
        video_connector_num_learnable_registers=None,
        audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8,
        audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None,
        connector_rope_base_seq_len=32,
        rope_double_precision=False,
        rope_type="split",
    )


def _video_vae() -> AutoencoderKLLTX2Video:
    # Patch 4 then three 2x space-and-time steps: the real 32x spatial, 8x temporal grid.
    three = ("spatiotemporal",) * 3
    vae = AutoencoderKLLTX2Video(
        latent_channels=VIDEO_LATENT_CHANNELS,
        block_out_channels=(8, 8, 8),
        down_block_types=("LTX2VideoDownBlock3D",) * 3,
        downsample_type=three,
        spatio_temporal_scaling=(True, True, True),
        layers_per_block=(1, 1, 1, 1),
        decoder_block_out_channels=(8, 8, 8),
        decoder_layers_per_block=(1, 1, 1, 1),
        upsample_type=three,
        upsample_residual=(False, False, False),
        upsample_factor=(1, 1, 1),
        patch_size=4,
        # Trap: the real decoder pads by reflection, which needs latents wider than 1 (a 32
        # pixel side is 1 latent here); zeros behave the same for shapes.
        decoder_spatial_padding_mode="zeros",
    )
    return vae


def _audio_vae() -> AutoencoderKLLTX2Audio:
    return AutoencoderKLLTX2Audio(
        base_channels=4,
        output_channels=2,  # stereo mel spectrograms
        ch_mult=(1,),
        num_res_blocks=1,
        in_channels=2,
        resolution=32,
        latent_channels=2,
        sample_rate=16000,
        mel_hop_length=160,
        mel_bins=8,
    )


def _vocoder() -> LTX2Vocoder:
    return LTX2Vocoder(
        in_channels=2 * 8,  # audio VAE output_channels x mel_bins
        hidden_channels=32,
        out_channels=2,
        # The real kernels with the real strides: each layer multiplies the length exactly.
        upsample_kernel_sizes=[16, 15, 8, 4, 4],
        upsample_factors=list(VOCODER_UPSAMPLING),
        resnet_kernel_sizes=[3],
        resnet_dilations=[[1]],
        output_sampling_rate=SAMPLE_RATE,
    )


def build_ltx2(task: str) -> DiffusionPipeline:
    """LTX-2's text-to-video ("t2v") or image-to-video ("i2v") pipeline. Its condition
    pipeline (keyframes, clips) shares these components: ``LTX2ConditionPipeline.from_pipe``."""
    tokenizer = gemma_tokenizer()
    return assemble(
        LTX2Pipeline if task == "t2v" else LTX2ImageToVideoPipeline,
        transformer=_transformer(),
        vae=_video_vae(),
        audio_vae=_audio_vae(),
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=_gemma(len(tokenizer)),
        tokenizer=tokenizer,
        connectors=_connectors(),
        vocoder=_vocoder(),
    )


def build_latent_upsampler(seed: int = 0) -> LTX2LatentUpsamplerModel:
    """The 2x latent upsampler of the quality preset's second stage, at its smallest; the
    same ``seed`` gives the same weights, and the global torch RNG is left untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        upsampler = LTX2LatentUpsamplerModel(
            in_channels=VIDEO_LATENT_CHANNELS, mid_channels=32, num_blocks_per_stage=1
        )
    upsampler.eval()
    return upsampler
