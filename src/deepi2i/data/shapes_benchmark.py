"""The Shapes benchmark: a synthetic source domain (stand-in for ImageNet) and target domain
(stand-in for Animal Faces / birds / foods) with known ground truth for every translation.

Every image is rendered from parameters drawn with its own RNG, `default_rng([seed, domain, class,
index])`, so the same arguments give byte-identical files whatever the worker count or class
subset, and the parameters written to OUT/deepi2i_shapes.json re-render any image or its ideal
translation into another class exactly.
"""

from __future__ import annotations

import colorsys
import json
import os
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deepi2i._io import StrPath, map_with_progress
from deepi2i.data.manifest import (
    DEFAULT_SEED,
    DEFAULT_TEST_FRACTION,
    MANIFEST_NAME,
    build_manifest,
    check_new_output_folder,
    save_manifest,
    write_json_atomic,
)
from deepi2i.data.shapes import SHAPE_INDEX, SHAPE_NAMES, Pose, ShapeParams, Style, render

SHAPES_MANIFEST_NAME = "deepi2i_shapes.json"
SHAPES_FORMAT = "deepi2i-shapes"

Range = tuple[float, float]


@dataclass(frozen=True)
class ShapesDomain:
    """How one domain samples pose and style.

    Defaults favour what a GAN learns quickly on CPU: large shapes (enclosing diameter 56-84% of
    the image side), uniform colours, modest rotation.
    """

    name: str
    classes: tuple[str, ...]
    per_class: int
    size_range: Range = (0.56, 0.84)
    max_rotation: float = 45.0
    fg_saturation: Range = (0.0, 0.2)
    fg_value: Range = (0.8, 1.0)
    bg_saturation: Range = (0.0, 0.3)
    bg_value: Range = (0.05, 0.25)
    gradient: bool = False
    noise: float = 0.0

    def sample(self, rng: np.random.Generator, shape: str, resolution: int) -> ShapeParams:
        """Draw pose then style from `rng` (fixed order, so parameters are reproducible)."""
        size = float(rng.uniform(*self.size_range))
        half = size / 2
        pose = Pose(
            cx=float(rng.uniform(half, 1 - half)),
            cy=float(rng.uniform(half, 1 - half)),
            size=size,
            angle=float(rng.uniform(-self.max_rotation, self.max_rotation)),
        )
        fg = _hsv(rng, self.fg_saturation, self.fg_value)
        bg = _hsv(rng, self.bg_saturation, self.bg_value)
        bg2 = _hsv(rng, self.bg_saturation, self.bg_value) if self.gradient else bg
        angle = float(rng.uniform(0.0, 360.0)) if self.gradient else 0.0
        noise_seed = int(rng.integers(2**31)) if self.noise > 0 else 0
        style = Style(fg=fg, bg=bg, bg2=bg2, gradient_angle=angle, noise=self.noise, noise_seed=noise_seed)
        return ShapeParams(shape=shape, pose=pose, style=style, resolution=resolution)


def _hsv(rng: np.random.Generator, saturation: Range, value: Range) -> tuple[float, float, float]:
    h, s, v = float(rng.uniform(0.0, 1.0)), float(rng.uniform(*saturation)), float(rng.uniform(*value))
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return (r, g, b)


# Source: many classes, many images, light near-grey shapes on dark plain backgrounds.
SOURCE = ShapesDomain(name="source", classes=SHAPE_NAMES, per_class=400)
# Target: a subset of the classes, few images each, and the opposite look: saturated colour
# shapes on light two-colour gradients.
TARGET = ShapesDomain(
    name="target",
    classes=(
        "circle",
        "triangle",
        "square",
        "pentagon",
        "star5",
        "cross",
        "heart",
        "crescent",
        "ring",
        "arrow",
    ),
    per_class=50,
    fg_saturation=(0.6, 0.95),
    fg_value=(0.45, 0.8),
    bg_saturation=(0.05, 0.3),
    bg_value=(0.85, 1.0),
    gradient=True,
)
DOMAINS: dict[str, ShapesDomain] = {d.name: d for d in (SOURCE, TARGET)}


def shape_classes(domain: ShapesDomain, classes: int | str | Sequence[str] | None) -> list[str]:
    """None: the domain's classes; N: the first N (then further shapes if N exceeds them); names: those."""
    if classes is None:
        return list(domain.classes)
    if isinstance(classes, str):
        text = classes.strip()
        classes = int(text) if text.isdigit() else [c.strip() for c in text.split(",") if c.strip()]
    if isinstance(classes, int):
        ordered = list(domain.classes) + [s for s in SHAPE_NAMES if s not in domain.classes]
        if not 1 <= classes <= len(ordered):
            raise ValueError(f"number of classes must be between 1 and {len(ordered)}, got {classes}")
        return ordered[:classes]
    names = list(classes)
    unknown = [c for c in names if c not in SHAPE_INDEX]
    if unknown:
        raise ValueError(f"unknown shape class(es) {', '.join(unknown)}; known: {', '.join(SHAPE_NAMES)}")
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"classes must be a non-empty list without repeats, got {names}")
    return names


def image_params(domain: ShapesDomain, shape: str, index: int, resolution: int, seed: int) -> ShapeParams:
    """Parameters of image `index` of class `shape`: depends only on these arguments."""
    rng = np.random.default_rng([seed, zlib.crc32(domain.name.encode()), SHAPE_INDEX[shape], index])
    return domain.sample(rng, shape, resolution)


def _render_one(task: tuple[str, ShapeParams]) -> None:
    path, params = task
    render(params).save(path, format="PNG")


def make_shapes(
    out: StrPath,
    domain: str | ShapesDomain = "source",
    per_class: int | None = None,
    resolution: int = 64,
    seed: int = DEFAULT_SEED,
    classes: int | str | Sequence[str] | None = None,
    *,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    workers: int = 1,
    progress: bool = True,
) -> dict[str, Any]:
    """Write OUT/<class>/<index>.png, OUT/deepi2i_shapes.json (per-image parameters) and the split manifest.

    Returns the shapes manifest. `workers > 1` renders in a process pool; output is identical.
    """
    if isinstance(domain, str):
        if domain not in DOMAINS:
            raise ValueError(f"unknown domain {domain!r}; choose one of {', '.join(DOMAINS)}")
        domain = DOMAINS[domain]
    per_class = domain.per_class if per_class is None else per_class
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    if resolution < 8:
        raise ValueError(f"resolution must be at least 8 pixels, got {resolution}")
    names = shape_classes(domain, classes)
    out = check_new_output_folder(out)
    tasks: list[tuple[str, ShapeParams]] = []
    records: list[dict[str, Any]] = []
    for name in names:
        (out / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            params = image_params(domain, name, i, resolution, seed)
            rel = f"{name}/{i:05d}.png"
            tasks.append((os.fspath(out / rel), params))
            records.append({"path": rel, "class_index": SHAPE_INDEX[name], **params.to_dict()})
    map_with_progress(
        _render_one,
        tasks,
        workers,
        processes=True,
        desc=f"rendering {domain.name} shapes",
        unit="img",
        disable=not progress,
    )
    shapes_manifest = {
        "format": SHAPES_FORMAT,
        "version": 1,
        "domain": asdict(domain),
        "seed": seed,
        "resolution": resolution,
        "per_class": per_class,
        "classes": names,
        "images": records,
    }
    write_json_atomic(out / SHAPES_MANIFEST_NAME, shapes_manifest)
    split = build_manifest(
        out,
        seed=seed,
        test_fraction=test_fraction,
        metadata={"source": "deepi2i shapes", "shapes_manifest": SHAPES_MANIFEST_NAME, "domain": domain.name},
        validate=False,
    )
    save_manifest(split, out / MANIFEST_NAME)
    return shapes_manifest


def read_shapes_manifest(root: StrPath) -> dict[str, Any]:
    """Load OUT/deepi2i_shapes.json, e.g. to re-render ground-truth translations for evaluation."""
    path = Path(root) / SHAPES_MANIFEST_NAME
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: {root} was not written by `deepi2i shapes`")
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != SHAPES_FORMAT:
        raise ValueError(f"{path} is not a deepi2i shapes manifest")
    return data
