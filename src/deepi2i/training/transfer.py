"""Knowledge transfer (paper §3.2): start DeepI2I from a pretrained BigGAN.

The generator starts from the source's (EMA) generator; the discriminator AND the encoder from
its discriminator (the encoder drops the head). The target may have a different number of
classes: target class c starts from source embedding row `rows[c]` in the generator's shared
embedding and the discriminator's projection embedding (default row c, as the official code).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F

from deepi2i.checkpoint import load_state_strict
from deepi2i.convert import HEAD_KEYS
from deepi2i.networks import DeepI2I
from deepi2i.networks.biggan import BigGAN
from deepi2i.training.config import TrainConfig


def parse_class_map(
    spec: str | None, target_names: Sequence[str], source_names: Sequence[str] | None, n_source: int
) -> tuple[int, ...]:
    """Source row per target class from a spec.

    "identity" (or None): row c. "offset:N": row N + c (Animal Faces in ImageNet: offset:151).
    "names": the source class with the same name. "3,7,9": an explicit row per target class.
    """
    n = len(target_names)
    spec = (spec or "identity").strip()
    if spec == "identity":
        rows = tuple(range(n))
    elif spec.startswith("offset:"):
        try:
            k = int(spec.removeprefix("offset:"))
        except ValueError:
            raise ValueError(f"bad class map {spec!r}: expected offset:N with an integer N") from None
        rows = tuple(k + c for c in range(n))
    elif spec == "names":
        if source_names is None:
            raise ValueError("class map 'names' needs a source with class names; use identity, offset:N or a row list")
        index = {name: i for i, name in enumerate(source_names)}
        missing = [t for t in target_names if t not in index]
        if missing:
            raise ValueError(f"target classes {missing[:10]} are not source classes; use offset:N or a row list")
        rows = tuple(index[t] for t in target_names)
    else:
        try:
            rows = tuple(int(v) for v in spec.split(","))
        except ValueError:
            raise ValueError(
                f"bad class map {spec!r}: use identity, offset:N, names, or comma-separated rows"
            ) from None
        if len(rows) != n:
            raise ValueError(f"class map lists {len(rows)} rows for {n} target classes")
    bad = [r for r in rows if not 0 <= r < n_source]
    if bad:
        raise ValueError(f"class map rows {bad[:10]} are outside the source's {n_source} classes")
    return rows


def resolve_transfer_config(config: TrainConfig, source: BigGAN) -> TrainConfig:
    """The run's config with the source's architecture (the target's class count kept).

    DeepI2I's own settings (levels, adaptor weights, †DeepI2I) stay the preset's; a preset made
    for another resolution is an error rather than a silent change of image size. A generator that
    is not transferred keeps the config's own (e.g. a wider one, `--ch`): the adaptors map the
    encoder's channels to whatever the generator has at each level, so its width is free.
    """
    if not config.transfer:
        return config
    g, d = source.config.generator, source.config.discriminator
    if g.resolution != config.model.resolution:
        raise ValueError(
            f"the source is a {g.resolution} px BigGAN but the preset is for {config.model.resolution} px; "
            "choose a preset of the source's resolution"
        )
    n = config.model.n_classes
    d_trg = dataclasses.replace(d, n_classes=n)
    g_trg = dataclasses.replace(g, n_classes=n) if "generator" in config.transfer else config.model.generator
    model = dataclasses.replace(config.model, generator=g_trg, discriminator=d_trg, encoder=d_trg)
    return dataclasses.replace(config, model=model)


def _select_rows(state: dict[str, torch.Tensor], weight: str, u: str | None, rows: Sequence[int]) -> None:
    n_src = state[weight].shape[0]
    if list(rows) == list(range(n_src)):
        return
    idx = torch.as_tensor(rows, dtype=torch.long)
    state[weight] = state[weight][idx].clone()
    if u is not None:  # the spectral-norm vector of an embedding is indexed by class
        state[u] = F.normalize(state[u][:, idx], dim=1, eps=1e-12)


def transfer_weights(model: DeepI2I, source: BigGAN, networks: Iterable[str], rows: Sequence[int]) -> None:
    """Copy the source into `networks` of `model` (any of encoder, generator, discriminator)."""
    networks = set(networks)
    if "generator" in networks:
        g_state = dict(source.generator.state_dict())
        _select_rows(g_state, "shared.weight", None, rows)
        load_state_strict(model.generator, g_state, "the source generator (class rows selected)")
    d_state = dict(source.discriminator.state_dict())
    if "encoder" in networks:
        e_state = {k: v for k, v in d_state.items() if not k.startswith(HEAD_KEYS)}
        load_state_strict(model.encoder, e_state, "the source discriminator (as the encoder)")
    if "discriminator" in networks:
        _select_rows(d_state, "embed.weight", "embed.u0", rows)
        load_state_strict(model.discriminator, d_state, "the source discriminator (class rows selected)")
