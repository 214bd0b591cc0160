"""The paper's loss terms (Eqs. 1, 3, 4) as plain functions of logits and features, plus one term
of ours (`color_loss` / `palette_loss`, off unless asked for; docs/deviations.md).

Conventions: discriminator logits are [B]; feature pyramids are {resolution: [B, C, r, r]}.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor


def d_loss(real_logits: Tensor, fake_logits: Tensor, kind: str = "hinge") -> Tensor:
    """The discriminator's side of L_adv: hinge (BigGAN, the official code) or Eq. 1's log form."""
    if kind == "hinge":
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
    if kind == "log":  # -[log sigmoid(D(y)) + log(1 - sigmoid(D(ŷ)))], stably
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    raise ValueError(f"unknown adversarial loss {kind!r}; choose 'hinge' or 'log'")


def g_loss(fake_logits: Tensor, kind: str = "hinge") -> Tensor:
    """The generator's side of L_adv (the non-saturating form for 'log', as GANs train it)."""
    if kind == "hinge":
        return -fake_logits.mean()
    if kind == "log":
        return F.softplus(-fake_logits).mean()
    raise ValueError(f"unknown adversarial loss {kind!r}; choose 'hinge' or 'log'")


def reconstruction_loss(
    feats_fake: Mapping[int, Tensor],
    feats_src: Mapping[int, Tensor],
    weights: Mapping[int, float],
    distance: str = "l1",
) -> Tensor:
    """Eq. 3: sum_l alpha_l * mean |Ψ_l(x) - Ψ_l(ŷ)|, each translation against ITS OWN input.

    `distance`: "l1" (the paper) or "mse" (the official code). Sample i of feats_fake is compared
    with sample i of feats_src only; shapes must match exactly (no broadcasting across samples).
    """
    if distance not in ("l1", "mse"):
        raise ValueError(f"unknown reconstruction distance {distance!r}; choose 'l1' or 'mse'")
    if set(feats_fake) != set(feats_src) or not set(weights) >= set(feats_fake):
        raise ValueError(
            f"levels differ: fake {sorted(feats_fake)}, source {sorted(feats_src)}, weights {sorted(weights)}"
        )
    dist = F.l1_loss if distance == "l1" else F.mse_loss
    total = None
    for r, fake in feats_fake.items():
        src = feats_src[r]
        if fake.shape != src.shape:
            raise ValueError(f"level {r}: translation features {list(fake.shape)} vs input features {list(src.shape)}")
        term = weights[r] * dist(fake, src)
        total = term if total is None else total + term
    if total is None:
        raise ValueError("no feature levels given")
    return total


def color_loss(fake: Tensor, src: Tensor, grid: int = 4) -> Tensor:
    """mean |pool(ŷ) - pool(x)| over a `grid` x `grid` average-pooled image: the input's colours and
    coarse layout, each translation against its own input (not the paper's; docs/deviations.md).

    Why: Eq. 3 compares discriminator features, which carry little colour, so a translation drew
    its own colours. Pooled to a few cells, the term says which colours sit where without dictating
    the silhouette the target class needs. Images [B, 3, R, R] -> cells [B, 3, grid, grid].
    """
    if fake.shape != src.shape:
        raise ValueError(f"translation {list(fake.shape)} vs input {list(src.shape)}: shapes must match")
    return F.l1_loss(F.adaptive_avg_pool2d(fake, grid), F.adaptive_avg_pool2d(src, grid))


# Fixed projection directions of the palette term (deterministic: no RNG draw, so resumes stay exact):
# the three channels, their sum (brightness) and the three pairwise differences (hue-like axes).
_PALETTE_DIRECTIONS = F.normalize(
    torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [1, -1, 0], [1, 0, -1], [0, 1, -1]], dtype=torch.float32),
    dim=1,
)


def palette_loss(fake: Tensor, src: Tensor) -> Tensor:
    """Sliced Wasserstein-1 distance between the pixel colours of each translation and of its own
    input, over fixed directions in RGB (not the paper's; docs/deviations.md).

    Why: the cell term (`color_loss`) also says where colours sit, so it fights the new silhouette
    the target class needs. Sorting the projected pixels forgets where every pixel is: the term
    keeps the input's palette (and, weakly, how much of each colour) and nothing of its layout.
    Images [B, 3, R, R] -> projections [B, K, R*R], sorted along the pixels.
    """
    if fake.shape != src.shape:
        raise ValueError(f"translation {list(fake.shape)} vs input {list(src.shape)}: shapes must match")
    d = _PALETTE_DIRECTIONS.to(device=fake.device, dtype=fake.dtype)
    proj_fake = torch.einsum("kc,bcn->bkn", d, fake.flatten(2)).sort(dim=-1).values
    proj_src = torch.einsum("kc,bcn->bkn", d, src.flatten(2)).sort(dim=-1).values
    return F.l1_loss(proj_fake, proj_src)
