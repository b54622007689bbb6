"""The noise schedule, and strength (0..1) → the timesteps each stream slot sits at."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class NoiseSchedule:
    alphas_cumprod: torch.Tensor  # float64 [T]
    prediction_type: str = "epsilon"  # or "v_prediction"
    lcm: bool = False

    @property
    def num_train_timesteps(self) -> int:
        return int(self.alphas_cumprod.shape[0])

    @classmethod
    def from_config(cls, config: dict, lcm: bool = False) -> NoiseSchedule:
        n = int(config.get("num_train_timesteps", 1000))
        b0, b1 = float(config.get("beta_start", 0.00085)), float(config.get("beta_end", 0.012))
        kind = config.get("beta_schedule", "scaled_linear")
        if kind == "linear":
            betas = torch.linspace(b0, b1, n, dtype=torch.float64)
        elif kind == "scaled_linear":
            betas = torch.linspace(b0**0.5, b1**0.5, n, dtype=torch.float64) ** 2
        else:
            raise ValueError(f"unsupported beta_schedule '{kind}'")
        return cls(torch.cumprod(1.0 - betas, 0), config.get("prediction_type", "epsilon"), lcm)

    @classmethod
    def from_folder(cls, folder: Path, lcm: bool = False) -> NoiseSchedule:
        path = folder / "scheduler" / "scheduler_config.json"
        config = json.loads(path.read_text()) if path.exists() else {}
        return cls.from_config(config, lcm=lcm or config.get("_class_name") == "LCMScheduler")

    def timesteps(self, strength: float, steps: int) -> list[int]:
        """``steps`` decreasing timesteps for img2img at ``strength`` in (0, 1].

        Strength 1 starts at the last training timestep (the caller starts from pure noise),
        smaller strengths start proportionally lower; the steps split that range evenly, so
        the last one is at ``start / steps``. LCM models snap to their 50-step grid.
        """
        if not 0.0 < strength <= 1.0:
            raise ValueError("strength must be in (0, 1]")
        n = self.num_train_timesteps
        start = max(1, round(strength * n)) - 1
        ts = [round(start * (steps - i) / steps) for i in range(steps)]
        if self.lcm:
            grid = n // 50
            ts = [max(grid - 1, math.floor((t + 1) / grid) * grid - 1) for t in ts]
        return ts

    def grid(self, num_inference_steps: int, original_steps: int = 50) -> list[int]:
        """The ``num_inference_steps`` decreasing timesteps that StreamDiffusion's ``t_index_list``
        indexes: diffusers' ``LCMScheduler.set_timesteps`` over its ``original_steps`` grid
        (50 steps of 1000 // 50: 999, 979, ..., 19), whatever the model's own scheduler."""
        n = self.num_train_timesteps
        if not 1 <= num_inference_steps <= original_steps:
            raise ValueError(f"num_inference_steps must be in 1..{original_steps}")
        stride = n // original_steps
        origin = [(i + 1) * stride - 1 for i in range(original_steps)][::-1]
        return [
            origin[math.floor(i * original_steps / num_inference_steps)] for i in range(num_inference_steps)
        ]

    def timesteps_at(self, t_index_list: tuple[int, ...] | list[int], num_inference_steps: int) -> list[int]:
        """StreamDiffusion's explicit steps: ``t_index_list`` picks entries of ``grid``."""
        grid = self.grid(num_inference_steps)
        if not t_index_list:
            raise ValueError("t_index_list is empty")
        if any(not 0 <= i < len(grid) for i in t_index_list):
            raise ValueError(f"t_index_list entries must be in 0..{len(grid) - 1}")
        if any(b <= a for a, b in zip(t_index_list, t_index_list[1:], strict=False)):
            raise ValueError("t_index_list must increase (each step less noisy than the one before)")
        return [grid[i] for i in t_index_list]

    def coefficients(self, timesteps: list[int], device: torch.device) -> StepCoefficients:
        a = self.alphas_cumprod[torch.tensor(timesteps)]
        c_skip, c_out = torch.zeros_like(a), torch.ones_like(a)
        if self.lcm:  # consistency boundary conditions, timestep_scaling 10, sigma_data 0.5
            scaled = torch.tensor(timesteps, dtype=torch.float64) * 10.0
            c_skip = 0.25 / (scaled**2 + 0.25)
            c_out = scaled / (scaled**2 + 0.25) ** 0.5

        def col(x: torch.Tensor) -> torch.Tensor:
            return x.to(device=device, dtype=torch.float32).view(-1, 1, 1, 1)

        return StepCoefficients(
            torch.tensor(timesteps, device=device),
            col(a.sqrt()),
            col((1 - a).sqrt()),
            col(c_skip),
            col(c_out),
        )


@dataclass(frozen=True)
class StepCoefficients:
    """Per stream slot: timestep, sqrt(alpha_bar), sqrt(1 - alpha_bar), LCM c_skip/c_out."""

    timesteps: torch.Tensor
    alpha: torch.Tensor
    sigma: torch.Tensor
    c_skip: torch.Tensor
    c_out: torch.Tensor

    def __len__(self) -> int:
        return int(self.timesteps.shape[0])

    def step(self, j: int) -> StepCoefficients:
        """Slot ``j`` alone."""
        return self.rows(slice(j, j + 1))

    def rows(self, index: slice) -> StepCoefficients:
        return StepCoefficients(
            self.timesteps[index], self.alpha[index], self.sigma[index], self.c_skip[index], self.c_out[index]
        )

    def repeat(self, n: int) -> StepCoefficients:
        """Each slot ``n`` times in a row: the layout of ``n`` frames per call (slot-major)."""
        if n == 1:
            return self
        return StepCoefficients(
            *(
                x.repeat_interleave(n, dim=0)
                for x in (self.timesteps, self.alpha, self.sigma, self.c_skip, self.c_out)
            )
        )

    def predict_x0(self, x_t: torch.Tensor, model_out: torch.Tensor, prediction_type: str) -> torch.Tensor:
        if prediction_type == "v_prediction":
            x0 = self.alpha * x_t - self.sigma * model_out
        else:
            x0 = (x_t - self.sigma * model_out) / self.alpha
        return self.c_out * x0 + self.c_skip * x_t
