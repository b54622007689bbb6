"""One frame's trip through the runtime: slot bytes → model tensor (pixel formats, resize,
colour) → backend → slot bytes, with per-stage timings; the CUDA kernels that do the same
on the GPU and their torch references."""
