"""ONNX export of the tiny models' UNet and VAE, run by onnxruntime on the CPU against torch; the
TensorRT engine cache and its fallback (the engine build itself needs a GPU: unverified here)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from lsd_runtime.backends.diffusion.accel import prepare_denoise, unet_call  # noqa: E402
from lsd_runtime.backends.diffusion.model_cache import get_components  # noqa: E402
from lsd_runtime.backends.diffusion.onnx_export import (  # noqa: E402
    PARITY_TOLERANCE,
    OnnxRuntimeDenoise,
    OnnxRuntimeSession,
    export_components,
)
from lsd_runtime.backends.diffusion.resolve import resolve_model  # noqa: E402
from lsd_runtime.backends.diffusion.tensorrt_engine import (  # noqa: E402
    EngineCache,
    EngineKey,
    tensorrt_unavailable,
)
from lsd_runtime.backends.diffusion.tiny_model import build_tiny_model  # noqa: E402
from lsd_runtime.tools.cli import main  # noqa: E402
from support.tiny_diffusion import make_backend, panning, pipeline_of, run  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-sd"))


@pytest.fixture(scope="module")
def exported(model_dir: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    components = get_components(resolve_model(model_dir), torch.device("cpu"), torch.float32, progress=False)
    folder = tmp_path_factory.mktemp("onnx")
    export_components(components, folder, batch=2, image_hw=(32, 32))
    return folder, components


def rel_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


@pytest.mark.parametrize("batch,hw", [(2, (4, 4)), (3, (6, 4)), (1, (8, 8))])  # dynamic batch and size
def test_onnx_unet_matches_torch(exported: tuple[Path, object], batch: int, hw: tuple[int, int]) -> None:
    folder, components = exported
    unet = components.unet  # type: ignore[attr-defined]
    g = torch.Generator().manual_seed(batch)
    x = torch.randn(batch, 4, *hw, generator=g)
    t = torch.tensor([999, 500, 20][:batch])
    hidden = torch.randn(batch, 16, 16, generator=g)
    want = unet_call(unet)(x, t, hidden)
    got = OnnxRuntimeDenoise(folder / "unet.onnx")(x, t, hidden)
    assert rel_error(got, want) <= PARITY_TOLERANCE


@pytest.mark.parametrize("hw", [(32, 32), (48, 40)])
def test_onnx_vae_matches_torch(exported: tuple[Path, object], hw: tuple[int, int]) -> None:
    folder, components = exported
    vae = components.vae  # type: ignore[attr-defined]
    image = torch.rand(1, 3, *hw, generator=torch.Generator().manual_seed(1)) * 2 - 1
    latent = vae.encode(image).latents
    assert rel_error(OnnxRuntimeSession(folder / "vae_encoder.onnx")(image=image), latent) <= PARITY_TOLERANCE
    decoded = vae.decode(latent).sample
    assert (
        rel_error(OnnxRuntimeSession(folder / "vae_decoder.onnx")(latent=latent), decoded) <= PARITY_TOLERANCE
    )


def test_the_stream_on_onnxruntime_matches_torch(model_dir: str, exported: tuple[Path, object]) -> None:
    folder, _ = exported
    frames = panning(3)
    params = {"steps": 2, "guidance": 1.5, "cfg_type": "self"}
    want = run(make_backend(model_dir, params=params), frames)
    backend = make_backend(model_dir, params=params)
    pipeline_of(backend).denoise = OnnxRuntimeDenoise(folder / "unet.onnx")
    got = run(backend, frames)
    assert all(rel_error(a, b) <= PARITY_TOLERANCE for a, b in zip(got, want, strict=True))


def test_models_export_command_writes_the_three_graphs(model_dir: str, tmp_path: Path, capsys) -> None:
    assert (
        main(["models", "export", model_dir, "--out", str(tmp_path), "--width", "32", "--height", "32"]) == 0
    )
    assert {p.name for p in tmp_path.iterdir()} >= {
        "unet.onnx",
        "vae_encoder.onnx",
        "vae_decoder.onnx",
        "manifest.json",
    }
    assert '"unet": "unet.onnx"' in capsys.readouterr().out
    # --tensorrt where TensorRT cannot run is a clear error, not a crash
    assert (
        main(
            [
                "models",
                "export",
                model_dir,
                "--out",
                str(tmp_path),
                "--width",
                "32",
                "--height",
                "32",
                "--tensorrt",
            ]
        )
        == 2
    )
    assert "TensorRT needs a CUDA device" in capsys.readouterr().err


# ---- TensorRT: the cache and the fallback (the build itself is unverified without a GPU) -----
def test_tensorrt_falls_back_to_torch_with_a_clear_message(
    model_dir: str, caplog: pytest.LogCaptureFixture
) -> None:
    components = get_components(resolve_model(model_dir), torch.device("cpu"), torch.float32, progress=False)
    with caplog.at_level(logging.WARNING):
        fn = prepare_denoise(
            components.unet,
            torch.device("cpu"),
            channels_last=False,
            compile=False,
            cuda_graph=False,
            tensorrt=True,
        )
    assert "TensorRT requested, but TensorRT needs a CUDA device" in caplog.text
    x, t, hidden = torch.randn(1, 4, 4, 4), torch.tensor([500]), torch.randn(1, 16, 16)
    assert torch.equal(fn(x, t, hidden), unet_call(components.unet)(x, t, hidden))
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        assert "tensorrt package is not installed" in str(tensorrt_unavailable(torch.device("cuda")))


def test_engine_cache_keys_on_model_shape_precision_gpu_and_version(tmp_path: Path) -> None:
    built: list[Path] = []

    def fake_build(onnx: Path, engine: Path, key: EngineKey) -> None:
        built.append(onnx)
        engine.write_bytes(key.digest().encode())

    cache = EngineCache(tmp_path, fake_build)
    base = EngineKey("model-a", (("sample", (2, 4, 64, 64)),), "fp16", "NVIDIA H100 sm_90", "10.0")
    onnx_calls: list[int] = []

    def onnx() -> Path:
        onnx_calls.append(1)
        return tmp_path / "unet.onnx"

    first = cache.get(base, onnx)
    assert cache.get(base, onnx) == first and cache.builds == 1 and len(onnx_calls) == 1  # reused
    variants = [
        EngineKey("model-b", base.shapes, base.precision, base.gpu, base.tensorrt),
        EngineKey(base.model, (("sample", (2, 4, 64, 48)),), base.precision, base.gpu, base.tensorrt),
        EngineKey(base.model, base.shapes, "fp32", base.gpu, base.tensorrt),
        EngineKey(base.model, base.shapes, base.precision, "NVIDIA H200 sm_90", base.tensorrt),
        EngineKey(base.model, base.shapes, base.precision, base.gpu, "10.1"),
    ]
    paths = {cache.get(v, onnx) for v in variants}
    assert len(paths | {first}) == 6 and cache.builds == 6
    assert (first.with_suffix(".json")).exists()

    def failing(onnx: Path, engine: Path, key: EngineKey) -> None:
        engine.write_bytes(b"half an engine")
        raise RuntimeError("out of memory")

    broken = EngineCache(tmp_path / "broken", failing)
    with pytest.raises(RuntimeError):
        broken.get(base, onnx)
    assert not broken.path(base).exists()  # a failed build never looks like an engine
