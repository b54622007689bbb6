"""The stream pipeline: one UNet call per frame over a batch of frames at different steps.

With ``k`` steps the UNet batch holds the newest frame at the first timestep and the
``k - 1`` frames before it, each one step further on; every call advances every slot one
step and the oldest slot leaves fully denoised (StreamDiffusion's stream batch; ``k - 1``
frames of latency). What we add:

- the in-flight slots start from the first frame's own denoising chain (``warm_start``),
  not from zeros, so the first frames and every reset look like the input, never grey;
- strength 0..1: 0 returns the input, 1 starts from pure noise, in between the first
  timestep scales with it; changing strength or steps re-noises the last output latent
  into the new slots instead of restarting;
- prompt switches glide over ``interp_frames`` (``PromptBlend``);
- latent feedback: the denoised latent is blended with the last output latent
  (reprojected with the engine's motion vectors when given) before decoding, an
  exponential average that damps flicker (``feedback`` 0: off, 1: frozen). Blending
  into the *input* latent instead was tried: it loops the UNet's own gain back into
  itself and raised flicker on the random-weight test models;
- the similarity filter returns the previous output for near-identical input.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

import torch

from .accel import DenoiseFn
from .codec import LatentCodec
from .interpolation import PromptBlend
from .prompts import PromptEmbedding, PromptEncoder
from .reproject import reproject
from .schedule import NoiseSchedule, StepCoefficients
from .similarity import SimilarityFilter


@dataclass
class StreamSettings:
    prompt: str = ""
    negative_prompt: str = ""
    strength: float = 0.5
    seed: int = 2
    steps: int = 1
    guidance: float = 0.0
    feedback: float = 0.0
    interp_frames: int = 8
    similarity_threshold: float = 0.0
    similarity_max_skip: int = 10
    fixed_noise: bool = True
    warm_start: bool = True

    @classmethod
    def from_config(cls, config: object) -> StreamSettings:
        """Start from a config's defaults: every field the two share is copied, so a knob
        added to both cannot be forgotten here."""
        return cls(**{f.name: getattr(config, f.name) for f in fields(cls) if hasattr(config, f.name)})


@dataclass
class StageTimes:
    """Seconds spent in each stage by the last frame (synchronised on CUDA when profiling)."""

    encode: float = 0.0
    unet: float = 0.0
    decode: float = 0.0
    total: float = 0.0
    skipped: bool = False


class StreamPipeline:
    def __init__(self, codec: LatentCodec, denoise: DenoiseFn, encoder: PromptEncoder,
                 schedule: NoiseSchedule, family: str, dtype: torch.dtype, device: torch.device,
                 settings: StreamSettings, profile: bool = False):
        self.codec = codec
        self.denoise = denoise
        self.encoder = encoder
        self.schedule = schedule
        self.family = family
        self.dtype = dtype
        self.device = device
        self.profile = profile
        self.times = StageTimes()
        self.s = settings
        self.blend = PromptBlend(encoder(settings.prompt))
        self._uncond: PromptEmbedding = encoder(settings.negative_prompt)
        self.filter = SimilarityFilter(settings.similarity_threshold, settings.similarity_max_skip,
                                       settings.seed)
        self._coeffs: StepCoefficients | None = None
        self._noise: torch.Tensor | None = None
        self._rng = torch.Generator()
        self._latent_shape: tuple[int, ...] | None = None
        self._buffer: torch.Tensor | None = None  # [k-1, C, h, w] in-flight slots at t_1..t_{k-1}
        self._last_x0: torch.Tensor | None = None  # [1, C, h, w] the last output's latent
        self._last_out: torch.Tensor | None = None
        self._rebuild_schedule()
        self._reseed()

    # ---- settings -------------------------------------------------------------------------
    def update(self, new: StreamSettings) -> None:
        """Apply new settings without a grey frame: state carries over where it can."""
        old, self.s = self.s, new
        if new.prompt != old.prompt:
            self.blend.switch(self.encoder(new.prompt), new.interp_frames)
        if new.negative_prompt != old.negative_prompt:
            self._uncond = self.encoder(new.negative_prompt)
        self.filter.threshold, self.filter.max_skip = new.similarity_threshold, new.similarity_max_skip
        if new.seed != old.seed:
            self._reseed()
        if (new.strength, new.steps) != (old.strength, old.steps):
            self._rebuild_schedule()
            self._renoise_from_last()
        elif new.fixed_noise != old.fixed_noise:
            self._reseed()

    def reset(self) -> None:
        """Forget temporal state (camera cut); the next frame warm-starts again."""
        self._buffer = None
        self._last_x0 = None
        self._last_out = None
        self.blend.snap()
        self.filter.reset()
        self._reseed()

    def _rebuild_schedule(self) -> None:
        if self.s.strength > 0:
            ts = self.schedule.timesteps(min(self.s.strength, 1.0), self.s.steps)
            self._coeffs = self.schedule.coefficients(ts, self.device)
        else:
            self._coeffs = None

    def _reseed(self) -> None:
        self._rng.manual_seed(int(self.s.seed))
        self._noise = None  # drawn at the next frame, once the latent shape is known

    def _noise_for_frame(self, shape: tuple[int, ...]) -> torch.Tensor:
        k = self.s.steps
        want = (k, *shape[1:])
        if self._noise is None or tuple(self._noise.shape) != want or not self.s.fixed_noise:
            self._noise = torch.randn(want, generator=self._rng).to(self.device)
        return self._noise

    def _renoise_from_last(self) -> None:
        if self._coeffs is None or self._last_x0 is None:
            self._buffer = None
            return
        noise = self._noise_for_frame(tuple(self._last_x0.shape))
        c = self._coeffs
        self._buffer = c.alpha[1:] * self._last_x0 + c.sigma[1:] * noise[1:]

    # ---- per frame --------------------------------------------------------------------------
    @torch.inference_mode()
    def __call__(self, frame: torch.Tensor, motion: torch.Tensor | None = None) -> torch.Tensor:
        """One frame ``[1, 3, H, W]`` sRGB 0..1 → restyled ``[1, 3, H, W]``."""
        t0 = time.perf_counter()
        if self.s.strength <= 0.0:
            self.blend.advance()
            return frame.clone()  # strength 0 is exactly the input
        if self.filter.should_skip(frame) and self._last_out is not None:
            self.times = StageTimes(skipped=True)
            return self._last_out.clone()
        assert self._coeffs is not None
        z = self.codec.encode(frame)
        t1 = self._tick()
        shape = tuple(z.shape)
        if self._latent_shape != shape:  # new resolution: start over
            self._latent_shape = shape
            self._buffer = None
            self._last_x0 = None
        noise = self._noise_for_frame(shape)
        c = self._coeffs
        cond = self.blend.advance()
        x_first = noise[:1].clone() if self.s.strength >= 1.0 else c.alpha[:1] * z + c.sigma[:1] * noise[:1]
        if self._buffer is None:
            self._buffer = self._start_buffer(x_first, cond, noise)
        batch = torch.cat([x_first, self._buffer], dim=0)
        x0 = c.predict_x0(batch, self._run_unet(batch, c.timesteps, cond), self.schedule.prediction_type)
        t2 = self._tick()
        self._buffer = c.alpha[1:] * x0[:-1] + c.sigma[1:] * noise[1:]
        out_latent = x0[-1:]
        if self.s.feedback > 0.0 and self._last_x0 is not None:
            prev = self._last_x0 if motion is None else reproject(self._last_x0, motion)
            out_latent = torch.lerp(out_latent, prev, float(min(self.s.feedback, 1.0)))
        self._last_x0 = out_latent.clone()
        out = self.codec.decode(self._last_x0)
        t3 = self._tick()
        self._last_out = out
        self.times = StageTimes(t1 - t0, t2 - t1, t3 - t2, t3 - t0)
        return out.clone()

    def _tick(self) -> float:
        if self.profile and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def _start_buffer(self, x_first: torch.Tensor, cond: PromptEmbedding,
                      noise: torch.Tensor) -> torch.Tensor:
        """Slots 1..k-1 at t_1..t_{k-1}: the first frame's own chain (``warm_start``), so the
        first output is a complete img2img of the first frame; or zeros (StreamDiffusion)."""
        k = self.s.steps
        if k < 2:
            return x_first.new_zeros((0, *x_first.shape[1:]))
        if not self.s.warm_start:
            return x_first.new_zeros((k - 1, *x_first.shape[1:]))
        assert self._coeffs is not None
        c = self._coeffs
        slots: list[torch.Tensor] = []
        x = x_first
        for j in range(k - 1):
            one = StepCoefficients(c.timesteps[j:j + 1], c.alpha[j:j + 1], c.sigma[j:j + 1],
                                   c.c_skip[j:j + 1], c.c_out[j:j + 1])
            x0 = one.predict_x0(x, self._run_unet(x, one.timesteps, cond), self.schedule.prediction_type)
            x = c.alpha[j + 1:j + 2] * x0 + c.sigma[j + 1:j + 2] * noise[j + 1:j + 2]
            slots.append(x)
        # slot order in the batch is t_1, t_2, ..., so the deepest chain goes last
        return torch.cat(slots, dim=0)

    def _run_unet(self, x: torch.Tensor, t: torch.Tensor, cond: PromptEmbedding) -> torch.Tensor:
        n = x.shape[0]
        cfg = self.s.guidance > 1.0
        hidden = cond.hidden.expand(n, -1, -1)
        pooled = cond.pooled.expand(n, -1) if cond.pooled is not None else None
        if cfg:
            x = torch.cat([x, x])
            t = torch.cat([t, t])
            hidden = torch.cat([self._uncond.hidden.expand(n, -1, -1), hidden])
            if pooled is not None and self._uncond.pooled is not None:
                pooled = torch.cat([self._uncond.pooled.expand(n, -1), pooled])
        time_ids = None
        if self.family == "sdxl":
            h, w = x.shape[-2] * 8, x.shape[-1] * 8
            time_ids = torch.tensor([[h, w, 0, 0, h, w]], device=x.device, dtype=self.dtype)
            time_ids = time_ids.expand(x.shape[0], -1)
        out = self.denoise(x.to(self.dtype), t, hidden.to(self.dtype),
                           None if pooled is None else pooled.to(self.dtype), time_ids).float()
        if cfg:
            uncond, text = out.chunk(2)
            out = uncond + self.s.guidance * (text - uncond)
        return out
