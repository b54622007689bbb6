"""A small procedural 3D scene, ray-traced on the CPU with numpy: what a game would render.

An orbiting camera looks at bouncing, lit spheres with shadows on a checkered floor under
a sky gradient. Frames are deterministic functions of the frame index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPHERES = [  # centre x, z, radius, colour (linear RGB), bounce phase
    (0.0, 0.0, 1.0, (0.85, 0.18, 0.12), 0.0),
    (-2.4, 1.2, 0.7, (0.15, 0.45, 0.9), 1.3),
    (2.2, -1.0, 0.8, (0.95, 0.75, 0.15), 2.1),
    (0.8, 2.6, 0.5, (0.2, 0.8, 0.35), 0.7),
]
LIGHT = np.array([0.5, 0.8, 0.35]) / np.linalg.norm([0.5, 0.8, 0.35])


def _normalize(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _hit_spheres(
    origin: np.ndarray, dirs: np.ndarray, centres: np.ndarray, radii: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hit distance (inf if none) and sphere index for each ray."""
    best = np.full(dirs.shape[:-1], np.inf)
    index = np.full(dirs.shape[:-1], -1)
    for i, (c, r) in enumerate(zip(centres, radii, strict=True)):
        oc = origin - c
        b = np.sum(oc * dirs, axis=-1)
        disc = b * b - (np.sum(oc * oc, axis=-1) - r * r)
        t = -b - np.sqrt(np.maximum(disc, 0.0))
        hit = (disc > 0) & (t > 1e-3) & (t < best)
        best = np.where(hit, t, best)
        index = np.where(hit, i, index)
    return best, index


SKY_DEPTH = 1000.0  # the depth the scene gives pixels that see only sky
FOV_SCALE = 0.6  # tan of half the vertical field of view


@dataclass(frozen=True)
class Camera:
    eye: np.ndarray
    fwd: np.ndarray
    right: np.ndarray
    up: np.ndarray


def camera(frame: int, fps: float = 30.0) -> Camera:
    t = frame / fps
    angle = 0.35 * t
    eye = np.array([7.0 * np.sin(angle), 2.6 + 0.6 * np.sin(0.5 * t), 7.0 * np.cos(angle)])
    target = np.array([0.0, 0.8, 0.0])
    fwd = _normalize(target - eye)
    right = _normalize(np.cross(fwd, [0.0, 1.0, 0.0]))
    return Camera(eye, fwd, right, np.cross(right, fwd))


def sphere_centres(frame: int, fps: float = 30.0) -> np.ndarray:
    t = frame / fps
    return np.array([[x, r + abs(np.sin(1.8 * t + ph)) * 1.2, z] for x, z, r, _, ph in SPHERES])


@dataclass(frozen=True)
class SceneFrame:
    """One frame as an engine has it: the image, and exactly, per pixel, the view-space depth
    and the motion since the previous frame (pixels, now minus then, +y down the image)."""

    rgba: np.ndarray  # [H, W, 4] uint8 sRGB
    depth: np.ndarray  # [H, W] float32, scene units along the camera axis (sky: SKY_DEPTH)
    motion: np.ndarray  # [H, W, 2] float32


def render(frame: int, width: int, height: int, fps: float = 30.0) -> np.ndarray:
    """Render frame ``frame`` as an sRGB RGBA8 image ``[height, width, 4]``."""
    return render_frame(frame, width, height, fps, with_planes=False).rgba


def render_frame(
    frame: int, width: int, height: int, fps: float = 30.0, with_planes: bool = True
) -> SceneFrame:
    """Render frame ``frame`` with its depth and motion vectors, as a game engine gives them."""
    cam = camera(frame, fps)
    eye, fwd, right, up = cam.eye, cam.fwd, cam.right, cam.up
    aspect = width / height
    xs = (np.arange(width) + 0.5) / width * 2.0 - 1.0
    ys = 1.0 - (np.arange(height) + 0.5) / height * 2.0
    px, py = np.meshgrid(xs * aspect * FOV_SCALE, ys * FOV_SCALE)
    dirs = _normalize(fwd + px[..., None] * right + py[..., None] * up)

    centres = sphere_centres(frame, fps)
    radii = np.array([s[2] for s in SPHERES])
    colours = np.array([s[3] for s in SPHERES])

    sky = (
        np.array([0.35, 0.55, 0.9]) * (0.55 + 0.45 * np.clip(dirs[..., 1:2], 0, 1))
        + np.array([0.9, 0.8, 0.7]) * (1 - np.clip(dirs[..., 1:2] * 4, 0, 1)) * 0.35
    )
    image = sky.copy()

    # floor y = 0
    t_floor = np.where(dirs[..., 1] < -1e-4, -eye[1] / np.minimum(dirs[..., 1], -1e-4), np.inf)
    t_sph, idx = _hit_spheres(eye, dirs, centres, radii)
    floor_first = t_floor < t_sph
    hit_any = np.isfinite(np.minimum(t_floor, t_sph))
    t_hit = np.where(floor_first, t_floor, t_sph)
    pos = eye + dirs * np.where(hit_any, t_hit, 0.0)[..., None]

    normal = np.zeros_like(pos)
    normal[..., 1] = 1.0
    albedo = np.zeros_like(pos)
    checker = (np.floor(pos[..., 0]) + np.floor(pos[..., 2])) % 2 == 0
    floor_col = np.where(checker[..., None], [0.8, 0.8, 0.78], [0.25, 0.27, 0.3])
    sph = hit_any & ~floor_first
    safe_idx = np.maximum(idx, 0)
    sph_normal = _normalize(pos - centres[safe_idx])
    normal = np.where(sph[..., None], sph_normal, normal)
    albedo = np.where(sph[..., None], colours[safe_idx], floor_col)

    # shadows
    t_shadow, _ = _hit_spheres(pos + normal * 1e-3, np.broadcast_to(LIGHT, pos.shape), centres, radii)
    lit = ~np.isfinite(t_shadow)
    diffuse = np.clip(np.sum(normal * LIGHT, axis=-1), 0, 1) * lit
    half = _normalize(LIGHT - dirs)
    spec = np.where(sph, np.clip(np.sum(normal * half, axis=-1), 0, 1) ** 40 * lit, 0.0)
    shade = albedo * (0.18 + 0.82 * diffuse[..., None]) + spec[..., None] * 0.6
    fog = np.exp(-0.012 * np.where(hit_any, t_hit, 1e9) ** 1.4)[..., None]
    shade = shade * fog + sky * (1 - fog)
    image = np.where(hit_any[..., None], shade, image)

    srgb = np.where(
        image <= 0.0031308, image * 12.92, 1.055 * np.clip(image, 1e-9, None) ** (1 / 2.4) - 0.055
    )
    rgba = np.empty((height, width, 4), dtype=np.uint8)
    rgba[..., :3] = np.clip(np.round(srgb * 255), 0, 255).astype(np.uint8)
    rgba[..., 3] = 255
    if not with_planes:
        return SceneFrame(rgba, np.zeros((0, 0), np.float32), np.zeros((0, 0, 2), np.float32))
    depth = np.where(hit_any, t_hit * np.sum(dirs * fwd, axis=-1), SKY_DEPTH).astype(np.float32)
    # where each visible surface point was a frame ago: spheres moved by their centres' step,
    # the floor stayed; the sky is at infinity (only the camera's turn moves it)
    step = centres - sphere_centres(frame - 1, fps)
    prev_pos = pos - np.where(sph[..., None], step[safe_idx], 0.0)
    prev = camera(frame - 1, fps)
    rel = np.where(hit_any[..., None], prev_pos - prev.eye, dirs)
    ahead = np.maximum(np.sum(rel * prev.fwd, axis=-1), 1e-6)
    x_cam = np.sum(rel * prev.right, axis=-1) / ahead
    y_cam = np.sum(rel * prev.up, axis=-1) / ahead
    prev_i = (x_cam / (aspect * FOV_SCALE) + 1.0) / 2.0 * width - 0.5
    prev_j = (1.0 - y_cam / FOV_SCALE) / 2.0 * height - 0.5
    ii, jj = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    motion = np.stack([ii - prev_i, jj - prev_j], axis=-1).astype(np.float32)
    return SceneFrame(rgba, depth, motion)


def as_format(rgba8: np.ndarray, fmt: str) -> np.ndarray:
    """Convert an sRGB RGBA8 image to what an engine texture of ``fmt`` would hold."""
    if fmt == "rgba8":
        return rgba8
    if fmt == "bgra8":
        return rgba8[..., [2, 1, 0, 3]].copy()
    if fmt == "rgba16f":  # linear half floats
        c = rgba8.astype(np.float32) / 255.0
        lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        lin[..., 3] = 1.0
        return lin.astype(np.float16)
    raise ValueError(f"unknown format {fmt}")


def to_rgba8(image: np.ndarray, fmt: str) -> np.ndarray:
    """The inverse of ``as_format`` (for display)."""
    if fmt == "rgba8":
        return image
    if fmt == "bgra8":
        return image[..., [2, 1, 0, 3]].copy()
    lin = np.clip(image.astype(np.float32), 0, 1)
    c = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * np.clip(lin, 1e-9, None) ** (1 / 2.4) - 0.055)
    out = np.clip(np.round(c * 255), 0, 255).astype(np.uint8)
    out[..., 3] = 255
    return out
