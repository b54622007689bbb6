"""Texture ⇄ tensor kernels: torch references vs an independent float64 model, exact agreement
with the CPU path (pixel_formats), the CUDA source compiling (nvcc, NVRTC), and — on a GPU —
the kernels vs the references.

Bounds (values are in [0, 1] or [-1, 1]; N = the larger source side when resizing, else 0):
- fp32 tensors vs float64: |err| <= 4e-6 + N * 2**-22. The first term is float32
  arithmetic (/255, pow, the tap sums); the second is the resampling position, which torch
  (and the kernel) compute in float32: a source coordinate near N carries an error up to
  about N * 2**-24 pixels, times a neighbour difference up to 1 (random pixels: worst case),
  with a factor 4 of margin;
- fp16 tensors and rgba16f textures: the fp32 bound + 2**-11 * |v| (half an fp16 ulp);
- 8-bit textures vs float64 round-half-to-even: |err| <= 1 LSB, and the share of values off
  by one is at most 0.2 % + 2 * 255 * (the fp32 bound) (those within that distance of a .5
  boundary); bit-exact against the CPU path (pixel_formats).
GPU kernels vs the references: the same bounds doubled (two float32 computations).
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from lsd_runtime.pipeline import kernel_reference as ref
from lsd_runtime.pipeline.pixel_formats import RingSpec, from_tensor, image_view, resize, to_tensor

KERNELS_DIR = Path(__file__).resolve().parents[2] / "kernels"
SOURCE = KERNELS_DIR / "texture_kernels.cu"
FMT = ["rgba8", "bgra8", "rgba16f"]
# (texture w, h) -> (tensor w, h): identity, enlarge, shrink, mixed, odd sizes everywhere
SHAPES = [
    ((9, 7), (9, 7)),
    ((7, 5), (13, 11)),
    ((37, 23), (11, 9)),
    ((21, 17), (8, 29)),
    ((64, 45), (17, 13)),
]
F32_TOL = 4e-6


# --- the independent float64 model (numpy, written from the formulas, shares nothing) -------


def f64_decode(raw: np.ndarray, w: int, h: int, fmt: str, pitch: int, bottom_up: bool) -> np.ndarray:
    """Slot bytes -> image-order [h, w, 3] RGB float64 as stored (no colour conversion)."""
    bpp = 8 if fmt == "rgba16f" else 4
    rows = raw[: h * pitch].reshape(h, pitch)[:, : w * bpp]
    px = rows.copy().view("<f2").astype(np.float64) if fmt == "rgba16f" else rows.astype(np.float64) / 255
    px = px.reshape(h, w, 4)[:, :, :3]
    if fmt == "bgra8":
        px = px[:, :, ::-1]
    return px[::-1] if bottom_up else px


def f64_encode_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def f64_decode_srgb(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4))


def f64_weights(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] resampling matrix: bilinear (half-pixel centres, edge clamp) when enlarging,
    the area-scaled triangle filter (antialias) when shrinking."""
    scale = n_in / n_out
    m = np.zeros((n_out, n_in))
    i = np.arange(n_out)
    if scale <= 1:
        src = np.maximum((i + 0.5) * scale - 0.5, 0.0)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        lam = src - i0
        np.add.at(m, (i, i0), 1 - lam)
        np.add.at(m, (i, i1), lam)
        return m
    d = (np.arange(n_in)[None, :] + 0.5 - (i[:, None] + 0.5) * scale) / scale
    m = np.clip(1 - np.abs(d), 0, None)
    return m / m.sum(axis=1, keepdims=True)


def f64_resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """[H, W, 3] -> [h, w, 3]."""
    return np.einsum("yi,ijc,xj->yxc", f64_weights(img.shape[0], h), img, f64_weights(img.shape[1], w))


def f64_texture_to_tensor(raw: np.ndarray, spec: RingSpec, w: int, h: int, value_range: str) -> np.ndarray:
    px = f64_decode(raw, spec.width, spec.height, spec.format, spec.pitch, spec.bottom_up)
    px = f64_encode_srgb(px) if spec.color == "linear" else np.clip(px, 0, 1)
    out = f64_resize(px, w, h).transpose(2, 0, 1)[None]
    return 2 * out - 1 if value_range == "pm1" else out


def f64_tensor_to_texture(image: np.ndarray, spec: RingSpec, value_range: str) -> np.ndarray:
    """[1, 3, h, w] -> image-order [H, W, 3] texture values before quantisation (float64)."""
    rgb = f64_resize(image[0].transpose(1, 2, 0), spec.width, spec.height)
    if value_range == "pm1":
        rgb = (rgb + 1) / 2
    rgb = np.clip(rgb, 0, 1)
    return f64_decode_srgb(rgb) if spec.color == "linear" else rgb


# --- helpers ------------------------------------------------------------------------------------


def make_spec(fmt: str, w: int, h: int, pad_px: int, bottom_up: bool, color: str) -> RingSpec:
    bpp = 8 if fmt == "rgba16f" else 4
    return RingSpec(w, h, fmt, pitch=(w + pad_px) * bpp, bottom_up=bottom_up, color=color)


def random_slot(spec: RingSpec, rng: np.random.Generator) -> np.ndarray:
    raw = rng.integers(0, 256, spec.size, dtype=np.uint8)
    if spec.format == "rgba16f":  # finite halves, some outside [0, 1] (HDR, negative) to hit the clamps
        vals = rng.uniform(-0.2, 1.4, spec.size // 2).astype(np.float16)
        raw = vals.view(np.uint8).copy()
    return raw


def f32_bound(src: tuple[int, int], dst: tuple[int, int]) -> float:
    n = 0 if src == dst else max(src)
    return F32_TOL + n * 2.0**-22


def fp_bound(v: np.ndarray, dtype: torch.dtype, tol: float) -> np.ndarray:
    return (2.0**-11 * np.abs(v) + tol) if dtype == torch.float16 else np.full_like(v, tol)


def off_by_one_share(tol: float) -> float:
    return 0.002 + 2 * 255 * tol


def check_8bit(got: np.ndarray, exact: np.ndarray, tol: float) -> None:
    want = np.round(exact * 255)  # numpy rounds half to even, like torch.round
    diff = np.abs(got.astype(np.int64) - want.astype(np.int64))
    assert diff.max() <= 1, f"8-bit values off by {diff.max()}"
    share = (diff > 0).mean()
    assert share <= off_by_one_share(tol), f"{share:.4%} of 8-bit values off by one"


COMBOS = list(
    itertools.product(FMT, [False, True], ["srgb", "linear"], ["01", "pm1"], [torch.float32, torch.float16])
)


def combo_id(c: tuple) -> str:
    fmt, flip, color, rng, dtype = c
    return f"{fmt}-{'flip' if flip else 'top'}-{color}-{rng}-{str(dtype).split('.')[-1]}"


# --- texture -> tensor ----------------------------------------------------------------------------


@pytest.mark.parametrize("combo", COMBOS, ids=combo_id)
def test_texture_to_tensor_reference_matches_float64(combo):
    fmt, flip, color, value_range, dtype = combo
    rng = np.random.default_rng(zlib.crc32(combo_id(combo).encode()))
    for (tw, th), (mw, mh) in SHAPES:
        for pad in (0, 1, 3):
            spec = make_spec(fmt, tw, th, pad, flip, color)
            raw = random_slot(spec, rng)
            got = ref.texture_to_tensor(torch.from_numpy(raw), spec, mw, mh, dtype, value_range)
            assert got.shape == (1, 3, mh, mw) and got.dtype == dtype
            exact = f64_texture_to_tensor(raw, spec, mw, mh, value_range)
            err = np.abs(got.double().numpy() - exact)
            bound = fp_bound(exact, dtype, f32_bound((tw, th), (mw, mh)))
            assert (err <= bound).all(), (
                f"{spec} -> {mw}x{mh}: max error {err.max():.3g} (bound {bound[err > bound].min():.3g})"
            )


@pytest.mark.parametrize("fmt", FMT)
@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("color", ["srgb", "linear"])
def test_texture_to_tensor_reference_equals_cpu_path(fmt, flip, color):
    """fp32 / [0, 1]: bit-identical to pixel_formats.to_tensor + resize (the CPU pipeline)."""
    rng = np.random.default_rng(7)
    for (tw, th), (mw, mh) in SHAPES:
        spec = make_spec(fmt, tw, th, 3, flip, color)
        raw = random_slot(spec, rng)
        cpu = resize(to_tensor(image_view(raw.data, spec), spec), mw, mh)
        assert torch.equal(ref.texture_to_tensor(torch.from_numpy(raw), spec, mw, mh), cpu)


# --- tensor -> texture ----------------------------------------------------------------------------


@pytest.mark.parametrize("combo", COMBOS, ids=combo_id)
def test_tensor_to_texture_reference_matches_float64(combo):
    fmt, flip, color, value_range, dtype = combo
    rng = np.random.default_rng(zlib.crc32(combo_id(combo).encode()))
    lo, hi = (-0.1, 1.1) if value_range == "01" else (-1.2, 1.2)  # beyond the range: clamped
    for (tw, th), (mw, mh) in SHAPES:  # tensor is mw x mh, texture tw x th
        for pad in (0, 2):
            spec = make_spec(fmt, tw, th, pad, flip, color)
            image = torch.from_numpy(rng.uniform(lo, hi, (1, 3, mh, mw))).to(dtype)
            slot = torch.full((spec.size,), 0xAB, dtype=torch.uint8)
            ref.tensor_to_texture(image, spec, value_range, slot)
            raw = slot.numpy()
            exact = f64_tensor_to_texture(image.double().numpy(), spec, value_range)
            tol = f32_bound((mw, mh), (tw, th))
            bpp = spec.bytes_per_pixel
            rows = raw.reshape(th, spec.pitch)
            assert (rows[:, tw * bpp :] == 0xAB).all(), "padding bytes were written"
            px = rows[:, : tw * bpp]
            px = px.copy().view("<f2").reshape(th, tw, 4) if fmt == "rgba16f" else px.reshape(th, tw, 4)
            px = px[::-1] if flip else px
            if fmt == "rgba16f":
                assert (px[..., 3] == 1.0).all()
                got = px[..., :3].astype(np.float64)
                err = np.abs(got - exact)
                assert (err <= 2.0**-11 * np.abs(exact) + 2.0**-25 + tol).all(), f"max {err.max():.3g}"
            else:
                assert (px[..., 3] == 255).all()
                got = px[..., :3][..., ::-1] if fmt == "bgra8" else px[..., :3]
                check_8bit(got, exact, tol)


@pytest.mark.parametrize("fmt", FMT)
@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("color", ["srgb", "linear"])
def test_tensor_to_texture_reference_equals_cpu_path(fmt, flip, color):
    """fp32 / [0, 1]: the same bytes as resize + pixel_formats.from_tensor (the CPU pipeline)."""
    rng = np.random.default_rng(11)
    for (tw, th), (mw, mh) in SHAPES:
        spec = make_spec(fmt, tw, th, 1, flip, color)
        image = torch.from_numpy(rng.uniform(-0.1, 1.1, (1, 3, mh, mw)).astype(np.float32))
        want = bytearray(spec.size)
        image_view(want, spec)[...] = from_tensor(resize(image, tw, th), spec)
        got = ref.tensor_to_texture(image, spec, "01", torch.zeros(spec.size, dtype=torch.uint8))
        assert bytes(got.numpy()) == bytes(want)


def test_8bit_rounding_is_half_to_even():
    """Values whose float32 x * 255 is exactly k + 0.5 round to the even neighbour."""
    k = np.arange(255, dtype=np.float32)
    x = ((k + 0.5) / np.float32(255)).astype(np.float32)
    tie = (x * np.float32(255)) == k + np.float32(0.5)
    assert tie.sum() > 50
    x, k = x[tie], k[tie]
    spec = RingSpec(len(x), 8, "rgba8")
    image = torch.from_numpy(np.broadcast_to(x, (1, 3, 8, len(x))).copy())
    slot = ref.tensor_to_texture(image, spec)
    got = slot.numpy().reshape(8, len(x), 4)[0, :, 0].astype(np.int64)
    assert (got % 2 == 0).all()
    assert np.array_equal(got, np.where(k % 2 == 0, k, k + 1).astype(np.int64))


def test_identity_round_trip_is_exact_for_8bit():
    rng = np.random.default_rng(3)
    for fmt in ("rgba8", "bgra8"):
        spec = make_spec(fmt, 33, 19, 5, True, "srgb")
        raw = rng.integers(0, 256, spec.size, dtype=np.uint8)
        for value_range, dtype in itertools.product(("01", "pm1"), (torch.float32, torch.float16)):
            t = ref.texture_to_tensor(torch.from_numpy(raw), spec, 33, 19, dtype, value_range)
            out = ref.tensor_to_texture(t, spec, value_range, torch.from_numpy(raw.copy()))
            a = raw.reshape(19, spec.pitch)[:, : 33 * 4].reshape(19, 33, 4)
            b = out.numpy().reshape(19, spec.pitch)[:, : 33 * 4].reshape(19, 33, 4)
            assert np.array_equal(a[..., :3], b[..., :3]) and (b[..., 3] == 255).all()


def test_reference_rejects_bad_input():
    spec = RingSpec(8, 8, "rgba8")
    with pytest.raises(ValueError, match="needs 256"):
        ref.texture_to_tensor(torch.zeros(100, dtype=torch.uint8), spec, 8, 8)
    with pytest.raises(ValueError, match="1-D uint8"):
        ref.texture_to_tensor(torch.zeros(256, dtype=torch.int32), spec, 8, 8)
    with pytest.raises(ValueError, match="value_range"):
        ref.texture_to_tensor(torch.zeros(256, dtype=torch.uint8), spec, 8, 8, value_range="0-255")
    with pytest.raises(ValueError, match=r"\[1, 3, H, W\]"):
        ref.tensor_to_texture(torch.zeros(3, 8, 8), spec)


# --- the CUDA source compiles here ----------------------------------------------------------------

NVCC_TARGETS = [("sm_90", ["-arch=sm_90"]), ("compute_75", ["-arch=compute_75"])]


@pytest.mark.parametrize("name,arch", NVCC_TARGETS, ids=[n for n, _ in NVCC_TARGETS])
def test_nvcc_compiles_kernels_without_warnings(tmp_path, name, arch):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not installed (the CUDA toolkit is needed to compile kernels/*.cu)")
    for cu in sorted(KERNELS_DIR.glob("*.cu")):
        out = tmp_path / f"{cu.stem}-{name}.ptx"
        cmd = [nvcc, "--ptx", *arch, "-Werror", "all-warnings", "-Xptxas", "-Werror", str(cu), "-o", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
        ptx = out.read_text()
        for kernel in ("lsd_texture_to_tensor", "lsd_tensor_to_texture"):
            assert f".entry {kernel}(" in ptx, f'{kernel} missing from the PTX (extern "C" names)'


def test_nvrtc_compiles_kernels():
    """The run-time build path (cuda-python NVRTC) works without a GPU: CUBIN for sm_90, PTX generic."""
    from lsd_runtime.pipeline import gpu_kernels as kernels
    from lsd_runtime.transport.cuda_driver import CudaUnavailable

    try:
        cubin = kernels.compile_kernels("sm_90")
    except CudaUnavailable as exc:
        pytest.skip(f"NVRTC not usable here: {exc}")
    assert cubin[:4] == b"\x7fELF"
    ptx = kernels.compile_kernels("compute_75").decode(errors="replace")
    assert ".entry lsd_tensor_to_texture(" in ptx and ".entry lsd_texture_to_tensor(" in ptx


def test_nvrtc_reports_compile_errors():
    from lsd_runtime.pipeline import gpu_kernels as kernels
    from lsd_runtime.transport.cuda_driver import CudaUnavailable

    try:
        with pytest.raises(kernels.KernelBuildError, match="undefined"):
            bad = b'extern "C" __global__ void k() { undefined_x = 1; }'
            kernels.compile_kernels("compute_75", source=bad)
    except CudaUnavailable as exc:
        pytest.skip(f"NVRTC not usable here: {exc}")


def test_launch_without_cuda_names_what_is_missing():
    from lsd_runtime.pipeline import gpu_kernels as kernels
    from lsd_runtime.transport.cuda_driver import CudaUnavailable

    assert kernels.grid_for(1920, 1080) == (60, 135, 1)
    spec = RingSpec(8, 8, "rgba8")
    with pytest.raises(CudaUnavailable, match="CUDA tensors"):
        kernels.texture_to_tensor(torch.zeros(spec.size, dtype=torch.uint8), spec, 8, 8)
    if not torch.cuda.is_available():
        with pytest.raises(CudaUnavailable, match="cuda-python|libcuda|cuInit|device"):
            kernels.device_kernels(0)


# --- GPU: the kernels against the references --------------------------------------------------------

gpu = pytest.mark.gpu
needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda.is_available() is False)"
)
GPU_SHAPES = [*SHAPES, ((1920, 1080), (1920, 1080)), ((1920, 1080), (512, 512)), ((641, 359), (1283, 721))]


@gpu
@needs_cuda
@pytest.mark.parametrize("combo", COMBOS, ids=combo_id)
def test_gpu_texture_to_tensor_matches_reference(combo):
    from lsd_runtime.pipeline import gpu_kernels as kernels

    fmt, flip, color, value_range, dtype = combo
    rng = np.random.default_rng(5)
    for (tw, th), (mw, mh) in GPU_SHAPES:
        spec = make_spec(fmt, tw, th, 3, flip, color)
        raw = torch.from_numpy(random_slot(spec, rng))
        want = ref.texture_to_tensor(raw, spec, mw, mh, torch.float32, value_range)
        got = kernels.texture_to_tensor(raw.cuda(), spec, mw, mh, dtype, value_range)
        torch.cuda.synchronize()
        err = (got.cpu().double() - want.double()).abs()
        tol = 2 * f32_bound((tw, th), (mw, mh))
        bound = (2.0**-11 * want.double().abs() + tol) if dtype == torch.float16 else tol
        assert bool((err <= bound).all()), f"{spec} -> {mw}x{mh}: max error {err.max().item():.3g}"


@gpu
@needs_cuda
@pytest.mark.parametrize("combo", COMBOS, ids=combo_id)
def test_gpu_tensor_to_texture_matches_reference(combo):
    from lsd_runtime.pipeline import gpu_kernels as kernels

    fmt, flip, color, value_range, dtype = combo
    rng = np.random.default_rng(6)
    for (tw, th), (mw, mh) in GPU_SHAPES:
        spec = make_spec(fmt, tw, th, 2, flip, color)
        image = torch.from_numpy(rng.uniform(-0.1, 1.1, (1, 3, mh, mw))).to(dtype)
        want = torch.full((spec.size,), 0xAB, dtype=torch.uint8)
        ref.tensor_to_texture(image, spec, value_range, want)
        slot = torch.full((spec.size,), 0xAB, dtype=torch.uint8, device="cuda")
        kernels.tensor_to_texture(image.cuda(), spec, slot, value_range)
        torch.cuda.synchronize()
        got = slot.cpu()
        tol = 2 * f32_bound((mw, mh), (tw, th))
        if fmt == "rgba16f":  # one fp16 ulp: the two float32 values may round to neighbours
            a = ref.pixel_rows(got, spec).double()
            b = ref.pixel_rows(want, spec).double()
            assert bool(((a - b).abs() <= 2.0**-10 * b.abs() + 2.0**-24 + tol).all())
        else:
            diff = (got.long() - want.long()).abs()
            assert diff.max().item() <= 1
            assert (diff > 0).double().mean().item() <= off_by_one_share(tol)
        pad = got.view(th, spec.pitch)[:, tw * spec.bytes_per_pixel :]
        assert bool((pad == 0xAB).all())


@gpu
@needs_cuda
def test_gpu_identity_round_trip_is_exact_at_1080p():
    from lsd_runtime.pipeline import gpu_kernels as kernels

    spec = RingSpec(1920, 1080, "bgra8", bottom_up=True)
    raw = torch.randint(0, 256, (spec.size,), dtype=torch.uint8, device="cuda")
    t = kernels.texture_to_tensor(raw, spec, 1920, 1080, torch.float16)
    out = kernels.tensor_to_texture(t, spec, torch.zeros_like(raw))
    torch.cuda.synchronize()
    a, b = ref.pixel_rows(raw.cpu(), spec), ref.pixel_rows(out.cpu(), spec)
    assert torch.equal(a[..., :3], b[..., :3]) and bool((b[..., 3] == 255).all())
