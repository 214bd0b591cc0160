"""Encoder Υ: the BigGAN discriminator's trunk, returning its feature pyramid (paper §3.2).

Its state_dict keys equal the discriminator's minus the head (`linear`, `embed`), so a
discriminator checkpoint initialises it directly, as the paper's transfer does.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from deepi2i.config import DiscriminatorConfig
from deepi2i.networks.biggan import build_trunk, run_trunk
from deepi2i.networks.layers import init_weights


class Encoder(nn.Module):
    def __init__(self, config: DiscriminatorConfig, levels: Sequence[int], relu_last_tap: bool = True) -> None:
        super().__init__()
        self.config = config
        self.levels = tuple(levels)
        self.relu_last_tap = relu_last_tap
        # Blocks after the deepest tap never influence the output: keep them only so that a
        # discriminator checkpoint loads unchanged (the official code copies the whole D).
        self.blocks = build_trunk(config)
        init_weights(self, config.init)

    def forward(self, x: Tensor) -> dict[int, Tensor]:
        """x [B, 3, R, R] -> {resolution: [B, C_r, r, r]} for every level."""
        _, feats = run_trunk(self.blocks, self.config, x, self.levels, self.relu_last_tap)
        return feats
