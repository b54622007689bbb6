"""``lsd-runtime``: serve, demo, bench, doctor, apply, run and styles."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .. import __version__, protocol

DESCRIPTION = """\
LSD Bridge runtime: restyles game-engine frames in real time.

Start here:
  lsd-runtime demo             watch an engine-like client stream through the runtime (about 30 s)
  lsd-runtime serve            run the runtime for Unity, Unreal or Python clients
  lsd-runtime doctor           what this machine can use (CUDA, transports, backends)
  lsd-runtime bench            measure the bridge's round trip (shm vs pixels in messages)
  lsd-runtime run              restyle a video file, webcam or the screen into a file or a window
  lsd-runtime styles           the effects styles (--sheet: a contact sheet of all of them)
  lsd-runtime console          a login URL for the web console of a runtime started with serve --web
"""


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="run the runtime (clients find it through its state file)",
        description="Run the runtime. It listens on a loopback endpoint and writes "
        "runtime.json (endpoint + session token, mode 0600) into the state "
        "directory, where the engine plugins and the Python client find it.",
    )
    p.add_argument(
        "--endpoint",
        default=None,
        help="ZeroMQ endpoint: tcp://127.0.0.1:PORT (PORT 0 = any free port) or ipc:///path "
        f"(POSIX). Default: ipc://STATE_DIR/runtime.sock on Linux and macOS (only your user can "
        f"connect), {protocol.DEFAULT_ENDPOINT} on Windows",
    )
    p.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where runtime.json goes (default $LSD_BRIDGE_HOME or ~/.lsd-bridge)",
    )
    p.add_argument("--device", default="cpu", help="torch device for the backends, e.g. cpu or cuda:0")
    p.add_argument(
        "--heartbeat-ms",
        type=int,
        default=protocol.DEFAULT_HEARTBEAT_MS,
        help="client heartbeat interval (ms, default %(default)s)",
    )
    p.add_argument(
        "--timeout-ms",
        type=int,
        default=protocol.DEFAULT_TIMEOUT_MS,
        help="drop a silent client after this (ms, default %(default)s)",
    )
    p.add_argument(
        "--max-sessions",
        type=int,
        default=protocol.DEFAULT_MAX_SESSIONS,
        help="sessions served at once (default %(default)s)",
    )
    p.add_argument(
        "--max-slot-memory",
        type=int,
        default=None,
        metavar="MiB",
        help="memory all sessions' slot rings may take together (default: half the RAM, at most 16 GiB); "
        "a bind beyond it is refused with no_memory",
    )
    w = p.add_argument_group("web console (--web)")
    w.add_argument(
        "--web",
        action="store_true",
        help="serve the web console: every session, its frames and numbers, controls, and an output page "
        "for OBS; prints a one-time login URL (`lsd-runtime console` prints a fresh one)",
    )
    w.add_argument("--web-port", type=int, default=0, help="console port (default: any free one)")
    w.add_argument(
        "--web-host",
        default="127.0.0.1",
        help="console address (default loopback; another needs --allow-remote and --web-cert)",
    )
    w.add_argument("--web-cert", type=Path, default=None, help="TLS certificate (PEM) for the console")
    w.add_argument(
        "--web-key", type=Path, default=None, help="its private key (PEM), if not in the certificate"
    )
    p.add_argument(
        "--inline",
        action="store_true",
        help="also serve the inline transport (pixels inside the messages: a runtime on another "
        "machine, or a client that cannot share memory); on by itself with --allow-remote",
    )
    p.add_argument(
        "--max-inline-mb",
        type=int,
        default=32,
        metavar="MiB",
        help="largest frame the inline transport carries, and with 64 KiB the largest message the runtime "
        "accepts from anyone (default %(default)s)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for the backends, torch and OpenCV (default 1: each session runs on one core "
        "and leaves the rest to the game; 0 = torch's default)",
    )
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --endpoint; the link is then encrypted and authenticated "
        "with CURVE (clients take the server key from runtime.json)",
    )
    p.add_argument("--curve", action="store_true", help="use CURVE encryption on a loopback endpoint too")
    d = p.add_argument_group("diffusion backend defaults (a session's set_style overrides them)")
    d.add_argument(
        "--model",
        default="sd-turbo",
        help="sd-turbo, sdxl-turbo, sd15-lcm or a local diffusers folder (default %(default)s)",
    )
    d.add_argument("--steps", type=int, default=1, help="denoising steps in the stream batch (1-8)")
    d.add_argument(
        "--feedback",
        type=float,
        default=0.0,
        help="latent feedback against flicker, 0..1 (default %(default)s)",
    )
    d.add_argument(
        "--similarity-threshold",
        type=float,
        default=0.0,
        help="skip frames this similar to the last one (0 = off; 0.98 is a useful value)",
    )
    d.add_argument("--long-side", type=int, default=512, help="model resolution's long side")
    d.add_argument("--full-vae", action="store_true", help="use the model's own VAE, not the tiny one")
    d.add_argument("--compile", action="store_true", help="torch.compile the UNet (CUDA)")
    d.add_argument("--cuda-graph", action="store_true", help="capture the UNet call in a CUDA graph (CUDA)")
    d.add_argument(
        "--tensorrt",
        action="store_true",
        help="run the UNet as TensorRT engines, built once per shape and cached (CUDA + tensorrt; "
        "otherwise the PyTorch UNet runs and the log says why)",
    )
    d.add_argument(
        "--engine-dir", type=Path, default=None, help="TensorRT engine cache (~/.cache/lsd-bridge)"
    )
    d.add_argument(
        "--safety-checker",
        action="store_true",
        help="check every restyled frame with a safety checker; a flagged frame is replaced by the "
        "input frame (txt2img: black). Off by default: engine content is the game's own",
    )
    d.add_argument(
        "--safety-checker-model",
        default=None,
        help="its weights: a folder or hub id (default: the model's own, else "
        "CompVis/stable-diffusion-safety-checker from the cache: lsd-runtime models pull safety-checker)",
    )
    d.add_argument(
        "--hf-cache", type=Path, default=None, help="Hugging Face cache folder to read models from"
    )


def _add_apply(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "apply",
        help="restyle one raw frame file offline, exactly as the runtime would",
        description="Apply the runtime's frame pipeline to one tightly packed, top-down "
        "raw frame (used by the native client's tests for expected pixels).",
    )
    p.add_argument("--style", default="identity", help="effects style name")
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--height", type=int, required=True)
    p.add_argument("--format", default="rgba8", choices=["rgba8", "bgra8", "rgba16f"])
    p.add_argument("--input", type=Path, required=True, help="raw input frame")
    p.add_argument("--output", type=Path, required=True, help="where to write the raw result")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads, as for serve (default 1)")


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="stream a procedural 3D scene through the runtime and save the result",
        description="Starts a runtime, runs an engine-like client that renders a moving "
        "3D scene, streams it through the full protocol and shared-memory "
        "slots, switches styles mid-run and writes an animated GIF, a "
        "before/after contact sheet and a latency summary.",
    )
    p.add_argument("--out", type=Path, default=Path("lsd_demo_out"), help="output folder (%(default)s)")
    p.add_argument("--frames", type=int, default=180, help="frames to stream (%(default)s)")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=180)
    p.add_argument(
        "--styles",
        default="toon,neon_edges,thermal,watercolour",
        help="comma-separated styles, switched evenly through the run",
    )
    p.add_argument(
        "--format",
        default="bgra8",
        choices=["rgba8", "bgra8", "rgba16f"],
        help="the engine texture format the client sends",
    )
    p.add_argument(
        "--no-planes",
        action="store_true",
        help="send colour only, without the scene's depth and motion vectors",
    )


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the diffusion models known by name, or download one",
        description="Models load offline from a local folder or the Hugging Face cache; "
        "`models pull NAME` downloads one (with progress) on a machine with "
        "network access.",
    )
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    msub.add_parser("list", help="known models and whether they are available offline")
    pull = msub.add_parser("pull", help="download a model and its tiny VAE into the Hugging Face cache")
    pull.add_argument(
        "name", help="sd-turbo, sdxl-turbo, sd15-lcm, sdxs-512, taesd, safety-checker, or a hub repo id"
    )
    pull.add_argument(
        "--files",
        action="store_true",
        help="the repo holds files at its top level (a LoRA, a VAE), not a diffusers pipeline",
    )
    pull.add_argument("--hf-cache", type=Path, default=None)
    export = msub.add_parser(
        "export",
        help="export a model's UNet and VAE to ONNX (and build TensorRT engines with --tensorrt)",
        description="Writes unet.onnx, vae_encoder.onnx, vae_decoder.onnx and manifest.json into --out "
        "(batch and sizes stay dynamic). --tensorrt also builds the UNet engine for --batch at "
        "--width x --height into the engine cache serve --tensorrt reads (needs CUDA and tensorrt).",
    )
    export.add_argument("name", help="a model available offline (catalogue name, hub id or folder)")
    export.add_argument("--out", type=Path, required=True, help="folder for the ONNX files")
    export.add_argument(
        "--random-weights", action="store_true", help="NAME's full-size architecture with random weights"
    )
    export.add_argument("--width", type=int, default=512)
    export.add_argument("--height", type=int, default=512)
    export.add_argument("--batch", type=int, default=1, help="UNet rows of the example (and the engine)")
    export.add_argument("--device", default="cpu")
    export.add_argument("--tensorrt", action="store_true", help="also build the UNet's TensorRT engine")
    export.add_argument("--engine-dir", type=Path, default=None, help="TensorRT engine cache folder")
    export.add_argument("--hf-cache", type=Path, default=None)


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="round-trip latency and FPS of the bridge",
        description="Measure frame round trips through a real runtime process: shm slots "
        "beside the inline baseline (pixels inside the ZeroMQ messages), with "
        "the identity effect, as ratios from one run.",
    )
    p.add_argument(
        "--transport",
        default="shm",
        choices=["shm", "inline", "cuda_ipc"],
        help="transport to measure; inline always runs beside it as the baseline (cuda_ipc: shm too, "
        "and the runtime runs on the GPU with frames kept on the device)",
    )
    p.add_argument("--sizes", default="256x256,512x512,1920x1080", help="WxH list (%(default)s)")
    p.add_argument("--frames", type=int, default=300, help="timed frames per size and transport")
    p.add_argument("--warmup", type=int, default=None, help="untimed frames first (default 30; diffusion: 2)")
    p.add_argument("--format", default="rgba8", choices=["rgba8", "bgra8", "rgba16f"])
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    d = p.add_argument_group("diffusion backend (--backend diffusion)")
    d.add_argument(
        "--backend",
        default="effects",
        choices=["effects", "diffusion"],
        help="effects: the bridge round trip (default); diffusion: the stream pipeline's stages",
    )
    d.add_argument(
        "--random-weights",
        metavar="MODEL",
        default=None,
        help="build MODEL's full-size architecture with random weights (no download)",
    )
    d.add_argument("--model", default=None, help="a model available offline (instead of --random-weights)")
    d.add_argument("--width", type=int, default=512)
    d.add_argument("--height", type=int, default=512)
    d.add_argument("--device", default="cpu")
    d.add_argument("--steps", type=int, default=1)
    d.add_argument("--compile", action="store_true", help="torch.compile the UNet (CUDA)")
    d.add_argument(
        "--tensorrt", action="store_true", help="the UNet as TensorRT engines (CUDA + tensorrt; unverified)"
    )
    d.add_argument(
        "--techniques",
        default=None,
        help="run the pipeline with and without each way of doing less work per frame, side by side, "
        "with fidelity to the full computation: comma list of presets (deepcache-2, deepcache-3, "
        "deepcache-3-l2, deepcache-4, encode-skip-3, tokens-2, combo), key=value+key=value settings, or "
        "arch:NAME (a smaller random-weight UNet: arch:bk-sdm-v2-small); 'default' for the usual set",
    )
    d.add_argument(
        "--scene",
        default="orbit",
        choices=["orbit", "pan"],
        help="--techniques frames: the demo's ray-traced orbit, or a pan with its motion vectors",
    )
    d.add_argument("--threads", type=int, default=0, help="torch CPU threads (default 0: torch's default)")
    d.add_argument(
        "--flops",
        action="store_true",
        help="with --random-weights: count each --techniques entry's FLOPs per frame on the meta device "
        "(nothing runs; seconds on any machine)",
    )
    e = p.add_argument_group("effects on one CPU core (--backend effects --styles ...)")
    e.add_argument(
        "--styles",
        default=None,
        help="time these effects styles (comma list, or all) instead of the bridge round trip: "
        "torch float32 beside the OpenCV 8-bit path and slot to slot, one thread",
    )
    e.add_argument("--torch-frames", type=int, default=20, help="timed frames per torch cell (slow)")
    k = p.add_argument_group("soak (--soak): a long stream, memory and latency watched over time")
    k.add_argument(
        "--soak",
        action="store_true",
        help="stream --frames frames of the first --sizes through a runtime with --model (toon, any "
        "model name, or tiny-diffusion: a tiny random-weight diffusion model built on the spot)",
    )
    k.add_argument("--sample-every", type=int, default=1000, help="frames between samples (%(default)s)")
    k.add_argument("--plot", type=Path, default=None, help="draw the samples into this PNG (matplotlib)")
    t = p.add_argument_group("temporal (--temporal): what the engine's motion and depth buy")
    t.add_argument(
        "--temporal",
        action="store_true",
        help="warping error of consecutive restyled frames of the demo scene, with and without "
        "its exact motion vectors and depth",
    )
    t.add_argument(
        "--temporal-models",
        default="toon,sketch,tiny-diffusion",
        help="model names (tiny-diffusion: a tiny random-weight model built on the spot) (%(default)s)",
    )
    t.add_argument("--temporal-frames", type=int, default=40, help="frames per run (%(default)s)")
    t.add_argument("--temporal-size", default="256x144", help="WxH (%(default)s)")
    t.add_argument("--strip", type=Path, default=None, help="write frames side by side into this image")
    v = p.add_argument_group("web console (--web): the frame path with and without a watcher")
    v.add_argument(
        "--web", action="store_true", help="measure what watching a session in the web console costs"
    )
    v.add_argument("--fps", type=float, default=60.0, help="the client's pace for --web (%(default)s)")
    e.add_argument(
        "--markdown", type=Path, default=None, help="append the table to this file (BENCHMARKS.md)"
    )


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="restyle a video file, webcam or the screen into a file or a window",
        description="Restyle frames from a video file, a webcam (its index) or the screen "
        "through the runtime (in this process, or a running one with "
        "--endpoint/--state-dir) and write them to a video file and/or show "
        "them. Files keep every frame, their size and their frame rate.",
    )
    p.add_argument(
        "--input",
        required=True,
        help="a video file, a webcam index (0, 1, ...), or screen[:LEFT,TOP,WIDTH,HEIGHT]",
    )
    p.add_argument(
        "--output", default=None, help="video file to write (.avi/.mkv: lossless FFV1; .mp4: mp4v)"
    )
    p.add_argument("--preview", action="store_true", help="show a window (keys: n style, p prompt, q quit)")
    p.add_argument("--prompt", default=None, help="prompt (effects: words such as 'cartoon' pick the look)")
    p.add_argument("--style", default=None, help="effects style: toon, sketch, pixel_art, thermal, ...")
    p.add_argument(
        "--model",
        default=None,
        help="effects style or diffusion model (sd-turbo, sdxl-turbo, a local folder)",
    )
    p.add_argument("--strength", type=float, default=None, help="0 = input unchanged, 1 = fully restyled")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--steps", type=int, default=None, help="diffusion denoising steps (1-8)")
    p.add_argument(
        "--size",
        default=None,
        metavar="WxH",
        help="resolution the model works at (output keeps the input's size)",
    )
    p.add_argument("--frames", type=int, default=None, help="stop after N input frames")
    p.add_argument(
        "--fps",
        type=float,
        default=None,
        help="screen: capture at most this many frames a second (default 30); a file's output rate",
    )
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: cuda if available)")
    p.add_argument("--endpoint", default=None, help="use a running runtime at this endpoint")
    p.add_argument("--state-dir", type=Path, default=None, help="use the running runtime described here")
    p.add_argument(
        "--fallback-effects",
        action="store_true",
        help="use effects when the diffusion model is unavailable (default: an error)",
    )
    p.add_argument(
        "--every-frame", action="store_true", help="never skip frames, even from a webcam or the screen"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_console(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "console",
        help="print a login URL for a running runtime's web console (serve --web)",
        description="Print the running runtime's current one-time web console login URL (it works "
        "once; using it makes the next), read from runtime.json.",
    )
    p.add_argument("--state-dir", type=Path, default=None, help="the runtime's state directory")
    p.add_argument("--open", action="store_true", help="also open it in the default browser")


def _console(args: argparse.Namespace) -> int:
    from ..server.state_file import read_state

    info = read_state(args.state_dir)
    if not info.console:
        raise ValueError(
            f"the runtime at {info.endpoint} (pid {info.pid}) serves no console: start it with --web"
        )
    print(info.console)
    if args.open:
        import webbrowser

        webbrowser.open(info.console)
    return 0


def _add_styles(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "styles",
        help="list the effects styles, or draw a contact sheet of all of them",
        description="List the effects styles (what each looks like, the prompt words that pick "
        "it, its parameters), or with --sheet draw every style on the demo scene and on any "
        "--image pictures, as the runtime restyles them.",
    )
    p.add_argument("--sheet", type=Path, default=None, help="write the contact sheet here (PNG)")
    p.add_argument(
        "--image",
        type=Path,
        action="append",
        default=[],
        help="also a row for this picture (a game screenshot); repeatable",
    )
    p.add_argument("--frame", type=int, default=40, help="the demo scene's frame index (%(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lsd-runtime", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"lsd-runtime {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_serve(sub)
    _add_demo(sub)
    _add_bench(sub)
    _add_models(sub)
    sub.add_parser("doctor", help="what this machine can use: CUDA, transports, backends, versions")
    _add_apply(sub)
    _add_run(sub)
    _add_styles(sub)
    _add_console(sub)
    return parser


def _configure_logging(command: str) -> None:
    """The runtime's modules log through ``logging``; the CLI shows their messages on stderr
    (everything for ``serve``, warnings and errors for the other commands)."""
    level = logging.INFO if command in ("serve", "models") else logging.WARNING
    logging.basicConfig(
        level=level,
        format="lsd-runtime: %(levelname)s %(name)s: %(message)s"
        if level == logging.WARNING
        else "lsd-runtime: %(message)s",
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    _configure_logging(args.command)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "apply":
            return _apply(args)
        if args.command == "run":
            from ..sdk.cli_run import run_command

            return run_command(args)
        if args.command == "console":
            return _console(args)
        if args.command == "styles":
            from .style_sheet import run_styles

            return run_styles(args)
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(args)
        if args.command == "bench":
            args.warmup_given = args.warmup is not None  # the diffusion bench's default is 2 frames
            if args.warmup is None:
                args.warmup = 30
            if args.soak:
                from .soak_bench import run_soak

                return run_soak(args)
            if args.temporal:
                from .temporal_bench import run_temporal_bench

                return run_temporal_bench(args)
            if args.web:
                from .web_bench import run_web_bench

                return run_web_bench(args)
            if args.backend == "diffusion":
                return _bench_diffusion(args, argv)
            if args.styles:
                from .effects_bench import run_effects_bench

                args.command_line = " ".join(["lsd-runtime", *(sys.argv[1:] if argv is None else argv)])
                return run_effects_bench(args)
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
    from ..server.config import ServerConfig, default_endpoint
    from ..server.router import serve
    from ..server.state_file import default_state_dir

    state_dir = args.state_dir or default_state_dir()
    config = ServerConfig(
        endpoint=args.endpoint or default_endpoint(state_dir),
        state_dir=state_dir,
        heartbeat_ms=args.heartbeat_ms,
        timeout_ms=args.timeout_ms,
        max_sessions=args.max_sessions,
        device=args.device,
        allow_remote=args.allow_remote,
        threads=args.threads,
        curve=args.curve,
        max_inline_frame_bytes=args.max_inline_mb << 20,
        inline=args.inline,
        web=args.web,
        web_host=args.web_host,
        web_port=args.web_port,
        web_cert=args.web_cert,
        web_key=args.web_key,
    )
    if args.max_slot_memory is not None:
        config.max_slot_bytes = args.max_slot_memory << 20
    from ..backends.diffusion import DiffusionConfig, set_default_config

    set_default_config(
        DiffusionConfig(
            model=args.model,
            steps=args.steps,
            feedback=args.feedback,
            similarity_threshold=args.similarity_threshold,
            long_side=args.long_side,
            tiny_vae=not args.full_vae,
            compile=args.compile,
            cuda_graph=args.cuda_graph,
            cache_dir=args.hf_cache,
            tensorrt=args.tensorrt,
            engine_dir=args.engine_dir,
            safety_checker=args.safety_checker,
            safety_checker_model=args.safety_checker_model,
        )
    )
    print(f"lsd-runtime {__version__}: starting on {config.endpoint} (state {config.state_dir})", flush=True)
    serve(config)
    print("lsd-runtime: stopped", flush=True)
    return 0


def _apply(args: argparse.Namespace) -> int:
    import torch

    from ..backends import StyleRequest, create_backend
    from ..pipeline.frame_pipeline import FramePipeline
    from ..pipeline.pixel_formats import RingSpec

    if args.threads > 0:
        torch.set_num_threads(args.threads)

    spec = RingSpec(args.width, args.height, args.format)
    raw = args.input.read_bytes()
    if len(raw) != spec.size:
        raise ValueError(
            f"{args.input} is {len(raw)} bytes; a {args.width}x{args.height} {args.format} "
            f"frame is {spec.size}"
        )
    backend = create_backend("effects")
    backend.set_style(StyleRequest(style=args.style))
    pipeline = FramePipeline(spec, spec, args.width, args.height)
    out = bytearray(spec.size)
    pipeline.run(backend, raw, out)
    args.output.write_bytes(bytes(out))
    return 0


def _models(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..backends.diffusion import CATALOG, ModelNotFoundError, pull, resolve_model

    if args.models_command == "pull":
        paths = pull(args.name, cache_dir=args.hf_cache, files=args.files)
        print("\n".join(f"ready: {p}" for p in paths))
        return 0
    if args.models_command == "export":
        from ..backends.diffusion.export_command import run_export

        return run_export(args)
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


def _bench_diffusion(args: argparse.Namespace, argv: list[str] | None) -> int:
    import json

    import torch

    from ..backends.diffusion import DiffusionConfig, run_diffusion_bench

    model = args.random_weights or args.model
    if model is None:
        raise ValueError("--backend diffusion needs --random-weights MODEL or --model MODEL")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.flops:
        from ..backends.diffusion.bench import DEFAULT_TECHNIQUES, flops_report

        if args.random_weights is None:
            raise ValueError("--flops counts a full-size architecture: name it with --random-weights")
        print(
            flops_report(
                args.random_weights,
                args.width,
                args.height,
                args.techniques or DEFAULT_TECHNIQUES,
                args.steps,
            )
        )
        return 0
    if args.techniques:
        from ..backends.diffusion.bench import (
            append_compare_markdown,
            compare_table,
            run_diffusion_compare,
        )

        result = run_diffusion_compare(
            model=model,
            random_weights=args.random_weights is not None,
            width=args.width,
            height=args.height,
            frames=args.frames,
            device=args.device,
            techniques=args.techniques,
            steps=args.steps,
            warmup=args.warmup if getattr(args, "warmup_given", True) else 2,
            scene=args.scene,
            config=DiffusionConfig(
                long_side=max(args.width, args.height), compile=args.compile, tensorrt=args.tensorrt
            ),
        )
        print(compare_table(result))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
        if args.markdown:
            command = " ".join(["lsd-runtime", *(sys.argv[1:] if argv is None else argv)])
            append_compare_markdown(args.markdown, result, command)
        return 0
    result = run_diffusion_bench(
        model=model,
        random_weights=args.random_weights is not None,
        width=args.width,
        height=args.height,
        frames=args.frames,
        device=args.device,
        compile=args.compile,
        steps=args.steps,
        config=DiffusionConfig(long_side=max(args.width, args.height), tensorrt=args.tensorrt),
    )
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0
