"""The evaluation report as frozen dataclasses (diffusers-style outputs): `EvalReport.to_dict()` is
the report.json layout that `evaluate-compare`, the tests and earlier reports share."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

REPORT_FORMAT = "deepi2i-eval-report"
REPORT_VERSION = 1
# Table-1 columns every report has (null when not measured), in the report's order; metrics add more.
SUMMARY_KEYS = ("RC", "FC", "mKIDx100", "mFID", "LPIPS")
ASSIGNMENT = (
    "translation q of class c: input q mod n, sample q div n (n inputs eligible for c, taken in turn from each class)"
)
GENERATION = "BigGAN sample q of class c: G(z, c), z of input q, sample 0 (no inputs)"


@dataclass(frozen=True)
class ClassRow:
    """One target class: its index and name, how many translations it got, and every metric's fields."""

    index: int
    name: str
    translations: int
    scores: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "translations": self.translations, **self.scores}


@dataclass(frozen=True)
class Protocol:
    """Everything that produced the numbers. `sections` holds one entry per registered metric
    section (fid, kid, classifier, lpips, pose, ...), null for metrics that did not run."""

    metrics: tuple[str, ...]
    resolution: int
    seed: int
    truncation: float | None
    inputs: Mapping[str, Any]
    per_class: int
    real_reference: Mapping[str, Any] | None
    extractor: Mapping[str, Any] | None
    sections: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": list(self.metrics),
            "resolution": self.resolution,
            "seed": self.seed,
            "truncation": self.truncation,
            "inputs": dict(self.inputs),
            "per_class": self.per_class,
            "real_reference": None if self.real_reference is None else dict(self.real_reference),
            "extractor": None if self.extractor is None else dict(self.extractor),
            **self.sections,
        }


@dataclass(frozen=True)
class EvalReport:
    """One evaluation: Table-1 summary, per-class rows, protocol, and where the numbers came from."""

    name: str
    summary: Mapping[str, float | None]
    per_class: tuple[ClassRow, ...]
    protocol: Protocol
    config: Mapping[str, Any]
    model: Mapping[str, Any]
    data: Mapping[str, Any]
    versions: Mapping[str, str | None]
    environment: Mapping[str, Any]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The report.json layout (before NaN -> null, which `write_report` does)."""
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "name": self.name,
            "summary": dict(self.summary),
            "per_class": [row.to_dict() for row in self.per_class],
            "protocol": self.protocol.to_dict(),
            "config": dict(self.config),
            "model": dict(self.model),
            "data": dict(self.data),
            "versions": dict(self.versions),
            "environment": dict(self.environment),
            "warnings": list(self.warnings),
        }


def package_versions() -> dict[str, str | None]:
    """Python and the packages whose versions can change the numbers."""
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for pkg in ("deepi2i", "torch", "torchvision", "torch-fidelity", "lpips", "numpy", "scikit-learn"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out
