"""The math of one micro-batch: discriminator and generator-side losses, as the official code steps them.

D step: translations made without gradients, one discriminator forward on [real; fake]
(BigGAN-PyTorch concatenates too), d_loss. G step: translations with gradients, the
generator-side adversarial term plus (DeepI2I) the reconstruction term between the
discriminator's features of each translation and of ITS OWN input. The discriminator is not
updated by the G step: the loop turns its gradients off, and its features of the input carry no
gradient at all. With `augment` (our addition, training/augment.py) D's adversarial inputs, real
and fake, go through DiffAugment's transforms first; the reconstruction term's features do not.
Both methods return (loss, logs) with tensors for the logs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, fields, replace
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepi2i import losses
from deepi2i.config import DeepI2IConfig
from deepi2i.networks.deepi2i import run_deepi2i
from deepi2i.training.augment import diff_augment


@dataclass
class Batch:
    """One (micro-)batch: real images for D, translation inputs, and the sampled z / classes.

    `y_d, z_d`: classes and z of the fakes in the D step; `y_g, z_g`: those of the G step
    (drawn afresh, as BigGAN does). `x_src, y_src` are None when pretraining. `u_real, u_d, u_g`:
    the augmentation's uniform draws for the real images, the D step's and the G step's fakes
    ([B, 4] each; None without augmentation).
    """

    x_real: Tensor
    y_real: Tensor
    y_d: Tensor
    z_d: Tensor
    y_g: Tensor
    z_g: Tensor
    x_src: Tensor | None = None
    y_src: Tensor | None = None
    u_real: Tensor | None = None
    u_d: Tensor | None = None
    u_g: Tensor | None = None
    # Υ(x_src), {r: [B, C, r, r]}, when the phase freezes the encoder: computed once by `Objective.prepare`
    # and used by both steps (the encoder's output cannot change between them). Set after split/to.
    encoded: dict[int, Tensor] | None = None

    def _tensors(self) -> dict[str, Tensor | None]:
        if self.encoded is not None:
            raise ValueError("split or move a Batch before its encoder pyramid is computed")
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "encoded"}

    def split(self, n: int) -> list[Batch]:
        """n equal micro-batches, in order (micro-batch i holds samples [i*b/n, (i+1)*b/n))."""
        parts = {k: (None if t is None else t.chunk(n)) for k, t in self._tensors().items()}
        return [Batch(**{k: (None if v is None else v[i]) for k, v in parts.items()}) for i in range(n)]

    def to(self, device: torch.device, channels_last: bool = False) -> Batch:
        def move(t: Tensor | None) -> Tensor | None:
            if t is None:
                return None
            t = t.to(device, non_blocking=True)
            return t.contiguous(memory_format=torch.channels_last) if channels_last and t.dim() == 4 else t

        return Batch(**{k: move(t) for k, t in self._tensors().items()})


class TrainingNetworks:
    """The raw networks plus, in multi-process runs, the DDP wrappers of those the phase trains.

    Forwards whose gradients update a network go through `trainable(name)` (the wrapper, so DDP
    synchronises them); all other forwards use the raw module, `nets[name]`.
    """

    def __init__(self, modules: Mapping[str, nn.Module]) -> None:
        self.raw: dict[str, nn.Module] = dict(modules)
        self.ddp: dict[str, nn.Module] = {}

    def __getitem__(self, name: str) -> nn.Module:
        return self.raw[name]

    def trainable(self, name: str) -> nn.Module:
        return self.ddp.get(name, self.raw[name])


LossFn = Callable[["TrainingNetworks", Batch], tuple[Tensor, dict[str, Tensor]]]


class Objective(Protocol):
    def prepare(self, nets: TrainingNetworks, b: Batch, frozen: Collection[str]) -> Batch: ...

    def d_loss(self, nets: TrainingNetworks, b: Batch) -> tuple[Tensor, dict[str, Tensor]]: ...

    def g_loss(self, nets: TrainingNetworks, b: Batch) -> tuple[Tensor, dict[str, Tensor]]: ...


def _augmented(x: Tensor, u: Tensor | None, policy: tuple[str, ...]) -> Tensor:
    """x as D's adversarial term sees it: through the policy's transforms when there is one."""
    if not policy:
        return x
    if u is None:
        raise ValueError("augmentation asked for but the batch carries no draws (draw_batch gives them)")
    return diff_augment(x, u, policy)


def _picked(all_logits: Tensor, y: Tensor) -> Tensor:
    """The logits of the given classes: [B, n_classes], y [B] -> [B]."""
    return all_logits.gather(1, y[:, None]).squeeze(1)


def _discriminate(
    nets: TrainingNetworks,
    b: Batch,
    x_fake: Tensor,
    kind: str,
    augment: tuple[str, ...],
    lambda_class: float = 0.0,
) -> tuple[Tensor, dict[str, Tensor]]:
    """D's hinge/log loss on [real; fake] in one forward (each augmented with its own draws).

    With `lambda_class`, plus our class term on the real images: cross-entropy of D's projection
    read as a classifier (every class's logit from the same forward).
    """
    x_real = _augmented(b.x_real, b.u_real, augment)
    x_fake = _augmented(x_fake.to(b.x_real.dtype), b.u_d, augment)
    y = torch.cat([b.y_real, b.y_d])
    # [2B], or [2B, n_classes] with the class term (every class's logit, same forward)
    scores = nets.trainable("discriminator")(torch.cat([x_real, x_fake]), None if lambda_class else y).float()
    logits = _picked(scores, y) if lambda_class else scores
    real, fake = logits.split([x_real.shape[0], x_fake.shape[0]])
    loss = losses.d_loss(real, fake, kind)
    logs = {"D/real": real.detach().mean(), "D/fake": fake.detach().mean()}
    if lambda_class:
        cls = F.cross_entropy(scores[: x_real.shape[0]], b.y_real)
        loss = loss + lambda_class * cls
        logs["D/class"] = cls.detach()
    return loss, {"D/loss": loss.detach(), **logs}


@dataclass(frozen=True)
class PretrainObjective:
    """A class-conditional BigGAN: the adversarial loss only."""

    adv_loss: str = "hinge"
    augment: tuple[str, ...] = ()  # D's inputs through DiffAugment's transforms (training/augment.py)

    def prepare(self, nets: TrainingNetworks, b: Batch, frozen: Collection[str]) -> Batch:
        return b

    def d_loss(self, nets: TrainingNetworks, b: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        with torch.no_grad():
            x_fake = nets["generator"](b.z_d, b.y_d)
        return _discriminate(nets, b, x_fake, self.adv_loss, self.augment)

    def g_loss(self, nets: TrainingNetworks, b: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        x_fake = nets.trainable("generator")(b.z_g, b.y_g)
        logits = nets["discriminator"](_augmented(x_fake, b.u_g, self.augment), b.y_g)
        loss = losses.g_loss(logits.float(), self.adv_loss)
        return loss, {"G/loss": loss.detach()}


@dataclass(frozen=True)
class TranslationObjective:
    """DeepI2I, Eq. 4: lambda_adv * L_adv + lambda_rec * L_rec on the generator side, L_adv for D
    (+ lambda_color * our colour term, + lambda_class * our class term on both sides, when asked for)."""

    model: DeepI2IConfig
    rec_weights: Mapping[int, float]
    adv_loss: str = "hinge"
    rec_distance: str = "l1"
    lambda_adv: float = 1.0
    lambda_rec: float = 1.0
    lambda_color: float = 0.0  # our colour term; 0: the paper's objective
    color_term: str = "cells"  # "cells" (losses.color_loss) | "palette" (losses.palette_loss)
    color_grid: int = 4
    augment: tuple[str, ...] = ()  # D's adversarial inputs through DiffAugment's transforms
    lambda_class: float = 0.0  # our class term (D's projection as a classifier); 0: the paper's objective

    def prepare(self, nets: TrainingNetworks, b: Batch, frozen: Collection[str]) -> Batch:
        """The batch with Υ(x_src) computed once when the encoder is frozen (the D and G steps share it)."""
        if "encoder" not in frozen or b.x_src is None:
            return b
        with torch.no_grad():
            return replace(b, encoded=nets["encoder"](b.x_src))

    def generate(self, nets: TrainingNetworks, b: Batch, y_trg: Tensor, z: Tensor, trainable: bool) -> Tensor:
        """x_fake = Φ(w · Λ(Υ(x_src)), z, y_trg) by the model's own composition; DDP wrappers when `trainable`."""
        assert b.x_src is not None
        net = nets.trainable if trainable else nets.__getitem__
        return run_deepi2i(
            net("encoder"), net("adaptors"), net("generator"), self.model, b.x_src, y_trg, z, encoded=b.encoded
        )

    def discriminator_features(
        self, nets: TrainingNetworks, x: Tensor, y: Tensor | None
    ) -> tuple[Tensor, dict[int, Tensor]]:
        """The discriminator's logits and features at the model's levels (raw module: never a D update).

        y=None: every class's logit, [B, n_classes]."""
        return nets["discriminator"].features(x, y, self.model.pyramid_levels, self.model.relu_last_tap)

    def d_loss(self, nets: TrainingNetworks, b: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        assert b.x_src is not None
        with torch.no_grad():
            x_fake = self.generate(nets, b, b.y_d, b.z_d, trainable=False)
        return _discriminate(nets, b, x_fake, self.adv_loss, self.augment, self.lambda_class)

    def g_loss(self, nets: TrainingNetworks, b: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        assert b.x_src is not None and b.y_src is not None
        with torch.no_grad():
            _, feats_src = self.discriminator_features(nets, b.x_src, b.y_src)
        x_fake = self.generate(nets, b, b.y_g, b.z_g, trainable=True)
        y_head = None if self.lambda_class else b.y_g  # None: every class's logit, [B, n_classes]
        logits, feats_fake = self.discriminator_features(nets, x_fake, y_head)
        if self.augment:  # L_adv on the augmented translation, L_rec on the translation itself
            logits = nets["discriminator"](_augmented(x_fake, b.u_g, self.augment), y_head)
        scores = logits.float()  # [B], or [B, n_classes] with the class term
        adv = losses.g_loss(_picked(scores, b.y_g) if self.lambda_class else scores, self.adv_loss)
        rec = losses.reconstruction_loss(
            {r: f.float() for r, f in feats_fake.items()},
            {r: f.float() for r, f in feats_src.items()},
            self.rec_weights,
            self.rec_distance,
        )
        loss = self.lambda_adv * adv + self.lambda_rec * rec
        logs = {"G/adv": adv.detach(), "G/rec": rec.detach()}
        if self.lambda_color:
            if self.color_term == "palette":
                color = losses.palette_loss(x_fake.float(), b.x_src.float())
            else:
                color = losses.color_loss(x_fake.float(), b.x_src.float(), self.color_grid)
            loss = loss + self.lambda_color * color
            logs["G/color"] = color.detach()
        if self.lambda_class:  # our class term: the translation classified as its target by D's projection
            cls = F.cross_entropy(scores, b.y_g)
            loss = loss + self.lambda_class * cls
            logs["G/class"] = cls.detach()
        return loss, {"G/loss": loss.detach(), **logs}
