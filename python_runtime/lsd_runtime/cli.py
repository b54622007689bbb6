"""``lsd-runtime``: serve, demo, bench, doctor and apply."""

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lsd-runtime", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"lsd-runtime {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_serve(sub)
    _add_demo(sub)
    _add_bench(sub)
    sub.add_parser("doctor", help="what this machine can use: CUDA, transports, backends, versions")
    _add_apply(sub)
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
        if args.command == "demo":
            from .demo import run_demo
            return run_demo(args)
        if args.command == "bench":
            from .bench import run_bench
            return run_bench(args)
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
