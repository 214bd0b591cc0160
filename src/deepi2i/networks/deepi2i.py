"""DeepI2I: encoder -> adaptors -> generator, plus the discriminator (paper §3, Fig. 1 right)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from deepi2i.checkpoint import Exportable
from deepi2i.config import DeepI2IConfig
from deepi2i.networks.adaptor import Adaptors
from deepi2i.networks.biggan import Discriminator, Generator
from deepi2i.networks.encoder import Encoder


def sample_z(
    n: int,
    dim: int,
    truncation: float | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """z ~ N(0, I) [n, dim], or the truncated normal on [-t, t] (BigGAN's truncation trick)."""
    z = torch.empty(n, dim, device=device)
    if truncation is None:
        return z.normal_(generator=generator)
    if truncation <= 0:
        raise ValueError(f"truncation must be > 0, got {truncation}")
    return nn.init.trunc_normal_(z, 0.0, 1.0, -truncation, truncation, generator=generator)


# ---- the per-output z rule: one z per (seed, input index, sample), whatever the batch or device.
# `deepi2i translate`, the Translator API and `deepi2i evaluate` all draw z here, so the same
# input, sample and seed give the same translation in each of them.


def check_truncation(truncation: float | None) -> None:
    """None or a finite number > 0 (NaN passes a plain `<= 0` test and would give NaN images)."""
    if truncation is not None and not (0 < truncation < math.inf):
        raise ValueError(f"truncation must be > 0 (a finite number), got {truncation}")


def z_seed(seed: int, input_index: int, sample: int) -> int:
    """The seed of one output's z: a hash of (seed, input index, sample), independent of batching."""
    digest = hashlib.blake2b(f"deepi2i-z:{seed}:{input_index}:{sample}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def latent(dim: int, seed: int, input_index: int, sample: int, truncation: float | None = None) -> Tensor:
    """The z [dim] of sample `sample` of input `input_index`, drawn on the CPU so every device shares it."""
    gen = torch.Generator().manual_seed(z_seed(seed, input_index, sample))
    return sample_z(1, dim, truncation, gen)[0]


def z_for_outputs(dim: int, seed: int, outputs: Sequence[tuple[int, int]], truncation: float | None = None) -> Tensor:
    """z [len(outputs), dim] on the CPU for (input index, sample) pairs: one batch's latents."""
    return torch.stack([latent(dim, seed, i, k, truncation) for i, k in outputs])


def generate(
    generator: Generator,
    target: int,
    outputs: Sequence[tuple[int, int]],
    seed: int,
    truncation: float | None = None,
) -> Tensor:
    """A BigGAN generator's samples G(z, target) in [-1, 1], [len(outputs), 3, R, R], with the z each
    (input index, sample) pair gets in a translation: a source is sampled by the translation z rule."""
    dev = next(generator.parameters()).device
    z = z_for_outputs(generator.config.dim_z_used, seed, outputs, truncation).to(dev)
    return generator(z, torch.full((len(outputs),), target, dtype=torch.long, device=dev))


def latents(dim: int, n_inputs: int, samples: int, seed: int, truncation: float | None = None) -> Tensor:
    """z [n_inputs, samples, dim]: what every translation call uses for these inputs and samples."""
    z = torch.empty(n_inputs, samples, dim)
    for i in range(n_inputs):
        for k in range(samples):
            z[i, k] = latent(dim, seed, i, k, truncation)
    return z


def adaptor_skips(
    encoder: nn.Module,
    adaptors: nn.Module,
    config: DeepI2IConfig,
    x_src: Tensor,
    encoded: Mapping[int, Tensor] | None = None,
) -> dict[int, Tensor]:
    """The generator's additions w_l * Λ_l(Υ_l(x_src)) (Eq. 5), keyed by resolution: {r: [B, C_G(r), r, r]}.

    `encoded` is Υ(x_src) when the caller already has it (a frozen encoder's pyramid serves both
    steps of a training iteration); the encoder then does not run.
    """
    adapted = adaptors(encoder(x_src) if encoded is None else encoded)
    return {r: config.weight(r) * a for r, a in adapted.items()}


def run_deepi2i(
    encoder: nn.Module,
    adaptors: nn.Module,
    generator: nn.Module,
    config: DeepI2IConfig,
    x_src: Tensor,
    y_trg: Tensor | None,
    z: Tensor,
    *,
    embed: Tensor | None = None,
    encoded: Mapping[int, Tensor] | None = None,
) -> Tensor:
    """x_fake = Φ(z, y_trg; + w · Λ(Υ(x_src))): the one composition of DeepI2I's networks.

    Takes the networks one by one (stylegan3's `run_G`) so that training can pass each through
    its DDP wrapper, or swap in the EMA generator, and still run exactly the model's forward.
    x_src [B, 3, R, R] in [-1, 1], y_trg int64 [B] (or `embed` [B, shared_dim]), z [B, dim_z] -> [B, 3, R, R].
    `encoded`: Υ(x_src) if already computed (see `adaptor_skips`).
    """
    skips = adaptor_skips(encoder, adaptors, config, x_src, encoded)
    if embed is not None:  # class interpolation passes embeddings instead of indices
        return generator(z, y_trg, embed=embed, skips=skips)
    return generator(z, y_trg, skips=skips)


class DeepI2I(Exportable, nn.Module):
    """ŷ = Φ(Λ(Υ(x)), z, c): every generator level l gets + w_l * Λ_l(Υ_l(x)) (Eq. 5)."""

    def __init__(self, config: DeepI2IConfig) -> None:
        super().__init__()
        self.config = c = config
        levels = c.pyramid_levels
        self.encoder = Encoder(c.encoder, levels, relu_last_tap=c.relu_last_tap)
        self.adaptors = Adaptors(
            in_channels={r: c.encoder.out_channels[c.encoder.tap_block(r)] for r in levels},
            out_channels={r: c.generator.channels_at(r) for r in levels},
            use_adaptors=c.use_adaptors,
            sn_eps=c.encoder.sn_eps,
            init=c.encoder.init,
        )
        self.generator = Generator(c.generator)
        self.discriminator = Discriminator(c.discriminator)

    @property
    def class_names(self) -> list[str]:
        names = self.config.class_names
        return list(names) if names is not None else [str(i) for i in range(self.config.n_classes)]

    def skips(self, x_src: Tensor) -> dict[int, Tensor]:
        """The generator's additions w_l * Λ_l(Υ_l(x_src)), keyed by resolution."""
        return adaptor_skips(self.encoder, self.adaptors, self.config, x_src)

    def forward(
        self, x_src: Tensor, y_trg: Tensor | None = None, z: Tensor | None = None, *, embed: Tensor | None = None
    ) -> Tensor:
        """x_src [B, 3, R, R] in [-1, 1], y_trg int64 [B] (or `embed`), z [B, dim_z] -> x_fake [B, 3, R, R]."""
        if z is None:
            z = sample_z(x_src.shape[0], self.config.generator.dim_z_used, device=x_src.device)
        return run_deepi2i(self.encoder, self.adaptors, self.generator, self.config, x_src, y_trg, z, embed=embed)

    @torch.no_grad()
    def translate(
        self,
        x_src: Tensor,
        y_trg: Tensor | int,
        z: Tensor | None = None,
        truncation: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Inference: translate x_src into class(es) y_trg with z sampled (optionally truncated).

        Runs in the module's current mode; `from_pretrained` returns the model in eval mode.
        """
        b = x_src.shape[0]
        y = torch.as_tensor(y_trg, dtype=torch.long, device=x_src.device)
        y = y.expand(b) if y.dim() == 0 else y
        if y.shape != (b,):
            raise ValueError(f"y_trg must be one class or one per input ({b}), got shape {list(y.shape)}")
        if int(y.min()) < 0 or int(y.max()) >= self.config.n_classes:
            raise ValueError(f"class indices must be in [0, {self.config.n_classes}), got {y.tolist()}")
        if z is None:
            z = sample_z(b, self.config.generator.dim_z_used, truncation, generator, x_src.device)
        return self.forward(x_src, y, z)

    def networks(self) -> Mapping[str, nn.Module]:
        return {
            "encoder": self.encoder,
            "adaptors": self.adaptors,
            "generator": self.generator,
            "discriminator": self.discriminator,
        }
