"""Frozen configurations for every network, the BigGAN architecture tables, and the model builders.

Sections, in order: architecture tables; JSON readers; network configs; model builders (paper128,
shapes64, tiny). The training config and the one preset table (`PRESETS`, edm2's
`config_presets`) are in `deepi2i.training.config`, beside the training code. Defaults live here
and only here (the CLI reads its flag defaults from these fields). A config is
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

    def with_adaptor_weights(self, weights: float | Mapping[int, float]) -> DeepI2IConfig:
        """This config with other w_l (Eq. 5): one number for every level, or {level: w} for some levels
        (the others keep theirs). w_l is read at every forward, so a trained model can translate, and be
        scored, with other weights than it trained with; its networks are unchanged."""
        if isinstance(weights, Mapping):
            levels = self.pyramid_levels
            unknown = sorted(set(weights) - set(levels))
            if unknown:
                raise ValueError(f"weights for levels {unknown} px, but this model's levels are {sorted(levels)} px")
            weights = {r: float(weights.get(r, self.weight(r))) for r in levels}
        return dataclasses.replace(self, adaptor_weights=weights)

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
