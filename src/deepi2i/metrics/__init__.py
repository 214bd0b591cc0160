"""Evaluation: the paper's protocol (mFID, mKID, RC, FC; §4.1, App. A), LPIPS diversity, and
pose / style preservation on the Shapes benchmark, written as a Table-1 style report.

Nothing here downloads weights: Inception, LPIPS trunks and classifier initialisations are read
from local files (see `deepi2i.metrics.weights`). Heavy dependencies (torch-fidelity, lpips) are
imported only when the metric that needs them runs.
"""

from deepi2i.metrics.builtin import ALL_METRICS
from deepi2i.metrics.classifier import (
    BACKBONES,
    ClassifierConfig,
    ImageClassifier,
    accuracy,
    predict,
    train_classifier,
)
from deepi2i.metrics.config import EvalConfig, default_cache_dir
from deepi2i.metrics.extractors import (
    INCEPTION_WEIGHTS,
    ClassifierExtractor,
    FeatureExtractor,
    InceptionExtractor,
    available_extractors,
    create_extractor,
    register_extractor,
)
from deepi2i.metrics.fid import (
    KID,
    RealReference,
    RunningStats,
    frechet_distance,
    kernel_inception_distance,
    real_reference,
)
from deepi2i.metrics.pose import PoseScores, mask_iou, pose_scores, segment_foreground
from deepi2i.metrics.protocol import evaluate
from deepi2i.metrics.registry import Metric, MetricResult, available_metrics, register_metric, resolve_metrics
from deepi2i.metrics.report import (
    compare_reports,
    load_report,
    markdown_report,
    write_comparison,
    write_report,
)
from deepi2i.metrics.weights import WeightsSpec, resolve_weights, sha256_file

__all__ = [
    "ALL_METRICS",
    "BACKBONES",
    "INCEPTION_WEIGHTS",
    "KID",
    "Metric",
    "MetricResult",
    "ClassifierConfig",
    "ClassifierExtractor",
    "EvalConfig",
    "FeatureExtractor",
    "ImageClassifier",
    "InceptionExtractor",
    "PoseScores",
    "RealReference",
    "RunningStats",
    "WeightsSpec",
    "accuracy",
    "available_extractors",
    "available_metrics",
    "compare_reports",
    "create_extractor",
    "default_cache_dir",
    "evaluate",
    "frechet_distance",
    "kernel_inception_distance",
    "load_report",
    "markdown_report",
    "mask_iou",
    "pose_scores",
    "predict",
    "real_reference",
    "register_extractor",
    "register_metric",
    "resolve_metrics",
    "resolve_weights",
    "segment_foreground",
    "sha256_file",
    "train_classifier",
    "write_comparison",
    "write_report",
]
