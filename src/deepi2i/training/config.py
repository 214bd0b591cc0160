"""The training configuration: phases as data, `TrainConfig`, the preset table and `train_preset`.

Beside the training code it configures; the network configs it holds (`TrainConfig.model`) and the
explicit JSON readers live in `deepi2i.config`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deepi2i.config import (
    _BOOL,
    _FLOAT,
    _INT,
    _INTS,
    _LEVEL_WEIGHTS,
    _STR,
    _STRS,
    DeepI2IConfig,
    _is_number,
    _list_of,
    _nested,
    _optional,
    _read,
    _Reader,
    paper128,
    shapes64,
    tiny,
    to_dict,
)
from deepi2i.training.augment import AUGMENTS

NETWORK_NAMES = ("encoder", "adaptors", "generator", "discriminator")
TRANSFERABLE = ("encoder", "generator", "discriminator")  # the networks a BigGAN source can initialise
TASKS = ("pretrain", "translate")
ADV_LOSSES = ("hinge", "log")
REC_DISTANCES = ("l1", "mse")
COLOR_TERMS = ("cells", "palette")  # our colour terms (losses.color_loss, losses.palette_loss)
AMP_MODES = ("none", "bf16", "fp16")


@dataclass(frozen=True)
class PhaseConfig:
    """One training phase as data: the networks whose optimizers step, for `kimg` thousand images.

    Networks not listed are frozen for the phase: no gradients, and eval mode, so that their
    spectral-norm and batch-norm buffers stay unchanged too.
    """

    name: str
    kimg: float
    train: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = set(self.train) - set(NETWORK_NAMES)
        if unknown:
            raise ValueError(f"phase {self.name!r} trains unknown networks {sorted(unknown)}; known: {NETWORK_NAMES}")
        if self.kimg < 0:
            raise ValueError(f"phase {self.name!r} has negative length {self.kimg} kimg")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PhaseConfig:
        return cls(**_read(cls, data, {"name": _STR, "kimg": _FLOAT, "train": _STRS}))


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the numbers a run produces (written into the run and every checkpoint).

    `task="pretrain"` trains a class-conditional BigGAN (the model's generator and discriminator);
    `task="translate"` trains DeepI2I. `batch_size` is the global batch of one optimizer step:
    it is split over replicas (DDP) and then into `accumulation` micro-batches per replica.
    """

    task: str = "translate"
    model: DeepI2IConfig = field(default_factory=DeepI2IConfig)
    phases: tuple[PhaseConfig, ...] = ()
    batch_size: int = 32
    accumulation: int = 1
    lr_generator: float = 1e-4
    lr_encoder: float = 4e-4
    lr_adaptors: float = 4e-4
    lr_discriminator: float = 4e-4
    betas: tuple[float, float] = (0.0, 0.999)
    adam_eps: float = 1e-6
    adv_loss: str = "hinge"  # "hinge" (BigGAN, the official code) | "log" (the paper's Eq. 1)
    rec_distance: str = "l1"  # "l1" (the paper's Eq. 3) | "mse" (the official code)
    rec_weights: Mapping[int, float] | None = None  # None: 0.1 per level, 0.01 at the highest resolution
    lambda_adv: float = 1.0
    lambda_rec: float = 1.0
    lambda_color: float = 0.0  # our colour term (not the paper's): 0 = off
    color_term: str = "cells"  # "cells": losses.color_loss | "palette": losses.palette_loss
    color_grid: int = 4  # cells per side of the cell term's pooled images
    lambda_class: float = 0.0  # our class term (not the paper's): cross-entropy of D's projection scores; 0 = off
    augment: tuple[str, ...] = ()  # DiffAugment on D's adversarial inputs (not the paper's): training/augment.py
    freeze_d_blocks: int = 0  # FreezeD (not the paper's): the lowest N discriminator blocks keep their source weights
    ortho_reg: float = 0.0  # BigGAN's orthogonal regularisation of G (1e-4 in BigGAN-PyTorch's scripts)
    ema_decay: float | None = None  # EMA of the generator (None: off)
    ema_start_kimg: float = 0.0  # before this the EMA copies the generator
    transfer: tuple[str, ...] = TRANSFERABLE  # networks initialised from the source
    class_rows: tuple[int, ...] | None = None  # source embedding row per target class (None: row c)
    cross_replica_bn: bool = False  # batch-norm statistics over all replicas (DDP)
    amp: str = "none"  # "none" | "bf16" | "fp16" autocast
    channels_last: bool = False
    tf32: bool = False  # CUDA: float32 matmuls and convolutions in TF32 (PyTorch's default: convolutions only)
    compile: bool = False  # torch.compile each network (speed only: same maths, float-level differences)
    seed: int = 0
    log_every: int = 10  # steps
    sample_every: int = 500  # steps
    checkpoint_every: int = 500  # steps
    keep_checkpoints: int = 2
    n_sample_inputs: int = 8
    n_sample_classes: int = 8
    workers: int = 0  # DataLoader worker processes

    def __post_init__(self) -> None:
        choices = {
            "task": (self.task, TASKS),
            "adv_loss": (self.adv_loss, ADV_LOSSES),
            "rec_distance": (self.rec_distance, REC_DISTANCES),
            "amp": (self.amp, AMP_MODES),
        }
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if not self.phases:
            raise ValueError("a training config needs at least one phase")
        if self.task == "pretrain" and any(set(p.train) - {"generator", "discriminator"} for p in self.phases):
            raise ValueError("pretraining trains only the generator and the discriminator")
        if self.batch_size < 1 or self.accumulation < 1 or self.batch_size % self.accumulation:
            raise ValueError(
                f"batch_size {self.batch_size} must be a positive multiple of accumulation {self.accumulation}"
            )
        unknown = set(self.transfer) - set(TRANSFERABLE)
        if unknown:
            raise ValueError(
                f"transfer names unknown networks {sorted(unknown)}; choose from {', '.join(TRANSFERABLE)}"
            )
        if self.ema_decay is not None and not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.class_rows is not None and len(self.class_rows) != self.model.n_classes:
            raise ValueError(f"class_rows has {len(self.class_rows)} entries for {self.model.n_classes} classes")
        if self.color_term not in COLOR_TERMS:
            raise ValueError(f"color_term must be one of {', '.join(COLOR_TERMS)}, got {self.color_term!r}")
        unknown_aug = set(self.augment) - set(AUGMENTS)
        if unknown_aug:
            raise ValueError(
                f"augment names unknown transforms {sorted(unknown_aug)}; choose from {', '.join(AUGMENTS)}"
            )
        n_blocks = len(self.model.discriminator.block_resolutions)
        if not 0 <= self.freeze_d_blocks <= n_blocks:
            raise ValueError(
                f"freeze_d_blocks must be in [0, {n_blocks}] (the discriminator's blocks), got {self.freeze_d_blocks}"
            )
        if self.freeze_d_blocks and (self.task == "pretrain" or "discriminator" not in self.transfer):
            raise ValueError(
                "freeze_d_blocks keeps source weights, but this run's discriminator starts from random weights "
                "(pretraining, or 'discriminator' left out of transfer); set freeze_d_blocks to 0"
            )
        if self.lambda_color < 0 or self.color_grid < 1:
            raise ValueError(
                f"lambda_color must be >= 0 and color_grid >= 1, got {self.lambda_color}, {self.color_grid}"
            )
        if self.lambda_class < 0:
            raise ValueError(f"lambda_class must be >= 0, got {self.lambda_class}")
        if self.lambda_class and self.task == "pretrain":
            raise ValueError("lambda_class is a term of DeepI2I training; pretraining has no class term, set it to 0")
        for name in ("log_every", "sample_every", "checkpoint_every", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")

    @property
    def total_kimg(self) -> float:
        return float(sum(p.kimg for p in self.phases))

    def lr(self, network: str) -> float:
        return float(getattr(self, f"lr_{network}"))

    def reconstruction_weights(self) -> dict[int, float]:
        """alpha_l of Eq. 3 for the model's levels: 0.1 each, 0.01 at the highest resolution (the paper)."""
        levels = self.model.pyramid_levels
        if self.rec_weights is not None:
            weights = {int(k): float(v) for k, v in self.rec_weights.items()}
            missing = set(levels) - set(weights)
            if missing:
                raise ValueError(f"rec_weights has no weight for levels {sorted(missing)}")
            return {r: weights[r] for r in levels}
        top = max(levels)
        return {r: (0.01 if r == top and len(levels) > 1 else 0.1) for r in levels}

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        readers = {
            "task": _STR,
            "model": _nested(DeepI2IConfig),
            "phases": _Reader(
                "a list of phase objects",
                _list_of(lambda p: isinstance(p, Mapping)),
                lambda v: tuple(PhaseConfig.from_dict(p) for p in v),
            ),
            "batch_size": _INT,
            "accumulation": _INT,
            "lr_generator": _FLOAT,
            "lr_encoder": _FLOAT,
            "lr_adaptors": _FLOAT,
            "lr_discriminator": _FLOAT,
            "betas": _Reader("a list of two finite numbers", lambda v: _list_of(_is_number)(v) and len(v) == 2, tuple),
            "adam_eps": _FLOAT,
            "adv_loss": _STR,
            "rec_distance": _STR,
            "rec_weights": _optional(_LEVEL_WEIGHTS),
            "lambda_adv": _FLOAT,
            "lambda_rec": _FLOAT,
            "lambda_color": _FLOAT,
            "color_term": _STR,
            "color_grid": _INT,
            "lambda_class": _FLOAT,
            "augment": _STRS,
            "freeze_d_blocks": _INT,
            "ortho_reg": _FLOAT,
            "ema_decay": _optional(_FLOAT),
            "ema_start_kimg": _FLOAT,
            "transfer": _STRS,
            "class_rows": _optional(_INTS),
            "cross_replica_bn": _BOOL,
            "amp": _STR,
            "channels_last": _BOOL,
            "tf32": _BOOL,
            "compile": _BOOL,
            "seed": _INT,
            "log_every": _INT,
            "sample_every": _INT,
            "checkpoint_every": _INT,
            "keep_checkpoints": _INT,
            "n_sample_inputs": _INT,
            "n_sample_classes": _INT,
            "workers": _INT,
        }
        return cls(**_read(cls, data, readers))


def transfer_phases(phase1_kimg: float, total_kimg: float, train_encoder: bool = False) -> tuple[PhaseConfig, ...]:
    """The paper's two phases: adaptors + D (encoder, generator frozen), then G + adaptors + D.

    `train_encoder` also trains the encoder in phase 2: §3 keeps it frozen ("slightly better"), yet
    Appendix A gives it a learning rate; off by default.
    """
    if total_kimg < phase1_kimg:
        raise ValueError(f"total length {total_kimg} kimg is shorter than phase 1 ({phase1_kimg} kimg)")
    phase2 = ("generator", "adaptors", "discriminator") + (("encoder",) if train_encoder else ())
    return (
        PhaseConfig("adaptors+discriminator", phase1_kimg, ("adaptors", "discriminator")),
        PhaseConfig("+".join(phase2), total_kimg - phase1_kimg, phase2),
    )


def scratch_phases(total_kimg: float) -> tuple[PhaseConfig, ...]:
    """DeepI2I (scratch): one phase training every network, the encoder included."""
    return (PhaseConfig("all", total_kimg, NETWORK_NAMES),)


def pretrain_phases(total_kimg: float) -> tuple[PhaseConfig, ...]:
    return (PhaseConfig("generator+discriminator", total_kimg, ("generator", "discriminator")),)


# ---- presets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A named recipe (edm2's `config_presets`): the model for a dataset's classes and, per task, its
    length and the TrainConfig fields it sets. Lengths in kimg; intervals in steps."""

    model: Callable[[int, Sequence[str] | None], DeepI2IConfig]  # (n_classes, class_names) -> model
    pretrain_kimg: float
    translate_kimg: float
    phase1_kimg: float  # translate: the adaptors + discriminator phase
    settings: Mapping[str, Any]  # TrainConfig fields for both tasks
    pretrain_settings: Mapping[str, Any] = field(default_factory=dict)  # pretraining only (wins over `settings`)
    translate_settings: Mapping[str, Any] = field(default_factory=dict)  # DeepI2I training only (the same)

    def task_settings(self, task: str) -> dict[str, Any]:
        """The TrainConfig fields this preset sets for `task` ('pretrain' or 'translate')."""
        return {**self.settings, **(self.pretrain_settings if task == "pretrain" else self.translate_settings)}


PRESETS: dict[str, Preset] = {
    "paper128": Preset(
        model=paper128,
        # BigGAN-PyTorch's launch_BigGAN_bs256x8.sh: 138k steps of 256 x 8, EMA 0.9999 from step 20k.
        pretrain_kimg=282_624.0,
        pretrain_settings={"batch_size": 2048, "ema_decay": 0.9999, "ema_start_kimg": 40_960.0},
        translate_kimg=2_000.0,
        phase1_kimg=16.0,  # 500 steps of 32, as the official code
        settings={"batch_size": 32, "log_every": 50, "sample_every": 2_000, "checkpoint_every": 2_000},
    ),
    "shapes64": Preset(
        model=lambda n, names: shapes64(n, class_names=names),
        # 9,000 steps pretraining: its samples are recognised 96% of the time (4,500 steps: 55%, corners drawn
        # round; 3,000 drew blobs: docs/results/shapes.md);
        # DeepI2I: 100 + 4,400 steps with an EMA of G, our palette colour term (λ 5), our class term (λ 1) and
        # DiffAugment (translation, cutout) on D's inputs: the recipe search's choice on the validation split
        # (the palette term cut the colour error from 118 to 39; the class term with DiffAugment raised RC
        # on trg-val at 144 kimg from 84.7 / 83.0 to 94.7 / 94.2 at training seeds 1 / 2, docs/results/shapes.md).
        pretrain_kimg=288.0,
        pretrain_settings={"ema_decay": 0.999},
        translate_kimg=144.0,
        translate_settings={
            "ema_decay": 0.999,
            "lambda_color": 5.0,
            "color_term": "palette",
            "lambda_class": 1.0,
            "augment": ("translation", "cutout"),
        },
        phase1_kimg=3.2,
        settings={"batch_size": 32, "log_every": 10, "sample_every": 200, "checkpoint_every": 100},
    ),
    "tiny": Preset(
        model=lambda n, names: dataclasses.replace(
            tiny(32, 4, n), levels=(16, 8), class_names=tuple(names) if names else None
        ),
        pretrain_kimg=0.016,
        pretrain_settings={"ema_decay": 0.9},
        translate_kimg=0.016,
        phase1_kimg=0.008,
        settings={
            "batch_size": 4,
            "log_every": 1,
            "sample_every": 2,
            "checkpoint_every": 2,
            "n_sample_inputs": 2,
        },
    ),
}


def train_preset(
    name: str,
    task: str = "translate",
    n_classes: int = 1000,
    class_names: Sequence[str] | None = None,
    kimg: float | None = None,
    phase1_kimg: float | None = None,
    scratch: bool = False,
    transfer: Sequence[str] | None = None,
    train_encoder: bool = False,
) -> TrainConfig:
    """A named training configuration ('paper128', 'shapes64', 'tiny') for `task`.

    `kimg` is the total length; `phase1_kimg` the length of the adaptors + D phase (translate).
    `scratch` trains every network from random initialisation in one phase (DeepI2I (scratch)).
    `transfer` (translate): which of encoder / generator / discriminator start from the source
    (default all three; the paper's Fig. 6 ablation uses subsets). A network that starts from
    random weights is trained in every phase, so a random encoder is not left frozen.
    `train_encoder` (translate, transfer): the transferred encoder trains in phase 2 too.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown training preset {name!r}; choose one of {tuple(PRESETS)}")
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    preset = PRESETS[name]
    model = preset.model(n_classes, tuple(class_names) if class_names else None)
    settings = preset.task_settings(task)
    if task == "pretrain":
        phases = pretrain_phases(float(kimg if kimg is not None else preset.pretrain_kimg))
    elif scratch:
        if train_encoder:
            raise ValueError("train_encoder is for transfer runs; a scratch run trains the encoder anyway")
        phases = scratch_phases(float(kimg if kimg is not None else preset.translate_kimg))
        settings["transfer"] = ()
    else:
        total = float(kimg if kimg is not None else preset.translate_kimg)
        p1 = float(phase1_kimg if phase1_kimg is not None else preset.phase1_kimg)
        phases = transfer_phases(min(p1, total), total, train_encoder)
        if transfer is not None:
            settings["transfer"] = tuple(transfer)
            random_init = [n for n in TRANSFERABLE if n not in transfer]
            trains = [p.train + tuple(n for n in random_init if n not in p.train) for p in phases]
            phases = tuple(PhaseConfig("+".join(t), p.kimg, t) for p, t in zip(phases, trains, strict=True))
    return TrainConfig(task=task, model=model, phases=phases, **settings)
