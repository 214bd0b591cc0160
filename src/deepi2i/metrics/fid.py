"""FID and KID per class: streamed float64 statistics, torch-fidelity's formulas, cached real features.

The generated side is streamed: each batch's features update running float64 sums (n, Σx, Σxxᵀ),
so 12,800 images per class never need a float64 copy, and the summation error stays ~1e-12
whatever the order. The distances themselves are torch-fidelity's functions (the TTUR FID and the
MMD-GAN KID), so the numbers are the literature's for the same features.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from deepi2i._io import StrPath, atomic_write

CACHE_FORMAT = "deepi2i-real-features"
CACHE_VERSION = 1


class RunningStats:
    """Mean and covariance of a stream of feature batches, accumulated in float64."""

    def __init__(self, dim: int, device: str | torch.device = "cpu") -> None:
        self.n = 0
        self.sum = torch.zeros(dim, dtype=torch.float64, device=device)
        self.outer = torch.zeros(dim, dim, dtype=torch.float64, device=device)

    @classmethod
    def of(cls, features: Tensor | np.ndarray) -> RunningStats:
        x = torch.as_tensor(features)
        stats = cls(x.shape[1], x.device)
        stats.update(x)
        return stats

    def update(self, features: Tensor | np.ndarray) -> None:
        x = torch.as_tensor(features).to(self.sum.device, torch.float64)
        if x.dim() != 2 or x.shape[1] != self.sum.shape[0]:
            raise ValueError(f"features must be [N, {self.sum.shape[0]}], got {list(x.shape)}")
        self.n += x.shape[0]
        self.sum += x.sum(dim=0)
        self.outer += x.T @ x

    @property
    def mean(self) -> np.ndarray:
        return (self.sum / self.n).cpu().numpy()

    @property
    def cov(self) -> np.ndarray:
        """Unbiased (n - 1) covariance, as np.cov and torch-fidelity compute it."""
        if self.n < 2:
            raise ValueError(f"a covariance needs at least 2 samples, got {self.n}")
        mu = self.sum / self.n
        cov = (self.outer - self.n * torch.outer(mu, mu)) / (self.n - 1)
        return ((cov + cov.T) / 2).cpu().numpy()

    def fid_statistics(self) -> dict[str, np.ndarray]:
        """{"mu", "sigma"}: the form torch-fidelity's `fid_statistics_to_metric` takes."""
        return {"mu": self.mean, "sigma": self.cov}


def frechet_distance(a: RunningStats | dict[str, np.ndarray], b: RunningStats | dict[str, np.ndarray]) -> float:
    """FID between two Gaussians ||μa-μb||² + tr(Σa + Σb - 2(ΣaΣb)^½) (torch-fidelity's TTUR code)."""
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric

    sa = a.fid_statistics() if isinstance(a, RunningStats) else a
    sb = b.fid_statistics() if isinstance(b, RunningStats) else b
    return float(fid_statistics_to_metric(sa, sb, verbose=False)[KEY_METRIC_FID])


@dataclass(frozen=True)
class KID:
    """Mean and std of the unbiased MMD² over random subsets (KID = mean; reported ×100)."""

    mean: float
    std: float
    subsets: int
    subset_size: int


def kernel_inception_distance(
    features_a: Tensor | np.ndarray,
    features_b: Tensor | np.ndarray,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 2020,
) -> KID:
    """torch-fidelity's KID: `subsets` draws of `subset_size` rows from each set, polynomial kernel
    (xᵀy/d + 1)³, unbiased MMD². The subset size shrinks to the smaller set when that is smaller
    (a class with 70 real images is scored on subsets of 70); the report records the size used."""
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

    fa = torch.as_tensor(features_a).detach().cpu().double()
    fb = torch.as_tensor(features_b).detach().cpu().double()
    size = min(subset_size, len(fa), len(fb))
    if size < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {len(fa)} and {len(fb)}")
    if subsets < 1:
        raise ValueError(f"KID needs at least 1 subset, got {subsets}")
    out = kid_features_to_metric(fa, fb, kid_subsets=subsets, kid_subset_size=size, rng_seed=seed, verbose=False)
    return KID(float(out[KEY_METRIC_KID_MEAN]), float(out[KEY_METRIC_KID_STD]), subsets, size)


@dataclass
class RealReference:
    """The real images' features of one split under one extractor, and their per-class statistics."""

    features: np.ndarray
    labels: np.ndarray
    key: str
    path: Path | None = None
    from_cache: bool = False

    def class_features(self, c: int) -> np.ndarray:
        return self.features[self.labels == c]

    def class_stats(self, c: int) -> RunningStats:
        return RunningStats.of(self.class_features(c))


def reference_key(identity: dict[str, Any]) -> str:
    """Short stable hash of everything that determines the real features (data, split, extractor)."""
    text = json.dumps({"format": CACHE_FORMAT, "version": CACHE_VERSION, **identity}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _cached_reference(path: Path, key: str) -> RealReference:
    """A cached feature file (never unpickled), with an error naming it when it is damaged."""
    try:
        with np.load(path, allow_pickle=False) as data:
            features, labels = np.asarray(data["features"]), np.asarray(data["labels"])
        if features.ndim != 2 or labels.shape != features.shape[:1] or not np.isfinite(features).all():
            raise ValueError("features and labels do not fit together or are not finite")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(
            f"the evaluation cache file {path} is damaged ({err}); delete it and it is recomputed"
        ) from err
    return RealReference(features, labels, key, path, from_cache=True)


def real_reference(
    batches: Callable[[], Iterable[tuple[Tensor, Tensor]]],
    extractor: Callable[[Tensor], Tensor],
    identity: dict[str, Any],
    cache_dir: StrPath | None,
    total: int,
    device: str | torch.device = "cpu",
    progress: bool = True,
    desc: str = "real features",
) -> RealReference:
    """Features of the real images, from `cache_dir` when an earlier run stored them under the same
    identity (manifest SHA-256, split, resolution, extractor name and weights SHA-256).

    The cache holds float32 features (KID needs them; the float64 statistics are recomputed from
    them in well under a second per class, whereas 149 stored 2048² covariances would take 5 GB).
    """
    key = reference_key(identity)
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"real-{identity.get('split', 'x')}-{key}.npz"
        if path.is_file():
            return _cached_reference(path, key)
    feats, labels = [], []
    with torch.no_grad(), tqdm(total=total, desc=desc, unit="img", disable=not progress) as bar:
        for x, y in batches():
            feats.append(extractor(x.to(device)).float().cpu().numpy())
            labels.append(np.asarray(y, dtype=np.int64))
            bar.update(len(x))
    ref = RealReference(np.concatenate(feats), np.concatenate(labels), key, path)
    if path is not None:
        ident = json.dumps(identity, sort_keys=True)
        atomic_write(path, lambda f: np.savez(f, features=ref.features, labels=ref.labels, identity=ident))
    return ref


def per_class_means(values: Sequence[float]) -> float:
    """Mean over classes (the paper's mFID / mKID): NaN if any class is NaN, never silently skipped."""
    return float(np.mean(np.asarray(values, dtype=np.float64))) if len(values) else float("nan")
