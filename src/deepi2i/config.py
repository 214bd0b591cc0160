"""Frozen configurations for every network, the BigGAN architecture tables, and the named presets.

Sections, in order: architecture tables; JSON readers; network configs; model builders (paper128,
shapes64, tiny); the training config; the one preset table (`PRESETS`, edm2's `config_presets`).
Defaults live here and only here (the CLI reads its flag defaults from these fields). A config is
data: `to_dict` writes it as JSON and each config's explicit `from_dict` reads it back, so exports
and run folders record exactly what was built, and older files (fields added since take their
defaults) still load.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# BigGAN-PyTorch's architecture tables, as chains of channel multipliers (of `ch`).
# Generator block i maps chain[i]*ch -> chain[i+1]*ch and doubles the resolution (4 -> 8 -> ...).
G_CHANNEL_CHAINS: dict[int, tuple[int, ...]] = {
    32: (4, 4, 4, 4),
    64: (16, 16, 8, 4, 2),
    128: (16, 16, 8, 4, 2, 1),
    256: (16, 16, 8, 8, 4, 2, 1),
}
# Discriminator block i maps (3 if i == 0 else chain[i-1]*ch) -> chain[i]*ch.
D_CHANNEL_CHAINS: dict[int, tuple[int, ...]] = {
    32: (4, 4, 4, 4),
    64: (1, 2, 4, 8, 16),
    128: (1, 2, 4, 8, 16, 16),
    256: (1, 2, 4, 8, 8, 16, 16),
}
D_DOWNSAMPLE: dict[int, tuple[bool, ...]] = {
    32: (True, True, False, False),
    64: (True, True, True, True, False),
    128: (True, True, True, True, True, False),
    256: (True, True, True, True, True, True, False),
}
SUPPORTED_RESOLUTIONS = tuple(sorted(G_CHANNEL_CHAINS))


def _check_positive(config: Any, *names: str) -> None:
    bad = [f"{n}={getattr(config, n)!r}" for n in names if not getattr(config, n) >= 1]
    if bad:
        raise ValueError(f"{type(config).__name__}: {', '.join(bad)} must be >= 1")


def _check_resolution(resolution: int) -> None:
    if resolution not in SUPPORTED_RESOLUTIONS:
        raise ValueError(
            f"resolution {resolution} has no BigGAN architecture table; choose one of {SUPPORTED_RESOLUTIONS}"
        )


# ---- JSON readers ------------------------------------------------------------------------------
# Each config's `from_dict` names one reader per field. A hand-edited config.json then fails here,
# naming the field ("GeneratorConfig.ch must be an integer, got '8'"), not deep inside a network build.


class _Reader(NamedTuple):
    """How one JSON value becomes a field: what it must be (for the error), the check, the conversion."""

    what: str
    ok: Callable[[Any], bool]
    convert: Callable[[Any], Any] = lambda v: v


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def _is_level(k: Any) -> bool:
    """A level key as JSON writes it: "32" (or 32 in a dict built in Python)."""
    return _is_int(k) or (isinstance(k, str) and k.strip().isdigit())


def _list_of(ok: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, list) and all(map(ok, v))


def _optional(reader: _Reader) -> _Reader:
    return _Reader(
        f"{reader.what} or null",
        lambda v: v is None or reader.ok(v),
        lambda v: None if v is None else reader.convert(v),
    )


def _nested(cls: Any) -> _Reader:
    """A config inside a config; its own `from_dict` names its own fields."""
    return _Reader(f"a {cls.__name__} object", lambda v: isinstance(v, Mapping), cls.from_dict)


_INT = _Reader("an integer", _is_int)
_FLOAT = _Reader("a finite number", _is_number)  # an integer is kept as written
_BOOL = _Reader("true or false", lambda v: isinstance(v, bool))
_STR = _Reader("a string", lambda v: isinstance(v, str))
_INTS = _Reader("a list of integers", _list_of(_is_int), tuple)
_BOOLS = _Reader("a list of true/false", _list_of(lambda v: isinstance(v, bool)), tuple)
_STRS = _Reader("a list of strings", _list_of(lambda v: isinstance(v, str)), tuple)
# {level: weight}: JSON made the level keys strings.
_LEVEL_WEIGHTS = _Reader(
    "an object of level: weight",
    lambda v: isinstance(v, Mapping) and all(_is_level(k) and _is_number(w) for k, w in v.items()),
    lambda v: {int(k): float(w) for k, w in v.items()},
)


def _read(cls: type, data: Mapping[str, Any], readers: Mapping[str, _Reader]) -> dict[str, Any]:
    """JSON object -> keyword arguments of `cls`; unknown keys are an error (a newer version's config,
    or a typo); missing keys take the field's default (an older version's config)."""
    names = {f.name for f in dataclasses.fields(cls)}
    if set(readers) != names:  # a field added without a reader: a bug here, not in the file
        raise TypeError(f"{cls.__name__}.from_dict has no reader for {sorted(names - set(readers))}")
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__} must be a JSON object, got {type(data).__name__}")
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}; known: {sorted(names)}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        reader = readers[name]
        if not reader.ok(value):
            raise ValueError(f"{cls.__name__}.{name} must be {reader.what}, got {value!r}")
        kwargs[name] = reader.convert(value)
    return kwargs


def to_dict(config: Any) -> dict[str, Any]:
    """Dataclass -> JSON-ready dict (tuples become lists, mapping keys strings)."""

    def convert(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: convert(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, Mapping):
            return {str(k): convert(x) for k, x in v.items()}
        if isinstance(v, (tuple, list)):
            return [convert(x) for x in v]
        return v

    return convert(config)


# ---- network configs ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GeneratorConfig:
    """BigGAN generator (shared class embedding, hierarchical z), BigGAN-PyTorch semantics."""

    resolution: int = 128
    ch: int = 96
    n_classes: int = 1000
    dim_z: int = 120  # rounded down to a multiple of (blocks + 1) chunks, as BigGAN-PyTorch does
    shared_dim: int = 128
    attention: tuple[int, ...] = (64,)  # resolutions (block outputs) followed by self-attention
    channel_chain: tuple[int, ...] | None = None  # custom multipliers; None: BigGAN's table
    sn_eps: float = 1e-6
    bn_eps: float = 1e-5
    init: str = "ortho"  # "ortho" | "N02" | "xavier" (BigGAN-PyTorch's choices)

    def __post_init__(self) -> None:
        _check_resolution(self.resolution)
        _check_positive(self, "ch", "n_classes", "shared_dim")
        if self.dim_z < self.n_blocks + 1:
            raise ValueError(
                f"dim_z must be at least {self.n_blocks + 1} (one z chunk per block and the stem), got {self.dim_z}"
            )
        chain = self.chain
        if len(chain) != self.n_blocks + 1:
            raise ValueError(
                f"generator channel_chain needs {self.n_blocks + 1} entries at {self.resolution} px, got {len(chain)}"
            )
        bad = [r for r in self.attention if r not in self.block_resolutions]
        if bad:
            raise ValueError(f"generator attention at {bad} px: blocks output {self.block_resolutions}")

    @property
    def n_blocks(self) -> int:
        return self.resolution.bit_length() - 3  # 4 -> resolution, one doubling per block

    @property
    def chain(self) -> tuple[int, ...]:
        return self.channel_chain or G_CHANNEL_CHAINS[self.resolution]

    @property
    def in_channels(self) -> tuple[int, ...]:
        return tuple(m * self.ch for m in self.chain[:-1])

    @property
    def out_channels(self) -> tuple[int, ...]:
        return tuple(m * self.ch for m in self.chain[1:])

    @property
    def block_resolutions(self) -> tuple[int, ...]:
        return tuple(8 * 2**i for i in range(self.n_blocks))

    @property
    def z_chunk(self) -> int:
        return self.dim_z // (self.n_blocks + 1)

    @property
    def dim_z_used(self) -> int:
        """The z length the network takes: BigGAN rounds dim_z down to whole chunks (256 px: 119)."""
        return self.z_chunk * (self.n_blocks + 1)

    def channels_at(self, resolution: int) -> int:
        """Channels of the generator activation at `resolution` (4: the reshaped stem)."""
        if resolution == 4:
            return self.in_channels[0]
        return self.out_channels[self.block_resolutions.index(resolution)]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GeneratorConfig:
        readers = {
            "resolution": _INT,
            "ch": _INT,
            "n_classes": _INT,
            "dim_z": _INT,
            "shared_dim": _INT,
            "attention": _INTS,
            "channel_chain": _optional(_INTS),
            "sn_eps": _FLOAT,
            "bn_eps": _FLOAT,
            "init": _STR,
        }
        return cls(**_read(cls, data, readers))


@dataclass(frozen=True)
class DiscriminatorConfig:
    """BigGAN projection discriminator; the Encoder is its trunk (same config)."""

    resolution: int = 128
    ch: int = 96
    n_classes: int = 1000
    attention: tuple[int, ...] = (64,)
    channel_chain: tuple[int, ...] | None = None
    downsample: tuple[bool, ...] | None = None
    sn_eps: float = 1e-6
    init: str = "ortho"

    def __post_init__(self) -> None:
        _check_resolution(self.resolution)
        _check_positive(self, "ch", "n_classes")
        if len(self.chain) != len(self.downsamples):
            raise ValueError(
                f"discriminator channel_chain ({len(self.chain)}) and downsample ({len(self.downsamples)}) "
                "must have one entry per block"
            )
        if self.resolution >> sum(self.downsamples) < 1:
            raise ValueError("discriminator downsamples below 1 px")
        bad = [r for r in self.attention if r not in self.block_resolutions]
        if bad:
            raise ValueError(f"discriminator attention at {bad} px: blocks output {self.block_resolutions}")

    @property
    def chain(self) -> tuple[int, ...]:
        return self.channel_chain or D_CHANNEL_CHAINS[self.resolution]

    @property
    def downsamples(self) -> tuple[bool, ...]:
        return self.downsample or D_DOWNSAMPLE[self.resolution]

    @property
    def n_blocks(self) -> int:
        return len(self.chain)

    @property
    def in_channels(self) -> tuple[int, ...]:
        return (3,) + tuple(m * self.ch for m in self.chain[:-1])

    @property
    def out_channels(self) -> tuple[int, ...]:
        return tuple(m * self.ch for m in self.chain)

    @property
    def block_resolutions(self) -> tuple[int, ...]:
        out, r = [], self.resolution
        for down in self.downsamples:
            r = r // 2 if down else r
            out.append(r)
        return tuple(out)

    def tap_block(self, resolution: int) -> int:
        """Index of the block whose output is the feature at `resolution`: the LAST block there."""
        blocks = [i for i, r in enumerate(self.block_resolutions) if r == resolution]
        if not blocks:
            raise ValueError(f"the discriminator has no {resolution} px feature; it has {self.block_resolutions}")
        return blocks[-1]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DiscriminatorConfig:
        readers = {
            "resolution": _INT,
            "ch": _INT,
            "n_classes": _INT,
            "attention": _INTS,
            "channel_chain": _optional(_INTS),
            "downsample": _optional(_BOOLS),
            "sn_eps": _FLOAT,
            "init": _STR,
        }
        return cls(**_read(cls, data, readers))


def default_levels(generator: GeneratorConfig, discriminator: DiscriminatorConfig) -> tuple[int, ...]:
    """The rule for which pyramid levels connect encoder -> generator (paper: 32/16/8/4 at 128 px).

    Connect every generator resolution from 4 to resolution/4 that the encoder also outputs.
    """
    g_res = (4,) + generator.block_resolutions
    d_res = set(discriminator.block_resolutions)
    levels = tuple(r for r in g_res if r <= generator.resolution // 4 and r in d_res)
    return tuple(sorted(levels, reverse=True))


@dataclass(frozen=True)
class DeepI2IConfig:
    """Encoder -> adaptors -> generator, plus the discriminator (paper §3, Appendix A)."""

    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    # The encoder is a copy of the discriminator's trunk (its head is dropped).
    encoder: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    levels: tuple[int, ...] | None = None  # None: default_levels(); e.g. (8,) is the paper's w-3 ablation
    adaptor_weights: Mapping[int, float] | float = 0.1  # w_l in Eq. 5 (one number: every level)
    use_adaptors: bool = True  # False: the paper's †DeepI2I, features added directly
    relu_last_tap: bool = True  # the released config's in-place ReLU makes the last tap post-ReLU
    class_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        g, d, e = self.generator, self.discriminator, self.encoder
        if not (g.resolution == d.resolution == e.resolution):
            raise ValueError(
                "generator, discriminator and encoder resolutions differ: "
                f"{g.resolution}, {d.resolution}, {e.resolution}"
            )
        if g.n_classes != d.n_classes:
            raise ValueError(f"generator has {g.n_classes} classes, discriminator {d.n_classes}")
        if self.class_names is not None and len(self.class_names) != g.n_classes:
            raise ValueError(f"{len(self.class_names)} class names for {g.n_classes} classes")
        g_res = {4, *g.block_resolutions}
        for r in self.pyramid_levels:
            if r not in g_res:
                raise ValueError(f"level {r} px is not a generator resolution {sorted(g_res)}")
            e.tap_block(r)  # raises if the encoder has no such level
        if isinstance(self.adaptor_weights, Mapping):
            missing = set(self.pyramid_levels) - {int(k) for k in self.adaptor_weights}
            if missing:
                raise ValueError(f"adaptor_weights has no weight for levels {sorted(missing)}")

    @property
    def resolution(self) -> int:
        return self.generator.resolution

    @property
    def n_classes(self) -> int:
        return self.generator.n_classes

    @property
    def pyramid_levels(self) -> tuple[int, ...]:
        return self.levels if self.levels is not None else default_levels(self.generator, self.encoder)

    def weight(self, level: int) -> float:
        w = self.adaptor_weights
        return float(w) if not isinstance(w, Mapping) else float({int(k): v for k, v in w.items()}[level])

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeepI2IConfig:
        readers = {
            "generator": _nested(GeneratorConfig),
            "discriminator": _nested(DiscriminatorConfig),
            "encoder": _nested(DiscriminatorConfig),
            "levels": _optional(_INTS),
            "adaptor_weights": _Reader(  # one number (every level) or {level: weight}
                f"{_FLOAT.what} or {_LEVEL_WEIGHTS.what}",
                lambda v: _FLOAT.ok(v) or _LEVEL_WEIGHTS.ok(v),
                lambda v: _LEVEL_WEIGHTS.convert(v) if isinstance(v, Mapping) else v,
            ),
            "use_adaptors": _BOOL,
            "relu_last_tap": _BOOL,
            "class_names": _optional(_STRS),
        }
        return cls(**_read(cls, data, readers))


@dataclass(frozen=True)
class BigGANConfig:
    """A class-conditional BigGAN: the transfer source (imported or pretrained by us)."""

    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    class_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.generator.resolution != self.discriminator.resolution:
            raise ValueError("generator and discriminator resolutions differ")
        if self.generator.n_classes != self.discriminator.n_classes:
            raise ValueError("generator and discriminator class counts differ")

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BigGANConfig:
        readers = {
            "generator": _nested(GeneratorConfig),
            "discriminator": _nested(DiscriminatorConfig),
            "class_names": _optional(_STRS),
        }
        return cls(**_read(cls, data, readers))


# ---- model builders --------------------------------------------------------------------------


def _deepi2i(g: GeneratorConfig, d: DiscriminatorConfig, **kwargs: Any) -> DeepI2IConfig:
    return DeepI2IConfig(generator=g, discriminator=d, encoder=d, **kwargs)


def paper128(n_classes: int = 1000, class_names: Sequence[str] | None = None) -> DeepI2IConfig:
    """The paper's configuration: BigGAN 128 px, ch 96, attention at 64, levels 32/16/8/4, w = 0.1."""
    g = GeneratorConfig(n_classes=n_classes)
    d = DiscriminatorConfig(n_classes=n_classes)
    return _deepi2i(g, d, class_names=tuple(class_names) if class_names else None)


def tiny(resolution: int = 32, ch: int = 4, n_classes: int = 3, attention: tuple[int, ...] = ()) -> DeepI2IConfig:
    """A few-thousand-parameter model for tests and smoke runs (any supported resolution)."""
    g = GeneratorConfig(resolution=resolution, ch=ch, n_classes=n_classes, attention=attention, dim_z=20, shared_dim=8)
    d = DiscriminatorConfig(resolution=resolution, ch=ch, n_classes=n_classes, attention=attention)
    return _deepi2i(g, d)


def shapes64(n_classes: int = 10, ch: int = 8, class_names: Sequence[str] | None = None) -> DeepI2IConfig:
    """The CPU Shapes model: a scaled-down 128 px hierarchy at 64 px keeping four levels (32/16/8/4).

    Width chosen by measurement (docs/training.md): at ch 8 a batch-32 CPU step (~0.5 s) is
    cheaper than that of the 32 px, ch 16 BigGAN that learned class-specific shapes in tens of minutes.
    """
    g = GeneratorConfig(resolution=64, ch=ch, n_classes=n_classes, attention=(), dim_z=120, shared_dim=128)
    d = DiscriminatorConfig(resolution=64, ch=ch, n_classes=n_classes, attention=())
    return _deepi2i(
        g,
        d,
        levels=(32, 16, 8, 4),
        adaptor_weights=SHAPES_ADAPTOR_WEIGHTS,
        class_names=tuple(class_names) if class_names else None,
    )


# w_l of the Shapes recipe (the paper: 0.1 everywhere). The input must be audible where its place,
# size and colours live (4 and 8 px) but not force its silhouette (16, 32 px); chosen on the
# validation split between two candidates (docs/results/shapes.md, docs/deviations.md).
SHAPES_ADAPTOR_WEIGHTS: dict[int, float] = {4: 1.0, 8: 1.0, 16: 0.3, 32: 0.1}


# ---- training ----------------------------------------------------------------------------------

# The training config belongs beside the training code (deepi2i/training); it stays here until the
# training refactor lands, so that the two moves do not collide.

NETWORK_NAMES = ("encoder", "adaptors", "generator", "discriminator")
TRANSFERABLE = ("encoder", "generator", "discriminator")  # the networks a BigGAN source can initialise
TASKS = ("pretrain", "translate")
ADV_LOSSES = ("hinge", "log")
REC_DISTANCES = ("l1", "mse")
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
    ortho_reg: float = 0.0  # BigGAN's orthogonal regularisation of G (1e-4 in BigGAN-PyTorch's scripts)
    ema_decay: float | None = None  # EMA of the generator (None: off)
    ema_start_kimg: float = 0.0  # before this the EMA copies the generator
    transfer: tuple[str, ...] = TRANSFERABLE  # networks initialised from the source
    class_rows: tuple[int, ...] | None = None  # source embedding row per target class (None: row c)
    cross_replica_bn: bool = False  # batch-norm statistics over all replicas (DDP)
    amp: str = "none"  # "none" | "bf16" | "fp16" autocast
    channels_last: bool = False
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
            "ortho_reg": _FLOAT,
            "ema_decay": _optional(_FLOAT),
            "ema_start_kimg": _FLOAT,
            "transfer": _STRS,
            "class_rows": _optional(_INTS),
            "cross_replica_bn": _BOOL,
            "amp": _STR,
            "channels_last": _BOOL,
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


def transfer_phases(phase1_kimg: float, total_kimg: float) -> tuple[PhaseConfig, ...]:
    """The paper's two phases: adaptors + D (encoder, generator frozen), then G + adaptors + D."""
    if total_kimg < phase1_kimg:
        raise ValueError(f"total length {total_kimg} kimg is shorter than phase 1 ({phase1_kimg} kimg)")
    return (
        PhaseConfig("adaptors+discriminator", phase1_kimg, ("adaptors", "discriminator")),
        PhaseConfig(
            "generator+adaptors+discriminator",
            total_kimg - phase1_kimg,
            ("generator", "adaptors", "discriminator"),
        ),
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
        # 4,500 steps pretraining (3,000 drew blobs; 4,500 draws class-specific shapes: docs/results/shapes.md);
        # 100 + 1,400 steps DeepI2I.
        pretrain_kimg=144.0,
        pretrain_settings={"ema_decay": 0.999},
        translate_kimg=48.0,
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
) -> TrainConfig:
    """A named training configuration ('paper128', 'shapes64', 'tiny') for `task`.

    `kimg` is the total length; `phase1_kimg` the length of the adaptors + D phase (translate).
    `scratch` trains every network from random initialisation in one phase (DeepI2I (scratch)).
    `transfer` (translate): which of encoder / generator / discriminator start from the source
    (default all three; the paper's Fig. 6 ablation uses subsets). A network that starts from
    random weights is trained in every phase, so a random encoder is not left frozen.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown training preset {name!r}; choose one of {tuple(PRESETS)}")
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    preset = PRESETS[name]
    model = preset.model(n_classes, tuple(class_names) if class_names else None)
    settings = dict(preset.settings)
    if task == "pretrain":
        settings.update(preset.pretrain_settings)
        phases = pretrain_phases(float(kimg if kimg is not None else preset.pretrain_kimg))
    elif scratch:
        phases = scratch_phases(float(kimg if kimg is not None else preset.translate_kimg))
        settings["transfer"] = ()
    else:
        total = float(kimg if kimg is not None else preset.translate_kimg)
        p1 = float(phase1_kimg if phase1_kimg is not None else preset.phase1_kimg)
        phases = transfer_phases(min(p1, total), total)
        if transfer is not None:
            settings["transfer"] = tuple(transfer)
            random_init = [n for n in TRANSFERABLE if n not in transfer]
            trains = [p.train + tuple(n for n in random_init if n not in p.train) for p in phases]
            phases = tuple(PhaseConfig("+".join(t), p.kimg, t) for p, t in zip(phases, trains, strict=True))
    return TrainConfig(task=task, model=model, phases=phases, **settings)
