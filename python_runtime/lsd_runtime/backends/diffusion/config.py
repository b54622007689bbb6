"""The diffusion backend's settings: one type for the runtime's defaults (``serve`` flags), a
session's settings (the defaults with its ``set_style`` applied) and the stream's knobs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DiffusionConfig:
    """Settings of the diffusion backend. The runtime holds one as the defaults of every
    session (``set_default_config``); a session's own is that with its ``set_style`` applied
    (``with_params``), and its ``StreamPipeline`` reads the per-frame knobs from it.

    ``model`` is a catalogue name (``sd-turbo``, ``sdxl-turbo``, ``sd15-lcm``) or a local
    diffusers folder. Nothing is ever downloaded at runtime: weights come from that folder or
    the Hugging Face cache (``cache_dir``, default the hub's own).
    """

    model: str = "sd-turbo"
    prompt: str = ""
    negative_prompt: str = ""
    strength: float = 0.5
    seed: int = 2
    steps: int = 1
    guidance: float = 0.0
    feedback: float = 0.0
    warp_noise: bool = True  # with the engine's motion: the noise moves with the surfaces
    controlnet_scale: float = 1.0  # a depth ControlNet's weight (model name "<model>+depth")
    stabilize: float = 0.5  # with the engine's planes: the last output's weight, moved and masked
    interp_frames: int = 8
    similarity_threshold: float = 0.0  # 0 disables the filter; 0.98 is a useful value
    similarity_max_skip: int = 10
    fixed_noise: bool = True
    tiny_vae: bool = True
    vae: str | None = None  # override: catalogue name, hub repo id or folder of a VAE
    long_side: int = 512
    warm_start: bool = True  # fill the stream batch from the first frame (False: zeros, as StreamDiffusion)
    fp16: bool = True  # CUDA only
    channels_last: bool = True  # CUDA only
    compile: bool = False  # torch.compile the UNet (CUDA only)
    cuda_graph: bool = False  # capture the UNet call in a CUDA graph (CUDA only)
    cache_dir: Path | None = None
    progress: bool = True
    # ---- StreamDiffusion's knobs -----------------------------------------------------------------
    cfg_type: str = "full"  # guidance > 1: "full" (2 UNet rows per slot), "self" or "initialize" (RCFG)
    delta: float = 1.0  # RCFG: scale of the virtual negative noise
    t_index_list: tuple[int, ...] | None = None  # explicit steps: indices into the num_inference_steps grid
    num_inference_steps: int = 50  # the grid t_index_list indexes (LCMScheduler's, as StreamDiffusion)
    denoise_batch: bool = True  # False: the steps run one after another within each frame
    add_noise: bool = True  # re-noise the x0 prediction between steps (False: alpha * x0 only)
    mode: str = "img2img"  # "txt2img": the input frame is not encoded; each frame starts from noise
    frame_buffer_size: int = 1  # frames per pipeline call when a caller hands the backend a batch
    lora: str | None = None  # a LoRA file, folder or hub repo id (offline, like models)
    lora_scale: float = 1.0
    lora_fuse: bool = False  # fuse into the weights (fastest; a new scale reloads) or switch per frame
    safety_checker: bool = False  # check every output with a safety checker (consumer apps)
    safety_checker_model: str | None = None  # folder or hub id; default the model's own or CompVis'
    # ---- doing less work per frame (each off at its default) -------------------------------------
    deep_cache_interval: int = 1  # N > 1: full UNet every Nth frame, the others reuse its deep features
    deep_cache_layers: int = 1  # outermost up-block layers recomputed on a reuse frame (more: closer)
    deep_cache_threshold: float = 0.0  # > 0: refresh early when the input latent moved this much (rel. L2)
    encode_interval: int = 1  # M > 1: VAE-encode at least every Mth frame, predict the latent between
    encode_threshold: float = 0.02  # predict only while the input differs this little (mean |diff|, 0..1)
    token_downsample: int = 1  # f > 1: self-attention at full latent resolution sees f*f fewer keys
    tensorrt: bool = False  # run the UNet as a TensorRT engine where tensorrt is installed (CUDA)
    engine_dir: Path | None = None  # where TensorRT engines are cached (default ~/.cache/lsd-bridge/trt)

    def with_params(self, **overrides: Any) -> DiffusionConfig:
        return replace(self, **overrides)


CFG_TYPES = ("none", "full", "self", "initialize")
MODES = ("img2img", "txt2img")

# the keys ``set_style(params=...)`` accepts, with the type each must have
STYLE_PARAMS: dict[str, type] = {
    "steps": int,
    "guidance": float,
    "feedback": float,
    "warp_noise": bool,
    "controlnet_scale": float,
    "stabilize": float,
    "interp_frames": int,
    "similarity_threshold": float,
    "similarity_max_skip": int,
    "negative_prompt": str,
    "fixed_noise": bool,
    "long_side": int,
    "cfg_type": str,
    "delta": float,
    "t_index_list": list,
    "num_inference_steps": int,
    "denoise_batch": bool,
    "add_noise": bool,
    "mode": str,
    "frame_buffer_size": int,
    "lora": str,
    "lora_scale": float,
    "lora_fuse": bool,
    "deep_cache_interval": int,
    "deep_cache_layers": int,
    "deep_cache_threshold": float,
    "encode_interval": int,
    "encode_threshold": float,
    "token_downsample": int,
}

# the style params that need other weights (a new pipeline) rather than a stream update
WEIGHT_PARAMS = frozenset({"lora", "lora_fuse"})

# the style params that change the stream (long_side changes the model size instead)
STREAM_PARAMS = frozenset(STYLE_PARAMS) - {"long_side"}

_default = DiffusionConfig()


def set_default_config(config: DiffusionConfig) -> None:
    """Process-wide defaults for backends built as ``DiffusionBackend(device)`` (the CLI sets this)."""
    global _default
    _default = config


def default_config() -> DiffusionConfig:
    return _default
