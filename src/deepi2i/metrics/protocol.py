"""The evaluation job behind `deepi2i evaluate`: the paper's protocol (§4.1, App. A) on one model.

Every test-split image is an input. For each target class c, `per_class` translations are made
from the inputs (round-robin: translation q uses input q mod n and sample q div n, with the z
that `deepi2i translate` draws for that input, sample and seed), and each translation is
embedded and classified once; those features and logits serve FID, KID and RC. Then FC trains a
classifier on translations and tests it on the real test split, LPIPS measures the diversity of
several samples per input, and on Shapes data every translation is compared with its ideal.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, TensorDataset
from tqdm.auto import tqdm

from deepi2i.data import MANIFEST_NAME, SHAPES_MANIFEST_NAME, ClassFolderDataset, read_shapes_manifest
from deepi2i.data.images import load_image_uint8, to_model_range
from deepi2i.data.shapes import render_array
from deepi2i.metrics.classifier import ClassifierConfig, ImageClassifier, accuracy, predict, train_classifier
from deepi2i.metrics.extractors import ClassifierExtractor, FeatureExtractor, create_extractor
from deepi2i.metrics.fid import (
    RealReference,
    RunningStats,
    frechet_distance,
    kernel_inception_distance,
    real_reference,
    reference_key,
)
from deepi2i.metrics.pose import PoseAccumulator, pose_scores
from deepi2i.metrics.weights import StrPath, resolve_weights, sha256_file
from deepi2i.pretrained import resolve_model
from deepi2i.translate import Translator, check_truncation, latent
from deepi2i.visualize import to_uint8

ALL_METRICS = ("fid", "kid", "rc", "fc", "lpips", "pose")
BASELINES = (None, "copy", "ideal")
REPORT_FORMAT = "deepi2i-eval-report"
REPORT_VERSION = 1
# Decode a whole split into memory below this many bytes; stream it from disk above.
_CACHE_BYTES = 4 << 30


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
            raise ValueError(
                f"invalid evaluation settings: {', '.join(bad)} (counts must be >= 2, sizes >= 1)"
            )
        if self.real_split not in ("train", "test"):
            raise ValueError(f"real_split must be 'train' or 'test', got {self.real_split!r}")
        check_truncation(self.truncation)
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {', '.join(b for b in BASELINES if b)} or None, got {self.baseline!r}")


def default_cache_dir() -> Path:
    """$DEEPI2I_CACHE_DIR, else $XDG_CACHE_HOME/deepi2i/eval (~/.cache/deepi2i/eval)."""
    if os.environ.get("DEEPI2I_CACHE_DIR"):
        return Path(os.environ["DEEPI2I_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "deepi2i" / "eval"


def resolve_metrics(metrics: Sequence[str] | str | None, data_root: StrPath) -> list[str]:
    """Metric names in canonical order; None/'all' means every metric that applies to the data
    (pose only on Shapes data, which carries the parameters of its images)."""
    shapes = (Path(data_root) / SHAPES_MANIFEST_NAME).is_file()
    if metrics is None or metrics == "all":
        return [m for m in ALL_METRICS if m != "pose" or shapes]
    names = [
        m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics) if m.strip()
    ]
    unknown = sorted(set(names) - set(ALL_METRICS))
    if unknown or not names:
        raise ValueError(
            f"unknown metric(s) {', '.join(unknown) or '(none given)'}; choose from {','.join(ALL_METRICS)}"
        )
    if "pose" in names and not shapes:
        raise ValueError(
            f"the pose metric needs a Shapes dataset (with {SHAPES_MANIFEST_NAME}); {data_root} has none"
        )
    return [m for m in ALL_METRICS if m in names]


class _Uint8Split(Dataset[tuple[Tensor, int]]):
    """(uint8 [3, R, R], label) of a ClassFolderDataset split, decoded in memory or on the fly."""

    def __init__(self, ds: ClassFolderDataset) -> None:
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        x = (
            self.ds.cached[i]
            if self.ds.cached is not None
            else load_image_uint8(self.ds.paths[i], self.ds.resolution)
        )
        return x, self.ds.targets[i]


def _split(
    root: Path, resolution: int, split: str, force_cache: bool = False, progress: bool = True
) -> ClassFolderDataset:
    ds = ClassFolderDataset(root, resolution, split)
    if force_cache or len(ds) * 3 * resolution * resolution <= _CACHE_BYTES:
        ds.decode_all(progress)  # in memory: the manifest is read and checked only once
    return ds


def _check_classes(translator: Translator, names: list[str]) -> list[str]:
    """The model's class c must be the dataset's class c; returns warnings for the report."""
    n_model = translator.model.config.n_classes
    if n_model != len(names):
        raise ValueError(
            f"the model has {n_model} classes but the data has {len(names)}; evaluate on the data it was trained on"
        )
    given = translator.model.config.class_names
    if given is None:
        return ["the model has no class names; its class order is assumed to be the dataset's"]
    if list(given) != names:
        diffs = [
            f"{i}: model {a!r} vs data {b!r}"
            for i, (a, b) in enumerate(zip(given, names, strict=True))
            if a != b
        ]
        raise ValueError(f"the model's classes differ from the data's ({'; '.join(diffs[:3])})")
    return []


@torch.no_grad()
def translate_jobs(
    translator: Translator,
    inputs: Tensor,
    target: int,
    jobs: Sequence[tuple[int, int]],
    seed: int,
    truncation: float | None = None,
) -> Tensor:
    """uint8 translations [len(jobs), 3, R, R] (on the model's device) of (input index, sample)
    jobs into class `target`; z is `translate.latent(seed, input, sample)`, as in `deepi2i translate`."""
    dim = translator.model.config.generator.dim_z_used
    dev = translator.device
    src = to_model_range(inputs[torch.tensor([i for i, _ in jobs])]).to(dev)
    z = torch.stack([latent(dim, seed, i, k, truncation) for i, k in jobs]).to(dev)
    y = torch.full((len(jobs),), target, dtype=torch.long, device=dev)
    return to_uint8(translator.model.translate(src, y, z))


def baseline_images(
    kind: str, inputs: Tensor, params: Sequence[Any] | None, target_name: str, jobs: Sequence[tuple[int, int]]
) -> Tensor:
    """uint8 [len(jobs), 3, R, R]: the inputs themselves ('copy') or their ideal translations ('ideal')."""
    idx = [i for i, _ in jobs]
    if kind == "copy":
        return inputs[torch.tensor(idx)]
    if params is None:
        raise ValueError("the 'ideal' baseline needs a Shapes dataset (it re-renders each input)")
    res = inputs.shape[-1]
    ideal = [render_array({**params[i], "resolution": res}, shape=target_name) for i in idx]
    return torch.from_numpy(np.stack(ideal)).permute(0, 3, 1, 2).contiguous()


def _rc_classifier(
    train: ClassFolderDataset,
    cfg: EvalConfig,
    identity: dict[str, Any],
    cache_dir: Path,
    device: torch.device,
    progress: bool,
) -> tuple[ImageClassifier, Path, bool]:
    """The classifier trained on the real training split, from the cache when trained before."""
    key = reference_key({**identity, "classifier": cfg.classifier.describe(), "n_classes": train.num_classes})
    path = cache_dir / f"classifier-{cfg.classifier.backbone}-{key}.pt"
    if path.is_file():
        return ImageClassifier.load(path, device).to(device), path, True
    model = train_classifier(
        _Uint8Split(train),
        train.num_classes,
        cfg.classifier,
        device,
        progress,
        "training RC classifier (real train)",
        cfg.workers,
    )
    model.save(path)
    return model, path, False


def _check_weights_files(cfg: EvalConfig, metrics: list[str]) -> None:
    """Find every pretrained file the metrics will need before any work starts, so a missing one
    fails in a second instead of after the classifiers and translations."""
    from deepi2i.metrics.diversity import LPIPS_TRUNKS
    from deepi2i.metrics.extractors import INCEPTION_WEIGHTS

    others = ",".join(m for m in metrics if m != "lpips")
    needs = []
    if cfg.extractor == "inception" and ("fid" in metrics or "kid" in metrics):
        needs.append((INCEPTION_WEIGHTS, cfg.inception_weights, "--extractor classifier (CPU runs)"))
    if "lpips" in metrics:
        if cfg.lpips_net not in LPIPS_TRUNKS:
            raise ValueError(f"unknown LPIPS network {cfg.lpips_net!r}; choose one of {', '.join(LPIPS_TRUNKS)}")
        needs.append((LPIPS_TRUNKS[cfg.lpips_net], cfg.lpips_weights, f"--metrics {others}" if others else None))
    for spec, given, instead in needs:
        try:
            resolve_weights(spec, given)
        except FileNotFoundError as err:
            raise FileNotFoundError(f"{err}" + (f"; or do without it: {instead}" if instead else "")) from None


def _identity(model: StrPath, root: Path, cfg: EvalConfig) -> dict[str, Any]:
    """What makes two reports the same evaluation: model folder, data folder and settings."""
    return {
        "model": str(Path(model).resolve()),
        "data": str(root.resolve()),
        "config": {**asdict(cfg), "classifier": cfg.classifier.describe()},
    }


def _fmt_seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


def evaluate(
    model: StrPath,
    data: StrPath,
    out: StrPath,
    config: EvalConfig | None = None,
    progress: bool = True,
    log: Callable[[str], object] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Evaluate the export `model` on the class folder `data`; write OUT/report.json and
    OUT/report.md and return the report. Classifiers and real features are cached (see
    `default_cache_dir`) so that several models are scored against the very same references."""
    from deepi2i.metrics.report import check_report_target, write_report

    cfg = config or EvalConfig()
    model = resolve_model(model)  # a shipped model's name -> its folder, so the report names real files
    say = log if log is not None else (lambda m: print(m, file=sys.stderr) if progress else None)
    started = time.perf_counter()
    root = Path(data)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} not found")
    # before any work: OUT must be a folder and hold no report of another model, data or protocol
    check_report_target(out, _identity(model, root, cfg), overwrite)
    metrics = resolve_metrics(cfg.metrics, root)
    if cfg.baseline is not None and "lpips" in metrics:
        raise ValueError(f"the {cfg.baseline!r} baseline has one output per input: LPIPS diversity does not apply")
    if cfg.baseline == "ideal" and not (root / SHAPES_MANIFEST_NAME).is_file():
        raise ValueError(f"the 'ideal' baseline needs a Shapes dataset (it re-renders each input); {root} is not one")
    _check_weights_files(cfg, metrics)
    translator = Translator.from_pretrained(model, device=cfg.device, batch_size=cfg.batch_size)
    device, res = translator.device, translator.resolution
    test = _split(root, res, "test", force_cache=True, progress=progress)
    names = test.class_names
    n_classes = len(names)
    warnings = _check_classes(translator, names)
    if len(test) == 0:
        raise ValueError(
            f"{root} has no test split; re-split it with `deepi2i split {root} --resplit --test-fraction 0.1`"
        )
    manifest_sha = sha256_file(root / MANIFEST_NAME)
    cache_dir = Path(cfg.cache_dir).expanduser() if cfg.cache_dir else default_cache_dir()
    data_identity = {"manifest_sha256": manifest_sha, "resolution": res}

    use_fid = "fid" in metrics or "kid" in metrics
    needs_rc = "rc" in metrics or (use_fid and cfg.extractor == "classifier")
    train = _split(root, res, "train", progress=progress) if needs_rc or (use_fid and cfg.real_split == "train") else None

    rc_model, rc_info = None, None
    if needs_rc:
        assert train is not None
        rc_model, rc_path, cached = _rc_classifier(
            train, cfg, {**data_identity, "split": "train"}, cache_dir, device, progress
        )
        preds, labels = predict(rc_model, _Uint8Split(test), device, cfg.batch_size, cfg.workers)
        acc, _ = accuracy(preds, labels, n_classes)
        rc_info = {"sha256": sha256_file(rc_path), "from_cache": cached, "real_test_accuracy": 100 * acc}
        say(
            f"RC classifier ({cfg.classifier.backbone}): {100 * acc:.1f}% on the real test split"
            + (" (cached)" if cached else "")
        )

    extractor: FeatureExtractor | None = None
    reference: RealReference | None = None
    if use_fid:
        if cfg.extractor == "classifier":
            assert rc_model is not None and rc_info is not None
            extractor = ClassifierExtractor(rc_model, weights_sha256=rc_info["sha256"])
        elif cfg.extractor == "inception":
            extractor = create_extractor("inception", weights=cfg.inception_weights)
        else:
            extractor = create_extractor(cfg.extractor)
        extractor = extractor.to(device).eval()
        real = test if cfg.real_split == "test" else train
        assert real is not None
        real_ds = _Uint8Split(real)
        reference = real_reference(
            lambda: DataLoader(real_ds, batch_size=cfg.batch_size, num_workers=cfg.workers),
            extractor,
            {**data_identity, "split": cfg.real_split, "extractor": extractor.describe()},
            cache_dir,
            len(real_ds),
            device,
            progress,
            f"real {cfg.real_split} features",
        )
        counts = np.bincount(reference.labels, minlength=n_classes)
        if counts.min() < 2:
            thin = [names[c] for c in np.flatnonzero(counts < 2)][:5]
            raise ValueError(
                f"FID/KID need >= 2 real images per class, but the {cfg.real_split} split has fewer for "
                f"{', '.join(thin)}" + ("; use --real-split train" if cfg.real_split == "test" else "")
            )

    inputs = test.cached
    assert inputs is not None
    input_labels = list(test.targets)
    eligible = [
        [i for i, y in enumerate(input_labels) if cfg.include_same_class or y != c] for c in range(n_classes)
    ]
    if not all(eligible):
        raise ValueError("some class has no input images from other classes; use include_same_class")
    params = None
    if "pose" in metrics or cfg.baseline == "ideal":
        records = {r["path"]: r for r in read_shapes_manifest(root)["images"]}
        rel = [p.relative_to(root).as_posix() for p in test.paths]
        missing = [r for r in rel if r not in records]
        if missing:
            raise ValueError(
                f"{len(missing)} test images are not in {SHAPES_MANIFEST_NAME} (e.g. {missing[0]})"
            )
        params = [records[r] for r in rel]

    fc_n = min(cfg.fc_per_class, cfg.per_class)
    fc_images = torch.empty(n_classes * fc_n, 3, res, res, dtype=torch.uint8) if "fc" in metrics else None
    per_class: list[dict[str, Any]] = []
    rc_direct = rc_model if "rc" in metrics else None
    shared = isinstance(extractor, ClassifierExtractor) and extractor.classifier is rc_model
    total = n_classes * cfg.per_class
    say(
        f"evaluating {Path(model).name} on {root.name}: {n_classes} classes x {cfg.per_class} translations "
        f"from {len(test)} test inputs, metrics {','.join(metrics)}, device {device}"
    )
    batch_times: list[float] = []
    with tqdm(total=total, desc="translating + scoring", unit="img", disable=not progress) as bar:
        for c in range(n_classes):
            e = eligible[c]
            jobs = [(e[q % len(e)], q // len(e)) for q in range(cfg.per_class)]
            stats = RunningStats(extractor.dim, device) if extractor is not None else None
            feats: list[Tensor] = []
            correct = 0
            pose = PoseAccumulator()
            for b in range(0, cfg.per_class, cfg.batch_size):
                t0 = time.perf_counter()
                chunk = jobs[b : b + cfg.batch_size]
                if cfg.baseline is None:
                    images = translate_jobs(translator, inputs, c, chunk, cfg.seed, cfg.truncation)
                else:
                    images = baseline_images(cfg.baseline, inputs, params, names[c], chunk).to(device)
                logits = None
                if extractor is not None and stats is not None:
                    if shared:
                        f, logits = extractor.features_and_logits(images)  # type: ignore[union-attr]
                    else:
                        f = extractor(images)
                    stats.update(f)
                    feats.append(f.float().cpu())
                if rc_direct is not None:
                    if logits is None:
                        with torch.no_grad():
                            logits = rc_direct(images)
                    correct += int((logits.argmax(dim=1) == c).sum())
                cpu = images.cpu()
                if fc_images is not None and b < fc_n:
                    take = cpu[: fc_n - b]
                    fc_images[c * fc_n + b : c * fc_n + b + len(take)] = take
                if params is not None:
                    for (i, _), img in zip(chunk, cpu.permute(0, 2, 3, 1).numpy(), strict=True):
                        pose.add(pose_scores(img, params[i], names[c]))
                bar.update(len(chunk))
                batch_times.append(time.perf_counter() - t0)
                if len(batch_times) == 2 or (len(batch_times) == 1 and total <= cfg.batch_size):
                    per_image = batch_times[-1] / len(chunk)
                    say(
                        f"estimated time for translation and scoring: {_fmt_seconds(per_image * total)} ({total} images)"
                    )
            row: dict[str, Any] = {"index": c, "name": names[c], "translations": cfg.per_class}
            if reference is not None and stats is not None:
                row["real_images"] = int((reference.labels == c).sum())
                if "fid" in metrics:
                    row["fid"] = frechet_distance(stats, reference.class_stats(c))
                if "kid" in metrics:
                    kid = kernel_inception_distance(
                        torch.cat(feats),
                        reference.class_features(c),
                        cfg.kid_subsets,
                        cfg.kid_subset_size,
                        cfg.seed,
                    )
                    row.update(
                        kid_x100=100 * kid.mean, kid_std_x100=100 * kid.std, kid_subset_size=kid.subset_size
                    )
            if rc_direct is not None:
                row["rc"] = 100.0 * correct / cfg.per_class
            if params is not None:
                row["pose"] = pose.means()
            per_class.append(row)

    fc_info = None
    if fc_images is not None:
        fc_labels = torch.arange(n_classes).repeat_interleave(fc_n)
        fc_model = train_classifier(
            TensorDataset(fc_images, fc_labels),
            n_classes,
            cfg.classifier,
            device,
            progress,
            "training FC classifier (translations)",
        )
        preds, labels = predict(fc_model, _Uint8Split(test), device, cfg.batch_size, cfg.workers)
        acc, recall = accuracy(preds, labels, n_classes)
        for row, r in zip(per_class, recall, strict=True):
            row["fc"] = 100 * r
            row["real_test_images"] = int((labels == row["index"]).sum())
        fc_info = {"accuracy": 100 * acc, "mean_class_recall": 100 * float(np.nanmean(recall))}

    lpips_info = None
    if "lpips" in metrics:
        lpips_info = _lpips(translator, inputs, eligible, per_class, cfg, device, progress)

    report = _assemble(
        model,
        root,
        cfg,
        metrics,
        translator,
        test,
        train,
        manifest_sha,
        per_class,
        extractor,
        reference,
        rc_info,
        fc_info,
        lpips_info,
        fc_n,
        warnings,
        time.perf_counter() - started,
    )
    write_report(report, out)
    return report


def _lpips(
    translator: Translator,
    inputs: Tensor,
    eligible: list[list[int]],
    per_class: list[dict[str, Any]],
    cfg: EvalConfig,
    device: torch.device,
    progress: bool,
) -> dict[str, Any]:
    """Per target class: `lpips_samples` translations of `lpips_inputs` seeded-random inputs."""
    from deepi2i.metrics.diversity import LPIPSMetric, mean_pairwise_lpips

    metric = LPIPSMetric(cfg.lpips_net, cfg.lpips_weights).to(device)
    rng = np.random.default_rng([cfg.seed, 0x1F1F5])
    s = cfg.lpips_samples
    with tqdm(total=len(per_class), desc="LPIPS diversity", unit="class", disable=not progress) as bar:
        for row in per_class:
            e = eligible[row["index"]]
            chosen = [
                e[j] for j in sorted(rng.choice(len(e), size=min(cfg.lpips_inputs, len(e)), replace=False))
            ]
            jobs = [(i, k) for k in range(s) for i in chosen]
            images = torch.cat(
                [
                    translate_jobs(
                        translator,
                        inputs,
                        row["index"],
                        jobs[b : b + cfg.batch_size],
                        cfg.seed,
                        cfg.truncation,
                    )
                    for b in range(0, len(jobs), cfg.batch_size)
                ]
            )
            samples = to_model_range(images).view(s, len(chosen), *images.shape[1:])
            row["lpips"] = float(mean_pairwise_lpips(metric, samples).double().mean())
            bar.update()
    return {
        **metric.info,
        "inputs_per_class": min(cfg.lpips_inputs, min(len(e) for e in eligible)),
        "samples": s,
        "pairs_per_input": s * (s - 1) // 2,
    }


def _mean(rows: list[dict[str, Any]], key: str, nan_ok: bool = False) -> float | None:
    values = [r[key] for r in rows if key in r]
    if not values:
        return None
    arr = np.asarray(values, dtype=np.float64)
    if nan_ok:
        return float(np.nanmean(arr)) if not np.isnan(arr).all() else math.nan
    return float(arr.mean())


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for pkg in ("deepi2i", "torch", "torchvision", "torch-fidelity", "lpips", "numpy", "scikit-learn"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def _assemble(
    model: StrPath,
    root: Path,
    cfg: EvalConfig,
    metrics: list[str],
    translator: Translator,
    test: ClassFolderDataset,
    train: ClassFolderDataset | None,
    manifest_sha: str,
    per_class: list[dict[str, Any]],
    extractor: FeatureExtractor | None,
    reference: RealReference | None,
    rc_info: dict[str, Any] | None,
    fc_info: dict[str, Any] | None,
    lpips_info: dict[str, Any] | None,
    fc_n: int,
    warnings: list[str],
    elapsed: float,
) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "RC": _mean(per_class, "rc"),
        "FC": None if fc_info is None else fc_info["accuracy"],
        "mKIDx100": _mean(per_class, "kid_x100"),
        "mFID": _mean(per_class, "fid"),
        "LPIPS": _mean(per_class, "lpips"),
    }
    if "pose" in metrics:
        pose_rows = [r["pose"] for r in per_class]
        summary.update(
            IoU=_mean(pose_rows, "iou"),
            center_error_px=_mean(pose_rows, "center_error_px", nan_ok=True),
            fg_color_error=_mean(pose_rows, "fg_color_error", nan_ok=True),
            bg_color_error=_mean(pose_rows, "bg_color_error", nan_ok=True),
            ideal_l1=_mean(pose_rows, "ideal_l1"),
            empty_fraction=_mean(pose_rows, "empty"),
        )
    classifier = None
    if rc_info is not None or fc_info is not None:
        classifier = {
            **cfg.classifier.describe(),
            "rc_classifier_sha256": None if rc_info is None else rc_info["sha256"],
            "rc_classifier_from_cache": None if rc_info is None else rc_info["from_cache"],
            "rc_real_test_accuracy": None if rc_info is None else rc_info["real_test_accuracy"],
            "rc_trained_on": None if train is None else f"real train split ({len(train)} images)",
            "fc_train_per_class": fc_n if fc_info is not None else None,
            "fc_tested_on": f"real test split ({len(test)} images)" if fc_info is not None else None,
            "fc_mean_class_recall": None if fc_info is None else fc_info["mean_class_recall"],
        }
    protocol = {
        "metrics": metrics,
        "resolution": translator.resolution,
        "seed": cfg.seed,
        "truncation": cfg.truncation,
        "inputs": {
            "split": "test",
            "count": len(test),
            "include_same_class": cfg.include_same_class,
            "assignment": "translation q of class c: input q mod n, sample q div n (n inputs eligible for c)",
        },
        "per_class": cfg.per_class,
        "real_reference": None
        if reference is None
        else {
            "split": cfg.real_split,
            "images": int(len(reference.labels)),
            "cache_key": reference.key,
            "from_cache": reference.from_cache,
        },
        "extractor": None if extractor is None else extractor.describe(),
        "fid": None
        if "fid" not in metrics
        else {"statistics": "float64 running sums", "formula": "torch_fidelity fid_statistics_to_metric"},
        "kid": None
        if "kid" not in metrics
        else {
            "subsets": cfg.kid_subsets,
            "subset_size": cfg.kid_subset_size,
            "subset_size_used_min": min(r["kid_subset_size"] for r in per_class),
            "kernel": "polynomial (x.y/d + 1)^3",
            "estimator": "unbiased MMD^2",
            "reported_scale": 100,
        },
        "classifier": classifier,
        "lpips": lpips_info,
        "pose": None
        if "pose" not in metrics
        else {
            "reference": "render(params, shape=target): same pose and style, target shape",
            "segmentation": "RGB distance to an affine background fitted to the 2-px border > max(Otsu, 0.1)",
            "units": "IoU in [0, 1]; centre error in pixels; colour errors: RGB distance of means, 0-255; ideal_l1 0-255",
        },
    }
    return {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "name": cfg.name or Path(model).resolve().name,
        "summary": summary,
        "per_class": per_class,
        "protocol": protocol,
        "config": _identity(model, root, cfg)["config"],
        "model": {
            "path": str(Path(model).resolve()),
            "resolution": translator.resolution,
            "classes": translator.model.config.n_classes,
        },
        "data": {
            "root": str(root.resolve()),
            "manifest_sha256": manifest_sha,
            "classes": len(test.class_names),
            "class_names": test.class_names,
            "train_images": None if train is None else len(train),
            "test_images": len(test),
            "shapes": (root / SHAPES_MANIFEST_NAME).is_file(),
        },
        "versions": _versions(),
        "environment": {
            "device": str(translator.device),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "elapsed_s": round(elapsed, 1),
        },
        "warnings": warnings,
    }
