"""The evaluation job behind `deepi2i evaluate`: the paper's protocol (§4.1, App. A) on one model.

Every test-split image is an input. For each target class c, `per_class` translations are made
from the inputs (round-robin: translation q uses input q mod n and sample q div n, with the z
that `deepi2i translate` draws for that input, sample and seed), and each translation is
embedded and classified once; every chosen metric (see `registry.py`) takes each batch from this
one pass. After the pass the metrics finish (FC trains its classifier on the translations, LPIPS
draws several samples of a few inputs) and the report is written.

A BigGAN export (a transfer source) is scored the same way with its samples G(z, c) in place of
translations: how class-specific and realistic the teacher is that DeepI2I starts from.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from deepi2i.checkpoint import read_export_config
from deepi2i.data import MANIFEST_NAME, SHAPES_MANIFEST_NAME, ClassFolderDataset
from deepi2i.data.images import to_model_range, to_uint8
from deepi2i.data.shapes import render_array
from deepi2i.device import resolve_device
from deepi2i.metrics.builtin import ALL_METRICS
from deepi2i.metrics.classifier import ImageClassifier, accuracy, predict, train_classifier
from deepi2i.metrics.config import BASELINES, EvalConfig, default_cache_dir, eval_identity
from deepi2i.metrics.extractors import (
    INCEPTION_WEIGHTS,
    ClassifierExtractor,
    FeatureExtractor,
    create_extractor,
)
from deepi2i.metrics.fid import RealReference, real_reference, reference_key
from deepi2i.metrics.inputs import Uint8Split, check_classes, eligible_inputs, load_split, shapes_params
from deepi2i.metrics.registry import (
    Batch,
    EvalContext,
    Metric,
    available_metrics,
    metric_class,
    resolve_metrics,
)
from deepi2i.metrics.report import check_report_target, write_report
from deepi2i.metrics.results import (
    ASSIGNMENT,
    GENERATION,
    REPORT_FORMAT,
    REPORT_VERSION,
    SUMMARY_KEYS,
    ClassRow,
    EvalReport,
    Protocol,
    package_versions,
)
from deepi2i.metrics.weights import StrPath, resolve_weights, sha256_file
from deepi2i.networks.biggan import BigGAN, Generator
from deepi2i.networks.deepi2i import DeepI2I, generate, z_for_outputs
from deepi2i.pretrained import resolve_model

# Names that lived here before the job was split into modules; code and tests import them from here.
__all__ = [
    "ALL_METRICS",
    "BASELINES",
    "REPORT_FORMAT",
    "REPORT_VERSION",
    "EvalConfig",
    "baseline_images",
    "default_cache_dir",
    "evaluate",
    "resolve_metrics",
    "translate_jobs",
]


# ---- what is scored: the model's translations, or a reference in their place ----------------------


@torch.no_grad()
def translate_jobs(
    model: DeepI2I,
    inputs: Tensor,
    target: int,
    jobs: Sequence[tuple[int, int]],
    seed: int,
    truncation: float | None = None,
) -> Tensor:
    """uint8 translations [len(jobs), 3, R, R] (on the model's device) of (input index, sample)
    jobs into class `target`; z is the per-output z of `deepi2i translate` (`z_for_outputs`)."""
    dim = model.config.generator.dim_z_used
    dev = next(model.parameters()).device
    src = to_model_range(inputs[torch.tensor([i for i, _ in jobs])]).to(dev)
    z = z_for_outputs(dim, seed, jobs, truncation).to(dev)
    y = torch.full((len(jobs),), target, dtype=torch.long, device=dev)
    return to_uint8(model.translate(src, y, z))


@torch.no_grad()
def generate_jobs(
    generator: Generator, target: int, jobs: Sequence[tuple[int, int]], seed: int, truncation: float | None = None
) -> Tensor:
    """uint8 samples G(z, target) [len(jobs), 3, R, R] of a BigGAN generator, z drawn per job as for
    a translation, so a source is scored under the translation protocol."""
    return to_uint8(generate(generator, target, jobs, seed, truncation))


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


# ---- shared references: the RC classifier and the real features (cached across models) --------------


@dataclass(frozen=True)
class RCClassifier:
    """The classifier trained on the real training split: RC's judge, and the FID/KID feature
    extractor with `extractor="classifier"`."""

    model: ImageClassifier
    sha256: str
    from_cache: bool
    real_test_accuracy: float  # percent
    real_test_recall: tuple[float | None, ...]  # percent per class (None: no test image): RC's ceiling per class


def _rc_classifier(
    train: ClassFolderDataset,
    test: ClassFolderDataset,
    cfg: EvalConfig,
    identity: dict[str, Any],
    device: torch.device,
    progress: bool,
) -> RCClassifier:
    """The RC classifier from the cache when trained before (same data, split and recipe), else trained
    and cached; with its accuracy on the real test split."""
    key = reference_key({**identity, "classifier": cfg.classifier.describe(), "n_classes": train.num_classes})
    path = cfg.cache_path() / f"classifier-{cfg.classifier.backbone}-{key}.pt"
    cached = path.is_file()
    if cached:
        model = ImageClassifier.load(path, device).to(device)
    else:
        model = train_classifier(
            Uint8Split(train),
            train.num_classes,
            cfg.classifier,
            device,
            progress,
            "training RC classifier (real train)",
            cfg.workers,
        )
        model.save(path)
    preds, labels = predict(model, Uint8Split(test), device, cfg.batch_size, cfg.workers)
    acc, recall = accuracy(preds, labels, test.num_classes)
    per_class = tuple(None if math.isnan(r) else 100 * r for r in recall)
    return RCClassifier(model, sha256_file(path), cached, 100 * acc, per_class)


def _features(
    cfg: EvalConfig,
    rc: RCClassifier | None,
    real: ClassFolderDataset,
    identity: dict[str, Any],
    device: torch.device,
    progress: bool,
) -> tuple[FeatureExtractor, RealReference]:
    """The FID/KID feature extractor and the real images' features under it (cached)."""
    if cfg.extractor == "classifier":
        assert rc is not None
        extractor: FeatureExtractor = ClassifierExtractor(rc.model, weights_sha256=rc.sha256)
    elif cfg.extractor == "inception":
        extractor = create_extractor("inception", weights=cfg.inception_weights)
    else:
        extractor = create_extractor(cfg.extractor)
    extractor = extractor.to(device).eval()
    real_ds = Uint8Split(real)
    reference = real_reference(
        lambda: DataLoader(real_ds, batch_size=cfg.batch_size, num_workers=cfg.workers),
        extractor,
        {**identity, "split": cfg.real_split, "extractor": extractor.describe()},
        cfg.cache_path(),
        len(real_ds),
        device,
        progress,
        f"real {cfg.real_split} features",
    )
    counts = np.bincount(reference.labels, minlength=real.num_classes)
    if counts.min() < 2:
        thin = [real.class_names[c] for c in np.flatnonzero(counts < 2)][:5]
        raise ValueError(
            f"FID/KID need >= 2 real images per class, but the {cfg.real_split} split has fewer for "
            f"{', '.join(thin)}" + ("; use --real-split train" if cfg.real_split == "test" else "")
        )
    return extractor, reference


@dataclass(frozen=True)
class References:
    """What the translations are compared with, prepared once before the pass (and cached across
    models): the RC classifier, the FID/KID extractor and the real images' features under it."""

    train: ClassFolderDataset | None  # the real training split, when something needed it
    rc: RCClassifier | None
    extractor: FeatureExtractor | None
    reference: RealReference | None


def _references(
    cfg: EvalConfig,
    chosen: Sequence[type[Metric]],
    root: Path,
    test: ClassFolderDataset,
    identity: dict[str, Any],
    device: torch.device,
    progress: bool,
    say: Callable[[str], object],
) -> References:
    """Load the training split, the RC classifier and the real features only when a chosen metric
    (or the classifier extractor) needs them."""
    use_features = any(m.needs_features for m in chosen)
    needs_rc = any(m.needs_classifier for m in chosen) or (use_features and cfg.extractor == "classifier")
    train = None
    if needs_rc or (use_features and cfg.real_split == "train"):
        train = load_split(root, test.resolution, "train", progress=progress)
    rc = None
    if needs_rc:
        assert train is not None
        rc = _rc_classifier(train, test, cfg, {**identity, "split": "train"}, device, progress)
        say(
            f"RC classifier ({cfg.classifier.backbone}): {rc.real_test_accuracy:.1f}% on the real test split"
            + (" (cached)" if rc.from_cache else "")
        )
    if not use_features:
        return References(train, rc, None, None)
    real = test if cfg.real_split == "test" else train
    assert real is not None
    extractor, reference = _features(cfg, rc, real, identity, device, progress)
    return References(train, rc, extractor, reference)


@torch.no_grad()
def _embed(
    images: Tensor, extractor: FeatureExtractor | None, classifier: ImageClassifier | None
) -> tuple[Tensor | None, Tensor | None]:
    """(features [B, dim] for FID/KID, RC logits [B, n_classes]) of uint8 images; one forward pass
    gives both when the extractor is the RC classifier itself."""
    if isinstance(extractor, ClassifierExtractor) and classifier is not None and extractor.classifier is classifier:
        return extractor.features_and_logits(images)
    features = extractor(images) if extractor is not None else None
    logits = classifier(images) if classifier is not None else None
    return features, logits


# ---- the job ---------------------------------------------------------------------------------------


def _check_before_work(cfg: EvalConfig, chosen: Sequence[type[Metric]], root: Path) -> None:
    """Settings that cannot work, and every pretrained file the metrics need, are found before any
    work starts, so a missing file fails in a second instead of after the classifiers and translations."""
    for m in chosen:
        if cfg.baseline is not None and m.needs_samples:
            raise ValueError(f"the {cfg.baseline!r} baseline has one output per input: {m.title} does not apply")
    if cfg.baseline == "ideal" and not (root / SHAPES_MANIFEST_NAME).is_file():
        raise ValueError(f"the 'ideal' baseline needs a Shapes dataset (it re-renders each input); {root} is not one")
    needs = []
    if cfg.extractor == "inception" and any(m.needs_features for m in chosen):
        needs.append((INCEPTION_WEIGHTS, cfg.inception_weights, "--extractor classifier (CPU runs)"))
    for m in chosen:
        others = ",".join(o.name for o in chosen if o is not m)
        needs += [(spec, given, f"--metrics {others}" if others else None) for spec, given in m.weights(cfg)]
    for spec, given, instead in needs:
        try:
            resolve_weights(spec, given)
        except FileNotFoundError as err:
            raise FileNotFoundError(f"{err}" + (f"; or do without it: {instead}" if instead else "")) from None


def _translate_and_score(
    run: EvalContext,
    metrics: Sequence[Metric],
    make: Callable[[int, Sequence[tuple[int, int]]], Tensor],
    embed: Callable[[Tensor], tuple[Tensor | None, Tensor | None]],
    desc: str = "translating + scoring",
) -> list[dict[str, Any]]:
    """The one pass: `per_class` translations per class, each embedded once and given to every
    metric; returns each class's per-class fields (metric order)."""
    cfg = run.config
    fields: list[dict[str, Any]] = []
    total = run.n_classes * cfg.per_class
    with tqdm(total=total, desc=desc, unit="img", disable=not run.progress) as bar:
        for c, e in enumerate(run.eligible):
            jobs = [(e[q % len(e)], q // len(e)) for q in range(cfg.per_class)]
            for b in range(0, cfg.per_class, cfg.batch_size):
                chunk = jobs[b : b + cfg.batch_size]
                images = make(c, chunk)  # uint8 [len(chunk), 3, R, R] on the device
                features, logits = embed(images)
                batch = Batch(c, b, chunk, images, images.cpu(), features, logits)
                for m in metrics:
                    m.update(batch)
                bar.update(len(chunk))
            row: dict[str, Any] = {}
            for m in metrics:
                row.update(m.end_class(c))
            fields.append(row)
    return fields


def _classifier_section(
    cfg: EvalConfig, rc: RCClassifier | None, train: ClassFolderDataset | None, fc: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The protocol section RC and FC share: the recipe, the RC classifier, and FC's own fields."""
    if rc is None and fc is None:
        return None
    return {
        **cfg.classifier.describe(),
        "rc_classifier_sha256": None if rc is None else rc.sha256,
        "rc_classifier_from_cache": None if rc is None else rc.from_cache,
        "rc_real_test_accuracy": None if rc is None else rc.real_test_accuracy,
        # the judge's own recall on each class's real test images: a translation cannot expect more
        "rc_real_test_recall": None
        if rc is None or train is None
        else dict(zip(train.class_names, rc.real_test_recall, strict=True)),
        "rc_trained_on": None if train is None else f"real train split ({len(train)} images)",
        "fc_train_per_class": None,
        "fc_tested_on": None,
        "fc_mean_class_recall": None,
        **(fc or {}),
    }


def _finish(
    metrics: Sequence[Metric], fields: list[dict[str, Any]], cfg: EvalConfig, refs: References
) -> tuple[dict[str, float | None], dict[str, Any]]:
    """After the pass: each metric's result (summary columns; per-class fields added to `fields`
    in place) and its protocol sections, merged where metrics share one (RC and FC: classifier)."""
    summary: dict[str, float | None] = dict.fromkeys(SUMMARY_KEYS)
    for m in metrics:
        result = m.result()
        summary.update(result.summary)
        for row, after in zip(fields, result.per_class or [{}] * len(fields), strict=True):
            row.update(after)
    sections: dict[str, Any] = dict.fromkeys(k for n in available_metrics() for k in metric_class(n).sections)
    for m in metrics:
        for key, section in m.describe().items():
            sections[key] = {**(sections[key] or {}), **section}
    sections["classifier"] = _classifier_section(cfg, refs.rc, refs.train, sections.get("classifier"))
    return summary, sections


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
    OUT/report.md and return the report. A BigGAN export is scored on its samples G(z, c).
    Classifiers and real features are cached (see `default_cache_dir`) so that several models are
    scored against the very same references."""
    cfg = config or EvalConfig()
    model = resolve_model(model)  # a shipped model's name -> its folder, so the report names real files
    say = log if log is not None else (lambda m: print(m, file=sys.stderr) if progress else None)
    started = time.perf_counter()
    root = Path(data)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} not found")
    identity = eval_identity(model, root, cfg)
    # before any work: OUT must be a folder and hold no report of another model, data or protocol
    check_report_target(out, identity, overwrite)
    generation = read_export_config(model)[0] == "BigGAN"
    names = resolve_metrics(cfg.metrics, root, inputs=not generation)
    chosen = [metric_class(n) for n in names]
    _check_before_work(cfg, chosen, root)
    if generation and cfg.baseline is not None:
        raise ValueError("baselines stand in for translations; a BigGAN export is scored on its own samples")
    if cfg.adaptor_weights is not None and (generation or cfg.baseline is not None):
        what = "a BigGAN export's samples" if generation else f"the {cfg.baseline} baseline"
        raise ValueError(f"adaptor weights apply to a DeepI2I's translations, not to {what}; leave them out")

    device = resolve_device(cfg.device)
    if generation:
        source = BigGAN.from_pretrained(model, map_location=device)
        gen = source.config.generator
        res, n_model, model_names = gen.resolution, gen.n_classes, source.config.class_names
    else:
        i2i = DeepI2I.from_pretrained(model, map_location=device)
        if cfg.adaptor_weights is not None:
            i2i.config = i2i.config.with_adaptor_weights(cfg.adaptor_weights)
        res, n_model, model_names = i2i.config.resolution, i2i.config.n_classes, i2i.config.class_names
    test = load_split(root, res, "test", force_cache=True, progress=progress)
    class_names = test.class_names
    warnings = check_classes(n_model, model_names, class_names)
    if len(test) == 0:
        raise ValueError(
            f"{root} has no test split; re-split it with `deepi2i split {root} --resplit --test-fraction 0.1`"
        )
    manifest_sha = sha256_file(root / MANIFEST_NAME)
    data_identity = {"manifest_sha256": manifest_sha, "resolution": res}

    refs = _references(cfg, chosen, root, test, data_identity, device, progress, say)

    inputs = test.cached
    assert inputs is not None
    # a BigGAN's sample q of class c is job (q, 0): its own z, no input
    eligible = (
        [list(range(cfg.per_class))] * len(class_names)
        if generation
        else eligible_inputs(list(test.targets), len(class_names), cfg.include_same_class)
    )
    params = None
    if any(m.needs_shapes for m in chosen) or cfg.baseline == "ideal":
        params = shapes_params(root, test)

    def translate(target: int, jobs: Sequence[tuple[int, int]]) -> Tensor:
        if generation:
            return generate_jobs(source.generator, target, jobs, cfg.seed, cfg.truncation)
        return translate_jobs(i2i, inputs, target, jobs, cfg.seed, cfg.truncation)

    def make(target: int, jobs: Sequence[tuple[int, int]]) -> Tensor:
        if cfg.baseline is None:
            return translate(target, jobs)
        return baseline_images(cfg.baseline, inputs, params, class_names[target], jobs).to(device)

    run = EvalContext(
        config=cfg,
        class_names=class_names,
        device=device,
        progress=progress,
        test=test,
        inputs=inputs,
        eligible=eligible,
        translate=translate,
        train_classifier=train_classifier,
        reference=refs.reference,
        params=params,
    )
    metrics = [m(run) for m in chosen]
    rc_logits = refs.rc.model if refs.rc is not None and any(m.needs_classifier for m in chosen) else None
    made = "BigGAN samples" if generation else f"translations from {len(test)} test inputs"
    say(
        f"evaluating {Path(model).name} on {root.name}: {len(class_names)} classes x {cfg.per_class} {made}, "
        f"metrics {','.join(names)}, device {device}"
    )
    fields = _translate_and_score(
        run,
        metrics,
        make,
        lambda images: _embed(images, refs.extractor, rc_logits),
        "sampling + scoring" if generation else "translating + scoring",
    )

    summary, sections = _finish(metrics, fields, cfg, refs)
    report = EvalReport(
        name=cfg.name or Path(model).resolve().name,
        summary=summary,
        per_class=tuple(
            ClassRow(c, name, cfg.per_class, f) for c, (name, f) in enumerate(zip(class_names, fields, strict=True))
        ),
        protocol=Protocol(
            metrics=tuple(names),
            resolution=res,
            seed=cfg.seed,
            truncation=cfg.truncation,
            inputs={"split": None, "count": 0, "include_same_class": None, "assignment": GENERATION}
            if generation
            else {
                "split": "test",
                "count": len(test),
                "include_same_class": cfg.include_same_class,
                "assignment": ASSIGNMENT,
            },
            per_class=cfg.per_class,
            real_reference=None
            if refs.reference is None
            else {
                "split": cfg.real_split,
                "images": int(len(refs.reference.labels)),
                "cache_key": refs.reference.key,
                "from_cache": refs.reference.from_cache,
            },
            extractor=None if refs.extractor is None else refs.extractor.describe(),
            sections=sections,
        ),
        config=identity["config"],
        model={
            "path": str(Path(model).resolve()),
            "kind": "BigGAN" if generation else "DeepI2I",
            "resolution": res,
            "classes": n_model,
            # the w_l the translations used: the export's, or EvalConfig.adaptor_weights merged into them
            "adaptor_weights": None
            if generation or cfg.baseline is not None
            else {str(r): i2i.config.weight(r) for r in i2i.config.pyramid_levels},
        },
        data={
            "root": str(root.resolve()),
            "manifest_sha256": manifest_sha,
            "classes": len(class_names),
            "class_names": class_names,
            "train_images": None if refs.train is None else len(refs.train),
            "test_images": len(test),
            "shapes": (root / SHAPES_MANIFEST_NAME).is_file(),
        },
        versions=package_versions(),
        environment={
            "device": str(device),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "elapsed_s": round(time.perf_counter() - started, 1),
        },
        warnings=tuple(warnings),
    ).to_dict()
    write_report(report, out)
    return report
