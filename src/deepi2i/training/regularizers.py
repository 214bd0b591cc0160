"""BigGAN's orthogonal regularisation, applied to gradients as BigGAN-PyTorch's `utils.ortho` does."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


@torch.no_grad()
def add_ortho_grad_(module: nn.Module, strength: float, skip: Iterable[nn.Parameter] = ()) -> None:
    """grad += strength * 2 (W W^T ⊙ (1 - I)) W for every weight with ndim >= 2 except `skip`.

    BigGAN-PyTorch skips the shared class embedding; call after backward (and after unscaling
    fp16 gradients), before the optimizer step.
    """
    skipped = {id(p) for p in skip}
    for p in module.parameters():
        if p.ndim < 2 or p.grad is None or id(p) in skipped:
            continue
        w = p.view(p.shape[0], -1)  # [out, in * k * k]
        off_diag = 1.0 - torch.eye(w.shape[0], device=w.device, dtype=w.dtype)
        p.grad.add_((2 * ((w @ w.t()) * off_diag) @ w).view_as(p), alpha=strength)
