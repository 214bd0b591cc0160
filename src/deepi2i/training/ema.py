"""Exponential moving average of the generator, as BigGAN-PyTorch keeps G_ema.

Like BigGAN-PyTorch, every floating-point state entry is averaged, buffers included (spectral
norm u/sigma, batch-norm running statistics); integer entries are copied. The EMA copy is what
the exports and sample grids use, and what a later DeepI2I transfer starts from.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import Tensor, nn


class EMA:
    def __init__(self, module: nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, source: nn.Module, decay: float | None = None) -> None:
        """target = decay * target + (1 - decay) * source (decay 0: copy)."""
        d = self.decay if decay is None else decay
        target = self.module.state_dict()
        for (key, t), (src_key, s) in zip(target.items(), source.state_dict().items(), strict=True):
            if key != src_key:
                raise ValueError(f"EMA and source state differ at {key!r} vs {src_key!r}")
            if t.is_floating_point():
                t.mul_(d).add_(s.detach(), alpha=1.0 - d)
            else:
                t.copy_(s)

    def state_dict(self) -> dict[str, Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: Mapping[str, Tensor]) -> None:
        self.module.load_state_dict(state, strict=True)
