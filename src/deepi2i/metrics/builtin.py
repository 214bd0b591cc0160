"""The six metrics of `deepi2i evaluate`: the paper's FID, KID, RC and FC (§4.1, App. A), LPIPS
diversity (StarGAN v2's protocol) and, on Shapes data, pose and style preservation.

Each is an accumulator over the one translation pass (see `registry.py`); the mathematics lives in
`fid.py`, `classifier.py`, `diversity.py` and `pose.py`. Registration order is the report's order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset
from tqdm.auto import tqdm

from deepi2i._io import StrPath
from deepi2i.data import SHAPES_MANIFEST_NAME
from deepi2i.data.images import to_model_range
from deepi2i.metrics.classifier import accuracy, predict
from deepi2i.metrics.config import EvalConfig
from deepi2i.metrics.diversity import LPIPS_TRUNKS, LPIPSMetric, mean_pairwise_lpips
from deepi2i.metrics.fid import RunningStats, frechet_distance, kernel_inception_distance, per_class_means
from deepi2i.metrics.inputs import Uint8Split
from deepi2i.metrics.pose import PoseAccumulator, pose_scores
from deepi2i.metrics.registry import (
    Batch,
    EvalContext,
    Metric,
    MetricResult,
    available_metrics,
    register_metric,
)
from deepi2i.metrics.weights import WeightsSpec


@register_metric("fid")
class FID(Metric):
    """Fréchet distance between the translations into c and the real images of c, per class."""

    needs_features = True
    sections = ("fid",)

    def __init__(self, run: EvalContext) -> None:
        super().__init__(run)
        self.stats: RunningStats | None = None
        self.values: list[float] = []

    def update(self, batch: Batch) -> None:
        assert batch.features is not None
        if self.stats is None:
            self.stats = RunningStats(batch.features.shape[1], self.run.device)
        self.stats.update(batch.features)

    def end_class(self, target: int) -> dict[str, Any]:
        ref = self.run.reference
        assert ref is not None and self.stats is not None
        fid = frechet_distance(self.stats, ref.class_stats(target))
        self.stats = None
        self.values.append(fid)
        return {"real_images": int((ref.labels == target).sum()), "fid": fid}

    def result(self) -> MetricResult:
        return MetricResult({"mFID": per_class_means(self.values)})

    def describe(self) -> dict[str, Any]:
        return {"fid": {"statistics": "float64 running sums", "formula": "torch_fidelity fid_statistics_to_metric"}}


@register_metric("kid")
class KID(Metric):
    """Kernel (MMD²) distance between the translations into c and the real images of c, ×100."""

    needs_features = True
    sections = ("kid",)

    def __init__(self, run: EvalContext) -> None:
        super().__init__(run)
        self.features: list[Tensor] = []
        self.values: list[float] = []
        self.sizes: list[int] = []

    def update(self, batch: Batch) -> None:
        assert batch.features is not None
        self.features.append(batch.features.float().cpu())

    def end_class(self, target: int) -> dict[str, Any]:
        ref, cfg = self.run.reference, self.run.config
        assert ref is not None
        kid = kernel_inception_distance(
            torch.cat(self.features), ref.class_features(target), cfg.kid_subsets, cfg.kid_subset_size, cfg.seed
        )
        self.features = []
        self.values.append(100 * kid.mean)
        self.sizes.append(kid.subset_size)
        return {
            "real_images": int((ref.labels == target).sum()),
            "kid_x100": 100 * kid.mean,
            "kid_std_x100": 100 * kid.std,
            "kid_subset_size": kid.subset_size,
        }

    def result(self) -> MetricResult:
        return MetricResult({"mKIDx100": per_class_means(self.values)})

    def describe(self) -> dict[str, Any]:
        cfg = self.run.config
        return {
            "kid": {
                "subsets": cfg.kid_subsets,
                "subset_size": cfg.kid_subset_size,
                "subset_size_used_min": min(self.sizes),
                "kernel": "polynomial (x.y/d + 1)^3",
                "estimator": "unbiased MMD^2",
                "reported_scale": 100,
            }
        }


@register_metric("rc")
class RC(Metric):
    """GAN-test: the share of translations into c that the real-data classifier labels c."""

    needs_classifier = True
    sections = ("classifier",)  # the classifier section is shared with FC and written by `evaluate`

    def __init__(self, run: EvalContext) -> None:
        super().__init__(run)
        self.labels = torch.zeros(run.n_classes, dtype=torch.long)  # what the classifier called them
        self.values: list[float] = []

    def update(self, batch: Batch) -> None:
        assert batch.logits is not None
        self.labels += torch.bincount(batch.logits.argmax(dim=1).cpu(), minlength=len(self.labels))

    def end_class(self, target: int) -> dict[str, Any]:
        # The whole row of the confusion matrix, not only its diagonal: which class a miss went to
        # says why (e.g. pentagons drawn round enough to pass for circles).
        labels, self.labels = self.labels.tolist(), torch.zeros_like(self.labels)
        rc = 100.0 * labels[target] / self.run.config.per_class
        self.values.append(rc)
        return {"rc": rc, "rc_labels": labels}

    def result(self) -> MetricResult:
        return MetricResult({"RC": per_class_means(self.values)})


@register_metric("fc")
class FC(Metric):
    """GAN-train: a classifier trained on the first `fc_per_class` translations of each class,
    tested on the real test split (accuracy; per-class recall in the rows)."""

    sections = ("classifier",)

    def __init__(self, run: EvalContext) -> None:
        super().__init__(run)
        self.per_class = min(run.config.fc_per_class, run.config.per_class)
        res = run.inputs.shape[-1]
        self.images = torch.empty(run.n_classes * self.per_class, 3, res, res, dtype=torch.uint8)
        self.mean_class_recall: float | None = None

    def update(self, batch: Batch) -> None:
        n, b = self.per_class, batch.first
        if b < n:
            take = batch.cpu[: n - b]
            start = batch.target * n + b
            self.images[start : start + len(take)] = take

    def result(self) -> MetricResult:
        run, cfg = self.run, self.run.config
        labels = torch.arange(run.n_classes).repeat_interleave(self.per_class)
        model = run.train_classifier(
            TensorDataset(self.images, labels),
            run.n_classes,
            cfg.classifier,
            run.device,
            run.progress,
            "training FC classifier (translations)",
        )
        preds, real = predict(model, Uint8Split(run.test), run.device, cfg.batch_size, cfg.workers)
        acc, recall = accuracy(preds, real, run.n_classes)
        self.mean_class_recall = 100 * float(np.nanmean(recall))
        rows = tuple({"fc": 100 * r, "real_test_images": int((real == c).sum())} for c, r in enumerate(recall))
        return MetricResult({"FC": 100 * acc}, rows)

    def describe(self) -> dict[str, Any]:
        return {
            "classifier": {
                "fc_train_per_class": self.per_class,
                "fc_tested_on": f"real test split ({len(self.run.test)} images)",
                "fc_mean_class_recall": self.mean_class_recall,
            }
        }


@register_metric("lpips")
class LPIPS(Metric):
    """Diversity: per target class, `lpips_samples` translations of `lpips_inputs` seeded-random
    inputs; the mean LPIPS over each input's pairs of samples. Makes its own translations after
    the pass (several samples of few inputs, not the pass's one sample of many)."""

    title = "LPIPS diversity"
    needs_samples = True
    sections = ("lpips",)

    def __init__(self, run: EvalContext) -> None:
        super().__init__(run)
        self.info: dict[str, Any] = {}

    @classmethod
    def weights(cls, config: EvalConfig) -> list[tuple[WeightsSpec, str | None]]:
        if config.lpips_net not in LPIPS_TRUNKS:
            raise ValueError(f"unknown LPIPS network {config.lpips_net!r}; choose one of {', '.join(LPIPS_TRUNKS)}")
        return [(LPIPS_TRUNKS[config.lpips_net], config.lpips_weights)]

    def result(self) -> MetricResult:
        run, cfg = self.run, self.run.config
        metric = LPIPSMetric(cfg.lpips_net, cfg.lpips_weights).to(run.device)
        rng = np.random.default_rng([cfg.seed, 0x1F1F5])
        s = cfg.lpips_samples
        values: list[float] = []
        with tqdm(total=run.n_classes, desc="LPIPS diversity", unit="class", disable=not run.progress) as bar:
            for c, e in enumerate(run.eligible):
                chosen = [e[j] for j in sorted(rng.choice(len(e), size=min(cfg.lpips_inputs, len(e)), replace=False))]
                jobs = [(i, k) for k in range(s) for i in chosen]
                images = torch.cat(
                    [run.translate(c, jobs[b : b + cfg.batch_size]) for b in range(0, len(jobs), cfg.batch_size)]
                )  # [S * len(chosen), 3, R, R], sample-major
                samples = to_model_range(images).view(s, len(chosen), *images.shape[1:])
                values.append(float(mean_pairwise_lpips(metric, samples).double().mean()))
                bar.update()
        self.info = {
            **metric.info,
            "inputs_per_class": min(cfg.lpips_inputs, min(len(e) for e in run.eligible)),
            "samples": s,
            "pairs_per_input": s * (s - 1) // 2,
        }
        return MetricResult({"LPIPS": per_class_means(values)}, tuple({"lpips": v} for v in values))

    def describe(self) -> dict[str, Any]:
        return {"lpips": self.info}


@register_metric("pose")
class Pose(Metric):
    """Shapes only: each translation against the ideal one (the input re-rendered with c's shape)."""

    needs_shapes = True
    sections = ("pose",)

    def __init__(self, run: EvalContext) -> None:
        super().__init__(run)
        self.scores = PoseAccumulator()
        self.rows: list[dict[str, float]] = []

    @classmethod
    def unavailable(cls, data_root: StrPath) -> str | None:
        if (Path(data_root) / SHAPES_MANIFEST_NAME).is_file():
            return None
        return f"needs a Shapes dataset (with {SHAPES_MANIFEST_NAME}); {data_root} has none"

    def update(self, batch: Batch) -> None:
        params, name = self.run.params, self.run.class_names[batch.target]
        assert params is not None
        for (i, _), img in zip(batch.jobs, batch.cpu.permute(0, 2, 3, 1).numpy(), strict=True):
            self.scores.add(pose_scores(img, params[i], name))

    def end_class(self, target: int) -> dict[str, Any]:
        means = self.scores.means()
        self.scores = PoseAccumulator()
        self.rows.append(means)
        return {"pose": means}

    def result(self) -> MetricResult:
        def column(key: str) -> list[float]:
            return [r[key] for r in self.rows]

        return MetricResult(
            {
                "IoU": per_class_means(column("iou")),
                "center_error_px": _mean_where_defined(column("center_error_px")),
                "fg_color_error": _mean_where_defined(column("fg_color_error")),
                "bg_color_error": _mean_where_defined(column("bg_color_error")),
                "ideal_l1": per_class_means(column("ideal_l1")),
                "empty_fraction": per_class_means(column("empty")),
            }
        )

    def describe(self) -> dict[str, Any]:
        return {
            "pose": {
                "reference": "render(params, shape=target): same pose and style, target shape",
                "segmentation": "RGB distance to an affine background fitted to the 2-px border > max(Otsu, 0.1)",
                "units": "IoU in [0, 1]; centre error in pixels; colour errors: RGB distance of means, 0-255; "
                "ideal_l1 0-255",
            }
        }


def _mean_where_defined(values: Sequence[float]) -> float:
    """Mean over the classes where the score is defined (a class whose translations were all empty
    has no centre), NaN when it is defined nowhere."""
    arr = np.asarray(values, dtype=np.float64)
    return math.nan if np.isnan(arr).all() else float(np.nanmean(arr))


ALL_METRICS: tuple[str, ...] = tuple(available_metrics())  # the built-in metrics, in report order
