"""The metric registry (after stylegan3's `metric_main`): each metric is a class registered by name
that accumulates over the one translation pass of `deepi2i evaluate`.

`evaluate` makes every translation once, embeds and classifies it once, and hands each batch to
every chosen metric's `update`; `end_class` closes a target class (its per-class fields), and
after the pass `result` gives the summary columns (and fields that need the whole pass, like FC's
classifier trained on all translations), and `describe` the metric's part of the report's protocol.
To add a metric, subclass `Metric`, decorate it with `@register_metric("name")` and import its
module from `deepi2i.metrics` (see `builtin.py` for the paper's six).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import torch
from torch import Tensor

from deepi2i._io import StrPath
from deepi2i.data import ClassFolderDataset
from deepi2i.metrics.classifier import ImageClassifier
from deepi2i.metrics.config import EvalConfig
from deepi2i.metrics.fid import RealReference
from deepi2i.metrics.weights import WeightsSpec

# (target class, (input index, sample) jobs) -> uint8 translations [len(jobs), 3, R, R] on the device
TranslateFn = Callable[[int, Sequence[tuple[int, int]]], Tensor]


@dataclass(frozen=True)
class EvalContext:
    """What every metric of one evaluation sees: settings, classes, inputs and shared references."""

    config: EvalConfig
    class_names: list[str]
    device: torch.device
    progress: bool
    test: ClassFolderDataset  # the real test split (decoded in memory): inputs, and FC's test set
    inputs: Tensor  # uint8 [N, 3, R, R] on the CPU: the test split's images
    eligible: list[list[int]]  # per target class: the input indices translated into it
    translate: TranslateFn  # more translations (LPIPS draws several samples per input)
    train_classifier: Callable[..., ImageClassifier]  # `classifier.train_classifier` (replaceable in tests)
    reference: RealReference | None = None  # real features per class (metrics with needs_features)
    params: list[dict[str, Any]] | None = None  # each input's Shapes parameters (needs_shapes)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True)
class Batch:
    """One batch of translations into one class, with what was computed from it once for all metrics."""

    target: int
    first: int  # position of jobs[0] among the class's `per_class` translations
    jobs: Sequence[tuple[int, int]]  # (input index, sample) of each translation
    images: Tensor  # uint8 [B, 3, R, R] on the device
    cpu: Tensor  # the same images on the CPU
    features: Tensor | None = None  # [B, dim] extractor features, when a metric needs_features
    logits: Tensor | None = None  # [B, n_classes] RC classifier logits, when a metric needs_classifier


@dataclass(frozen=True)
class MetricResult:
    """A metric's numbers after the pass: Table-1 summary columns (report key -> value) and, for
    metrics that finish only after the pass, one dict of per-class fields per class."""

    summary: dict[str, float | None]
    per_class: tuple[dict[str, Any], ...] = field(default=())


class Metric:
    """One evaluation metric; `evaluate` creates it with the run's context before the pass."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""  # words for messages, e.g. "LPIPS diversity"
    needs_features: ClassVar[bool] = False  # extractor features and real reference (FID, KID)
    needs_classifier: ClassVar[bool] = False  # logits of the RC classifier trained on real images
    needs_shapes: ClassVar[bool] = False  # each input's Shapes parameters (pose)
    needs_samples: ClassVar[bool] = False  # several outputs per input (so not for a baseline)
    sections: ClassVar[tuple[str, ...]] = ()  # the protocol keys `describe` fills (null when not run)

    def __init__(self, run: EvalContext) -> None:
        self.run = run

    @classmethod
    def unavailable(cls, data_root: StrPath) -> str | None:
        """Why the metric cannot run on this data (None: it can); 'all' leaves such metrics out."""
        return None

    @classmethod
    def weights(cls, config: EvalConfig) -> list[tuple[WeightsSpec, str | None]]:
        """Pretrained files (spec, path given) needed, looked up before any work starts."""
        return []

    def update(self, batch: Batch) -> None:
        """Take one batch of translations into `batch.target`."""

    def end_class(self, target: int) -> dict[str, Any]:
        """The class's translations are all in: its per-class report fields."""
        return {}

    def result(self) -> MetricResult:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """The protocol sections (key -> dict) that make the numbers reproducible; after `result`."""
        return {}


_METRICS: dict[str, type[Metric]] = {}
M = TypeVar("M", bound=type[Metric])


def register_metric(name: str) -> Callable[[M], M]:
    """Decorator: make a Metric subclass available to `deepi2i evaluate --metrics name`."""

    def add(cls: M) -> M:
        if name in _METRICS:
            raise ValueError(f"metric {name!r} is registered twice")
        cls.name = name
        _METRICS[name] = cls
        return cls

    return add


def available_metrics() -> list[str]:
    """Registered metric names in registration order (the report's canonical order)."""
    return list(_METRICS)


def metric_class(name: str) -> type[Metric]:
    return _METRICS[name]


def resolve_metrics(metrics: Sequence[str] | str | None, data_root: StrPath, inputs: bool = True) -> list[str]:
    """Metric names in canonical order; None/'all' means every metric that applies to the data
    (pose only on Shapes data, which carries the parameters of its images) and to the model
    (`inputs` False: a BigGAN's samples, which have no input to keep a pose of)."""
    known = available_metrics()
    if metrics is None or metrics == "all":
        return [
            m for m in known if _METRICS[m].unavailable(data_root) is None and (inputs or not _METRICS[m].needs_shapes)
        ]
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics) if m.strip()]
    unknown = sorted(set(names) - set(known))
    if unknown or not names:
        raise ValueError(f"unknown metric(s) {', '.join(unknown) or '(none given)'}; choose from {','.join(known)}")
    chosen = [m for m in known if m in names]
    for m in chosen:
        if not inputs and _METRICS[m].needs_shapes:
            rest = ",".join(n for n in chosen if not _METRICS[n].needs_shapes) or "fid,kid,rc"
            raise ValueError(
                f"the {m} metric compares each translation with its input, and a BigGAN export's samples have none; "
                f"leave it out (--metrics {rest})"
            )
        reason = _METRICS[m].unavailable(data_root)
        if reason is not None:
            raise ValueError(f"the {m} metric {reason}")
    return chosen
