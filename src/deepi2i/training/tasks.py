"""What the one training loop trains: a BigGAN (pretraining) or DeepI2I (translation).

A task owns its networks, its objective, how its sample grid looks and how it exports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from deepi2i.checkpoint import save_export
from deepi2i.config import BigGANConfig
from deepi2i.networks.biggan import BigGAN
from deepi2i.networks.deepi2i import DeepI2I, run_deepi2i
from deepi2i.training.config import TrainConfig
from deepi2i.training.objectives import Objective, PretrainObjective, TrainingNetworks, TranslationObjective
from deepi2i.training.transfer import transfer_weights


@dataclass
class FixedInputs:
    """What every sample grid shows: the same inputs, z and target classes at every step."""

    z: Tensor  # [n, dim_z]
    classes: Tensor  # [k]
    x: Tensor | None = None  # [n, 3, R, R] translation inputs


class Task:
    config: TrainConfig
    networks: dict[str, nn.Module]
    objective: Objective

    uses_source_images: bool = False  # translation inputs x_src drawn from the data each step

    def sample_grid(self, nets: TrainingNetworks, generator: nn.Module, fixed: FixedInputs) -> tuple[Tensor, list[str]]:
        """(cells [rows, cols, 3, R, R] in [-1, 1], one header per column)."""
        raise NotImplementedError

    def class_label(self, c: int) -> str:
        names = self.config.model.class_names
        return names[c] if names is not None else f"class {c}"

    def export(self, directory: Path, generator: nn.Module) -> Path:
        raise NotImplementedError


class PretrainTask(Task):
    """A class-conditional BigGAN on the training data: the transfer source for a later `train`."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        m = config.model
        self.model = BigGAN(
            BigGANConfig(generator=m.generator, discriminator=m.discriminator, class_names=m.class_names)
        )
        self.networks = {"generator": self.model.generator, "discriminator": self.model.discriminator}
        self.objective = PretrainObjective(config.adv_loss, tuple(config.augment))

    @torch.no_grad()
    def sample_grid(self, nets: TrainingNetworks, generator: nn.Module, fixed: FixedInputs) -> tuple[Tensor, list[str]]:
        """Columns: the fixed classes, labelled; rows: the fixed z vectors."""
        n, k = fixed.z.shape[0], fixed.classes.shape[0]
        y = fixed.classes.repeat(n)
        z = fixed.z.repeat_interleave(k, dim=0)
        fake = torch.cat([generator(zc, yc) for zc, yc in zip(z.split(64), y.split(64), strict=True)])
        return fake.view(n, k, *fake.shape[1:]), [self.class_label(int(c)) for c in fixed.classes]

    def export(self, directory: Path, generator: nn.Module) -> Path:
        return save_export(
            directory, self.model.config, {"generator": generator, "discriminator": self.model.discriminator}
        )


class TranslationTask(Task):
    """DeepI2I, initialised from `source` for the networks in config.transfer (random otherwise)."""

    uses_source_images = True

    def __init__(self, config: TrainConfig, source: BigGAN | None = None) -> None:
        self.config = config
        self.model = DeepI2I(config.model)
        if config.transfer:
            if source is None:
                raise ValueError(f"transfer of {list(config.transfer)} needs a source BigGAN (or train with --scratch)")
            rows = config.class_rows or tuple(range(config.model.n_classes))
            transfer_weights(self.model, source, config.transfer, rows)
        self.networks = dict(self.model.networks())
        self.objective = TranslationObjective(
            model=config.model,
            rec_weights=config.reconstruction_weights(),
            adv_loss=config.adv_loss,
            rec_distance=config.rec_distance,
            lambda_adv=config.lambda_adv,
            lambda_rec=config.lambda_rec,
            lambda_color=config.lambda_color,
            color_term=config.color_term,
            color_grid=config.color_grid,
            augment=tuple(config.augment),
            lambda_class=config.lambda_class,
        )

    @torch.no_grad()
    def sample_grid(self, nets: TrainingNetworks, generator: nn.Module, fixed: FixedInputs) -> tuple[Tensor, list[str]]:
        """Row i: input i, then its translation into each fixed class (one fixed z per input)."""
        assert fixed.x is not None
        n, k = fixed.x.shape[0], fixed.classes.shape[0]
        x = fixed.x.repeat_interleave(k, dim=0)
        y = fixed.classes.repeat(n)
        z = fixed.z[:n].repeat_interleave(k, dim=0)
        encoder, adaptors, model = nets["encoder"], nets["adaptors"], self.config.model
        outs = [
            run_deepi2i(encoder, adaptors, generator, model, xc, yc, zc)
            for xc, yc, zc in zip(x.split(64), y.split(64), z.split(64), strict=True)
        ]
        fake = torch.cat(outs).view(n, k, *fixed.x.shape[1:])
        return torch.cat([fixed.x[:, None], fake], dim=1), ["input"] + [self.class_label(int(c)) for c in fixed.classes]

    def export(self, directory: Path, generator: nn.Module) -> Path:
        nets: Mapping[str, nn.Module] = {**self.model.networks(), "generator": generator}
        return save_export(directory, self.model.config, nets)
