"""``lsd-runtime``: serve, demo, bench, doctor, apply and run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__

DESCRIPTION = """\
LSD Bridge runtime: restyles game-engine frames in real time.

Start here:
  lsd-runtime demo             watch an engine-like client stream through the runtime (about 30 s)
  lsd-runtime serve            run the runtime for Unity, Unreal or Python clients
  lsd-runtime doctor           what this machine can use (CUDA, transports, backends)
  lsd-runtime bench            measure the bridge's round trip (shm vs pixels in messages)
  lsd-runtime run              restyle a video file, webcam or the screen into a file or a window
"""


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the runtime (clients find it through its state file)",
                       description="Run the runtime. It listens on a loopback endpoint and writes "
                                   "runtime.json (endpoint + session token, mode 0600) into the state "
                                   "directory, where the engine plugins and the Python client find it.")
    p.add_argument("--endpoint", default="tcp://127.0.0.1:7788",
                   help="ZeroMQ endpoint: tcp://127.0.0.1:PORT (PORT 0 = any free port) or ipc:///path "
                        "(POSIX). Default %(default)s")
    p.add_argument("--state-dir", type=Path, default=None,
                   help="where runtime.json goes (default $LSD_BRIDGE_HOME or ~/.lsd-bridge)")
    p.add_argument("--device", default="cpu", help="torch device for the backends, e.g. cpu or cuda:0")
    p.add_argument("--heartbeat-ms", type=int, default=500, help="client heartbeat interval (ms)")
    p.add_argument("--timeout-ms", type=int, default=2000, help="drop a silent client after this (ms)")
    p.add_argument("--max-sessions", type=int, default=16, help="sessions served at once")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads for the backends (default 1: each session runs on one core "
                        "and leaves the rest to the game; 0 = torch's default)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a non-loopback --endpoint; the link is then encrypted and authenticated "
                        "with CURVE (clients take the server key from runtime.json)")
    p.add_argument("--curve", action="store_true", help="use CURVE encryption on a loopback endpoint too")
    d = p.add_argument_group("diffusion backend defaults (a session's set_style overrides them)")
    d.add_argument("--model", default="sd-turbo",
                   help="sd-turbo, sdxl-turbo, sd15-lcm or a local diffusers folder (default %(default)s)")
    d.add_argument("--steps", type=int, default=1, help="denoising steps in the stream batch (1-8)")
    d.add_argument("--feedback", type=float, default=0.0,
                   help="latent feedback against flicker, 0..1 (default %(default)s)")
    d.add_argument("--similarity-threshold", type=float, default=0.0,
                   help="skip frames this similar to the last one (0 = off; 0.98 is a useful value)")
    d.add_argument("--long-side", type=int, default=512, help="model resolution's long side")
    d.add_argument("--full-vae", action="store_true", help="use the model's own VAE, not the tiny one")
    d.add_argument("--compile", action="store_true", help="torch.compile the UNet (CUDA)")
    d.add_argument("--cuda-graph", action="store_true", help="capture the UNet call in a CUDA graph (CUDA)")
    d.add_argument("--hf-cache", type=Path, default=None,
                   help="Hugging Face cache folder to read models from")


def _add_apply(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("apply", help="restyle one raw frame file offline, exactly as the runtime would",
                       description="Apply the runtime's frame pipeline to one tightly packed, top-down "
                                   "raw frame (used by the native client's tests for expected pixels).")
    p.add_argument("--style", default="identity", help="effects style name")
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--height", type=int, required=True)
    p.add_argument("--format", default="rgba8", choices=["rgba8", "bgra8", "rgba16f"])
    p.add_argument("--input", type=Path, required=True, help="raw input frame")
    p.add_argument("--output", type=Path, required=True, help="where to write the raw result")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads, as for serve (default 1)")


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="stream a procedural 3D scene through the runtime and save the result",
                       description="Starts a runtime, runs an engine-like client that renders a moving "
                                   "3D scene, streams it through the full protocol and shared-memory "
                                   "slots, switches styles mid-run and writes an animated GIF, a "
                                   "before/after contact sheet and a latency summary.")
    p.add_argument("--out", type=Path, default=Path("lsd_demo_out"), help="output folder (%(default)s)")
    p.add_argument("--frames", type=int, default=180, help="frames to stream (%(default)s)")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=180)
    p.add_argument("--styles", default="toon,neon_edges,thermal,watercolour",
                   help="comma-separated styles, switched evenly through the run")
    p.add_argument("--format", default="bgra8", choices=["rgba8", "bgra8", "rgba16f"],
                   help="the engine texture format the client sends")


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the diffusion models known by name, or download one",
                       description="Models load offline from a local folder or the Hugging Face cache; "
                                   "`models pull NAME` downloads one (with progress) on a machine with "
                                   "network access.")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    msub.add_parser("list", help="known models and whether they are available offline")
    pull = msub.add_parser("pull", help="download a model and its tiny VAE into the Hugging Face cache")
    pull.add_argument("name", help="sd-turbo, sdxl-turbo, sd15-lcm, taesd, or a hub repo id")
    pull.add_argument("--hf-cache", type=Path, default=None)


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="round-trip latency and FPS of the bridge",
                       description="Measure frame round trips through a real runtime process: shm slots "
                                   "beside the inline baseline (pixels inside the ZeroMQ messages), with "
                                   "the identity effect, as ratios from one run.")
    p.add_argument("--transport", default="shm", choices=["shm", "inline"],
                   help="transport to measure; inline always runs beside it as the baseline")
    p.add_argument("--sizes", default="256x256,512x512,1920x1080", help="WxH list (%(default)s)")
    p.add_argument("--frames", type=int, default=300, help="timed frames per size and transport")
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--format", default="rgba8", choices=["rgba8", "bgra8", "rgba16f"])
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    d = p.add_argument_group("diffusion backend (--backend diffusion)")
    d.add_argument("--backend", default="effects", choices=["effects", "diffusion"],
                   help="effects: the bridge round trip (default); diffusion: the stream pipeline's stages")
    d.add_argument("--random-weights", metavar="MODEL", default=None,
                   help="build MODEL's full-size architecture with random weights (no download)")
    d.add_argument("--model", default=None, help="a model available offline (instead of --random-weights)")
    d.add_argument("--width", type=int, default=512)
    d.add_argument("--height", type=int, default=512)
    d.add_argument("--device", default="cpu")
    d.add_argument("--steps", type=int, default=1)
    d.add_argument("--compile", action="store_true", help="torch.compile the UNet (CUDA)")


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="restyle a video file, webcam or the screen into a file or a window",
                       description="Restyle frames from a video file, a webcam (its index) or the screen "
                                   "through the runtime (in this process, or a running one with "
                                   "--endpoint/--state-dir) and write them to a video file and/or show "
                                   "them. Files keep every frame, their size and their frame rate.")
    p.add_argument("--input", required=True,
                   help="a video file, a webcam index (0, 1, ...), or screen[:LEFT,TOP,WIDTH,HEIGHT]")
    p.add_argument("--output", default=None,
                   help="video file to write (.avi/.mkv: lossless FFV1; .mp4: mp4v)")
    p.add_argument("--preview", action="store_true", help="show a window (keys: n style, p prompt, q quit)")
    p.add_argument("--prompt", default=None, help="prompt (effects: words such as 'cartoon' pick the look)")
    p.add_argument("--style", default=None, help="effects style: toon, sketch, pixel_art, thermal, ...")
    p.add_argument("--model", default=None,
                   help="effects style or diffusion model (sd-turbo, sdxl-turbo, a local folder)")
    p.add_argument("--strength", type=float, default=None, help="0 = input unchanged, 1 = fully restyled")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--steps", type=int, default=None, help="diffusion denoising steps (1-8)")
    p.add_argument("--size", default=None, metavar="WxH",
                   help="resolution the model works at (output keeps the input's size)")
    p.add_argument("--frames", type=int, default=None, help="stop after N input frames")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: cuda if available)")
    p.add_argument("--endpoint", default=None, help="use a running runtime at this endpoint")
    p.add_argument("--state-dir", type=Path, default=None, help="use the running runtime described here")
    p.add_argument("--fallback-effects", action="store_true",
                   help="use effects when the diffusion model is unavailable (default: an error)")
    p.add_argument("--every-frame", action="store_true",
                   help="never skip frames, even from a webcam or the screen")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lsd-runtime", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"lsd-runtime {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_serve(sub)
    _add_demo(sub)
    _add_bench(sub)
    _add_models(sub)
    sub.add_parser("doctor", help="what this machine can use: CUDA, transports, backends, versions")
    _add_apply(sub)
    _add_run(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "apply":
            return _apply(args)
        if args.command == "run":
            from .sdk.cli_run import run_command
            return run_command(args)
        if args.command == "demo":
            from .demo import run_demo
            return run_demo(args)
        if args.command == "bench":
            if args.backend == "diffusion":
                return _bench_diffusion(args)
            from .bench import run_bench
            return run_bench(args)
        if args.command == "models":
            return _models(args, parser)
        if args.command == "doctor":
            from .doctor import run_doctor
            return run_doctor()
    except KeyboardInterrupt:
        return 130
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f"lsd-runtime {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .server import ServerConfig, serve
    from .state_file import default_state_dir

    config = ServerConfig(endpoint=args.endpoint, state_dir=args.state_dir or default_state_dir(),
                          heartbeat_ms=args.heartbeat_ms, timeout_ms=args.timeout_ms,
                          max_sessions=args.max_sessions, device=args.device,
                          allow_remote=args.allow_remote, threads=args.threads,
                          curve=args.curve)
    from .diffusion import DiffusionConfig, set_default_config

    set_default_config(DiffusionConfig(
        model=args.model, steps=args.steps, feedback=args.feedback,
        similarity_threshold=args.similarity_threshold, long_side=args.long_side,
        tiny_vae=not args.full_vae, compile=args.compile, cuda_graph=args.cuda_graph,
        cache_dir=args.hf_cache))
    print(f"lsd-runtime {__version__}: starting on {config.endpoint} (state {config.state_dir})", flush=True)
    serve(config)
    print("lsd-runtime: stopped", flush=True)
    return 0


def _apply(args: argparse.Namespace) -> int:
    import torch

    from .backends import StyleRequest, create_backend
    from .frame_pipeline import FramePipeline
    from .pixel_formats import RingSpec

    if args.threads > 0:
        torch.set_num_threads(args.threads)

    spec = RingSpec(args.width, args.height, args.format)
    raw = args.input.read_bytes()
    if len(raw) != spec.size:
        raise ValueError(f"{args.input} is {len(raw)} bytes; a {args.width}x{args.height} {args.format} "
                         f"frame is {spec.size}")
    backend = create_backend("effects")
    backend.set_style(StyleRequest(style=args.style))
    pipeline = FramePipeline(spec, spec, args.width, args.height)
    out = bytearray(spec.size)
    pipeline.run(backend, raw, out)
    args.output.write_bytes(bytes(out))
    return 0


def _models(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .diffusion import CATALOG, ModelNotFoundError, pull, resolve_model

    if args.models_command == "pull":
        paths = pull(args.name, cache_dir=args.hf_cache)
        print("\n".join(f"ready: {p}" for p in paths))
        return 0
    if args.models_command == "list":
        for name, spec in CATALOG.items():
            try:
                where = str(resolve_model(name).path)
            except ModelNotFoundError:
                where = f"not downloaded (lsd-runtime models pull {name})"
            except ImportError as exc:
                where = f"needs the diffusion extra: pip install 'lsd-bridge[diffusion]' ({exc})"
            print(f"{name:<12} {spec.repo_id:<48} {where}")
        return 0
    parser.parse_args(["models", "--help"])
    return 0


def _bench_diffusion(args: argparse.Namespace) -> int:
    import json

    from .diffusion import DiffusionConfig, run_diffusion_bench

    model = args.random_weights or args.model
    if model is None:
        raise ValueError("--backend diffusion needs --random-weights MODEL or --model MODEL")
    result = run_diffusion_bench(model=model, random_weights=args.random_weights is not None,
                                 width=args.width, height=args.height, frames=args.frames,
                                 device=args.device, compile=args.compile, steps=args.steps,
                                 config=DiffusionConfig(long_side=max(args.width, args.height)))
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0
