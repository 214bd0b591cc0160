"""Data order as a pure function of (seed, stream, epoch): the basis of exact resume and of sharding.

Each stream is the infinite concatenation of per-epoch permutations of the dataset. Step s uses
global positions [s*B, (s+1)*B) of it; replica r of W takes the r-th contiguous slice. So the
data a step sees depends only on (seed, step, B), never on how many processes run or whether
the run was interrupted, and no sampler state needs saving beyond the step.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler

REAL, SOURCE = 0, 1  # stream ids: real images for D, translation inputs x_src


def epoch_permutation(n: int, seed: int, stream: int, epoch: int) -> torch.Tensor:
    """The order of epoch `epoch` of stream `stream`; SeedSequence decorrelates neighbouring seeds."""
    state = np.random.SeedSequence([seed, stream, epoch]).generate_state(2, dtype=np.uint32)
    g = torch.Generator().manual_seed(int(state[0]) | (int(state[1]) << 32))
    return torch.randperm(n, generator=g)


class IndexStream:
    """Dataset indices at any position of the infinite stream (the current epoch's order is cached)."""

    def __init__(self, n: int, seed: int, stream: int) -> None:
        if n < 1:
            raise ValueError("the dataset is empty")
        self.n, self.seed, self.stream = n, seed, stream
        self._epoch = -1
        self._perm = torch.empty(0, dtype=torch.long)

    def _order(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            self._epoch, self._perm = epoch, epoch_permutation(self.n, self.seed, self.stream, epoch)
        return self._perm

    def take(self, start: int, count: int) -> list[int]:
        out: list[int] = []
        pos = start
        while len(out) < count:
            epoch, offset = divmod(pos, self.n)
            chunk = self._order(epoch)[offset : offset + count - len(out)]
            out += chunk.tolist()
            pos += len(chunk)
        return out


class StepBatches(Sampler[list[int]]):
    """A DataLoader batch_sampler: for steps start_step, start_step+1, ... this replica's indices."""

    def __init__(self, stream: IndexStream, batch_size: int, rank: int, world: int, start_step: int) -> None:
        if batch_size % world:
            raise ValueError(f"batch size {batch_size} does not split over {world} processes")
        self.stream, self.batch_size, self.rank, self.world = stream, batch_size, rank, world
        self.start_step = start_step

    def __iter__(self) -> Iterator[list[int]]:
        local = self.batch_size // self.world
        step = self.start_step
        while True:
            yield self.stream.take(step * self.batch_size + self.rank * local, local)
            step += 1
