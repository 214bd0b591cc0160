"""Pose and style preservation on the Shapes benchmark, against the re-rendered ideal translation.

Every Shapes input has known parameters, so its ideal translation into class c is
`render(params, shape=c)`: same centroid, size, angle and colours, other shape. A translation is
segmented without using those colours (so a model that changes colours is still scored on
pose): the background is fitted as an affine colour ramp (a + b·x + c·y per channel, exact for
the benchmark's plain and linear-gradient backgrounds) to the image border, which never holds
the shape (the enclosing circle always fits inside the image); a pixel is foreground when its
colour is farther from that fit than an Otsu threshold on the distances (at least
`min_contrast`, so a blank image gives an empty mask rather than segmented noise).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from deepi2i.data.shapes import ShapeParams, mask_centroid, render_array, shape_mask

POSE_KEYS = ("iou", "center_error_px", "fg_color_error", "bg_color_error", "ideal_l1", "empty")


def fit_background(image: np.ndarray, border: int = 2) -> np.ndarray:
    """Least-squares affine colour ramp fitted to the `border`-pixel frame: float [R, R, 3] in [0, 1]."""
    img = _as_float(image)
    h, w, _ = img.shape
    ys, xs = np.mgrid[0:h, 0:w]
    frame = np.zeros((h, w), dtype=bool)
    frame[:border], frame[-border:], frame[:, :border], frame[:, -border:] = True, True, True, True
    design = np.stack([np.ones(h * w), (xs.ravel() + 0.5) / w, (ys.ravel() + 0.5) / h], axis=1)
    coef, *_ = np.linalg.lstsq(design[frame.ravel()], img.reshape(-1, 3)[frame.ravel()], rcond=None)
    return (design @ coef).reshape(h, w, 3)


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """The threshold maximising the between-class variance of a 1-D sample (Otsu 1979)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        return hi
    hist, edges = np.histogram(v, bins=bins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mean0 = m0 / np.maximum(w0, 1)
    mean1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mean0 - mean1) ** 2
    return float(edges[1:][int(np.argmax(between))])


def segment_foreground(image: np.ndarray, border: int = 2, min_contrast: float = 0.1) -> np.ndarray:
    """bool [R, R]: pixels whose RGB distance (in [0, 1] units) to the fitted background exceeds
    max(Otsu threshold, `min_contrast`)."""
    img = _as_float(image)
    dist = np.linalg.norm(img - fit_background(img, border), axis=-1)
    return dist > max(otsu_threshold(dist), min_contrast)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


@dataclass(frozen=True)
class PoseScores:
    """One translation against its ideal: mask IoU, centroid distance in pixels, colour errors
    (distance of mean RGB in 0-255 units over agreed foreground / background) and mean |pixel error|."""

    iou: float
    center_error_px: float
    fg_color_error: float
    bg_color_error: float
    ideal_l1: float
    empty: bool


def centre_offset_px(mask: np.ndarray, ideal_mask: np.ndarray) -> tuple[float, float]:
    """(x, y) in pixels from the ideal mask's centroid to a non-empty mask's (x right, y down)."""
    (ax, ay), (bx, by) = mask_centroid(mask), mask_centroid(ideal_mask)
    return (ax - bx) * mask.shape[1], (ay - by) * mask.shape[0]


def pose_scores(translation: np.ndarray, params: ShapeParams | Mapping[str, Any], target_shape: str) -> PoseScores:
    """Score a translation (uint8 [R, R, 3]) of the image with `params` into class `target_shape`."""
    p = params if isinstance(params, ShapeParams) else ShapeParams.from_dict(params)
    r = translation.shape[0]
    p = replace(p, resolution=r) if p.resolution != r else p
    ideal = render_array(p, shape=target_shape).astype(np.float64)
    ideal_mask = shape_mask(p, target_shape)
    out = translation.astype(np.float64)
    seg = segment_foreground(translation)
    empty = not seg.any()
    center = math.nan if empty else math.hypot(*centre_offset_px(seg, ideal_mask))
    return PoseScores(
        iou=mask_iou(seg, ideal_mask),
        center_error_px=center,
        fg_color_error=_mean_colour_error(out, ideal, seg & ideal_mask),
        bg_color_error=_mean_colour_error(out, ideal, ~seg & ~ideal_mask),
        ideal_l1=float(np.abs(out - ideal).mean()),
        empty=empty,
    )


class PoseAccumulator:
    """Running means of `PoseScores` (NaN-valued scores, e.g. the centre of an empty mask, skipped)."""

    def __init__(self) -> None:
        self.sums = dict.fromkeys(POSE_KEYS, 0.0)
        self.counts = dict.fromkeys(POSE_KEYS, 0)

    def add(self, s: PoseScores) -> None:
        for k in POSE_KEYS:
            v = float(getattr(s, k))
            if not math.isnan(v):
                self.sums[k] += v
                self.counts[k] += 1

    def means(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] if self.counts[k] else math.nan for k in POSE_KEYS}


def _mean_colour_error(out: np.ndarray, ideal: np.ndarray, region: np.ndarray) -> float:
    if not region.any():
        return math.nan
    return float(np.linalg.norm(out[region].mean(axis=0) - ideal[region].mean(axis=0)))


def _as_float(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[-1] != 3:
        raise ValueError(f"expected an RGB image [H, W, 3], got shape {list(img.shape)}")
    return img.astype(np.float64) / 255.0 if img.dtype == np.uint8 else img.astype(np.float64)
