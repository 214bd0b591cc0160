"""Adaptors Λ: align the encoder's features with the generator's, one per pyramid level (Eq. 5)."""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

from deepi2i.networks.layers import DBlock, init_weights


class Adaptor(DBlock):
    """relu -> 3x3 conv -> relu -> 3x3 conv, plus a 1x1 shortcut where channels change (Appendix A).

    [B, in_ch, r, r] -> [B, out_ch, r, r]: a pre-activation residual block without downsampling.
    """

    def __init__(self, in_ch: int, out_ch: int, sn_eps: float = 1e-6) -> None:
        super().__init__(in_ch, out_ch, preactivation=True, downsample=False, sn_eps=sn_eps)


class ChannelRepeat(nn.Module):
    """The paper's †DeepI2I (no adaptor): features added directly, channels repeated to match."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        if out_ch % in_ch:
            raise ValueError(f"cannot repeat {in_ch} encoder channels to {out_ch} generator channels")
        self.repeats = out_ch // in_ch

    def forward(self, x: Tensor) -> Tensor:
        return x.repeat(1, self.repeats, 1, 1)  # [B, C, r, r] -> [B, C * repeats, r, r]


class Adaptors(nn.Module):
    """One adaptor per level, keyed by resolution ('32', '16', ...)."""

    def __init__(
        self,
        in_channels: Mapping[int, int],
        out_channels: Mapping[int, int],
        use_adaptors: bool = True,
        sn_eps: float = 1e-6,
        init: str = "ortho",
    ) -> None:
        super().__init__()
        self.levels = tuple(in_channels)
        self.level = nn.ModuleDict(
            {
                str(r): Adaptor(in_channels[r], out_channels[r], sn_eps)
                if use_adaptors
                else ChannelRepeat(in_channels[r], out_channels[r])
                for r in self.levels
            }
        )
        init_weights(self, init)

    def forward(self, feats: Mapping[int, Tensor]) -> dict[int, Tensor]:
        return {r: self.level[str(r)](feats[r]) for r in self.levels}
