"""Speed options for the UNet: fp16, channels-last, torch.compile, CUDA-graph capture.

Every option applies on CUDA only; on CPU (or any other device) they are skipped and the
plain module runs, so one config works everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch

log = logging.getLogger(__name__)

DenoiseFn = Callable[..., torch.Tensor]


def model_dtype(device: torch.device, fp16: bool) -> torch.dtype:
    return torch.float16 if fp16 and device.type == "cuda" else torch.float32


def unet_call(unet: torch.nn.Module) -> DenoiseFn:
    """(latents, timesteps, hidden, text_embeds, time_ids) → model output."""

    def call(
        x: torch.Tensor,
        t: torch.Tensor,
        hidden: torch.Tensor,
        text_embeds: torch.Tensor | None = None,
        time_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        added = None if text_embeds is None else {"text_embeds": text_embeds, "time_ids": time_ids}
        return unet(x, t, encoder_hidden_states=hidden, added_cond_kwargs=added, return_dict=False)[0]

    return call


class CudaGraphDenoise:
    """Captures ``fn`` once per input-shape signature and replays it; inputs are copied into
    static buffers, the output buffer is cloned so callers may keep it."""

    def __init__(self, fn: DenoiseFn, warmup: int = 3):
        self.fn = fn
        self.warmup = warmup
        self._graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, list[torch.Tensor | None], torch.Tensor]] = {}

    def __call__(self, *args: torch.Tensor | None) -> torch.Tensor:
        key = tuple(None if a is None else (tuple(a.shape), a.dtype) for a in args)
        entry = self._graphs.get(key)
        if entry is None:
            entry = self._capture(args)
            self._graphs[key] = entry
        graph, static_in, static_out = entry
        for dst, src in zip(static_in, args, strict=True):
            if dst is not None and src is not None:
                dst.copy_(src)
        graph.replay()
        return static_out.clone()

    def _capture(self, args: tuple[torch.Tensor | None, ...]) -> tuple:
        static_in = [None if a is None else a.clone() for a in args]
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(self.warmup):
                self.fn(*static_in)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = self.fn(*static_in)
        log.info("captured a CUDA graph for UNet inputs %s", [None if a is None else a.shape for a in args])
        return graph, static_in, static_out


def prepare_denoise(
    unet: torch.nn.Module,
    device: torch.device,
    *,
    channels_last: bool,
    compile: bool,
    cuda_graph: bool,
    tensorrt: bool = False,
    engine_dir: Path | None = None,
    engine_key: str = "",
) -> DenoiseFn:
    """The UNet call with the options that apply on ``device``."""
    if tensorrt:
        from .tensorrt_engine import TensorRTDenoise, tensorrt_unavailable

        why = tensorrt_unavailable(device)
        if why is None:
            sdxl = getattr(unet.config, "addition_embed_type", None) == "text_time"
            fallback = prepare_denoise(
                unet, device, channels_last=channels_last, compile=compile, cuda_graph=cuda_graph
            )
            return TensorRTDenoise(unet, fallback, device, engine_key or "unet", engine_dir, sdxl=sdxl)
        log.warning("TensorRT requested, but %s: running the PyTorch UNet", why)
    if device.type != "cuda":
        if compile or cuda_graph:
            log.info("torch.compile / CUDA graphs need CUDA; running the plain UNet on %s", device)
        return unet_call(unet)
    if channels_last:
        unet.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # a Module accepts it
    fn = unet_call(unet)
    if compile:
        fn = torch.compile(
            fn, mode="max-autotune-no-cudagraphs" if cuda_graph else "reduce-overhead", fullgraph=False
        )
    if cuda_graph:
        fn = CudaGraphDenoise(fn)
    return fn
