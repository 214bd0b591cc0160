"""Where evaluation networks get their weights: always a local file, never a download.

Metrics are only comparable when everyone uses the same weights, and evaluation must run on
machines without internet, so every pretrained network (Inception, LPIPS's trunk, a classifier's
initialisation) is read from a file the user names (argument or environment variable) or from
torch's hub cache, and its SHA-256 goes into the report.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from deepi2i._io import StrPath
from deepi2i.checkpoint import read_state


@dataclass(frozen=True)
class WeightsSpec:
    """A pretrained file that evaluation needs: its canonical name, origin, and how users point at it."""

    what: str
    filename: str
    url: str
    env: str
    option: str


def hub_checkpoint(filename: str) -> Path:
    """Where torch.hub (and so torch-fidelity / torchvision) caches a downloaded file of this name."""
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def resolve_weights(spec: WeightsSpec, path: StrPath | None = None) -> Path:
    """The weights file: `path`, else $`spec.env`, else the torch hub cache; a clear error otherwise.

    A path that is given but missing is an error even when the cache has the file, so a typo
    never silently evaluates with other weights.
    """
    for given, how in ((path, spec.option), (os.environ.get(spec.env) or None, f"${spec.env}")):
        if given is not None:
            p = Path(given).expanduser()
            if not p.is_file():
                raise FileNotFoundError(f"{spec.what} weights given by {how} not found: {p}")
            return p
    cached = hub_checkpoint(spec.filename)
    if cached.is_file():
        return cached
    raise FileNotFoundError(
        f"{spec.what} weights not found. deepi2i never downloads them: get {spec.filename} "
        f"({spec.url}) and put it at {cached}, or set {spec.env}=/path/to/{spec.filename}, "
        f"or pass {spec.option} FILE"
    )


def sha256_file(path: StrPath) -> str:
    """Hex SHA-256 of a file, read in chunks (weights files are hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_state_dict(path: StrPath, what: str) -> dict[str, torch.Tensor]:
    """A state_dict from a .pth/.pt file through deepi2i's one safe reader (tensors only: no code runs)."""
    return read_state(path, what)
