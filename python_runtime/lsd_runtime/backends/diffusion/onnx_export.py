"""ONNX export of the UNet and the VAE (the road to TensorRT), and an onnxruntime runner.

``export_unet`` writes ``(sample, timestep, encoder_hidden_states[, text_embeds, time_ids]) →
model output`` with batch and latent size dynamic; ``export_vae`` writes the encoder (image in
-1..1 → latent, before scaling) and the decoder (latent → image in -1..1). Opset 17 through
torch's TorchScript exporter (the graph TensorRT 8.6-10 parse best), falling back to the dynamo
exporter at opset 18 where the former is missing. Latent sizes must be even (the UNet's
upsamplers), as the runtime's model sizes are.

``OnnxRuntimeDenoise`` runs an exported UNet as the stream's DenoiseFn; the tests check that
onnxruntime on a CPU matches torch within ``PARITY_TOLERANCE`` on the tiny models.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

OPSET = 17
# max |onnxruntime - torch| / max |torch| on the same float32 inputs (the tiny models give ~1e-6)
PARITY_TOLERANCE = 1e-4


class UNetForExport(torch.nn.Module):
    def __init__(self, unet: torch.nn.Module, sdxl: bool):
        super().__init__()
        self.unet = unet
        self.sdxl = sdxl

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        text_embeds: torch.Tensor | None = None,
        time_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        added = {"text_embeds": text_embeds, "time_ids": time_ids} if self.sdxl else None
        return self.unet(
            sample,
            timestep,
            encoder_hidden_states=encoder_hidden_states,
            added_cond_kwargs=added,
            return_dict=False,
        )[0]


class VaeEncoderForExport(torch.nn.Module):
    def __init__(self, vae: Any):
        super().__init__()
        self.vae = vae
        self.tiny = type(vae).__name__ == "AutoencoderTiny"

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        out = self.vae.encode(image)
        return out.latents if self.tiny else out.latent_dist.mean


class VaeDecoderForExport(torch.nn.Module):
    def __init__(self, vae: Any):
        super().__init__()
        self.vae = vae

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(latent).sample


def _export(
    module: torch.nn.Module,
    args: tuple[torch.Tensor, ...],
    path: Path,
    names: list[str],
    output: str,
    dynamic: dict[str, dict[int, str]],
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    module = module.eval()
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python branches on shapes
        try:
            torch.onnx.export(
                module,
                args,
                str(path),
                input_names=names,
                output_names=[output],
                dynamic_axes=dynamic,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        except (RuntimeError, TypeError, ValueError, ImportError) as exc:  # no TorchScript exporter
            log.info("TorchScript ONNX export failed (%s); using the dynamo exporter", exc)
            torch.onnx.export(module, args, str(path), input_names=names, output_names=[output], dynamo=True)
    return path


def export_unet(
    unet: Any,
    path: Path,
    *,
    batch: int = 1,
    latent_hw: tuple[int, int] = (64, 64),
    tokens: int = 77,
    sdxl: bool = False,
) -> Path:
    """Write the UNet to ``path`` (ONNX); batch, height, width and token count stay dynamic."""
    config = unet.config
    dtype = next(unet.parameters()).dtype
    device = next(unet.parameters()).device
    h, w = latent_hw
    sample = torch.randn(batch, config.in_channels, h, w, dtype=dtype, device=device)
    timestep = torch.full((batch,), 500.0, dtype=torch.float32, device=device)  # TensorRT: no int64
    hidden = torch.randn(batch, tokens, config.cross_attention_dim, dtype=dtype, device=device)
    args: tuple[torch.Tensor, ...] = (sample, timestep, hidden)
    names = ["sample", "timestep", "encoder_hidden_states"]
    dynamic: dict[str, dict[int, str]] = {
        "sample": {0: "batch", 2: "height", 3: "width"},
        "timestep": {0: "batch"},
        "encoder_hidden_states": {0: "batch", 1: "tokens"},
        "out_sample": {0: "batch", 2: "height", 3: "width"},
    }
    if sdxl:
        pooled = int(config.projection_class_embeddings_input_dim) - 6 * int(config.addition_time_embed_dim)
        args += (
            torch.randn(batch, pooled, dtype=dtype, device=device),
            torch.tensor([[h * 8, w * 8, 0, 0, h * 8, w * 8]] * batch, dtype=dtype, device=device),
        )
        names += ["text_embeds", "time_ids"]
        dynamic.update({"text_embeds": {0: "batch"}, "time_ids": {0: "batch"}})
    return _export(UNetForExport(unet, sdxl), args, path, names, "out_sample", dynamic)


def export_vae(vae: Any, folder: Path, *, image_hw: tuple[int, int] = (512, 512)) -> tuple[Path, Path]:
    """Write ``vae_encoder.onnx`` and ``vae_decoder.onnx`` into ``folder``; sizes stay dynamic."""
    dtype = next(vae.parameters()).dtype
    device = next(vae.parameters()).device
    h, w = image_hw
    channels = int(getattr(vae.config, "latent_channels", 4))
    image = torch.rand(1, 3, h, w, dtype=dtype, device=device) * 2 - 1
    latent = torch.randn(1, channels, h // 8, w // 8, dtype=dtype, device=device)
    enc = _export(
        VaeEncoderForExport(vae),
        (image,),
        folder / "vae_encoder.onnx",
        ["image"],
        "latent",
        {"image": {0: "batch", 2: "height", 3: "width"}, "latent": {0: "batch", 2: "lh", 3: "lw"}},
    )
    dec = _export(
        VaeDecoderForExport(vae),
        (latent,),
        folder / "vae_decoder.onnx",
        ["latent"],
        "image",
        {"latent": {0: "batch", 2: "lh", 3: "lw"}, "image": {0: "batch", 2: "height", 3: "width"}},
    )
    return enc, dec


def export_components(
    components: Any, folder: Path, *, batch: int, image_hw: tuple[int, int]
) -> dict[str, Any]:
    """Export the UNet and VAE of loaded ``components`` into ``folder`` with a manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    latent_hw = (image_hw[0] // 8, image_hw[1] // 8)
    unet = export_unet(
        components.unet,
        folder / "unet.onnx",
        batch=batch,
        latent_hw=latent_hw,
        sdxl=components.family == "sdxl",
    )
    enc, dec = export_vae(components.vae, folder, image_hw=image_hw)
    manifest = {
        "family": components.family,
        "opset": OPSET,
        "unet": unet.name,
        "vae_encoder": enc.name,
        "vae_decoder": dec.name,
        "example_batch": batch,
        "example_image_hw": list(image_hw),
        "dtype": str(components.dtype).replace("torch.", ""),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


class OnnxRuntimeSession:
    """An onnxruntime session on named float inputs (CPU unless other providers are given)."""

    def __init__(self, path: Path, providers: list[str] | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(path), options, providers=providers or ["CPUExecutionProvider"]
        )
        self.inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, **inputs: torch.Tensor) -> torch.Tensor:
        feed = {k: v.detach().cpu().numpy() for k, v in inputs.items() if k in self.inputs}
        return torch.from_numpy(self.session.run(None, feed)[0])


def unet_inputs(
    x: torch.Tensor,
    t: torch.Tensor,
    hidden: torch.Tensor,
    text_embeds: torch.Tensor | None = None,
    time_ids: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """A DenoiseFn's arguments by the exported UNet's input names (``export_unet``); SDXL's
    added conditions only when both are given."""
    inputs = {
        "sample": x,
        "timestep": t.to(torch.float32).expand(x.shape[0]),
        "encoder_hidden_states": hidden,
    }
    if text_embeds is not None and time_ids is not None:
        inputs.update(text_embeds=text_embeds, time_ids=time_ids)
    return inputs


class OnnxRuntimeDenoise:
    """An exported UNet as the stream's DenoiseFn (``(x, t, hidden, text_embeds, time_ids)``)."""

    def __init__(self, path: Path, providers: list[str] | None = None):
        self.session = OnnxRuntimeSession(path, providers)

    def __call__(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        hidden: torch.Tensor,
        text_embeds: torch.Tensor | None = None,
        time_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.session(**unet_inputs(x, t, hidden, text_embeds, time_ids)).to(x.device)
