#!/usr/bin/env python3
"""GPU check for the texture kernels and the cuda_ipc transport (run on a CUDA machine).

    python scripts/gpu_check.py [--iters 1000] [--json out.json] [--no-tests]

1. runs every GPU test (``pytest -m gpu tests/unit/test_kernels.py tests/unit/test_cuda_ipc.py``);
2. micro-benchmark at 1920x1080 RGBA8: texture slot -> NCHW fp16 tensor -> texture slot
   (identity restyle, the two fused kernels, slots allocated by ``CudaIpcRing`` with the
   per-frame event wait/record), timed with CUDA events per iteration; and the bandwidth
   floor: the same bytes moved by two device-to-device ``cudaMemcpy`` (in and out);
3. prints a table (p50 / p99 / mean in ms over ``--iters`` iterations) and the verdict
   against the target: bridge overhead p50 <= 0.25 ms, p99 <= 1 ms.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_P50_MS = 0.25
TARGET_P99_MS = 1.0


def run_gpu_tests() -> int:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "gpu",
        "-rs",
        str(ROOT / "tests" / "unit" / "test_kernels.py"),
        str(ROOT / "tests" / "unit" / "test_cuda_ipc.py"),
    ]
    print("$", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT).returncode


def summary(times: list[float]) -> dict[str, float]:
    """p50/p99 with the project's one percentile definition (lsd_runtime.pipeline.latency)."""
    from lsd_runtime.pipeline.latency import percentiles

    p50, p99 = percentiles(times)
    return {"p50_ms": p50, "p99_ms": p99, "mean_ms": sum(times) / len(times)}


def bench(iters: int) -> dict[str, dict[str, float]]:
    import torch

    from lsd_runtime.pipeline import gpu_kernels as kernels
    from lsd_runtime.pipeline.pixel_formats import RingSpec
    from lsd_runtime.transport.cuda_ipc import CudaIpcRing

    spec = RingSpec(1920, 1080, "rgba8", bottom_up=True, slots=1)
    results: dict[str, dict[str, float]] = {}
    with CudaIpcRing(spec) as ins, CudaIpcRing(spec) as outs:
        src, dst = ins.buffers[0], outs.buffers[0]
        src.copy_(torch.randint(0, 256, (spec.size,), dtype=torch.uint8, device=src.device))
        stream = torch.cuda.Stream()
        s = stream.cuda_stream
        tensor = torch.empty((1, 3, 1080, 1920), dtype=torch.float16, device=src.device)
        ins.record_ready(0, s)
        outs.record_free(0, s)

        def frame() -> None:
            ins.wait_ready(0, s)
            outs.wait_free(0, s)
            kernels.texture_to_tensor(src, spec, 1920, 1080, torch.float16, out=tensor, stream=s)
            kernels.tensor_to_texture(tensor, spec, dst, stream=s)
            outs.record_ready(0, s)
            ins.record_free(0, s)
            ins.record_ready(0, s)  # stands in for the client's next copy
            outs.record_free(0, s)

        def memcpy() -> None:
            with torch.cuda.stream(stream):
                dst.copy_(src)  # in
                src.copy_(dst)  # out

        def stage(name: str, fn) -> None:
            for _ in range(50):
                fn()
            stream.synchronize()
            starts = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
            ends = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
            for a, b in zip(starts, ends, strict=True):
                a.record(stream)
                fn()
                b.record(stream)
            stream.synchronize()
            results[name] = summary([a.elapsed_time(b) for a, b in zip(starts, ends, strict=True)])

        stage("texture->tensor->texture (kernels, events)", frame)
        stage("2x cudaMemcpy D2D (bandwidth floor)", memcpy)
        # exactness of what was timed
        back = dst.view(1080, -1)
        assert torch.equal(back.view(-1, 4)[:, :3], src.view(-1, 4)[:, :3]), "identity is not exact"
        assert bool((back.view(-1, 4)[:, 3] == 255).all())
    results["_device"] = {"name": torch.cuda.get_device_name(), "torch": torch.__version__}  # type: ignore[dict-item]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iters", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-tests", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "python_runtime"))
    import torch

    if not torch.cuda.is_available():
        print(
            "gpu_check: no CUDA device visible to torch "
            f"(torch {torch.__version__}); run this on a GPU machine",
            file=sys.stderr,
        )
        return 2
    rc = 0 if args.no_tests else run_gpu_tests()
    results = bench(args.iters)
    device = results.pop("_device")
    print(f"\n1920x1080 RGBA8, {args.iters} iterations, {device['name']}, torch {device['torch']}")
    print(f"| {'what':<44} | p50 ms | p99 ms | mean ms |")
    print(f"|{'-' * 46}|--------|--------|---------|")
    for name, r in results.items():
        print(f"| {name:<44} | {r['p50_ms']:6.4f} | {r['p99_ms']:6.4f} | {r['mean_ms']:7.4f} |")
    k = results["texture->tensor->texture (kernels, events)"]
    ok = k["p50_ms"] <= TARGET_P50_MS and k["p99_ms"] <= TARGET_P99_MS
    print(f"target p50 <= {TARGET_P50_MS} ms, p99 <= {TARGET_P99_MS} ms: {'met' if ok else 'NOT met'}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"device": device, "iters": args.iters, "results": results, "tests_rc": rc, "target_met": ok},
                indent=2,
            )
        )
    return rc or (0 if ok else 1)


if __name__ == "__main__":
    sys.exit(main())
