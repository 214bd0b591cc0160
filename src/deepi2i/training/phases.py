"""Phases as data: a run is a list of PhaseConfig; the schedule turns their kimg into step ranges.

The loop never compares an iteration number with a constant: it asks `phase_at(step)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from deepi2i.training.config import PhaseConfig


@dataclass(frozen=True)
class ScheduledPhase:
    """A phase placed on the step axis: it runs steps [start, end)."""

    index: int
    phase: PhaseConfig
    start: int
    end: int

    @property
    def name(self) -> str:
        return self.phase.name

    @property
    def train(self) -> tuple[str, ...]:
        return self.phase.train


def phase_steps(kimg: float, batch_size: int) -> int:
    """Optimizer steps for `kimg` thousand images (nearest whole step; a non-empty phase gets >= 1)."""
    if kimg <= 0:
        return 0
    return max(1, round(kimg * 1000 / batch_size))


@dataclass(frozen=True)
class Schedule:
    phases: tuple[ScheduledPhase, ...]

    @classmethod
    def build(cls, phases: Sequence[PhaseConfig], batch_size: int) -> Schedule:
        out, start = [], 0
        for i, p in enumerate(phases):
            n = phase_steps(p.kimg, batch_size)
            out.append(ScheduledPhase(i, p, start, start + n))
            start += n
        return cls(tuple(out))

    @property
    def total_steps(self) -> int:
        return self.phases[-1].end if self.phases else 0

    def phase_at(self, step: int) -> ScheduledPhase:
        """The phase that runs step `step` (0-based)."""
        for p in self.phases:
            if p.start <= step < p.end:
                return p
        raise IndexError(f"step {step} is outside the schedule (0 .. {self.total_steps - 1})")

    def trained_networks(self) -> tuple[str, ...]:
        """Every network some phase trains, in first-trained order (these get optimizers)."""
        names: list[str] = []
        for p in self.phases:
            if p.end > p.start:
                names += [n for n in p.train if n not in names]
        return tuple(names)
