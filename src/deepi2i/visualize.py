"""The paper's pictures: labelled translation grids (Figs. 5, 14-16), interpolation strips and GIFs
(App. D, Fig. 8), t-SNE maps of translations (App. H, Figs. 19-20) and metric curves (Fig. 2b).

Grids and strips are drawn with Pillow so their pixel size is exact and predictable; the t-SNE map
and the curves use matplotlib's Agg canvas (no display needed). matplotlib and scikit-learn are
imported only by the functions that need them.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from deepi2i._io import StrPath, atomic_write
from deepi2i.data.images import to_uint8  # re-exported: callers import it from here too

TEXT_MARGIN = 3  # pixels above and below a header label


def _as_uint8(x: Tensor) -> Tensor:
    return x.cpu() if x.dtype == torch.uint8 else to_uint8(x.cpu())


def to_pil(x: Tensor) -> Image.Image:
    """One [3, H, W] image (uint8, or float in [-1, 1]) -> PIL RGB."""
    return TF.to_pil_image(_as_uint8(x))


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default()


def header_height() -> int:
    """Height in pixels of the label row that `labelled_grid` adds on top when it has labels."""
    return int(_font().getbbox("Ag")[3]) + 2 * TEXT_MARGIN


def _fit(draw: ImageDraw.ImageDraw, text: str, width: int) -> str:
    """`text` shortened with '..' until it fits `width` pixels (long class names in narrow columns)."""
    font = _font()
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "..", font=font) > width:
        text = text[:-1]
    return text + ".." if text else ""


def labelled_grid(cells: Tensor, headers: Sequence[tuple[str, int]] | None = None, padding: int = 2) -> Image.Image:
    """cells [rows, cols, 3, R, R] -> one image on white, with optional column headers (label, span).

    Size: width = padding + cols * (R + padding); height = that for rows, plus `header_height()`
    when there are headers. Header spans must add up to `cols`.
    """
    if cells.dim() != 5 or cells.shape[2] != 3:
        raise ValueError(f"cells must be [rows, cols, 3, H, W], got {list(cells.shape)}")
    rows, cols, _, h, w = cells.shape
    if headers is not None and sum(span for _, span in headers) != cols:
        raise ValueError(f"header spans add up to {sum(s for _, s in headers)}, the grid has {cols} columns")
    top = header_height() if headers else 0
    canvas = Image.new("RGB", (padding + cols * (w + padding), top + padding + rows * (h + padding)), "white")
    pixels = _as_uint8(cells)
    for r in range(rows):
        for c in range(cols):
            canvas.paste(
                TF.to_pil_image(pixels[r, c]),
                (padding + c * (w + padding), top + padding + r * (h + padding)),
            )
    if headers:
        draw = ImageDraw.Draw(canvas)
        font = _font()
        col = 0
        for label, span in headers:
            left = padding + col * (w + padding)
            width = span * (w + padding) - padding
            text = _fit(draw, label, width)
            x = left + (width - draw.textlength(text, font=font)) / 2
            draw.text((x, TEXT_MARGIN), text, fill="black", font=font)
            col += span
    return canvas


def translation_grid(
    inputs: Tensor, outputs: Tensor, class_names: Sequence[str] | None = None, padding: int = 2
) -> Image.Image:
    """The paper's Fig. 5 layout: each input in the first column, then its translations per class.

    inputs [N, 3, R, R]; outputs [N, T, S, 3, R, R] (T targets, S samples each, side by side under
    one class header). uint8 or float in [-1, 1]. `class_names` (T of them) label the columns.
    """
    if outputs.dim() != 6 or outputs.shape[0] != inputs.shape[0] or outputs.shape[3:] != inputs.shape[1:]:
        raise ValueError(
            f"outputs {list(outputs.shape)} do not match inputs {list(inputs.shape)} as [N, T, S, 3, R, R]"
        )
    n, t, s = outputs.shape[:3]
    cells = torch.cat([_as_uint8(inputs)[:, None], _as_uint8(outputs).reshape(n, t * s, *outputs.shape[3:])], 1)
    headers = None
    if class_names is not None:
        if len(class_names) != t:
            raise ValueError(f"{len(class_names)} class names for {t} target columns")
        headers = [("input", 1)] + [(name, s) for name in class_names]
    return labelled_grid(cells, headers, padding)


def interpolation_labels(start: str, end: str, steps: int) -> list[str]:
    """Column labels of an interpolation strip: the class names at the ends, the weights between."""
    weights = np.linspace(0, 1, steps)
    return [start] + [f"{w:.2f}" for w in weights[1:-1]] + [end]


def interpolation_strip(
    image: Tensor, frames: Tensor, labels: Sequence[str] | None = None, padding: int = 2
) -> Image.Image:
    """Fig. 8's row: the input, then the K frames of a class-embedding interpolation.

    image [3, R, R], frames [K, 3, R, R]; `labels` (K of them) head the frame columns.
    """
    if frames.dim() != 4 or frames.shape[1:] != image.shape:
        raise ValueError(f"frames {list(frames.shape)} do not match the input {list(image.shape)} as [K, 3, R, R]")
    cells = torch.cat([_as_uint8(image)[None], _as_uint8(frames)])[None]
    headers = None
    if labels is not None:
        if len(labels) != frames.shape[0]:
            raise ValueError(f"{len(labels)} labels for {frames.shape[0]} frames")
        headers = [("input", 1)] + [(label, 1) for label in labels]
    return labelled_grid(cells, headers, padding)


def save_gif(frames: Tensor, path: StrPath, duration_ms: int = 120, boomerang: bool = True) -> Path:
    """Animated GIF of frames [K, 3, R, R] that loops forever; `boomerang` plays A -> B -> A smoothly."""
    images = [to_pil(f) for f in frames]
    if boomerang and len(images) > 2:
        images = images + images[-2:0:-1]
    path = Path(path)
    atomic_write(
        path,
        lambda f: images[0].save(
            f, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0
        ),
    )
    return path


# ---- t-SNE (Appendix H) ----------------------------------------------------------------------


def default_perplexity(n: int) -> float:
    """scikit-learn's 30, lowered for small sets: t-SNE needs perplexity < n (here at most (n - 1) / 3)."""
    return min(30.0, (n - 1) / 3)


def tsne_embed(images: Tensor, perplexity: float | None = None, pca_dim: int = 50, seed: int = 0) -> np.ndarray:
    """images [n, ...] -> 2-D points [n, 2]: PCA of the pixels to `pca_dim`, then t-SNE (as App. H)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    n = images.shape[0]
    if n < 4:
        raise ValueError(f"t-SNE needs at least 4 images, got {n}")
    perplexity = default_perplexity(n) if perplexity is None else perplexity
    if not 0 < perplexity < n:
        raise ValueError(f"perplexity must be in (0, {n}) for {n} images, got {perplexity}")
    features = images.reshape(n, -1).float().cpu().numpy()
    dims = min(pca_dim, n, features.shape[1])
    reduced = PCA(n_components=dims, random_state=seed).fit_transform(features)
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return np.asarray(tsne.fit_transform(reduced), dtype=np.float64)


def tsne_plot(
    points: np.ndarray,
    thumbnails: Tensor | Sequence[Image.Image],
    path: StrPath,
    size_px: int = 1200,
    thumb_frac: float = 0.06,
    title: str | None = None,
) -> Path:
    """Draw each thumbnail at its 2-D point (Figs. 19-20) into a size_px x size_px PNG.

    thumbnails: uint8/float [n, 3, H, W] or PIL images (e.g. input|output pairs, twice as wide).
    `thumb_frac` is a thumbnail's height as a fraction of the plot's side.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) != len(thumbnails):
        raise ValueError(
            f"need one 2-D point per thumbnail, got points {list(pts.shape)}, {len(thumbnails)} thumbnails"
        )
    span = np.ptp(pts, axis=0)
    pts = (pts - pts.min(axis=0)) / np.where(span > 0, span, 1.0)
    arrays = [
        np.asarray(t) if isinstance(t, Image.Image) else _as_uint8(t).permute(1, 2, 0).numpy() for t in thumbnails
    ]

    dpi = 100
    fig = Figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.96 if title else 1.0))
    for (x, y), arr in zip(pts, arrays, strict=True):
        h = thumb_frac
        w = h * arr.shape[1] / arr.shape[0]
        ax.imshow(arr, extent=(x - w / 2, x + w / 2, y - h / 2, y + h / 2), interpolation="antialiased")
    margin = thumb_frac
    ax.set_xlim(-margin * 1.5, 1 + margin * 1.5)
    ax.set_ylim(-margin, 1 + margin)
    ax.set_aspect("auto")
    ax.axis("off")
    if title:
        fig.suptitle(title, y=0.99, fontsize=12)
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi, facecolor="white"))
    return path


# ---- metric curves (Fig. 2b) -----------------------------------------------------------------


def read_jsonl(path: StrPath) -> list[dict[str, Any]]:
    """Rows of a JSONL log; a bad line is an error naming file and line (a log is never half-trusted)."""
    path = Path(path)
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number}: not valid JSON ({err.msg})") from err
            if not isinstance(row, Mapping):
                raise ValueError(f"{path}:{number}: expected a JSON object per line")
            rows.append(dict(row))
    return rows


def metric_series(rows: Sequence[Mapping[str, Any]], key: str, x_key: str = "kimg") -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of every row that has both `x_key` and a finite number under `key`, sorted by x.

    Metrics are evaluated less often than losses are logged, so rows without the key are normal.
    """
    xs, ys = [], []
    for row in rows:
        x, y = row.get(x_key), row.get(key)
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(y, bool) and math.isfinite(y):
            xs.append(float(x))
            ys.append(float(y))
    order = np.argsort(xs, kind="stable")
    return np.asarray(xs)[order], np.asarray(ys)[order]


def smooth_ema(y: np.ndarray, weight: float) -> np.ndarray:
    """Exponential moving average (TensorBoard-style); `weight` 0 leaves the curve as it is."""
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out, last = np.empty_like(y), None
    for i, v in enumerate(y):
        last = v if last is None else weight * last + (1 - weight) * v
        out[i] = last
    return out


def plot_curves(
    logs: StrPath | Sequence[StrPath],
    keys: Sequence[str],
    path: StrPath,
    labels: Sequence[str] | None = None,
    smooth: float = 0.0,
    size_px: tuple[int, int] = (800, 500),
) -> Path:
    """Plot metrics against kimg from JSONL run logs (e.g. mFID of scratch vs pretrained, Fig. 2b).

    One panel per key, one line per log; a key that no log has is an error listing the keys found.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    log_paths = [Path(logs)] if isinstance(logs, (str, os.PathLike)) else [Path(p) for p in logs]
    if not log_paths or not keys:
        raise ValueError("plot_curves needs at least one log and one key")
    if labels is not None and len(labels) != len(log_paths):
        raise ValueError(f"{len(labels)} labels for {len(log_paths)} logs")
    names = list(labels) if labels is not None else _log_labels(log_paths)
    all_rows = [read_jsonl(p) for p in log_paths]
    if not any("kimg" in row for rows in all_rows for row in rows):
        raise ValueError(f"no row has 'kimg' in {', '.join(map(str, log_paths))}")
    smooth_ema(np.zeros(1), smooth)  # validate before drawing

    dpi = 100
    fig = Figure(figsize=(size_px[0] / dpi, size_px[1] / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(keys), 1, sharex=True, squeeze=False)[:, 0]
    for ax, key in zip(axes, keys, strict=True):
        drawn = False
        for rows, name in zip(all_rows, names, strict=True):
            x, y = metric_series(rows, key)
            if len(x) == 0:
                continue
            drawn = True
            if smooth > 0:
                (line,) = ax.plot(x, y, alpha=0.25)
                ax.plot(x, smooth_ema(y, smooth), color=line.get_color(), label=name)
            else:
                ax.plot(x, y, marker="." if len(x) < 30 else None, label=name)
        if not drawn:
            found = sorted({k for rows in all_rows for row in rows for k in row} - {"kimg"})
            raise ValueError(f"metric {key!r} is in none of the logs; keys found: {', '.join(found) or 'none'}")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        if len(log_paths) > 1:
            ax.legend()
    axes[-1].set_xlabel("kimg")
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi, facecolor="white"))
    return path


def _log_labels(paths: Sequence[Path]) -> list[str]:
    """Run-folder names when they tell the logs apart, else the paths."""
    parents = [p.parent.name or p.stem for p in paths]
    return parents if len(set(parents)) == len(parents) else [str(p) for p in paths]
