"""Exports (config.json + one .safetensors per network), strict, explained state loading, and the one
safe reader of every weights file deepi2i opens.

No code from files: safetensors for our exports; `torch.load(weights_only=True)` (through
`safe_torch_load`) for everything else, so a pickle that would run code is refused, never run.
Every tensor loaded is checked to be finite: NaN weights would otherwise give black images.
"""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import Tensor, nn

from deepi2i._io import OutputExistsError, atomic_write_bytes, check_output_folder
from deepi2i.config import BigGANConfig, DeepI2IConfig
from deepi2i.pretrained import resolve_model
from deepi2i.version import __version__

M = TypeVar("M", bound=nn.Module)
FORMAT = "deepi2i-export"
_KINDS: dict[str, type] = {"DeepI2I": DeepI2IConfig, "BigGAN": BigGANConfig}
# kind -> model class, filled in by every `Exportable` subclass as it is defined, so this module
# never imports the networks (they import it) and a new model family registers itself.
_MODELS: dict[str, type[Exportable]] = {}


class Exportable:
    """`save_pretrained` / `from_pretrained` in the export format for a model made of named networks.

    A subclass defines `config` (a dataclass whose class is `<Kind>Config`) and `networks()`, and
    is registered under its class name as the export's `kind`.
    """

    config: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _MODELS[cls.__name__] = cls

    def networks(self) -> Mapping[str, nn.Module]:
        raise NotImplementedError

    def save_pretrained(self, directory: str | Path) -> Path:
        return save_export(directory, self.config, self.networks())

    @classmethod
    def from_pretrained(cls: type[E], directory: str | Path, map_location: str | torch.device = "cpu") -> E:
        return load_export(directory, expect=cls, map_location=map_location)


E = TypeVar("E", bound=Exportable)


# ---- the one safe reader ------------------------------------------------------------------------


def _torch_reason(err: BaseException) -> str:
    """The part of torch's long weights_only message that says what was wrong."""
    text = str(err)
    m = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\.\s|\n|$)", text, re.S)
    if m and m.group(1).strip():
        return m.group(1).strip()
    skip = ("Weights only load failed", "Check the documentation", "(1)", "(2)", "Please file an issue")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(skip)]
    if useful or lines:
        return (useful or lines)[0][:200]
    return "the file is empty or cut short" if isinstance(err, EOFError) else type(err).__name__


def safe_torch_load(path: str | Path, what: str, map_location: str | torch.device = "cpu") -> Any:
    """`torch.load(weights_only=True)`: tensors, dicts, lists and numbers only, so a file whose pickle
    would run code is refused and nothing in it runs. Every failure is one ValueError naming the file."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} {p} not found" + (" (it is a folder)" if p.is_dir() else ""))
    try:
        return torch.load(p, map_location=map_location, weights_only=True)
    except (
        pickle.UnpicklingError,
        RuntimeError,
        EOFError,
        OSError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        IndexError,
        UnicodeDecodeError,
    ) as err:
        raise ValueError(
            f"refusing to load {p} as {what}: it is not a readable file of plain tensors ({_torch_reason(err)}); "
            "nothing in it was run. Use the original file, or re-save it with torch.save(module.state_dict())."
        ) from err


def check_finite(state: Mapping[str, Tensor], what: str) -> None:
    """Refuse NaN/inf weights: a model built from them silently outputs black or garbage images."""
    bad = [
        k
        for k, v in state.items()
        if v.is_floating_point() and v.device.type != "meta" and not bool(torch.isfinite(v).all())
    ]
    if bad:
        shown = ", ".join(bad[:5]) + (f", ... ({len(bad)} in all)" if len(bad) > 5 else "")
        raise ValueError(
            f"{what} holds NaN or infinite values in {shown}; the file is damaged: use another copy or re-export it"
        )


def read_safetensors(path: str | Path, what: str, device: str | torch.device = "cpu") -> dict[str, Tensor]:
    """A .safetensors file (never unpickles), cloned and checked finite, with an error naming the file."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} is missing ({what})")
    try:
        # clone: safetensors' tensors sit at unaligned offsets, which changes CPU kernels' rounding
        state = {k: v.clone() for k, v in load_file(p, device=str(device)).items()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ValueError(
            f"{p} is not a readable safetensors file ({err}); it is truncated or damaged: copy or export it again"
        ) from err
    check_finite(state, str(p))
    return state


def read_state(path: str | Path, what: str = "a state_dict") -> dict[str, Tensor]:
    """A state_dict (name -> tensor) from a .safetensors or a .pth/.pt file; {"state_dict": ...} is unwrapped."""
    p = Path(path)
    if p.suffix == ".safetensors":
        return read_safetensors(p, what)
    state = safe_torch_load(p, what)
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"{p} does not hold a state_dict (name -> tensor) for {what}")
    state = dict(state)
    check_finite(state, str(p))
    return state


def _safetensors_bytes(state: Mapping[str, Tensor], metadata: dict[str, str]) -> bytes:
    return save({k: v.detach().contiguous().cpu() for k, v in state.items()}, metadata=metadata)


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


def save_export(
    directory: str | Path,
    config: DeepI2IConfig | BigGANConfig,
    networks: Mapping[str, nn.Module],
    *,
    overwrite: bool = True,
) -> Path:
    """Write config.json and one <name>.safetensors per network into `directory` (config.json last,
    so a folder without it is never mistaken for a whole export).

    `overwrite=False` refuses a folder that already holds anything else than this very export
    (the commands' default: a trained model must not vanish under a mistyped OUT).
    """
    out = check_output_folder(directory)
    kind = type(config).__name__.removesuffix("Config")
    meta = {"format": FORMAT, "kind": kind, "deepi2i_version": __version__, "config": config.to_dict()}
    meta_bytes = (json.dumps(meta, indent=2) + "\n").encode()

    if not overwrite and out.is_dir() and any(out.iterdir()):
        if _same_export(out, json.loads(meta_bytes), networks):
            return out
        raise OutputExistsError(
            f"{out} already holds "
            + ("a different export" if (out / "config.json").is_file() else "other files")
            + "; pass --overwrite (overwrite=True) to replace it, or choose a new folder"
        )
    replaced = (out / "config.json").is_file()
    for name, net in networks.items():
        atomic_write_bytes(
            out / f"{name}.safetensors", _safetensors_bytes(net.state_dict(), {"format": FORMAT, "network": name})
        )
    atomic_write_bytes(out / "config.json", meta_bytes)
    if replaced:  # weights of a replaced export's other networks (e.g. a DeepI2I's encoder) would mislead
        for stale in out.glob("*.safetensors"):
            if stale.stem not in networks:
                stale.unlink()
    return out


def _same_bits(a: Tensor, b: Tensor) -> bool:
    return (
        a.dtype == b.dtype
        and a.shape == b.shape
        and torch.equal(a.reshape(-1).view(torch.uint8), b.reshape(-1).view(torch.uint8))
    )


def _same_export(out: Path, meta: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> bool:
    """Whether `out` holds exactly this export already (the deepi2i version aside): rewriting it is a
    no-op. Tensors are compared bit for bit (file bytes differ: safetensors orders its metadata at random)."""
    if {p.name for p in out.iterdir()} != {*(f"{n}.safetensors" for n in networks), "config.json"}:
        return False
    try:
        old = json.loads((out / "config.json").read_text(encoding="utf-8"))
        if not isinstance(old, dict) or {**old, "deepi2i_version": None} != {**meta, "deepi2i_version": None}:
            return False
        for name, net in networks.items():
            stored, own = load_file(out / f"{name}.safetensors"), net.state_dict()
            if stored.keys() != own.keys() or not all(_same_bits(stored[k], own[k].detach().cpu()) for k in own):
                return False
    except (OSError, ValueError, SafetensorError):
        return False
    return True


def read_export_config(directory: str | Path) -> tuple[str, Any]:
    """(kind, config) of an export folder (or a shipped model's name), with errors that say what
    the folder should hold."""
    d = resolve_model(directory)
    path = d / "config.json"
    if not path.is_file():
        hint = ""
        if (d / "G.pth").exists() or (d / "G_ema.pth").exists():
            hint = " It looks like a BigGAN-PyTorch folder: convert it with `deepi2i import-biggan SRC OUT`."
        raise FileNotFoundError(f"{path} not found: {d} is not a deepi2i export.{hint}")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{path} is not valid JSON ({err}); restore the export's config.json or export the model again"
        ) from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("kind") not in _KINDS:
        got = (meta.get("format"), meta.get("kind")) if isinstance(meta, dict) else (type(meta).__name__, None)
        raise ValueError(f"{path} is not a deepi2i export config (format {got[0]!r}, kind {got[1]!r})")
    try:
        return meta["kind"], _KINDS[meta["kind"]].from_dict(meta["config"])
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(
            f"{path} holds an invalid {meta['kind']} config: {err}; restore the file or export the model again"
        ) from err


def load_export(directory: str | Path, expect: type | None = None, map_location: str | torch.device = "cpu") -> Any:
    """Build the model an export describes and load every network strictly; returns it in eval mode."""
    directory = resolve_model(directory)
    kind, config = read_export_config(directory)
    if kind not in _MODELS:
        raise ValueError(f"{directory} holds a {kind} export, but no {kind} model is defined (import its module first)")
    model = build_empty(_MODELS[kind], config)
    if expect is not None and not isinstance(model, expect):
        hints = {
            "BigGAN": ": a BigGAN is a transfer source; train DeepI2I from it with "
            f"`deepi2i train --source {directory} ...`",
            "DeepI2I": ": a DeepI2I model translates images; use `deepi2i translate` (or `evaluate`) with it",
        }
        hint = hints.get(kind, "")
        raise ValueError(f"{directory} holds a {kind} export, not a {expect.__name__}{hint}")
    for name, net in model.networks().items():
        path = Path(directory) / f"{name}.safetensors"
        state = read_safetensors(path, f"the {name} of the export {directory}", map_location)
        load_state_strict(net, state, str(path), assign=True)
    return model.to(map_location).eval()
