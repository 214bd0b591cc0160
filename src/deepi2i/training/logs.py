"""Run outputs for people: scalars as JSON lines (+ TensorBoard when installed), a progress bar, sample grids.

Only the main process writes. On resume, records after the resumed step are dropped from the
JSONL file (they belong to the interrupted attempt and are recomputed), and TensorBoard is told
to purge them, so every step appears once.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import Tensor
from tqdm.auto import tqdm

from deepi2i._io import atomic_write_bytes
from deepi2i.visualize import labelled_grid

log = logging.getLogger(__name__)


def _truncate_jsonl(path: Path, last_step: int) -> None:
    if not path.is_file():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= last_step:
                keep.append(line)
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a kill
    atomic_write_bytes(path, ("\n".join(keep) + "\n" if keep else "").encode())


class RunLog:
    def __init__(
        self,
        run_dir: Path,
        *,
        enabled: bool,
        total_steps: int,
        start_step: int,
        batch_size: int,
        progress: bool = True,
        tensorboard: bool = True,
    ) -> None:
        self.enabled = enabled
        self.run_dir = run_dir
        self.batch_size = batch_size
        self.jsonl = run_dir / "log.jsonl"
        self.writer: Any = None
        self.bar: Any = None
        if not enabled:
            return
        _truncate_jsonl(self.jsonl, start_step)
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                log.info("tensorboard is not installed; scalars go to %s only", self.jsonl)
            else:
                self.writer = SummaryWriter(
                    str(run_dir / "tensorboard"), purge_step=start_step + 1 if start_step else None
                )
        self.bar = tqdm(
            total=total_steps * batch_size,
            initial=start_step * batch_size,
            unit="img",
            unit_scale=True,
            dynamic_ncols=True,
            disable=not progress,
            desc="training",
        )
        self._t = time.perf_counter()
        self._t_step = start_step

    def advance(self, steps: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(steps * self.batch_size)

    def set_phase(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_description(name)

    def scalars(self, step: int, phase: str, values: Mapping[str, float]) -> None:
        """One record: step (optimizer steps done), kimg, phase, timing, and the mean losses since the last record."""
        if not self.enabled:
            return
        now = time.perf_counter()
        sec_per_step = (now - self._t) / max(step - self._t_step, 1)
        self._t, self._t_step = now, step
        record = {
            "step": step,
            "kimg": step * self.batch_size / 1000,
            "phase": phase,
            "time": time.time(),
            "sec_per_step": sec_per_step,
            **{k: float(v) for k, v in values.items()},
        }
        with self.jsonl.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(k, float(v), step)
            self.writer.add_scalar("time/sec_per_step", sec_per_step, step)
            self.writer.flush()
        if self.bar is not None:
            self.bar.set_postfix({k: f"{float(v):.3g}" for k, v in values.items()})

    def image(self, step: int, cells: Tensor, headers: list[str]) -> Path | None:
        """Save a sample grid (cells [rows, cols, 3, R, R] in [-1, 1], labelled columns) as
        samples/step-<step>.png, atomically, and show it in TensorBoard."""
        if not self.enabled:
            return None
        from torchvision.transforms.functional import pil_to_tensor

        picture = labelled_grid(cells.float().cpu(), [(h, 1) for h in headers])
        buf = io.BytesIO()
        picture.save(buf, format="png")
        path = self.run_dir / "samples" / f"step-{step:09d}.png"
        atomic_write_bytes(path, buf.getvalue())
        if self.writer is not None:
            self.writer.add_image("samples", pil_to_tensor(picture), step)
        return path

    def message(self, text: str) -> None:
        if self.enabled:
            (self.bar.write if self.bar is not None else print)(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()
