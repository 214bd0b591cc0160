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

AUGMENTS = ("translation", "cutout")  # DiffAugment's policies for shape-carrying images (no colour)
DRAWS_PER_IMAGE = 4  # translation: dy, dx; cutout: centre y, x


def diff_augment(x: Tensor, u: Tensor, policy: Sequence[str]) -> Tensor:
    """x [B, C, R, R], u [B, 4] in [0, 1) -> x augmented [B, C, R, R] (differentiable in x).

    translation: shift by up to R/8 pixels in each direction, zero filled (DiffAugment's ratio 1/8);
    cutout: zero a square of side R/2 centred anywhere in the image (clipped at the border).
    """
    unknown = set(policy) - set(AUGMENTS)
    if unknown:
        raise ValueError(f"unknown augmentation {sorted(unknown)}; choose from {', '.join(AUGMENTS)}")
    if u.shape != (x.shape[0], DRAWS_PER_IMAGE):
        raise ValueError(f"u must be [{x.shape[0]}, {DRAWS_PER_IMAGE}], got {list(u.shape)}")
    b, _, h, w = x.shape
    u = u.to(x.device)
    fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    if "translation" in policy:
        pad = max(h, w) // 8
        shift = ((u[:, :2] * (2 * pad + 1)).floor().long() - pad).clamp(-pad, pad)  # [B, 2] in [-pad, pad]
        rows = torch.arange(h, device=x.device)[None] + pad - shift[:, :1]  # [B, H] rows of the padded image
        cols = torch.arange(w, device=x.device)[None] + pad - shift[:, 1:]  # [B, W]
        padded = torch.nn.functional.pad(x, [pad, pad, pad, pad])  # [B, C, H + 2p, W + 2p]
        batch = torch.arange(b, device=x.device)[:, None, None]
        x = padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # [B, H, W, C] -> [B, C, H, W]
    if "cutout" in policy:
        ys = torch.arange(h, device=x.device)[None, :, None]  # [1, H, 1]
        xs = torch.arange(w, device=x.device)[None, None, :]  # [1, 1, W]
        top = (u[:, 2] * h).floor().long()[:, None, None] - h // 4  # [B, 1, 1]: the square's first row
        left = (u[:, 3] * w).floor().long()[:, None, None] - w // 4
        cut = (ys >= top) & (ys < top + h // 2) & (xs >= left) & (xs < left + w // 2)  # [B, H, W]
        x = x * (~cut)[:, None].to(x.dtype)
    return x.contiguous(memory_format=fmt)  # the layout it came in (--channels-last)
