"""Shapes: a library of 2-D shapes rendered from (shape, pose, style) parameters.

Every shape is a list of filled polygons (and holes) in a canonical frame where its area centroid
is the origin and its farthest point is at distance 1. So a `Pose` means the same thing for every
shape: `(cx, cy)` is the shape's centroid and `size` the diameter of the circle around it that
just contains it (both as fractions of the image side). That makes the *ideal translation* of an
image into another class well defined: same pose and style, other shape (`render(params, shape=...)`),
and lets evaluation compare masks and centroids (`shape_mask`).

Rendering draws the mask at 4x with Pillow and box-downsamples it (antialiasing), then blends a
fill colour over a plain or gradient background; all deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

# (vertices [N, 2] in a y-up frame, True = fill / False = cut a hole), drawn in order.
Polygon = tuple[np.ndarray, bool]

SUPERSAMPLE = 4


def _ellipse(cx: float = 0.0, cy: float = 0.0, rx: float = 1.0, ry: float | None = None, n: int = 96) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + (rx if ry is None else ry) * np.sin(t)], axis=1)


def _regular(n: int, phase_deg: float = 90.0) -> np.ndarray:
    t = np.deg2rad(phase_deg) + np.arange(n) * 2.0 * math.pi / n
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def _star(points: int, inner: float) -> np.ndarray:
    t = math.pi / 2 + np.arange(2 * points) * math.pi / points
    r = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def _poly(*xy: tuple[float, float]) -> np.ndarray:
    return np.asarray(xy, dtype=np.float64)


def _semicircle() -> np.ndarray:
    t = np.linspace(0.0, math.pi, 64)
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def _heart() -> np.ndarray:
    t = np.linspace(0.0, 2.0 * math.pi, 128, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
    return np.stack([x, y], axis=1) / 16.0


def _drop() -> np.ndarray:
    t = np.linspace(0.0, 2.0 * math.pi, 128, endpoint=False)
    return np.stack([np.sin(t) * np.sin(t / 2) ** 1.5, np.cos(t)], axis=1)


# Chosen so neighbouring classes differ a lot in silhouette (and none is a rotation of another,
# since poses are rotated at random).
_GEOMETRY: dict[str, Callable[[], list[Polygon]]] = {
    "circle": lambda: [(_ellipse(), True)],
    "ellipse": lambda: [(_ellipse(rx=1.0, ry=0.5), True)],
    "semicircle": lambda: [(_semicircle(), True)],
    "ring": lambda: [(_ellipse(), True), (_ellipse(rx=0.55), False)],
    "crescent": lambda: [(_ellipse(), True), (_ellipse(cx=0.55, cy=0.3, rx=0.75), False)],
    "triangle": lambda: [(_regular(3), True)],
    "square": lambda: [(_regular(4, 45.0), True)],
    "rectangle": lambda: [(_poly((-1, -0.42), (1, -0.42), (1, 0.42), (-1, 0.42)), True)],
    "rhombus": lambda: [(_poly((0, 1), (0.5, 0), (0, -1), (-0.5, 0)), True)],
    "trapezoid": lambda: [(_poly((-1, -0.55), (1, -0.55), (0.45, 0.55), (-0.45, 0.55)), True)],
    "pentagon": lambda: [(_regular(5), True)],
    "hexagon": lambda: [(_regular(6, 0.0), True)],
    "star4": lambda: [(_star(4, 0.35), True)],
    "star5": lambda: [(_star(5, 0.42), True)],
    "star6": lambda: [(_star(6, 0.55), True)],
    "cross": lambda: [
        (
            _poly(
                (-0.3, 1),
                (0.3, 1),
                (0.3, 0.3),
                (1, 0.3),
                (1, -0.3),
                (0.3, -0.3),
                (0.3, -1),
                (-0.3, -1),
                (-0.3, -0.3),
                (-1, -0.3),
                (-1, 0.3),
                (-0.3, 0.3),
            ),
            True,
        )
    ],
    "heart": lambda: [(_heart(), True)],
    "arrow": lambda: [
        (_poly((-1, 0.22), (0.15, 0.22), (0.15, 0.6), (1, 0), (0.15, -0.6), (0.15, -0.22), (-1, -0.22)), True)
    ],
    "chevron": lambda: [(_poly((-1, 0.9), (-0.45, 0.9), (0.45, 0), (-0.45, -0.9), (-1, -0.9), (-0.1, 0)), True)],
    "l_shape": lambda: [(_poly((-0.7, 1), (-0.2, 1), (-0.2, -0.5), (0.7, -0.5), (0.7, -1), (-0.7, -1)), True)],
    "t_shape": lambda: [
        (
            _poly((-1, 1), (1, 1), (1, 0.5), (0.25, 0.5), (0.25, -1), (-0.25, -1), (-0.25, 0.5), (-1, 0.5)),
            True,
        )
    ],
    "hourglass": lambda: [(_poly((-0.8, 1), (0.8, 1), (0.12, 0), (0.8, -1), (-0.8, -1), (-0.12, 0)), True)],
    "frame": lambda: [(_regular(4, 45.0), True), (_regular(4, 45.0) * 0.55, False)],
    "trefoil": lambda: [
        (_ellipse(0.5 * math.cos(a), 0.5 * math.sin(a), 0.5), True) for a in np.deg2rad([90, 210, 330])
    ],
    "lightning": lambda: [
        (
            _poly((-0.05, 1), (0.65, 1), (0.25, 0.25), (0.7, 0.25), (-0.45, -1), (-0.05, -0.1), (-0.55, -0.1)),
            True,
        )
    ],
    "drop": lambda: [(_drop(), True)],
}

SHAPE_NAMES: tuple[str, ...] = tuple(_GEOMETRY)
SHAPE_INDEX: dict[str, int] = {name: i for i, name in enumerate(SHAPE_NAMES)}


def _check_shape(shape: str) -> None:
    if shape not in _GEOMETRY:
        raise ValueError(f"unknown shape {shape!r}; known shapes: {', '.join(SHAPE_NAMES)}")


def _draw_mask(polygons: list[Polygon], size: int, to_pixels: Callable[[np.ndarray], np.ndarray]) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    for vertices, fill in polygons:
        draw.polygon([tuple(p) for p in to_pixels(vertices).tolist()], fill=255 if fill else 0)
    return mask


@cache
def canonical_polygons(shape: str) -> tuple[Polygon, ...]:
    """The shape with its area centroid at the origin and its farthest point at distance 1."""
    _check_shape(shape)
    polygons = _GEOMETRY[shape]()
    # Centroid of the filled area (holes and overlaps included) measured on a fine raster.
    n, extent = 512, 1.6
    scale = n / (2 * extent)
    mask = np.asarray(_draw_mask(polygons, n, lambda v: (v * [1, -1] + extent) * scale - 0.5), dtype=np.float64)
    ys, xs = np.mgrid[0:n, 0:n]
    total = mask.sum()
    centroid = np.array([(xs * mask).sum() / total, (ys * mask).sum() / total])
    centroid = (centroid + 0.5) / scale - extent
    centroid[1] = -centroid[1]
    radius = max(np.linalg.norm(v - centroid, axis=1).max() for v, fill in polygons if fill)
    return tuple(((v - centroid) / radius, fill) for v, fill in polygons)


@dataclass(frozen=True)
class Pose:
    """Where the shape is: centroid (cx, cy) and enclosing diameter `size`, as fractions of the image
    side (y down); `angle` in degrees, counter-clockwise."""

    cx: float
    cy: float
    size: float
    angle: float


@dataclass(frozen=True)
class Style:
    """How it looks: RGB colours in [0, 1]; background blends bg -> bg2 along `gradient_angle`
    (bg2 == bg: plain), plus grey Gaussian noise of std `noise` drawn from `noise_seed`."""

    fg: tuple[float, float, float]
    bg: tuple[float, float, float]
    bg2: tuple[float, float, float]
    gradient_angle: float = 0.0
    noise: float = 0.0
    noise_seed: int = 0


@dataclass(frozen=True)
class ShapeParams:
    """Everything needed to re-render one image exactly."""

    shape: str
    pose: Pose
    style: Style
    resolution: int

    def to_dict(self) -> dict[str, Any]:
        # Explicit rather than dataclasses.asdict: 10x faster, which matters for 100k images.
        return {
            "shape": self.shape,
            "pose": dict(vars(self.pose)),
            "style": dict(vars(self.style)),
            "resolution": self.resolution,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ShapeParams:
        style = {k: tuple(v) if isinstance(v, list) else v for k, v in d["style"].items()}
        return cls(shape=d["shape"], pose=Pose(**d["pose"]), style=Style(**style), resolution=int(d["resolution"]))


def _as_params(params: ShapeParams | Mapping[str, Any]) -> ShapeParams:
    return params if isinstance(params, ShapeParams) else ShapeParams.from_dict(params)


def shape_coverage(shape: str, pose: Pose, resolution: int) -> np.ndarray:
    """Antialiased coverage in [0, 1] (float32 [R, R]) of `shape` drawn at `pose`."""
    polygons = canonical_polygons(shape)
    s = SUPERSAMPLE
    radius_px = pose.size / 2 * resolution * s
    a = math.radians(pose.angle)
    # y-up canonical frame -> image pixels (y down); pixel k covers [k, k+1) of the 4x grid.
    rot = np.array([[math.cos(a), -math.sin(a)], [-math.sin(a), -math.cos(a)]]) * radius_px
    centre = np.array([pose.cx, pose.cy]) * resolution * s - 0.5
    mask = _draw_mask(polygons, resolution * s, lambda v: v @ rot.T + centre)
    return np.asarray(mask.reduce(s), dtype=np.float32) / 255.0


def shape_mask(params: ShapeParams | Mapping[str, Any], shape: str | None = None) -> np.ndarray:
    """Binary mask (bool [R, R], coverage >= 0.5) of the image's shape, or of `shape` at the same pose."""
    p = _as_params(params)
    return shape_coverage(shape or p.shape, p.pose, p.resolution) >= 0.5


def mask_centroid(mask: np.ndarray) -> tuple[float, float]:
    """Centroid (cx, cy) of a mask or coverage map as fractions of the image side (same frame as Pose)."""
    weights = np.asarray(mask, dtype=np.float64)
    total = weights.sum()
    if total == 0:
        raise ValueError("empty mask has no centroid")
    h, w = weights.shape
    ys, xs = np.mgrid[0:h, 0:w]
    return float(((xs + 0.5) * weights).sum() / total / w), float(((ys + 0.5) * weights).sum() / total / h)


def _background(style: Style, resolution: int) -> np.ndarray:
    bg, bg2 = np.asarray(style.bg), np.asarray(style.bg2)
    if style.bg == style.bg2 and style.noise <= 0:
        return np.broadcast_to(bg, (resolution, resolution, 3))
    a = math.radians(style.gradient_angle)
    u = (np.arange(resolution) + 0.5) / resolution - 0.5
    proj = np.cos(a) * u[None, :] + np.sin(a) * u[:, None]
    t = 0.5 + proj / (abs(math.cos(a)) + abs(math.sin(a)))
    image = bg + t[..., None] * (bg2 - bg)
    if style.noise > 0:
        rng = np.random.default_rng(style.noise_seed)
        image = image + style.noise * rng.standard_normal((resolution, resolution, 1))
    return image


def render_array(params: ShapeParams | Mapping[str, Any], shape: str | None = None) -> np.ndarray:
    """Render to uint8 [R, R, 3]; `shape` swaps the class and keeps pose and style (ideal translation)."""
    p = _as_params(params)
    if shape is not None:
        _check_shape(shape)
        p = replace(p, shape=shape)
    alpha = shape_coverage(p.shape, p.pose, p.resolution)[..., None].astype(np.float64)
    image = _background(p.style, p.resolution) * (1.0 - alpha) + np.asarray(p.style.fg) * alpha
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def render(params: ShapeParams | Mapping[str, Any], shape: str | None = None) -> Image.Image:
    """Render to an RGB Pillow image (see `render_array`)."""
    return Image.fromarray(render_array(params, shape), "RGB")
