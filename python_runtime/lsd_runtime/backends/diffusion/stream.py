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
  (reprojected with the engine's motion vectors when given, and only where the engine's depth
  says the surface was visible in both frames: newly uncovered pixels take the new latent)
  before decoding, an exponential average that damps flicker (``feedback`` 0: off, 1: frozen).
  Blending into the *input* latent instead was tried: it loops the UNet's own gain back into
  itself and raised flicker on the random-weight test models;
- with the engine's motion the noise moves with the surfaces too (``warp_noise``): the last
  frame's noise warped to this one (renormalised to unit variance), fresh where uncovered, so
  the texture the noise seeds sticks to surfaces instead of swimming (``temporal.py``);
- a depth ControlNet (model name ``<model>+depth``) conditions every UNet call on the engine's
  depth, drawn as depth ControlNets were trained (inverse depth, near bright);
- the similarity filter returns the previous output for near-identical input.

StreamDiffusion's other knobs, with its definitions:

- ``cfg_type`` with ``guidance`` > 1: ``full`` runs every slot twice (negative and positive
  prompt); ``self`` and ``initialize`` are residual CFG: the negative prediction is
  ``delta`` × a *stock noise* carried along each slot's chain (``initialize`` refreshes the
  newest slot's with one extra negative-prompt row per call), so guidance costs no second
  UNet pass. In the stream batch the stock noise follows StreamDiffusion 0.1.1's update
  exactly; with sequential steps (and the warm start) each frame's chain starts from the noise
  it was given, the paper's self-negative, and then follows the same update;
- ``t_index_list``: explicit timesteps, indices into the ``num_inference_steps`` grid of
  diffusers' LCMScheduler, instead of the strength-derived ones;
- ``denoise_batch`` False: the ``k`` steps run one after another within each frame (``k``
  UNet calls, no latency); ``add_noise`` False: between steps the x0 prediction is scaled,
  not re-noised;
- several frames per call: ``n`` frames make ``n`` rows per slot (slot-major);
- ``mode`` ``txt2img``: no encode, every frame starts from noise (fixed noise: a still image
  that follows the prompt).

And ways to do less work per frame, each off by default: ``DeepCache`` reuse of the UNet's
deep features (``deep_cache.py``), predicting the input latent instead of encoding it
(``latent_predict.py``), token downsampling in full-resolution self-attention
(``token_merge.py``).

Its settings are a ``DiffusionConfig`` (the one settings type of the diffusion backend; the
stream reads the per-frame knobs: prompt, strength, steps, guidance, feedback, ...).
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ...pipeline.latency import StageTimes
from .accel import DenoiseFn
from .codec import LatentCodec
from .config import DiffusionConfig
from .deep_cache import DeepCache
from .interpolation import PromptBlend
from .latent_predict import LatentPredictor
from .lora import SwitchableLora
from .prompts import PromptEmbedding, PromptEncoder
from .safety import SafetyChecker
from .schedule import NoiseSchedule, StepCoefficients
from .similarity import SimilarityFilter
from .temporal import LatentPlanes, NoiseTracker, warp
from .token_merge import install_token_downsampling, token_downsampling

log = logging.getLogger(__name__)


@dataclass
class WorkCounters:
    """What the pipeline ran: UNet calls and their rows, encodes done and skipped, flagged frames."""

    unet_calls: int = 0
    unet_rows: int = 0
    encodes: int = 0
    encodes_predicted: int = 0
    flagged: int = 0


class StreamPipeline:
    def __init__(
        self,
        codec: LatentCodec,
        denoise: DenoiseFn,
        encoder: PromptEncoder,
        schedule: NoiseSchedule,
        family: str,
        dtype: torch.dtype,
        device: torch.device,
        settings: DiffusionConfig,
        profile: bool = False,
        unet: torch.nn.Module | None = None,
        safety: SafetyChecker | None = None,
        lora: SwitchableLora | None = None,
        controlnet: torch.nn.Module | None = None,
    ):
        self.codec = codec
        self.denoise = denoise
        self.encoder = encoder
        self.schedule = schedule
        self.family = family
        self.dtype = dtype
        self.device = device
        self.profile = profile
        self.unet = unet  # the torch module, for DeepCache and token downsampling
        self.safety = safety
        self.lora = lora  # a switchable LoRA in the weights: every UNet call runs at s.lora_scale
        self.controlnet = controlnet  # a depth ControlNet: every UNet call sees this frame's depth
        self._control: torch.Tensor | None = None  # [n, 3, H, W] this frame's depth image
        self.times = StageTimes()
        self.work = WorkCounters()
        self.s = settings
        self.blend = PromptBlend(encoder(settings.prompt))
        self._uncond: PromptEmbedding = encoder(settings.negative_prompt)
        self.filter = SimilarityFilter(
            settings.similarity_threshold, settings.similarity_max_skip, settings.seed
        )
        self.predictor = LatentPredictor()
        self.deep_cache: DeepCache | None = None
        self._coeffs: StepCoefficients | None = None
        self._noise: torch.Tensor | None = None  # this call's noise, [k * n, C, h, w]
        self._noise_base: torch.Tensor | None = None  # fixed noise: one per slot, [k, C, h, w]
        self._rng = torch.Generator()
        self._latent_shape: tuple[int, ...] | None = None
        self._rows = 1  # frames per call the in-flight state holds
        self._buffer: torch.Tensor | None = None  # [(k-1)*n, C, h, w] in-flight slots at t_1..t_{k-1}
        self._stock: torch.Tensor | None = None  # [k*n, C, h, w] RCFG stock noise (stream batch)
        self._last_x0: torch.Tensor | None = None  # [n, C, h, w] the last output's latents
        self._last_out: torch.Tensor | None = None
        self._last_depth: torch.Tensor | None = None  # [1, 1, h, w] the last frame's depth, latent size
        self._noise_tracker = NoiseTracker()  # warp_noise: the noise follows the surfaces
        self._rebuild_schedule()
        self._reseed()
        self._configure_speedups()

    # ---- settings -------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        """Denoising steps per frame: the explicit ``t_index_list``'s length, else ``steps``."""
        return len(self.s.t_index_list) if self.s.t_index_list else self.s.steps

    @property
    def timesteps(self) -> list[int]:
        return [] if self._coeffs is None else [int(t) for t in self._coeffs.timesteps]

    def update(self, new: DiffusionConfig) -> None:
        """Apply new settings without a grey frame: state carries over where it can."""
        old, self.s = self.s, new
        rescaled = self.lora is not None and new.lora_scale != old.lora_scale
        if rescaled:  # a text-encoder LoRA changes the embeddings too: glide to them as to a prompt
            self.encoder.lora_scale = new.lora_scale
        if new.prompt != old.prompt or rescaled:
            self.blend.switch(self.encoder(new.prompt), new.interp_frames)
        if new.negative_prompt != old.negative_prompt or rescaled:
            self._uncond = self.encoder(new.negative_prompt)
        self.filter.threshold, self.filter.max_skip = new.similarity_threshold, new.similarity_max_skip
        if new.seed != old.seed:
            self._reseed()
        schedule_keys = ("strength", "steps", "t_index_list", "num_inference_steps")
        if any(getattr(new, k) != getattr(old, k) for k in schedule_keys):
            self._rebuild_schedule()
            self._renoise_from_last()
        elif new.fixed_noise != old.fixed_noise:
            self._reseed()
        if (new.mode, new.denoise_batch) != (old.mode, old.denoise_batch):
            self._buffer = None  # the next frame warm-starts the slots in the new way
        if (new.cfg_type, new.mode, new.denoise_batch) != (old.cfg_type, old.mode, old.denoise_batch):
            self._stock = None
        if new.mode != old.mode:
            self.predictor.reset()
        self._configure_speedups()

    def reset(self) -> None:
        """Forget temporal state (camera cut); the next frame warm-starts again."""
        self._buffer = None
        self._stock = None
        self._last_x0 = None
        self._last_out = None
        self._last_depth = None
        self._noise_tracker.reset()
        self.blend.snap()
        self.filter.reset()
        self.predictor.reset()
        if self.deep_cache is not None:
            self.deep_cache.reset()
        self._reseed()

    def _configure_speedups(self) -> None:
        s = self.s
        if s.deep_cache_interval > 1 and self.unet is not None:
            dc = self.deep_cache
            if dc is None or dc.layers != s.deep_cache_layers:
                self.deep_cache = DeepCache(self.unet, s.deep_cache_layers)
            assert self.deep_cache is not None
            self.deep_cache.interval = s.deep_cache_interval
            self.deep_cache.threshold = s.deep_cache_threshold
        else:
            if s.deep_cache_interval > 1:
                log.warning("deep_cache_interval needs the torch UNet; this pipeline runs without it")
            self.deep_cache = None
        if s.token_downsample > 1:
            if self.unet is None:
                log.warning("token_downsample needs the torch UNet; this pipeline runs without it")
            else:
                install_token_downsampling(self.unet)

    def _rebuild_schedule(self) -> None:
        if self.s.strength <= 0:
            self._coeffs = None
            return
        if self.s.t_index_list:
            ts = self.schedule.timesteps_at(self.s.t_index_list, self.s.num_inference_steps)
        else:
            ts = self.schedule.timesteps(min(self.s.strength, 1.0), self.s.steps)
        self._coeffs = self.schedule.coefficients(ts, self.device)

    def _reseed(self) -> None:
        self._rng.manual_seed(int(self.s.seed))
        self._noise = None  # drawn at the next frame, once the latent shape is known
        self._noise_base = None

    def _noise_for_frame(self, shape: tuple[int, ...]) -> torch.Tensor:
        """``[k * n, C, h, w]``: slot ``j``'s noise for the ``n`` frames is rows ``j*n .. j*n+n-1``.
        Fixed noise is the same for every frame, in a call or across calls (a frame's result does
        not depend on how many frames share its call); otherwise every row is drawn afresh."""
        n = shape[0]
        if not self.s.fixed_noise:
            self._noise = torch.randn((self.steps * n, *shape[1:]), generator=self._rng).to(self.device)
            return self._noise
        base = (self.steps, *shape[1:])
        if self._noise_base is None or tuple(self._noise_base.shape) != base:
            self._noise_base = torch.randn(base, generator=self._rng).to(self.device)
            self._noise = None
        if self._noise is None or self._noise.shape[0] != self.steps * n:
            self._noise = self._noise_base.repeat_interleave(n, dim=0)
        return self._noise

    def _renoise_from_last(self) -> None:
        self._stock = None
        if self._coeffs is None or self._last_x0 is None:
            self._buffer = None
            return
        n = self._last_x0.shape[0]
        noise = self._noise_for_frame(tuple(self._last_x0.shape))
        c = self._coeffs.repeat(n)
        last = self._last_x0.repeat(self.steps - 1, 1, 1, 1)
        self._buffer = c.alpha[n:] * last + c.sigma[n:] * noise[n:]

    # ---- per frame --------------------------------------------------------------------------
    @torch.inference_mode()
    def __call__(
        self, frame: torch.Tensor, motion: torch.Tensor | None = None, depth: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``n`` frames ``[n, 3, H, W]`` sRGB 0..1 → restyled ``[n, 3, H, W]`` (one UNet call for
        all of them in the stream batch). ``motion`` ([n, 2, H', W'] pixels, now minus then, +y
        down) and ``depth`` ([n, 1, H', W'] linear) are the engine's, when it sent them."""
        t0 = time.perf_counter()
        if self.s.strength <= 0.0:
            self.blend.advance()
            return frame.clone()  # strength 0 is exactly the input
        txt2img = self.s.mode == "txt2img"
        last = self._last_out
        if not txt2img and self.filter.should_skip(frame) and last is not None and last.shape == frame.shape:
            self.times = StageTimes(skipped=True)
            return last.clone()
        assert self._coeffs is not None
        n = frame.shape[0]
        z: torch.Tensor | None = None
        if txt2img:
            f = self.codec.scale_factor
            shape: tuple[int, ...] = (n, self.codec.channels, frame.shape[-2] // f, frame.shape[-1] // f)
        else:
            z = self._encode(frame)
            shape = tuple(z.shape)
        t1 = self._tick()
        if self._latent_shape != shape:  # new resolution or frames per call: start over
            self._latent_shape = shape
            self._buffer = None
            self._stock = None
            self._last_x0 = None
            self._last_depth = None
            self._noise_tracker.reset()
            if self.deep_cache is not None:
                self.deep_cache.reset()
        planes = self._planes(motion, depth, shape)
        noise = self._temporal_noise(self._noise_for_frame(shape), planes)
        self._control = self._control_image(depth, frame)
        c = self._coeffs
        cond = self.blend.advance()
        if z is None or (self.s.strength >= 1.0 and not self.s.t_index_list):
            x_first = noise[:n].clone()
        else:
            x_first = c.alpha[:1] * z + c.sigma[:1] * noise[:n]
        if self.deep_cache is not None:
            self.deep_cache.begin_frame(z)
        if self.s.denoise_batch:
            x0 = self._stream_batch_step(x_first, cond, noise, n)
        else:
            x0 = self._chain(x_first, cond, noise, n)[0]
        t2 = self._tick()
        out_latent = self._feedback(x0, planes)
        self._last_x0 = out_latent.clone()
        out = self.codec.decode(self._last_x0)
        t3 = self._tick()
        stages = {"encode": t1 - t0, "unet": t2 - t1, "decode": t3 - t2}
        if self.safety is not None:
            out = self._check(out, frame, txt2img)
            stages["safety"] = self._tick() - t3
        self._last_out = out
        self.times = StageTimes.of(**stages)
        return out.clone()

    def _encode(self, frame: torch.Tensor) -> torch.Tensor:
        s = self.s
        if s.encode_interval > 1 and frame.shape[0] == 1:
            before = self.predictor.predicted
            z = self.predictor.latent(frame, self.codec.encode, s.encode_interval, s.encode_threshold)
            if self.predictor.predicted > before:
                self.work.encodes_predicted += 1
            else:
                self.work.encodes += 1
            return z
        self.work.encodes += 1
        return self.codec.encode(frame)

    def _planes(
        self, motion: torch.Tensor | None, depth: torch.Tensor | None, shape: tuple[int, ...]
    ) -> LatentPlanes | None:
        """The engine's planes at the latent size (one frame per call only; ``None`` otherwise)."""
        if shape[0] != 1 or (motion is None and depth is None):
            self._last_depth = None
            return None
        planes = LatentPlanes.of(motion, depth, (shape[-2], shape[-1]), self._last_depth)
        self._last_depth = planes.depth
        return planes

    def _temporal_noise(self, noise: torch.Tensor, planes: LatentPlanes | None) -> torch.Tensor:
        """This frame's noise: with the engine's motion (``warp_noise``), each surface keeps the
        noise it had (``NoiseTracker``); uncovered pixels take the drawn (or fixed) noise."""
        if not self.s.warp_noise or planes is None or planes.motion is None:
            self._noise_tracker.reset()
            return noise
        return self._noise_tracker(noise, planes)

    def _feedback(self, x0: torch.Tensor, planes: LatentPlanes | None) -> torch.Tensor:
        if self.s.feedback <= 0.0 or self._last_x0 is None or self._last_x0.shape != x0.shape:
            return x0
        w = float(min(self.s.feedback, 1.0))
        if planes is not None and planes.motion is not None:
            # the last output moved to where its surfaces are now; uncovered pixels: the new latent
            assert planes.visible is not None
            prev = warp(self._last_x0, planes.motion)
            return torch.lerp(x0, prev, w * planes.visible)
        prev = self._last_x0[-1:]
        outs = []
        for i in range(x0.shape[0]):  # in frame order: each frame blends with the one before it
            prev = torch.lerp(x0[i : i + 1], prev, w)
            outs.append(prev)
        return torch.cat(outs)

    def _control_image(self, depth: torch.Tensor | None, frame: torch.Tensor) -> torch.Tensor | None:
        """The depth ControlNet's input: inverse depth scaled to 0..1 over the frame (near bright,
        the sky black), three channels at the frame's size, as depth ControlNets were trained on
        (MiDaS-style relative depth)."""
        if self.controlnet is None:
            return None
        if depth is None:
            if not getattr(self, "_warned_no_depth", False):
                log.warning("the depth ControlNet gets no depth from this client: frames run without it")
                self._warned_no_depth = True
            return None
        z = F.interpolate(depth.float(), size=frame.shape[-2:], mode="nearest").to(frame.device)
        inv = 1.0 / z.clamp_min(1e-6)
        lo = inv.amin(dim=(1, 2, 3), keepdim=True)
        hi = inv.amax(dim=(1, 2, 3), keepdim=True)
        return ((inv - lo) / (hi - lo).clamp_min(1e-12)).expand(-1, 3, -1, -1).contiguous()

    def _check(self, out: torch.Tensor, frame: torch.Tensor, txt2img: bool) -> torch.Tensor:
        """Flagged frames become the input frame as the engine rendered it (txt2img: black)."""
        assert self.safety is not None
        flagged = self.safety.flags(out)
        if not bool(flagged.any()):
            return out
        self.work.flagged += int(flagged.sum())
        replacement = torch.zeros_like(out) if txt2img else frame.to(out.dtype)
        return torch.where(flagged.view(-1, 1, 1, 1), replacement, out)

    def _tick(self) -> float:
        if self.profile and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    # ---- denoising ------------------------------------------------------------------------------
    @property
    def _rcfg(self) -> bool:
        return self.s.guidance > 1.0 and self.s.cfg_type in ("self", "initialize")

    def _stream_batch_step(
        self, x_first: torch.Tensor, cond: PromptEmbedding, noise: torch.Tensor, n: int
    ) -> torch.Tensor:
        """One call over all slots (StreamDiffusion's ``predict_x0_batch`` with the batch on)."""
        k = self.steps
        assert self._coeffs is not None
        if self._buffer is None:
            self._buffer, self._stock = self._start_buffer(x_first, cond, noise, n)
        rows = self._coeffs.repeat(n)
        batch = torch.cat([x_first, self._buffer], dim=0)
        stock = self._stock
        if self._rcfg:
            if stock is None or stock.shape != batch.shape:
                stock = torch.zeros_like(batch)
            if k > 1:  # each slot's stock moves one slot on; the newest frame's is its own noise
                stock = torch.cat([noise[:n], stock[:-n]])
        pred, stock = self._guided(batch, rows.timesteps, cond, stock, n, slot=0)
        ptype = self.schedule.prediction_type
        x0 = rows.predict_x0(batch, pred, ptype)
        if self._rcfg:
            assert stock is not None
            ones = torch.ones_like(rows.alpha[:n])
            alpha_next = torch.cat([rows.alpha[n:], ones])
            sigma_next = torch.cat([rows.sigma[n:], ones])
            delta_x = alpha_next * rows.predict_x0(rows.sigma * stock, pred, ptype) / sigma_next
            stock = torch.cat([noise[n:], noise[:n]]) + delta_x
        self._stock = stock
        nxt = rows.alpha[n:] * x0[:-n]
        self._buffer = nxt + rows.sigma[n:] * noise[n:] if self.s.add_noise else nxt
        return x0[-n:]

    def _chain(
        self, x: torch.Tensor, cond: PromptEmbedding, noise: torch.Tensor, n: int, keep: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """The ``k`` steps one after another for ``n`` frames starting at ``x`` (sequential mode
        and the warm start). Returns the last x0 and, with ``keep``, the noisy latent and the
        RCFG stock noise entering each later step."""
        assert self._coeffs is not None
        c = self._coeffs
        k = self.steps
        stock: torch.Tensor | None = noise[:n] if self._rcfg else None
        xs: list[torch.Tensor] = []
        stocks: list[torch.Tensor] = []
        ptype = self.schedule.prediction_type
        x0 = x
        for j in range(k):
            one = c.step(j).repeat(n)
            pred, stock = self._guided(x, one.timesteps, cond, stock, n, slot=j, cache=not keep)
            x0 = one.predict_x0(x, pred, ptype)
            if j == k - 1:
                break
            nxt = c.step(j + 1).repeat(n)
            fresh = noise[(j + 1) * n : (j + 2) * n]
            if stock is not None:
                stock = fresh + nxt.alpha * one.predict_x0(one.sigma * stock, pred, ptype) / nxt.sigma
            x = nxt.alpha * x0 + nxt.sigma * fresh if self.s.add_noise else nxt.alpha * x0
            if keep:
                xs.append(x)
                if stock is not None:
                    stocks.append(stock)
                if j == k - 2:
                    break  # the warm start needs the slots entering steps 1..k-1, not the last x0
        return x0, xs, stocks

    def _start_buffer(
        self, x_first: torch.Tensor, cond: PromptEmbedding, noise: torch.Tensor, n: int
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Slots 1..k-1 at t_1..t_{k-1}: the first frame's own chain (``warm_start``), so the
        first output is a complete img2img of the first frame; or zeros (StreamDiffusion).
        Also the RCFG stock noise laid out as the stream batch expects it before its shift."""
        k = self.steps
        empty = x_first.new_zeros((0, *x_first.shape[1:]))
        if k < 2:
            return empty, None
        if not self.s.warm_start:
            return x_first.new_zeros(((k - 1) * n, *x_first.shape[1:])), None
        _, xs, stocks = self._chain(x_first, cond, noise, n, keep=True)
        # slot order in the batch is t_1, t_2, ..., so the deepest chain goes last
        stock = torch.cat([*stocks, torch.zeros_like(x_first)]) if stocks else None
        return torch.cat(xs, dim=0), stock

    def _guided(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        cond: PromptEmbedding,
        stock: torch.Tensor | None,
        n: int,
        slot: int,
        cache: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The guided model output for ``x`` at ``t`` and the (maybe refreshed) RCFG stock noise.
        ``n``: frames per call (``initialize`` adds one negative row per frame of the first slot)."""
        g = self.s.guidance
        kind = self.s.cfg_type if g > 1.0 else "none"
        rows = x.shape[0]
        if kind == "full":
            out = self._unet(
                torch.cat([x, x]), torch.cat([t, t]), [(self._uncond, rows), (cond, rows)], slot, cache
            )
            uncond, text = out.chunk(2)
            return uncond + g * (text - uncond), stock
        if kind == "initialize":
            assert stock is not None
            out = self._unet(
                torch.cat([x[:n], x]), torch.cat([t[:n], t]), [(self._uncond, n), (cond, rows)], slot, cache
            )
            stock = torch.cat([out[:n], stock[n:]])
            text = out[n:]
        else:
            text = self._unet(x, t, [(cond, rows)], slot, cache)
        if kind in ("self", "initialize"):
            assert stock is not None
            uncond = self.s.delta * stock
            return uncond + g * (text - uncond), stock
        return text, stock

    def _unet(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        parts: list[tuple[PromptEmbedding, int]],
        slot: int,
        cache: bool = True,
    ) -> torch.Tensor:
        """One UNet call; ``parts``: each embedding and how many rows (in order) it conditions."""
        hidden = torch.cat([e.hidden.expand(r, -1, -1) for e, r in parts])
        pooled = None
        if all(e.pooled is not None for e, _ in parts):
            pooled = torch.cat([e.pooled.expand(r, -1) for e, r in parts if e.pooled is not None])
        time_ids = None
        if self.family == "sdxl":
            h, w = x.shape[-2] * 8, x.shape[-1] * 8
            time_ids = torch.tensor([[h, w, 0, 0, h, w]], device=x.device, dtype=self.dtype)
            time_ids = time_ids.expand(x.shape[0], -1)
        self.work.unet_calls += 1
        self.work.unet_rows += x.shape[0]
        args: tuple[Any, ...] = (
            x.to(self.dtype),
            t,
            hidden.to(self.dtype),
            None if pooled is None else pooled.to(self.dtype),
            time_ids,
        )
        f = self.s.token_downsample
        scope = token_downsampling(f, (x.shape[-2], x.shape[-1])) if f > 1 else nullcontext()
        lora = self.lora.at(self.s.lora_scale) if self.lora is not None else nullcontext()
        with lora, scope:
            if self.controlnet is not None and self._control is not None:
                return self._controlled(*args).float()
            if self.deep_cache is not None and cache:
                return self.deep_cache(*args, slot=slot).float()
            return self.denoise(*args).float()

    def _controlled(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        hidden: torch.Tensor,
        text_embeds: torch.Tensor | None,
        time_ids: torch.Tensor | None,
    ) -> torch.Tensor:
        """A UNet call with the depth ControlNet's residuals (the torch UNet: compiled, graph or
        TensorRT UNets and DeepCache do not take them)."""
        assert self.controlnet is not None and self._control is not None and self.unet is not None
        rows, n = x.shape[0], self._control.shape[0]
        cond = self._control.repeat(rows // n, 1, 1, 1).to(x.dtype)
        added = None if text_embeds is None else {"text_embeds": text_embeds, "time_ids": time_ids}
        down, mid = self.controlnet(
            x, t, encoder_hidden_states=hidden, controlnet_cond=cond,
            conditioning_scale=float(self.s.controlnet_scale), added_cond_kwargs=added, return_dict=False,
        )  # fmt: skip
        return self.unet(
            x, t, encoder_hidden_states=hidden, added_cond_kwargs=added,
            down_block_additional_residuals=down, mid_block_additional_residual=mid, return_dict=False,
        )[0]  # fmt: skip
