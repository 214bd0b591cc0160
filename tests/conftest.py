"""Shared fixtures: the reference files copied into tests/data, and tiny seeded models."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

REFERENCE = Path(__file__).parent / "data" / "reference"


def unflatten(flat: dict[str, torch.Tensor], prefix: str) -> dict[int, torch.Tensor]:
    """{'prefix.32': t, ...} -> {32: t, ...} (vectors are stored flat in safetensors)."""
    return {int(k[len(prefix) + 1 :]): v for k, v in flat.items() if k.startswith(prefix + ".")}


@pytest.fixture(scope="session")
def biggan_dir() -> Path:
    """BigGAN-PyTorch's files (G.pth, G_ema.pth, D.pth) for a tiny random 128 px model."""
    return REFERENCE / "biggan"


@pytest.fixture(scope="session")
def biggan_vectors() -> dict[str, torch.Tensor]:
    return load_file(REFERENCE / "biggan" / "vectors.safetensors")


@pytest.fixture(scope="session")
def official_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The official DeepI2I folder layout: its G.pth and D.pth are the BigGAN ones, plus A1.pth."""
    d = tmp_path_factory.mktemp("official")
    shutil.copy(REFERENCE / "biggan" / "G.pth", d / "G.pth")
    shutil.copy(REFERENCE / "biggan" / "D.pth", d / "D.pth")
    shutil.copy(REFERENCE / "official" / "A1.pth", d / "A1.pth")
    return d


@pytest.fixture(scope="session")
def official_vectors() -> dict[str, torch.Tensor]:
    return load_file(REFERENCE / "official" / "vectors.safetensors")


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Tiny networks run fastest on one thread (and do not fight other jobs for the cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
