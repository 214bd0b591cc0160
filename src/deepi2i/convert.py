"""Foreign checkpoints -> our modules: BigGAN-PyTorch (`G.pth`/`G_ema.pth`, `D.pth`) and the
official DeepI2I code (`G.pth`, `D.pth`, `A1.pth`, optional `E1.pth`).

Never unpickles code: files are read with `checkpoint.read_state` (`torch.load(weights_only=True)`). The architecture is
detected from tensor names and shapes (what cannot be seen in them, the eps values and the
init scheme, takes BigGAN's defaults); keyword overrides replace any detected field.

Key table: our Generator, Discriminator and Encoder use BigGAN-PyTorch's key names unchanged
(the Encoder drops the discriminator head `linear.*`/`embed.*`). The official adaptor file
renames `blocks.{i}.0.*` -> `level.{r}.*` with levels ordered from the highest resolution
down (i = 0 is 32 px at 128 px), and holds unused `linear.*`/`embed.*` entries we drop.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import Tensor

from deepi2i.checkpoint import build_empty, load_state_strict, read_state, save_export
from deepi2i.config import (
    D_CHANNEL_CHAINS,
    D_DOWNSAMPLE,
    G_CHANNEL_CHAINS,
    BigGANConfig,
    DeepI2IConfig,
    DiscriminatorConfig,
    GeneratorConfig,
)
from deepi2i.networks import DeepI2I, Discriminator, Generator
from deepi2i.networks.biggan import BigGAN
from deepi2i.pretrained import resolve_model

log = logging.getLogger(__name__)

HEAD_KEYS = ("linear.", "embed.")
_BLOCK = re.compile(r"^blocks\.(\d+)\.(\d+)\.")


def _block_stages(state: Mapping[str, Tensor]) -> dict[int, set[int]]:
    stages: dict[int, set[int]] = {}
    for k in state:
        m = _BLOCK.match(k)
        if m:
            stages.setdefault(int(m[1]), set()).add(int(m[2]))
    return stages


def _channels_and_chain(channels: list[int], table: tuple[int, ...]) -> tuple[int, tuple[int, ...] | None]:
    """(ch, custom chain or None): BigGAN's table times ch when it fits, otherwise a custom chain."""
    if len(channels) == len(table) and channels[-1] % table[-1] == 0:
        ch = channels[-1] // table[-1]
        if [m * ch for m in table] == channels:
            return ch, None
    ch = math.gcd(*channels)
    return ch, tuple(c // ch for c in channels)


def _apply(config: Any, overrides: Mapping[str, Any]) -> Any:
    known = {f.name for f in dataclasses.fields(config)}
    return dataclasses.replace(config, **{k: v for k, v in overrides.items() if k in known})


def detect_generator_config(state: Mapping[str, Tensor], **overrides: Any) -> GeneratorConfig:
    """GeneratorConfig from a BigGAN-PyTorch generator state_dict (shapes only; meta tensors work)."""
    for key in ("shared.weight", "linear.weight", "blocks.0.0.conv1.weight"):
        if key not in state:
            raise ValueError(
                f"not a BigGAN-PyTorch generator state_dict: no {key!r} (a G_shared, hierarchical-z model is expected)"
            )
    n_blocks = len(_block_stages(state))
    resolution = 4 * 2**n_blocks
    n_classes, shared_dim = state["shared.weight"].shape
    z_chunk = state["linear.weight"].shape[1]
    cond = state["blocks.0.0.bn1.gain.weight"].shape[1]
    if cond != shared_dim + z_chunk:
        raise ValueError(
            f"the generator's BN conditioning has {cond} inputs, not shared_dim + z chunk = {shared_dim + z_chunk}: "
            "only BigGAN's hierarchical-z, shared-embedding generator (hier=True, G_shared=True) is supported"
        )
    channels = [state["blocks.0.0.conv1.weight"].shape[1]]
    channels += [state[f"blocks.{i}.0.conv1.weight"].shape[0] for i in range(n_blocks)]
    table = G_CHANNEL_CHAINS.get(resolution, ())
    ch, chain = _channels_and_chain(channels, table)
    attention = tuple(8 * 2**i for i in range(n_blocks) if f"blocks.{i}.1.gamma" in state)
    config = GeneratorConfig(
        resolution=overrides.get("resolution", resolution),
        ch=ch,
        n_classes=n_classes,
        dim_z=z_chunk * (n_blocks + 1),
        shared_dim=shared_dim,
        attention=attention,
        channel_chain=chain,
    )
    return _apply(config, overrides)


def detect_discriminator_config(state: Mapping[str, Tensor], **overrides: Any) -> DiscriminatorConfig:
    """DiscriminatorConfig from a BigGAN-PyTorch D (or encoder) state_dict (shapes only).

    Convolutions do not show the resolution; BigGAN's tables do: 4/5/6/7 blocks are 32/64/128/256 px.
    """
    stages = _block_stages(state)
    if not stages or "blocks.0.0.conv1.weight" not in state:
        raise ValueError("not a BigGAN-PyTorch discriminator state_dict: no 'blocks.0.0.conv1.weight'")
    n_blocks = len(stages)
    by_blocks = {len(chain): res for res, chain in D_CHANNEL_CHAINS.items()}
    resolution = overrides.get("resolution", by_blocks.get(n_blocks))
    if resolution is None:
        raise ValueError(f"a {n_blocks}-block discriminator matches no BigGAN table; pass resolution= and downsample=")
    channels = [state[f"blocks.{i}.0.conv1.weight"].shape[0] for i in range(n_blocks)]
    ch, chain = _channels_and_chain(channels, D_CHANNEL_CHAINS.get(resolution, ()))
    downsample = None if len(D_DOWNSAMPLE.get(resolution, ())) == n_blocks else overrides.get("downsample")
    config = DiscriminatorConfig(resolution=resolution, ch=ch, attention=(), channel_chain=chain, downsample=downsample)
    res = config.block_resolutions
    attention = tuple(res[i] for i in range(n_blocks) if f"blocks.{i}.1.gamma" in state)
    n_classes = state["embed.weight"].shape[0] if "embed.weight" in state else config.n_classes
    config = dataclasses.replace(config, attention=attention, n_classes=n_classes)
    return _apply(config, overrides)


def _pick_generator_file(folder: Path, generator_file: str | None) -> Path:
    if generator_file is not None:
        return folder / generator_file
    if (folder / "G_ema.pth").is_file():
        return folder / "G_ema.pth"
    log.warning("%s has no G_ema.pth; using G.pth (the non-averaged generator)", folder)
    return folder / "G.pth"


def load_biggan_pytorch(
    path: str | Path, generator_file: str | None = None, **overrides: Any
) -> tuple[Generator, Discriminator]:
    """(Generator, Discriminator) from a BigGAN-PyTorch weights folder.

    `generator_file`: "G_ema.pth" or "G.pth"; None takes G_ema.pth when present (what DeepI2I
    transfers from). `overrides`: any GeneratorConfig/DiscriminatorConfig field (e.g. sn_eps).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder; expected one holding G_ema.pth (or G.pth) and D.pth")
    g_path = _pick_generator_file(folder, generator_file)
    g_state, d_state = read_state(g_path), read_state(folder / "D.pth")
    _check_overrides(overrides)
    g_config = detect_generator_config(g_state, **overrides)
    d_config = detect_discriminator_config(d_state, **overrides)
    if d_config.resolution != g_config.resolution:
        raise ValueError(
            f"{g_path.name} is a {g_config.resolution} px generator but D.pth a {d_config.resolution} px discriminator"
        )
    g, d = build_empty(Generator, g_config), build_empty(Discriminator, d_config)
    load_state_strict(g, g_state, str(g_path), assign=True)
    load_state_strict(d, d_state, str(folder / "D.pth"), assign=True)
    return g, d


def _check_overrides(overrides: Mapping[str, Any]) -> None:
    """Architecture overrides must name config fields: a typo must not be ignored silently."""
    known = {f.name for f in (*dataclasses.fields(GeneratorConfig), *dataclasses.fields(DiscriminatorConfig))}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(
            f"unknown override(s) {', '.join(unknown)}; "
            f"GeneratorConfig/DiscriminatorConfig fields: {', '.join(sorted(known))}"
        )


def biggan_from_pytorch(src: str | Path, generator_file: str | None = None, **overrides: Any) -> BigGAN:
    """A BigGAN-PyTorch folder as our BigGAN module (eval mode)."""
    g, d = load_biggan_pytorch(src, generator_file, **overrides)
    model = build_empty(BigGAN, BigGANConfig(generator=g.config, discriminator=d.config))
    model.generator, model.discriminator = g, d
    return model.eval()


def load_biggan(path: str | Path, generator_file: str | None = None, **overrides: Any) -> BigGAN:
    """A transfer source: our BigGAN export (or a shipped one's name, e.g. 'shapes-source'), or a
    BigGAN-PyTorch folder (converted on the fly)."""
    path = resolve_model(path)
    if (path / "config.json").is_file():
        return BigGAN.from_pretrained(path)
    return biggan_from_pytorch(path, generator_file, **overrides)


def import_biggan(
    src: str | Path, out: str | Path, generator_file: str | None = None, *, overwrite: bool = False, **overrides: Any
) -> Path:
    """`deepi2i import-biggan`: convert a BigGAN-PyTorch folder into our export format.

    An OUT holding another export (e.g. a trained DeepI2I) is refused unless `overwrite`.
    """
    model = biggan_from_pytorch(src, generator_file, **overrides)
    return save_export(out, model.config, model.networks(), overwrite=overwrite)


def adaptor_state_from_official(state: Mapping[str, Tensor], levels: tuple[int, ...]) -> dict[str, Tensor]:
    """Official `A1.pth` keys -> our Adaptors keys (levels sorted from high to low resolution)."""
    order = sorted(levels, reverse=True)
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        if key.startswith(HEAD_KEYS):
            continue  # unused discriminator-head copies in the official adaptor module
        m = _BLOCK.match(key)
        if not m or m[2] != "0" or int(m[1]) >= len(order):
            raise ValueError(f"unexpected key {key!r} in the official adaptor file")
        out[f"level.{order[int(m[1])]}.{key[m.end() :]}"] = value
    return out


def load_deepi2i_official(path: str | Path, adaptor_weight: float = 0.1, **overrides: Any) -> DeepI2I:
    """A DeepI2I from the official code's G.pth, D.pth, A1.pth (encoder from E1.pth when present, else D.pth)."""
    folder = Path(path)
    for name in ("G.pth", "D.pth", "A1.pth"):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"{folder / name} not found: the official DeepI2I folder needs G.pth, D.pth and A1.pth"
            )
    g_state, d_state = read_state(folder / "G.pth"), read_state(folder / "D.pth")
    e_path = folder / "E1.pth" if (folder / "E1.pth").is_file() else folder / "D.pth"
    e_state = {k: v for k, v in read_state(e_path).items() if not k.startswith(HEAD_KEYS)}
    a_state = read_state(folder / "A1.pth")
    _check_overrides(overrides)
    g_config = detect_generator_config(g_state, **overrides)
    d_config = detect_discriminator_config(d_state, **overrides)
    e_config = dataclasses.replace(detect_discriminator_config(e_state, **overrides), n_classes=d_config.n_classes)
    n_levels = len(_block_stages(a_state))
    config = DeepI2IConfig(generator=g_config, discriminator=d_config, encoder=e_config, adaptor_weights=adaptor_weight)
    levels = config.pyramid_levels
    if len(levels) != n_levels:
        raise ValueError(f"A1.pth has {n_levels} adaptors but the architecture connects levels {levels}")
    model = build_empty(DeepI2I, config)
    load_state_strict(model.generator, g_state, str(folder / "G.pth"), assign=True)
    load_state_strict(model.discriminator, d_state, str(folder / "D.pth"), assign=True)
    load_state_strict(model.encoder, e_state, str(e_path), assign=True)
    a_state = adaptor_state_from_official(a_state, levels)
    load_state_strict(model.adaptors, a_state, str(folder / "A1.pth"), assign=True)
    return model.eval()
