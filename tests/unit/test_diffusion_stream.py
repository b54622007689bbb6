"""StreamDiffusion's knobs on the tiny random-weight models, loaded from disk through the real
loader: residual CFG, explicit timesteps, sequential steps, no re-noising, several frames per
call, txt2img. Each is checked against its definition: exact where the definition gives the
same float operations, within 1e-5 (relative to the output's scale) where only the order of
float operations differs."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from lsd_runtime.backends.base import StyleError, StyleRequest  # noqa: E402
from lsd_runtime.backends.diffusion.tiny_model import build_tiny_model, smooth_images  # noqa: E402
from support.tiny_diffusion import SIZE, UNetCalls, make_backend, panning, pipeline_of, run  # noqa: E402

TOL = 1e-5


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-sd"))


def close(a: torch.Tensor, b: torch.Tensor, tol: float = TOL) -> bool:
    return bool((a - b).abs().max() <= tol * max(1.0, float(b.abs().max())))


# ---- residual CFG ----------------------------------------------------------------------------
def test_rcfg_self_follows_streamdiffusions_stock_noise_with_one_unet_call_per_frame(model_dir: str) -> None:
    g, delta = 1.8, 0.7
    backend = make_backend(model_dir, params={"steps": 1, "guidance": g, "cfg_type": "self", "delta": delta})
    pipe = pipeline_of(backend)
    calls = UNetCalls(pipe)
    frames = panning(4)
    outs = run(backend, frames)
    assert calls.rows == [1, 1, 1, 1]  # one UNet call of one row per frame: no negative pass
    # the definition, as StreamDiffusion 0.1.1 computes it with one step (its stock noise starts at
    # zero and carries over: noise + the step's residual)
    c = pipe._coeffs
    assert c is not None and pipe._noise is not None
    a, s, noise = c.alpha[:1], c.sigma[:1], pipe._noise[:1]
    stock = torch.zeros_like(noise)
    for frame, out, call in zip(frames, outs, calls.calls, strict=True):
        x = a * pipe.codec.encode(frame) + s * noise
        assert close(call["x"], x)
        uncond = delta * stock
        pred = uncond + g * (call["out"] - uncond)
        x0 = (x - s * pred) / a
        assert close(out, pipe.codec.decode(x0))
        stock = noise + (s * stock - s * pred) / a
    # and it is not what no guidance gives
    plain = run(make_backend(model_dir, params={"steps": 1}), frames)
    assert all((p - o).abs().mean() > 1e-3 for p, o in zip(plain, outs, strict=True))


def test_rcfg_delta_scales_the_virtual_negative(model_dir: str) -> None:
    frames = panning(3)

    def stream(delta: float) -> list[torch.Tensor]:
        params = {"steps": 2, "guidance": 1.5, "cfg_type": "self", "delta": delta}
        return run(make_backend(model_dir, params=params), frames)

    one, half = stream(1.0), stream(0.5)
    assert all((a - b).abs().mean() > 1e-4 for a, b in zip(one[1:], half[1:], strict=True))


def test_rcfg_initialize_with_delta_one_and_one_step_is_full_cfg(model_dir: str) -> None:
    # initialize adds one negative-prompt row for the newest slot and uses delta x its prediction as
    # the negative: with one step and delta 1 that is exactly full CFG, for one row less
    frames = panning(3)
    base = {"steps": 1, "guidance": 2.0, "delta": 1.0, "negative_prompt": "red"}
    full = make_backend(model_dir, params={**base, "cfg_type": "full"})
    init = make_backend(model_dir, params={**base, "cfg_type": "initialize"})
    full_calls, init_calls = UNetCalls(pipeline_of(full)), UNetCalls(pipeline_of(init))
    for frame in frames:
        assert torch.equal(full.process(frame), init.process(frame))
    assert full_calls.rows == [2, 2, 2] and init_calls.rows == [2, 2, 2]


def test_rcfg_rows_per_call_with_the_stream_batch(model_dir: str) -> None:
    frames = panning(4)
    rows = {}
    for kind in ("none", "self", "initialize", "full"):
        backend = make_backend(model_dir, params={"steps": 3, "guidance": 1.5, "cfg_type": kind})
        calls = UNetCalls(pipeline_of(backend))
        backend.process(frames[0])  # the warm start runs the first frame's own chain first
        start = len(calls.rows)
        run(backend, frames[1:])
        assert len(calls.rows) == start + 3  # one call per frame
        rows[kind] = calls.rows[-1]
    assert rows == {"none": 3, "self": 3, "initialize": 4, "full": 6}


def test_guidance_at_most_one_ignores_cfg_type(model_dir: str) -> None:
    frames = panning(3)
    outs = [
        run(make_backend(model_dir, params={"steps": 2, "guidance": 1.0, "cfg_type": kind}), frames)
        for kind in ("none", "self", "initialize", "full")
    ]
    for other in outs[1:]:
        assert all(torch.equal(a, b) for a, b in zip(outs[0], other, strict=True))


# ---- explicit timesteps ------------------------------------------------------------------------
def test_t_index_list_selects_the_lcm_grid_timesteps(model_dir: str) -> None:
    from diffusers import LCMScheduler

    grid = LCMScheduler(beta_schedule="scaled_linear")
    grid.set_timesteps(50)
    want = [int(grid.timesteps[i]) for i in (20, 35)]
    backend = make_backend(model_dir, params={"t_index_list": [20, 35], "num_inference_steps": 50})
    pipe = pipeline_of(backend)
    assert pipe.steps == 2 and pipe.timesteps == want
    calls = UNetCalls(pipe)
    run(backend, panning(3))
    assert all(c["t"].tolist() == want for c in calls.calls[1:])  # after the warm start: both slots
    # strength no longer moves them; an empty list goes back to the strength-derived steps
    backend.set_style(StyleRequest(backend="diffusion", strength=0.9))
    assert pipe.timesteps == want
    backend.set_style(StyleRequest(backend="diffusion", params={"t_index_list": [], "steps": 1}))
    assert pipe.timesteps == pipe.schedule.timesteps(0.9, 1)
    grid.set_timesteps(4)
    backend.set_style(
        StyleRequest(backend="diffusion", params={"t_index_list": [0, 3], "num_inference_steps": 4})
    )
    assert pipe.timesteps == [int(grid.timesteps[0]), int(grid.timesteps[3])]


@pytest.mark.parametrize("bad", [[35, 20], [50], ["a"], [1, 1], list(range(9)), [True]])
def test_bad_t_index_list_is_bad_field(model_dir: str, bad: list) -> None:
    backend = make_backend(model_dir)
    with pytest.raises(StyleError) as err:
        backend.set_style(StyleRequest(backend="diffusion", params={"t_index_list": bad}))
    assert err.value.code == "bad_field" and "t_index_list" in err.value.message


@pytest.mark.parametrize(
    "params",
    [
        {"cfg_type": "half"},
        {"mode": "video"},
        {"delta": -1.0},
        {"deep_cache_layers": 4, "deep_cache_interval": 2},
    ],
)
def test_bad_new_knobs_are_bad_field(model_dir: str, params: dict) -> None:
    backend = make_backend(model_dir)
    with pytest.raises(StyleError) as err:
        backend.set_style(StyleRequest(backend="diffusion", params=params))
    assert err.value.code == "bad_field"


# ---- sequential steps, no re-noising --------------------------------------------------------
def test_sequential_steps_have_no_frame_latency(model_dir: str) -> None:
    a, b, c = (smooth_images(1, seed=s) for s in (21, 22, 23))
    params = {"steps": 2, "denoise_batch": False}
    seq1, seq2 = make_backend(model_dir, params=params), make_backend(model_dir, params=params)
    calls = UNetCalls(pipeline_of(seq1))
    assert torch.equal(run(seq1, [a, b])[1], run(seq2, [c, b])[1])  # frame 2 depends on frame 2 only
    assert calls.rows == [1, 1, 1, 1]  # two calls of one row per frame
    # the stream batch is one frame behind: its second output still carries the first frame
    batch = {"steps": 2, "denoise_batch": True}
    assert (
        run(make_backend(model_dir, params=batch), [a, b])[1]
        - run(make_backend(model_dir, params=batch), [c, b])[1]
    ).abs().mean() > 1e-3
    # with one step the two modes are the same computation
    one = [
        run(make_backend(model_dir, params={"steps": 1, "denoise_batch": mode}), [a, b])
        for mode in (True, False)
    ]
    assert all(torch.equal(x, y) for x, y in zip(*one, strict=True))


@pytest.mark.parametrize("add_noise", [True, False])
def test_add_noise_off_scales_x0_instead_of_renoising(model_dir: str, add_noise: bool) -> None:
    backend = make_backend(model_dir, params={"steps": 2, "denoise_batch": False, "add_noise": add_noise})
    pipe = pipeline_of(backend)
    calls = UNetCalls(pipe)
    backend.process(smooth_images(1, seed=5))
    c, noise = pipe._coeffs, pipe._noise
    assert c is not None and noise is not None
    first, second = calls.calls
    x0 = (first["x"] - c.sigma[0] * first["out"]) / c.alpha[0]
    want = c.alpha[1] * x0 + (c.sigma[1] * noise[1:2] if add_noise else 0.0)
    assert close(second["x"], want)


# ---- several frames per call ---------------------------------------------------------------
def test_frames_per_call_batch_the_unet(model_dir: str) -> None:
    frames = torch.cat(panning(4))
    single = make_backend(model_dir, params={"steps": 1})
    batched = make_backend(model_dir, params={"steps": 1, "frame_buffer_size": 4})
    s_calls, b_calls = UNetCalls(pipeline_of(single)), UNetCalls(pipeline_of(batched))
    # with one step a frame's result is its own: batching changes the call count, not the output
    assert close(batched.process(frames), single.process(frames))
    assert s_calls.rows == [1, 1, 1, 1] and b_calls.rows == [4]
    # with two steps, two frames per call: one call of 2 slots x 2 frames per call, slot-major
    two = make_backend(model_dir, params={"steps": 2, "frame_buffer_size": 2})
    calls = UNetCalls(pipeline_of(two))
    out = two.process(frames)
    assert out.shape == frames.shape and calls.rows[-1] == 4
    assert (
        calls.calls[-1]["t"].tolist()
        == [pipeline_of(two).timesteps[0]] * 2 + [pipeline_of(two).timesteps[1]] * 2
    )


# ---- txt2img ---------------------------------------------------------------------------------
def test_txt2img_never_encodes_and_follows_the_prompt(model_dir: str) -> None:
    backend = make_backend(model_dir, params={"steps": 2, "mode": "txt2img"}, strength=1.0)
    pipe = pipeline_of(backend)

    def no_encode(_: torch.Tensor) -> torch.Tensor:
        raise AssertionError("txt2img encoded the input")

    pipe.codec.encode = no_encode  # type: ignore[method-assign]
    outs = run(backend, [smooth_images(1, seed=s) for s in (1, 2, 3)])
    assert all(o.shape == (1, 3, SIZE, SIZE) for o in outs)
    assert torch.equal(outs[1], outs[2])  # fixed noise, one prompt: a still image, whatever the input
    assert pipe.work.encodes == 0
    backend.set_style(StyleRequest(backend="diffusion", prompt="red dog", params={"interp_frames": 0}))
    changed = run(backend, [smooth_images(1, seed=4)] * 2)[-1]  # the stream batch is one frame behind
    assert (changed - outs[2]).abs().mean() > 1e-3
    # back to img2img: the input matters again
    backend.set_style(StyleRequest(backend="diffusion", strength=0.5, params={"mode": "img2img"}))
    pipe.codec.encode = type(pipe.codec).encode.__get__(pipe.codec)  # type: ignore[method-assign]
    x, y = smooth_images(1, seed=8), smooth_images(1, seed=9)
    outs = run(backend, [x, x, y, y])
    assert pipe.work.encodes == 4 and (outs[1] - outs[3]).abs().mean() > 1e-3
