"""Decode one image file into the tensor the model sees.

Training, evaluation and translation of user images all go through `load_image`, so a photo the
user brings is preprocessed exactly like the training data: EXIF orientation applied, converted
to RGB, shorter side resized to the model resolution (antialiased), centre-cropped, scaled to
[-1, 1].
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torchvision.transforms.v2 import functional as TF

from deepi2i._io import StrPath

# Transparent pixels are composited onto this colour: what is under alpha 0 is undefined (often
# black garbage), so a fixed, documented background keeps the decode deterministic.
ALPHA_BACKGROUND = (255, 255, 255)

_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


class ImageLoadError(ValueError):
    """A file that cannot be used as an image: not an image, truncated, corrupt, or a decompression bomb."""


def _check_pixels(img: Image.Image) -> None:
    """Pillow only warns between 1x and 2x MAX_IMAGE_PIXELS; with threads the warning filter can
    race, so check the size explicitly too."""
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and img.width * img.height > limit:
        raise ImageLoadError(
            f"decompression bomb: {img.width}x{img.height} pixels exceeds the limit of {limit} "
            "(PIL.Image.MAX_IMAGE_PIXELS)"
        )


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB with the colours a viewer would show."""
    if img.mode == "RGB":
        return img
    if img.mode in _SIXTEEN_BIT_MODES:
        # Pillow's own I;16 -> L conversion clips at 255 instead of scaling the 16-bit range.
        values = np.asarray(img, dtype=np.float64) / 257.0
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L").convert("RGB")
    try:
        if img.mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        if img.mode in ("RGBA", "LA", "PA"):
            rgba = img.convert("RGBA")
            background = Image.new("RGBA", rgba.size, ALPHA_BACKGROUND + (255,))
            return Image.alpha_composite(background, rgba).convert("RGB")
        return img.convert("RGB")
    except ValueError as err:
        raise ImageLoadError(f"unsupported pixel mode {img.mode} ({err})") from err


def open_rgb(path: StrPath, draft_size: int | None = None, *, exif_transpose: bool = True) -> Image.Image:
    """Fully decode `path` into an RGB Pillow image, raising ImageLoadError for any unusable file.

    Decompression bombs (Pillow's warning and error) are errors here, not warnings: a huge image
    in a training folder is almost always a mistake and would exhaust memory in a worker.
    `draft_size` lets JPEG decode at a reduced scale that still covers `draft_size` on the shorter
    side (faster; same result every time). `exif_transpose=False` keeps the stored pixel
    orientation, which is what dataset bounding boxes refer to.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                _check_pixels(img)
                if draft_size is not None:
                    img.draft(None, (draft_size, draft_size))
                img.load()
                if exif_transpose:
                    img = ImageOps.exif_transpose(img)
                return to_rgb(img)
    except FileNotFoundError:
        raise
    except ImageLoadError as err:
        raise ImageLoadError(f"{path}: {err}") from err
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageLoadError(f"{path}: decompression bomb: {err}") from err
    except Image.UnidentifiedImageError as err:
        raise ImageLoadError(f"{path}: not an image Pillow can read") from err
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise ImageLoadError(f"{path}: corrupt or truncated image ({err})") from err


def resize_center_crop(img: Image.Image | torch.Tensor, resolution: int) -> torch.Tensor:
    """Shorter side to `resolution` (antialiased bilinear), then centre crop: uint8 [3, R, R]."""
    x = TF.pil_to_tensor(img) if isinstance(img, Image.Image) else img
    x = TF.resize(x, [resolution], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
    return TF.center_crop(x, [resolution, resolution])


def load_image_uint8(path: StrPath, resolution: int) -> torch.Tensor:
    """`load_image` before scaling to floats: uint8 [3, R, R], the form the in-memory cache keeps."""
    if resolution < 1:
        raise ValueError(f"resolution must be a positive number of pixels, got {resolution}")
    return resize_center_crop(open_rgb(path, draft_size=resolution), resolution)


def to_model_range(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], the range the generator's tanh produces."""
    return x.to(torch.float32).div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> uint8 in [0, 255] (the exact inverse of `to_model_range`)."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def load_image(path: StrPath, resolution: int) -> torch.Tensor:
    """Decode any image Pillow reads into float32 [3, R, R] in [-1, 1] (same preprocessing as training)."""
    return to_model_range(load_image_uint8(path, resolution))
