"""Full-size architecture configs, written out so benchmarks can build random-weight models
without downloading anything. Values are the published diffusers/transformers configs."""

from __future__ import annotations

from typing import Any

# stabilityai/sd-turbo unet/config.json (the SD 2.1 base UNet, 865M parameters)
SD21_UNET: dict[str, Any] = {
    "act_fn": "silu",
    "attention_head_dim": [5, 10, 20, 20],
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 1024,
    "down_block_types": [
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "DownBlock2D",
    ],
    "downsample_padding": 1,
    "dual_cross_attention": False,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "num_class_embeds": None,
    "only_cross_attention": False,
    "out_channels": 4,
    "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "upcast_attention": False,
    "use_linear_projection": True,
}

# stabilityai/sd-turbo text_encoder/config.json (OpenCLIP ViT-H/14 text tower, 23 of 24 layers)
OPENCLIP_VIT_H_TEXT: dict[str, Any] = {
    "hidden_size": 1024,
    "intermediate_size": 4096,  # model sizes: not a protocol limit
    "num_attention_heads": 16,
    "num_hidden_layers": 23,
    "max_position_embeddings": 77,
    "vocab_size": 49408,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-05,
    "projection_dim": 512,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "pad_token_id": 1,
}

# stabilityai/sdxl-turbo unet/config.json (the SDXL base UNet, 2.6B parameters)
SDXL_UNET: dict[str, Any] = {
    "act_fn": "silu",
    "addition_embed_type": "text_time",
    "addition_embed_type_num_heads": 64,
    "addition_time_embed_dim": 256,
    "attention_head_dim": [5, 10, 20],
    "block_out_channels": [320, 640, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 2048,  # model size: not a protocol limit
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "projection_class_embeddings_input_dim": 2816,
    "sample_size": 64,
    "transformer_layers_per_block": [1, 2, 10],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "upcast_attention": False,
    "use_linear_projection": True,
}

# SDXL text_encoder (CLIP ViT-L/14) and text_encoder_2 (OpenCLIP ViT-bigG/14)
CLIP_VIT_L_TEXT: dict[str, Any] = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "max_position_embeddings": 77,
    "vocab_size": 49408,
    "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-05,
    "projection_dim": 768,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "pad_token_id": 1,
}
OPENCLIP_BIGG_TEXT: dict[str, Any] = {
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_attention_heads": 20,
    "num_hidden_layers": 32,
    "max_position_embeddings": 77,
    "vocab_size": 49408,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-05,
    "projection_dim": 1280,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "pad_token_id": 1,
}

# madebyollin/taesd and taesdxl config.json (same architecture, different weights)
TAESD: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "encoder_block_out_channels": [64, 64, 64, 64],
    "decoder_block_out_channels": [64, 64, 64, 64],
    "act_fn": "relu",
    "latent_channels": 4,
    "upsampling_scaling_factor": 2,
    "num_encoder_blocks": [1, 3, 3, 3],
    "num_decoder_blocks": [3, 3, 3, 1],
    "latent_magnitude": 3,
    "latent_shift": 0.5,
    "scaling_factor": 1.0,
}

# stabilityai/sd-turbo (and sdxl-turbo) scheduler noise schedule
SD_SCHEDULE: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "prediction_type": "epsilon",
}

# Block-removed SD 2.1 UNets (BK-SDM-v2, nota-ai): one resnet+attention pair fewer per down stage
# and per up stage; Small also drops the mid block, Tiny also the innermost stage. These configs
# give 485.8M and 326.8M parameters, the published 0.49B and 0.33B. For speed comparisons on
# random weights: BK-SDM's own weights are not one-step; SDXS-512 (catalogue: sdxs-512) is a
# one-step UNet of that size distilled from SD-Turbo.
BK_SDM_V2_SMALL_UNET: dict[str, Any] = {**SD21_UNET, "layers_per_block": 1, "mid_block_type": None}
BK_SDM_V2_TINY_UNET: dict[str, Any] = {
    **BK_SDM_V2_SMALL_UNET,
    "block_out_channels": [320, 640, 1280],
    "attention_head_dim": [5, 10, 20],
    "down_block_types": SD21_UNET["down_block_types"][:3],
    "up_block_types": SD21_UNET["up_block_types"][1:],
}

ARCHITECTURES: dict[str, dict[str, Any]] = {
    "sd-turbo": {"family": "sd", "unet": SD21_UNET, "text": [OPENCLIP_VIT_H_TEXT], "vae": TAESD},
    "bk-sdm-v2-small": {
        "family": "sd",
        "unet": BK_SDM_V2_SMALL_UNET,
        "text": [OPENCLIP_VIT_H_TEXT],
        "vae": TAESD,
    },
    "bk-sdm-v2-tiny": {
        "family": "sd",
        "unet": BK_SDM_V2_TINY_UNET,
        "text": [OPENCLIP_VIT_H_TEXT],
        "vae": TAESD,
    },
    "sdxl-turbo": {
        "family": "sdxl",
        "unet": SDXL_UNET,
        "text": [CLIP_VIT_L_TEXT, OPENCLIP_BIGG_TEXT],
        "vae": TAESD,
    },
}
