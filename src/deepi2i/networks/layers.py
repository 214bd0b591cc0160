"""BigGAN building blocks with BigGAN-PyTorch semantics, so its checkpoints load and match exactly.

Spectral norm is BigGAN's own (not torch.nn.utils.spectral_norm): buffers `u0` [1, out] and `sv0`
[1]; every forward, in train and eval mode, runs one power iteration; only training mode writes
`u0`/`sv0` back. Parameter and buffer names equal BigGAN-PyTorch's state_dict keys.

The fast path (on by default; `set_fast_path(False)` or DEEPI2I_EAGER=1 for the plain one) changes
the order of work, never the maths: self-attention goes through `scaled_dot_product_attention`
when training or on CUDA (no [HW, HW/4] map in memory); an eval-mode layer whose weight takes no gradient reuses
W / sigma until the weight or u0 changes (the power iteration is deterministic there), and a
GBlock's 1x1 shortcut convolves before the nearest upsampling, not after (the two commute: 4x fewer
shortcut FLOPs and half the upsampled channels). tests/test_fast_path.py checks both paths agree.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_FAST = os.environ.get("DEEPI2I_EAGER", "") in ("", "0")


def set_fast_path(enabled: bool) -> None:
    """Switch every network between the fast path (default) and the plain eager one."""
    global _FAST
    _FAST = bool(enabled)


@contextmanager
def fast_path(enabled: bool) -> Iterator[None]:
    """`with fast_path(False):` runs the plain eager path inside the block."""
    before = _FAST
    set_fast_path(enabled)
    try:
        yield
    finally:
        set_fast_path(before)


class SpectralNorm:
    """Mixin for a module with `.weight`: adds BigGAN's u0/sv0 buffers and `sn_weight()`."""

    weight: Tensor
    u0: Tensor
    sv0: Tensor
    training: bool

    def _init_sn(self, num_outputs: int, eps: float) -> None:
        self.sn_eps = eps
        self.register_buffer("u0", torch.randn(1, num_outputs))  # type: ignore[attr-defined]
        self.register_buffer("sv0", torch.ones(1))  # type: ignore[attr-defined]

    def sn_weight(self) -> Tensor:
        """W / sigma(W), sigma from one power iteration started at the stored u.

        In eval mode with no gradient wanted for W the result depends only on (W, u0), so the
        fast path keeps it until either changes (their version counters or storage move).
        """
        cacheable = _FAST and not self.training and not (torch.is_grad_enabled() and self.weight.requires_grad)
        if not cacheable:
            return self._sn_weight()
        key = (
            self.weight._version,
            self.u0._version,
            self.weight.data_ptr(),
            self.u0.data_ptr(),
            self.weight.device,
            self.weight.dtype,
            torch.is_inference_mode_enabled(),
        )
        cached = self.__dict__.get("_sn_cache")
        if cached is None or cached[0] != key:
            with torch.no_grad():
                cached = (key, self._sn_weight())
            self.__dict__["_sn_cache"] = cached
        return cached[1]

    def _sn_weight(self) -> Tensor:
        w_mat = self.weight.view(self.weight.size(0), -1)  # [out, in * k * k]
        with torch.no_grad():
            v = F.normalize(self.u0 @ w_mat, eps=self.sn_eps)  # [1, in*k*k]
            u = F.normalize(v @ w_mat.t(), eps=self.sn_eps)  # [1, out]
            if self.training:
                self.u0.copy_(u)
        sigma = torch.squeeze((v @ w_mat.t()) @ u.t())  # gradient flows through W only
        if self.training:
            with torch.no_grad():
                self.sv0.copy_(sigma.detach())
        return self.weight / sigma


class SNConv2d(nn.Conv2d, SpectralNorm):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        padding: int = 1,
        bias: bool = True,
        eps: float = 1e-6,
    ) -> None:
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, padding=padding, bias=bias)
        self._init_sn(out_channels, eps)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.sn_weight(), self.bias, self.stride, self.padding)


class SNLinear(nn.Linear, SpectralNorm):
    def __init__(self, in_features: int, out_features: int, bias: bool = True, eps: float = 1e-6) -> None:
        nn.Linear.__init__(self, in_features, out_features, bias=bias)
        self._init_sn(out_features, eps)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.sn_weight(), self.bias)


class SNEmbedding(nn.Embedding, SpectralNorm):
    """Spectrally normalised embedding; normalises over num_embeddings (u0 is [1, n_classes])."""

    def __init__(self, num_embeddings: int, embedding_dim: int, eps: float = 1e-6) -> None:
        nn.Embedding.__init__(self, num_embeddings, embedding_dim)
        self._init_sn(num_embeddings, eps)

    def forward(self, y: Tensor) -> Tensor:
        return F.embedding(y, self.sn_weight())


BatchNormFn = Callable[[Tensor, Tensor, Tensor, "Tensor | None", "Tensor | None", bool, float, float], Tensor]


class BatchNorm(nn.Module):
    """BigGAN's plain BN (the generator's output layer), with its `gain`/`bias`/`stored_*` names.

    `batch_norm` is F.batch_norm's signature; training swaps in a cross-replica version.
    """

    batch_norm: BatchNormFn = staticmethod(F.batch_norm)  # type: ignore[assignment]

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.gain = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("stored_mean", torch.zeros(channels))
        self.register_buffer("stored_var", torch.ones(channels))

    def forward(self, x: Tensor) -> Tensor:
        return self.batch_norm(
            x, self.stored_mean, self.stored_var, self.gain, self.bias, self.training, self.momentum, self.eps
        )


class ConditionalBatchNorm(nn.Module):
    """BN whose gain and bias come from the conditioning vector (shared class embedding ++ z chunk)."""

    batch_norm: BatchNormFn = staticmethod(F.batch_norm)  # type: ignore[assignment]

    def __init__(self, channels: int, cond_dim: int, eps: float = 1e-5, momentum: float = 0.1, sn_eps: float = 1e-6):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.gain = SNLinear(cond_dim, channels, bias=False, eps=sn_eps)
        self.bias = SNLinear(cond_dim, channels, bias=False, eps=sn_eps)
        self.register_buffer("stored_mean", torch.zeros(channels))
        self.register_buffer("stored_var", torch.ones(channels))

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        gain = (1 + self.gain(cond))[:, :, None, None]  # [B, C, 1, 1]
        bias = self.bias(cond)[:, :, None, None]
        out = self.batch_norm(x, self.stored_mean, self.stored_var, None, None, self.training, self.momentum, self.eps)
        return out * gain + bias


class SelfAttention(nn.Module):
    """SA-GAN self-attention as in BigGAN: keys/values max-pooled 2x2, out = x + gamma * o(...)."""

    def __init__(self, ch: int, sn_eps: float = 1e-6) -> None:
        super().__init__()
        if ch < 8:
            raise ValueError(f"self-attention needs at least 8 channels (queries have ch // 8), got {ch}: widen ch")
        self.ch = ch
        self.theta = SNConv2d(ch, ch // 8, kernel_size=1, padding=0, bias=False, eps=sn_eps)
        self.phi = SNConv2d(ch, ch // 8, kernel_size=1, padding=0, bias=False, eps=sn_eps)
        self.g = SNConv2d(ch, ch // 2, kernel_size=1, padding=0, bias=False, eps=sn_eps)
        self.o = SNConv2d(ch // 2, ch, kernel_size=1, padding=0, bias=False, eps=sn_eps)
        self.gamma = nn.Parameter(torch.tensor(0.0))

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        theta = self.theta(x).view(b, self.ch // 8, h * w)  # queries [B, C/8, HW]
        phi = F.max_pool2d(self.phi(x), 2).view(b, self.ch // 8, h * w // 4)  # keys [B, C/8, HW/4]
        g = F.max_pool2d(self.g(x), 2).view(b, self.ch // 2, h * w // 4)  # values [B, C/2, HW/4]
        if _FAST and (x.is_cuda or torch.is_grad_enabled()):
            # the same softmax(θᵀφ) (BigGAN does not scale by 1/sqrt(d)) without materialising the
            # [HW, HW/4] map: 20-25% faster forward + backward on CPU at 64 px; forward-only it is
            # slower on CPU, so inference keeps the explicit map there
            q, k, v = theta.transpose(1, 2), phi.transpose(1, 2), g.transpose(1, 2)
            attended = F.scaled_dot_product_attention(q, k, v, scale=1.0).transpose(1, 2)  # [B, C/2, HW]
        else:
            beta = F.softmax(theta.transpose(1, 2) @ phi, dim=-1)  # [B, HW, HW/4]
            attended = g @ beta.transpose(1, 2)  # [B, C/2, HW]
        o = self.o(attended.reshape(b, self.ch // 2, h, w))
        return x + self.gamma * o


class GBlock(nn.Module):
    """relu(cbn1) -> up x2 -> conv1 -> relu(cbn2) -> conv2, plus (up -> 1x1 conv) shortcut."""

    def __init__(self, in_ch: int, out_ch: int, cond_dim: int, sn_eps: float = 1e-6, bn_eps: float = 1e-5):
        super().__init__()
        self.conv1 = SNConv2d(in_ch, out_ch, eps=sn_eps)
        self.conv2 = SNConv2d(out_ch, out_ch, eps=sn_eps)
        self.conv_sc = SNConv2d(in_ch, out_ch, kernel_size=1, padding=0, eps=sn_eps)  # always upsamples
        self.bn1 = ConditionalBatchNorm(in_ch, cond_dim, eps=bn_eps, sn_eps=sn_eps)
        self.bn2 = ConditionalBatchNorm(out_ch, cond_dim, eps=bn_eps, sn_eps=sn_eps)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        h = F.relu(self.bn1(x, cond))
        h = F.interpolate(h, scale_factor=2)  # nearest, [B, C, 2H, 2W]
        h = self.conv2(F.relu(self.bn2(self.conv1(h), cond)))
        if _FAST:  # 1x1 conv and nearest upsampling commute: convolve the small map
            return h + F.interpolate(self.conv_sc(x), scale_factor=2)
        return h + self.conv_sc(F.interpolate(x, scale_factor=2))


class DBlock(nn.Module):
    """(relu) -> conv1 -> relu -> conv2 -> (avgpool), plus a 1x1 shortcut where shape changes.

    Also the Adaptor's block (pre-activation, no downsampling): the paper's "ReLU, two 3x3 convs,
    one 1x1 conv", without the 1x1 when channels match.
    """

    def __init__(self, in_ch: int, out_ch: int, preactivation: bool, downsample: bool, sn_eps: float = 1e-6):
        super().__init__()
        self.preactivation, self.downsample = preactivation, downsample
        self.conv1 = SNConv2d(in_ch, out_ch, eps=sn_eps)  # BigGAN's D_wide: hidden = out channels
        self.conv2 = SNConv2d(out_ch, out_ch, eps=sn_eps)
        self.learnable_sc = in_ch != out_ch or downsample
        if self.learnable_sc:
            self.conv_sc = SNConv2d(in_ch, out_ch, kernel_size=1, padding=0, eps=sn_eps)

    def _shortcut(self, x: Tensor) -> Tensor:
        # BigGAN: pre-activated blocks convolve then pool; the first block pools then convolves.
        if self.preactivation:
            x = self.conv_sc(x) if self.learnable_sc else x
            return F.avg_pool2d(x, 2) if self.downsample else x
        x = F.avg_pool2d(x, 2) if self.downsample else x
        return self.conv_sc(x) if self.learnable_sc else x

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)  # [B, C, H/2, W/2]
        return h + self._shortcut(x)


def init_weights(module: nn.Module, scheme: str) -> None:
    """BigGAN-PyTorch's initialisation of every conv, linear and embedding weight."""
    initialisers = {
        "ortho": nn.init.orthogonal_,
        "N02": lambda w: nn.init.normal_(w, 0.0, 0.02),
        "xavier": nn.init.xavier_uniform_,
    }
    if scheme not in initialisers:
        raise ValueError(f"unknown init {scheme!r}; choose one of {sorted(initialisers)}")
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)) and m.weight.device.type != "meta":
            initialisers[scheme](m.weight)
