"""Training-state checkpoints: everything exact resume needs, written atomically, read with weights_only.

A state is a plain dict of tensors, dicts, lists, tuples, strings and numbers, so that
`checkpoint.safe_torch_load` (`torch.load(weights_only=True)`) reads it and no code is ever unpickled.
`TrainingCheckpoint` owns both halves of that format: what `save` writes, `load` puts back.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from deepi2i._io import atomic_write
from deepi2i.checkpoint import load_state_strict, safe_torch_load
from deepi2i.training.config import TrainConfig
from deepi2i.training.ema import EMA

log = logging.getLogger(__name__)

STATE_FORMAT = "deepi2i-train-state"
STATE_VERSION = 1
_NAME = re.compile(r"^state-(\d+)\.pt$")


def checkpoint_dir(run_dir: Path) -> Path:
    return run_dir / "checkpoints"


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return checkpoint_dir(run_dir) / f"state-{step:09d}.pt"


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of every state file, oldest first (temp files never match)."""
    d = checkpoint_dir(run_dir)
    if not d.is_dir():
        return []
    found = [(int(m[1]), p) for p in d.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def atomic_torch_save(obj: Any, path: Path) -> None:
    """torch.save through `atomic_write`: a kill never leaves half a checkpoint."""
    atomic_write(path, lambda f: torch.save(obj, f))


def save_checkpoint(run_dir: Path, step: int, state: dict[str, Any], keep: int) -> Path:
    """Write state-<step>.pt, then delete all but the newest `keep` state files."""
    path = checkpoint_path(run_dir, step)
    atomic_torch_save({"format": STATE_FORMAT, "version": STATE_VERSION, **state}, path)
    for _, old in list_checkpoints(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path) -> dict[str, Any]:
    state = safe_torch_load(path, "a deepi2i training state")
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise ValueError(f"{path} is not a deepi2i training state")
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"{path} has state version {state.get('version')}; this deepi2i reads {STATE_VERSION}")
    return state


class UnreadableCheckpointsError(ValueError):
    """A run folder has training states but none can be read; starting over would lose the run."""


def load_latest(run_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest readable state; None only when the run has no state file at all.

    An unreadable newest file (e.g. written on a full disk) falls back to the previous one and is
    renamed `*.unreadable` (kept, but out of the way of the new checkpoints that replace it). When
    no file can be read, starting over would silently discard the run: that is an error instead.
    """
    found = list_checkpoints(run_dir)
    failed: list[tuple[Path, str]] = []
    for step, path in reversed(found):
        try:
            state = load_checkpoint(path)
        except Exception as err:  # a damaged file must not block resuming from an older good one
            log.warning("cannot read %s (step %d): %s; trying the previous checkpoint", path, step, err)
            failed.append((path, str(err).splitlines()[0] if str(err) else type(err).__name__))
            continue
        for bad, _ in failed:
            bad.rename(bad.with_name(bad.name + ".unreadable"))
        return path, state
    if failed:
        listed = "; ".join(f"{p.name}: {why}" for p, why in failed[:3]) + (" ..." if len(failed) > 3 else "")
        raise UnreadableCheckpointsError(
            f"none of the {len(failed)} training states in {checkpoint_dir(run_dir)} can be read ({listed}). "
            "Nothing was changed. Restore a readable state file to resume, or pass --restart "
            "(restart=True) to move this run aside and start over."
        )
    return None


class TrainingCheckpoint:
    """The objects a run resumes from, and their state files in RUN/checkpoints (edm2's checkpoint object).

    `save` and `load` are the two halves of one format, next to each other: every object `save`
    writes is put back by `load`, so resuming continues bit for bit. `batch_size` (global) turns
    steps into data positions, which `load` checks against the step.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        networks: Mapping[str, nn.Module],
        optimizers: Mapping[str, torch.optim.Optimizer],
        scalers: Mapping[str, torch.amp.GradScaler],
        ema: EMA | None,
        rng: torch.Generator,
        batch_size: int,
        keep: int,
    ) -> None:
        self.run_dir = run_dir
        self.networks, self.optimizers, self.scalers = networks, optimizers, scalers
        self.ema, self.rng = ema, rng
        self.batch_size, self.keep = batch_size, keep

    def save(self, step: int, phase: str, config: TrainConfig) -> Path:
        """Write state-<step>.pt (atomically), keeping the newest `keep` files."""
        state = {
            "step": step,
            "phase": phase,
            "task": config.task,
            "config": config.to_dict(),
            "networks": {name: net.state_dict() for name, net in self.networks.items()},
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "scalers": {side: s.state_dict() for side, s in self.scalers.items()},
            "rng": capture_rng(self.rng),
            "data": {"real": step * self.batch_size, "source": step * self.batch_size},
        }
        return save_checkpoint(self.run_dir, step, state, self.keep)

    def latest(self) -> tuple[Path, dict[str, Any]] | None:
        """(path, state) of the newest readable state file, None for a new run (see `load_latest`)."""
        return load_latest(self.run_dir)

    def load(self, state: Mapping[str, Any], where: Path) -> int:
        """Put `state` (from `latest`) back into the objects, global RNGs included; return its step."""
        for name, net in self.networks.items():
            load_state_strict(net, state["networks"][name], f"{where} ({name})")
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        for side, scaler in self.scalers.items():
            if state["scalers"].get(side):
                scaler.load_state_dict(state["scalers"][side])
        restore_rng(state["rng"], self.rng)
        step = int(state["step"])
        if state["data"]["real"] != step * self.batch_size:
            raise ValueError(f"{where}: data position {state['data']['real']} does not match step {step}")
        return step


# ---- random number generators ----------------------------------------------------------------


def capture_rng(loop: torch.Generator) -> dict[str, Any]:
    """The loop's generator (z, classes) plus the global torch / CUDA / NumPy / Python states."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "loop": loop.get_state(),
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], loop: torch.Generator) -> None:
    loop.set_state(state["loop"])
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
