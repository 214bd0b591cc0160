"""The evaluation's settings: every choice that changes the numbers, and where caches live."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from deepi2i._io import StrPath
from deepi2i.metrics.classifier import ClassifierConfig
from deepi2i.networks.deepi2i import check_truncation

BASELINES = (None, "copy", "ideal")


@dataclass(frozen=True)
class EvalConfig:
    """Every choice that changes the numbers; all of it goes into the report's protocol."""

    per_class: int = 12800
    metrics: tuple[str, ...] | None = None
    extractor: str = "inception"
    inception_weights: str | None = None
    real_split: str = "train"
    seed: int = 0
    truncation: float | None = None
    include_same_class: bool = False
    batch_size: int = 64
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    fc_per_class: int = 1000
    lpips_net: str = "alex"
    lpips_weights: str | None = None
    lpips_inputs: int = 20
    lpips_samples: int = 10
    cache_dir: str | None = None
    device: str | None = None
    workers: int = 0
    name: str | None = None
    # Score a reference instead of the model's translations (the model still fixes classes and size):
    # "copy" returns each input unchanged (perfect pose, wrong class); "ideal" re-renders each input
    # with the target's shape (Shapes data only: the best any translator can do).
    baseline: str | None = None
    # Score a DeepI2I export with other adaptor weights w_l (Eq. 5) than its config's, as `deepi2i translate
    # --adaptor-weights` translates: one number for every level, or {level: w} for some (the others keep theirs).
    adaptor_weights: float | dict[int, float] | None = None

    def __post_init__(self) -> None:
        checks = {
            "per_class": self.per_class >= 2,
            "batch_size": self.batch_size >= 1,
            "kid_subsets": self.kid_subsets >= 1,
            "kid_subset_size": self.kid_subset_size >= 2,
            "fc_per_class": self.fc_per_class >= 1,
            "lpips_inputs": self.lpips_inputs >= 1,
            "lpips_samples": self.lpips_samples >= 2,
            "workers": self.workers >= 0,
        }
        bad = [f"{k}={getattr(self, k)}" for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid evaluation settings: {', '.join(bad)} (counts must be >= 2, sizes >= 1)")
        if self.real_split not in ("train", "test"):
            raise ValueError(f"real_split must be 'train' or 'test', got {self.real_split!r}")
        check_truncation(self.truncation)
        if self.baseline not in BASELINES:
            choices = ", ".join(b for b in BASELINES if b)
            raise ValueError(f"baseline must be one of {choices} or None, got {self.baseline!r}")

    def cache_path(self) -> Path:
        """`cache_dir` if given, else `default_cache_dir()`."""
        return Path(self.cache_dir).expanduser() if self.cache_dir else default_cache_dir()


def default_cache_dir() -> Path:
    """$DEEPI2I_CACHE_DIR, else $XDG_CACHE_HOME/deepi2i/eval (~/.cache/deepi2i/eval)."""
    if os.environ.get("DEEPI2I_CACHE_DIR"):
        return Path(os.environ["DEEPI2I_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "deepi2i" / "eval"


def eval_identity(model: StrPath, data: StrPath, cfg: EvalConfig) -> dict[str, Any]:
    """What makes two reports the same evaluation: model folder, data folder and settings."""
    return {
        "model": str(Path(model).resolve()),
        "data": str(Path(data).resolve()),
        "config": {**asdict(cfg), "classifier": cfg.classifier.describe()},
    }
