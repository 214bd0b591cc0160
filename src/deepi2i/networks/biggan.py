"""BigGAN Generator and projection Discriminator (BigGAN-PyTorch semantics and state_dict keys).

`blocks[i]` is a ModuleList [GBlock or DBlock, optional SelfAttention], exactly as BigGAN-PyTorch
nests them, so a released checkpoint loads with `load_state_dict` and no key renaming.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepi2i.checkpoint import Exportable
from deepi2i.config import BigGANConfig, DiscriminatorConfig, GeneratorConfig
from deepi2i.networks.layers import (
    BatchNorm,
    DBlock,
    GBlock,
    SelfAttention,
    SNConv2d,
    SNEmbedding,
    SNLinear,
    init_weights,
)


class Generator(nn.Module):
    """z (hierarchical chunks) + class -> image in [-1, 1]; optional skips added per resolution.

    `skips` {resolution: [B, C, r, r]} are added to the activation at that resolution: the 4x4
    stem or a block's output (after its attention). DeepI2I passes w_l * adaptor features there.
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = c = config
        cond_dim = c.shared_dim + c.z_chunk
        self.shared = nn.Embedding(c.n_classes, c.shared_dim)
        self.linear = SNLinear(c.z_chunk, c.in_channels[0] * 4 * 4, eps=c.sn_eps)
        self.blocks = nn.ModuleList()
        for in_ch, out_ch, res in zip(c.in_channels, c.out_channels, c.block_resolutions, strict=True):
            stage = nn.ModuleList([GBlock(in_ch, out_ch, cond_dim, sn_eps=c.sn_eps, bn_eps=c.bn_eps)])
            if res in c.attention:
                stage.append(SelfAttention(out_ch, sn_eps=c.sn_eps))
            self.blocks.append(stage)
        self.output_layer = nn.Sequential(
            BatchNorm(c.out_channels[-1]), nn.ReLU(), SNConv2d(c.out_channels[-1], 3, eps=c.sn_eps)
        )
        init_weights(self, c.init)

    def forward(
        self,
        z: Tensor,
        y: Tensor | None = None,
        *,
        embed: Tensor | None = None,
        skips: Mapping[int, Tensor] | None = None,
    ) -> Tensor:
        """z [B, dim_z_used]; y int64 [B] class indices, or `embed` [B, shared_dim] (interpolation)."""
        c = self.config
        if (y is None) == (embed is None):
            raise ValueError("pass exactly one of y (class indices) or embed (class embeddings)")
        if z.dim() != 2 or z.shape[1] != c.dim_z_used:
            raise ValueError(f"z must be [B, {c.dim_z_used}], got {list(z.shape)}")
        if embed is None:
            embed = self.shared(y)  # [B, shared_dim]
        skips = dict(skips or {})
        unknown = set(skips) - {4, *c.block_resolutions}
        if unknown:
            raise ValueError(f"skips at {sorted(unknown)} px: the generator has {[4, *c.block_resolutions]}")
        zs = torch.split(z, c.z_chunk, dim=1)
        conds = [torch.cat([embed, zi], dim=1) for zi in zs[1:]]  # per block [B, shared_dim + z_chunk]
        h = self.linear(zs[0]).view(z.shape[0], -1, 4, 4)  # [B, 16ch, 4, 4]
        h = h + skips[4] if 4 in skips else h
        for stage, cond, res in zip(self.blocks, conds, c.block_resolutions, strict=True):
            h = stage[0](h, cond)  # [B, C, 2r, 2r]
            for attention in stage[1:]:
                h = attention(h)
            h = h + skips[res] if res in skips else h
        return torch.tanh(self.output_layer(h))


def build_trunk(config: DiscriminatorConfig) -> nn.ModuleList:
    """The discriminator's residual trunk (shared by Discriminator and Encoder)."""
    c = config
    blocks = nn.ModuleList()
    for i, (in_ch, out_ch, down, res) in enumerate(
        zip(c.in_channels, c.out_channels, c.downsamples, c.block_resolutions, strict=True)
    ):
        stage = nn.ModuleList([DBlock(in_ch, out_ch, preactivation=i > 0, downsample=down, sn_eps=c.sn_eps)])
        if res in c.attention:
            stage.append(SelfAttention(out_ch, sn_eps=c.sn_eps))
        blocks.append(stage)
    return blocks


def run_trunk(
    blocks: nn.ModuleList, config: DiscriminatorConfig, x: Tensor, levels: Sequence[int], relu_last_tap: bool
) -> tuple[Tensor, dict[int, Tensor]]:
    """Run the trunk; return the last activation and the features {resolution: tensor} at `levels`.

    A level's feature is the output of the LAST block at that resolution (at 128 px: blocks 1, 2,
    3, 5 for 32, 16, 8, 4). With `relu_last_tap`, a tap on the final block is taken after the
    head's ReLU, as BigGAN-PyTorch's in-place ReLU leaves it in the released configuration.
    """
    if x.dim() != 4 or x.shape[1] != 3 or x.shape[2] != config.resolution or x.shape[3] != config.resolution:
        raise ValueError(f"expected images [B, 3, {config.resolution}, {config.resolution}], got {list(x.shape)}")
    taps = {config.tap_block(r): r for r in levels}
    last = len(blocks) - 1
    feats: dict[int, Tensor] = {}
    h = x
    for i, stage in enumerate(blocks):
        for block in stage:
            h = block(h)
        if i in taps:
            feats[taps[i]] = F.relu(h) if (relu_last_tap and i == last) else h
    return h, feats


class Discriminator(nn.Module):
    """Projection discriminator: logits [B] = linear(sum relu(h)) + <embed(y), sum relu(h)>.

    With `y=None` it scores every class at once, logits [B, n_classes]: the projection read as a
    classifier (the class-independent linear term cancels in a softmax), which our class term uses.
    """

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.config = c = config
        self.blocks = build_trunk(c)
        self.linear = SNLinear(c.out_channels[-1], 1, eps=c.sn_eps)
        self.embed = SNEmbedding(c.n_classes, c.out_channels[-1], eps=c.sn_eps)
        init_weights(self, c.init)

    def features(
        self, x: Tensor, y: Tensor | None, levels: Sequence[int], relu_last_tap: bool = True
    ) -> tuple[Tensor, dict[int, Tensor]]:
        """x [B, 3, R, R], y int64 [B] -> (logits [B], features {resolution: [B, C, r, r]} at `levels`).

        One trunk pass gives both: DeepI2I's generator side needs the logits of a translation for
        L_adv and its features for L_rec (Eq. 3) together. y=None: logits [B, n_classes].
        """
        h, feats = run_trunk(self.blocks, self.config, x, levels, relu_last_tap)
        return self._head(h, y), feats

    def forward(self, x: Tensor, y: Tensor | None) -> Tensor:
        """x [B, 3, R, R], y int64 [B] -> logits [B] (y=None: [B, n_classes], every class)."""
        h, _ = run_trunk(self.blocks, self.config, x, (), relu_last_tap=False)
        return self._head(h, y)

    def _head(self, h: Tensor, y: Tensor | None) -> Tensor:
        """The projection head: last trunk activation [B, C, r, r], y [B] -> logits [B] (y=None: [B, n_classes])."""
        h = torch.sum(F.relu(h), dim=[2, 3])  # [B, C]
        if y is None:
            return self.linear(h) + h @ self.embed.sn_weight().t()  # [B, 1] + [B, n_classes]
        return self.linear(h).squeeze(1) + torch.sum(self.embed(y) * h, dim=1)  # [B]


class BigGAN(Exportable, nn.Module):
    """A class-conditional BigGAN pair: the transfer source DeepI2I starts from."""

    def __init__(self, config: BigGANConfig) -> None:
        super().__init__()
        self.config = config
        self.generator = Generator(config.generator)
        self.discriminator = Discriminator(config.discriminator)

    @property
    def class_names(self) -> list[str]:
        names = self.config.class_names
        return list(names) if names is not None else [str(i) for i in range(self.config.generator.n_classes)]

    def networks(self) -> Mapping[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}
