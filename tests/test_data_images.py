"""load_image: every Pillow mode becomes RGB in [-1, 1] with the right colours; bad files are clear errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepi2i.data import ImageLoadError, load_image


def _unit(rgb: tuple[int, int, int]) -> torch.Tensor:
    return torch.tensor(rgb, dtype=torch.float32) / 127.5 - 1


def _centre_colour(x: torch.Tensor) -> torch.Tensor:
    return x[:, x.shape[1] // 2, x.shape[2] // 2]


def test_rgb_png_is_float_3_channel_in_model_range(tmp_path: Path) -> None:
    Image.new("RGB", (12, 12), (255, 0, 64)).save(tmp_path / "a.png")
    x = load_image(tmp_path / "a.png", 8)
    assert x.shape == (3, 8, 8) and x.dtype == torch.float32
    assert torch.allclose(x[:, 0, 0], _unit((255, 0, 64)))
    assert x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize(
    ("mode", "colour", "expected"),
    [
        ("L", 64, (64, 64, 64)),
        ("RGBA", (0, 0, 255, 255), (0, 0, 255)),
        ("RGBA", (0, 0, 255, 0), (255, 255, 255)),  # fully transparent -> documented white background
        ("LA", (200, 255), (200, 200, 200)),
    ],
)
def test_modes_convert_to_expected_rgb(
    tmp_path: Path, mode: str, colour: object, expected: tuple[int, int, int]
) -> None:
    Image.new(mode, (10, 10), colour).save(tmp_path / "a.png")
    assert torch.allclose(_centre_colour(load_image(tmp_path / "a.png", 6)), _unit(expected), atol=1e-6)


def test_palette_image_uses_palette_colours_and_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (10, 10), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    img.paste(1, (5, 0, 10, 10))
    img.save(tmp_path / "p.png")
    x = load_image(tmp_path / "p.png", 10)
    assert torch.allclose(x[:, 5, 1], _unit((255, 0, 0))) and torch.allclose(x[:, 5, 8], _unit((0, 255, 0)))
    img.save(tmp_path / "pt.png", transparency=0)
    x = load_image(tmp_path / "pt.png", 10)
    assert torch.allclose(x[:, 5, 1], _unit((255, 255, 255))) and torch.allclose(x[:, 5, 8], _unit((0, 255, 0)))


def test_cmyk_jpeg_loads_as_rgb(tmp_path: Path) -> None:
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=95)
    assert torch.allclose(_centre_colour(load_image(tmp_path / "c.jpg", 8)), _unit((255, 0, 0)), atol=0.05)


def test_16_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.full((8, 8), 32896, dtype=np.uint16)  # 50% grey in 16 bits
    values[:, 4:] = 65535
    Image.fromarray(values).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode == "I;16"
    x = load_image(tmp_path / "g16.png", 8)
    assert torch.allclose(x[:, 4, 0], _unit((128, 128, 128))), "mid grey must stay mid grey"
    assert torch.allclose(x[:, 4, 7], _unit((255, 255, 255)))


def test_resize_shorter_side_then_centre_crop(tmp_path: Path) -> None:
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (20, 0, 40, 20))
    img.paste((0, 255, 0), (0, 0, 5, 20))  # lies outside the centre crop
    img.save(tmp_path / "wide.png")
    x = load_image(tmp_path / "wide.png", 16)
    assert x.shape == (3, 16, 16)
    assert torch.allclose(x[:, 8, 0], _unit((255, 0, 0)), atol=0.02)
    assert torch.allclose(x[:, 8, 15], _unit((0, 0, 255)), atol=0.02)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (20, 10), (255, 0, 0))
    img.paste((0, 0, 255), (10, 0, 20, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display = rotate 90 degrees clockwise
    img.save(tmp_path / "rot.png", exif=exif)
    x = load_image(tmp_path / "rot.png", 10)
    assert torch.allclose(x[:, 0, 5], _unit((255, 0, 0)), atol=0.02)
    assert torch.allclose(x[:, 9, 5], _unit((0, 0, 255)), atol=0.02)


def _noise_image(size: int = 64) -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files_raise_image_load_error(tmp_path: Path, fmt: str) -> None:
    buf = io.BytesIO()
    _noise_image().save(buf, format=fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageLoadError, match="truncated"):
        load_image(path, 16)


def test_non_image_raises_image_load_error(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("not an image at all")
    with pytest.raises(ImageLoadError, match="not an image"):
        load_image(tmp_path / "notes.png", 16)


@pytest.mark.parametrize("side", [40, 64])  # 1600 px: Pillow only warns; 4096 px: Pillow raises
def test_decompression_bomb_is_an_error_not_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, side: int
) -> None:
    Image.new("RGB", (side, side)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageLoadError, match="decompression bomb"):
        load_image(tmp_path / "bomb.png", 16)


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "nope.png", 16)
