"""Exports (config.json + one .safetensors per network) and strict, explained state loading.

No pickle anywhere: safetensors for our files; `torch.load(weights_only=True)` for foreign ones.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import torch
from safetensors.torch import load_file, save
from torch import Tensor, nn

from deepi2i import __version__
from deepi2i.config import BigGANConfig, DeepI2IConfig

if TYPE_CHECKING:
    from deepi2i.networks import DeepI2I
    from deepi2i.networks.biggan import BigGAN

M = TypeVar("M", bound=nn.Module)
FORMAT = "deepi2i-export"
_KINDS: dict[str, type] = {"DeepI2I": DeepI2IConfig, "BigGAN": BigGANConfig}


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call `write(f)` on a temp file in the same folder, fsync, then rename: a crash or kill
    never leaves a half-written file behind under `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def _atomic_save_safetensors(state: Mapping[str, Tensor], path: Path, metadata: dict[str, str]) -> None:
    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    atomic_write_bytes(path, save(tensors, metadata=metadata))


def build_empty(cls: Callable[[Any], M], config: Any) -> M:
    """Build a module on the meta device (no memory, no init) for `load_state_strict(assign=True)`."""
    with torch.device("meta"):
        return cls(config)


def load_state_strict(module: nn.Module, state: Mapping[str, Tensor], what: str, assign: bool = False) -> None:
    """load_state_dict(strict=True), but a mismatch lists every missing, unexpected and mis-shaped key.

    With `assign`, the file's tensors become the module's (for modules made by `build_empty`).
    """
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    misshaped = sorted(
        f"{k}: file {list(state[k].shape)} vs model {list(own[k].shape)}"
        for k in set(own) & set(state)
        if own[k].shape != state[k].shape
    )
    if missing or unexpected or misshaped:

        def show(title: str, items: list[str]) -> str:
            head = ", ".join(items[:20]) + (f", ... ({len(items)} in all)" if len(items) > 20 else "")
            return f"\n  {title} ({len(items)}): {head}" if items else ""

        raise ValueError(
            f"{what} does not match the model built from its configuration:"
            + show("missing keys", missing)
            + show("unexpected keys", unexpected)
            + show("mis-shaped keys", misshaped)
            + "\n  Check the architecture settings (resolution, ch, n_classes, attention) or pass overrides."
        )
    module.load_state_dict(state, strict=True, assign=assign)


def save_export(directory: str | Path, config: DeepI2IConfig | BigGANConfig, networks: Mapping[str, nn.Module]) -> Path:
    """Write config.json and one <name>.safetensors per network into `directory`."""
    out = Path(directory)
    kind = type(config).__name__.removesuffix("Config")
    for name, net in networks.items():
        _atomic_save_safetensors(net.state_dict(), out / f"{name}.safetensors", {"format": FORMAT, "network": name})
    meta = {"format": FORMAT, "kind": kind, "deepi2i_version": __version__, "config": config.to_dict()}
    atomic_write_bytes(out / "config.json", (json.dumps(meta, indent=2) + "\n").encode())
    return out


def read_export_config(directory: str | Path) -> tuple[str, Any]:
    """(kind, config) of an export folder, with errors that say what the folder should hold."""
    d = Path(directory)
    path = d / "config.json"
    if not path.is_file():
        hint = ""
        if (d / "G.pth").exists() or (d / "G_ema.pth").exists():
            hint = " It looks like a BigGAN-PyTorch folder: convert it with `deepi2i import-biggan SRC OUT`."
        raise FileNotFoundError(f"{path} not found: {d} is not a deepi2i export.{hint}")
    meta = json.loads(path.read_text())
    if meta.get("format") != FORMAT or meta.get("kind") not in _KINDS:
        raise ValueError(f"{path} is not a deepi2i export config (format {meta.get('format')!r}, kind {meta.get('kind')!r})")
    return meta["kind"], _KINDS[meta["kind"]].from_dict(meta["config"])


def load_export(
    directory: str | Path, expect: type | None = None, map_location: str | torch.device = "cpu"
) -> DeepI2I | BigGAN:
    """Build the model an export describes and load every network strictly; returns it in eval mode."""
    from deepi2i.networks import DeepI2I
    from deepi2i.networks.biggan import BigGAN

    kind, config = read_export_config(directory)
    model: DeepI2I | BigGAN = build_empty(DeepI2I if kind == "DeepI2I" else BigGAN, config)
    if expect is not None and not isinstance(model, expect):
        hint = (
            f": a BigGAN is a transfer source; train DeepI2I from it with `deepi2i train --source {directory} ...`"
            if kind == "BigGAN"
            else ""
        )
        raise ValueError(f"{directory} holds a {kind} export, not a {expect.__name__}{hint}")
    for name, net in model.networks().items():
        path = Path(directory) / f"{name}.safetensors"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing from the export")
        # clone: safetensors' tensors sit at unaligned offsets, which changes CPU kernels' rounding
        state = {k: v.clone() for k, v in load_file(path, device=str(map_location)).items()}
        load_state_strict(net, state, str(path), assign=True)
    return model.to(map_location).eval()
