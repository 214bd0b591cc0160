"""Differentiable augmentation of the discriminator's inputs (not the paper's; docs/deviations.md).

On ~45 images per class the discriminator memorises its real images: the shipped Shapes model's D
names the class of its own training images 99% of the time and of unseen images of the same
classes 66% (docs/results/shapes.md), so it stops teaching the generator class identity on new
inputs. DiffAugment (Zhao et al., NeurIPS 2020) shows D every real and fake image through the same
random, differentiable transforms; the generator still learns to draw un-augmented images. Only the
adversarial term sees augmented images: the reconstruction term (Eq. 3) compares the translation
with its input as they are.

The random draws are passed in (`u`, uniform in [0, 1), one row per image) so that they come from
the training loop's seeded stream and a resumed run repeats them exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

# DiffAugment's policies, then two of ADA's (Karras et al., NeurIPS 2020). Applied to every image, as here, a flip or
# a quarter turn "leaks" (the generator may learn to draw mirrored or turned images) unless the data already holds
# each image's mirror / turns as often as the image itself. Faces: flip only. Shapes: neither, since poses are turned
# by at most ±45° and crescents, arrows, hearts and triangles change under them (docs/results/shapes.md).
AUGMENTS = ("translation", "cutout", "color", "flip", "rotate90")
_DRAWS = {"translation": 2, "cutout": 2, "color": 3, "flip": 1, "rotate90": 1}  # uniform draws per image


def _columns(name: str) -> slice:
    """The columns of `u` that `name` reads: fixed by AUGMENTS' order, so adding a policy changes no other's draws."""
    start = sum(_DRAWS[a] for a in AUGMENTS[: AUGMENTS.index(name)])
    return slice(start, start + _DRAWS[name])


def draws(policy: Sequence[str]) -> int:
    """Columns of `u` the training loop draws for a policy: at least 4, as before color, flip and rotate90
    existed, so a translation or cutout run draws the same stream as it always did."""
    return max(4, *(_columns(a).stop for a in policy))


def diff_augment(x: Tensor, u: Tensor, policy: Sequence[str]) -> Tensor:
    """x [B, C, R, R], u [B, ≥ draws(policy)] in [0, 1) -> x augmented [B, C, R, R] (differentiable in x).

    Applied in DiffAugment's order (colour, then geometry, then cutout):
    color: DiffAugment's brightness (add up to ±0.5), saturation (×0-2) and contrast (×0.5-1.5);
    flip: mirror left-right with probability 1/2; rotate90: 0-3 quarter turns, each with probability 1/4;
    translation: shift by up to R/8 pixels in each direction, zero filled (DiffAugment's ratio 1/8);
    cutout: zero a square of side R/2 centred anywhere in the image (clipped at the border).
    """
    unknown = set(policy) - set(AUGMENTS)
    if unknown:
        raise ValueError(f"unknown augmentation {sorted(unknown)}; choose from {', '.join(AUGMENTS)}")
    if u.ndim != 2 or u.shape[0] != x.shape[0] or u.shape[1] < draws(policy):
        raise ValueError(f"u must be [{x.shape[0]}, ≥{draws(policy)}], got {list(u.shape)}")
    b, _, h, w = x.shape
    u = u.to(x.device)
    fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    if "color" in policy:
        c = u[:, _columns("color"), None, None]  # [B, 3, 1, 1]: brightness, saturation, contrast
        x = x + (c[:, :1] - 0.5)
        grey = x.mean(dim=1, keepdim=True)  # [B, 1, H, W]
        x = (x - grey) * (2 * c[:, 1:2]) + grey
        mean = x.mean(dim=(1, 2, 3), keepdim=True)  # [B, 1, 1, 1]
        x = (x - mean) * (c[:, 2:3] + 0.5) + mean
    if "flip" in policy:
        mirror = (u[:, _columns("flip")] < 0.5)[:, :, None, None]  # [B, 1, 1, 1]
        x = torch.where(mirror, x.flip(3), x)
    if "rotate90" in policy:
        if h != w:
            raise ValueError(f"rotate90 needs square images, got {h}×{w}")
        turns = (u[:, _columns("rotate90")] * 4).floor().long().clamp(0, 3)[:, :, None, None]  # [B, 1, 1, 1]
        x = sum((turns == k) * torch.rot90(x, k, (2, 3)) for k in range(4))
    if "translation" in policy:
        tu = u[:, _columns("translation")]
        pad = max(h, w) // 8
        shift = ((tu * (2 * pad + 1)).floor().long() - pad).clamp(-pad, pad)  # [B, 2] in [-pad, pad]
        rows = torch.arange(h, device=x.device)[None] + pad - shift[:, :1]  # [B, H] rows of the padded image
        cols = torch.arange(w, device=x.device)[None] + pad - shift[:, 1:]  # [B, W]
        padded = torch.nn.functional.pad(x, [pad, pad, pad, pad])  # [B, C, H + 2p, W + 2p]
        batch = torch.arange(b, device=x.device)[:, None, None]
        x = padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # [B, H, W, C] -> [B, C, H, W]
    if "cutout" in policy:
        cu = u[:, _columns("cutout")]
        ys = torch.arange(h, device=x.device)[None, :, None]  # [1, H, 1]
        xs = torch.arange(w, device=x.device)[None, None, :]  # [1, 1, W]
        top = (cu[:, 0] * h).floor().long()[:, None, None] - h // 4  # [B, 1, 1]: the square's first row
        left = (cu[:, 1] * w).floor().long()[:, None, None] - w // 4
        cut = (ys >= top) & (ys < top + h // 2) & (xs >= left) & (xs < left + w // 2)  # [B, H, W]
        x = x * (~cut)[:, None].to(x.dtype)
    return x.contiguous(memory_format=fmt)  # the layout it came in (--channels-last)
