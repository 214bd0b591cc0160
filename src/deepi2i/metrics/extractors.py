"""Feature extractors for FID / KID, chosen by name from a registry.

`inception` is torch-fidelity's port of the TensorFlow Inception-v3 (pool3, 2048-d), the network
behind the FID/KID numbers in the literature. `classifier` embeds with the penultimate layer of
a classifier trained on the data itself (the RC classifier): no download, fast on CPU, but its
numbers are only comparable with other runs that use the same classifier (same SHA-256).
Register more with `@register_extractor("name")`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from deepi2i.metrics.classifier import ImageClassifier
from deepi2i.metrics.weights import StrPath, WeightsSpec, load_state_dict, resolve_weights, sha256_file

INCEPTION_WEIGHTS = WeightsSpec(
    what="Inception-v3 (torch-fidelity)",
    filename="weights-inception-2015-12-05-6726825d.pth",
    url="https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
    env="DEEPI2I_INCEPTION_WEIGHTS",
    option="--inception-weights",
)


class FeatureExtractor(nn.Module):
    """uint8 images [B, 3, H, W] (any size) -> float32 features [B, dim].

    `name` and `weights_sha256` identify the embedding: statistics cached or reported under one
    identity are never mixed with another's.
    """

    name: str = "extractor"
    dim: int = 0
    weights_sha256: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "dim": self.dim, "weights_sha256": self.weights_sha256}


_REGISTRY: dict[str, Callable[..., FeatureExtractor]] = {}


def register_extractor(
    name: str,
) -> Callable[[Callable[..., FeatureExtractor]], Callable[..., FeatureExtractor]]:
    """Decorator: make a FeatureExtractor factory available to `create_extractor(name, ...)`."""

    def add(factory: Callable[..., FeatureExtractor]) -> Callable[..., FeatureExtractor]:
        _REGISTRY[name] = factory
        return factory

    return add


def available_extractors() -> list[str]:
    return sorted(_REGISTRY)


def create_extractor(name: str, **options: Any) -> FeatureExtractor:
    """Build a registered extractor (e.g. `create_extractor("inception", weights="pt_inception.pth")`)."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown feature extractor {name!r}; available: {', '.join(available_extractors())}")
    return _REGISTRY[name](**options)


@register_extractor("inception")
class InceptionExtractor(FeatureExtractor):
    """torch-fidelity's TF-ported Inception-v3: resizes to 299 like TF1 (bilinear), returns pool3."""

    def __init__(self, weights: StrPath | None = None) -> None:
        super().__init__()
        from unittest import mock

        import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

        path = resolve_weights(INCEPTION_WEIGHTS, weights)
        # torch-fidelity unpickles a weights *path* with weights_only=False (code in the file would
        # run), so the file goes through our safe reader and torch-fidelity gets only its tensors,
        # through the hook it uses for downloads (which is thereby never called).
        not_inception = f"{path} is not torch-fidelity's Inception-v3 weights file ({INCEPTION_WEIGHTS.filename})"
        try:
            state = load_state_dict(path, INCEPTION_WEIGHTS.what)
        except ValueError as err:
            raise ValueError(f"{not_inception}: {err}") from err
        try:
            with mock.patch.object(tf_inception, "load_state_dict_from_url", lambda *a, **k: state):
                self.net = tf_inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
        except (RuntimeError, KeyError, AttributeError, TypeError) as err:
            raise ValueError(f"{not_inception}: {err}") from err
        self.name = "inception-v3-compat"
        self.dim = 2048
        self.weights_sha256 = sha256_file(path)
        self.weights_file = Path(path).name

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "weights_file": self.weights_file,
            "layer": "pool3 (2048)",
            "resize": "299, TF1 bilinear",
        }

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        if x.dtype != torch.uint8:
            raise TypeError(f"the Inception extractor takes uint8 images, got {x.dtype}")
        return self.net(x)[0].float()


@register_extractor("classifier")
class ClassifierExtractor(FeatureExtractor):
    """Penultimate features of an `ImageClassifier`: given (with the SHA-256 of its saved file), or
    loaded from a file written by `ImageClassifier.save`."""

    def __init__(
        self,
        classifier: ImageClassifier | None = None,
        weights: StrPath | None = None,
        weights_sha256: str | None = None,
    ) -> None:
        super().__init__()
        if (classifier is None) == (weights is None):
            raise ValueError(
                "the classifier extractor needs exactly one of classifier= or weights= (a saved classifier)"
            )
        if weights is not None:
            classifier = ImageClassifier.load(weights)
            self.weights_sha256 = sha256_file(weights)
        else:
            self.weights_sha256 = weights_sha256
        assert classifier is not None
        self.classifier = classifier.eval()
        self.name = f"classifier-{classifier.backbone_name}"
        self.dim = classifier.dim

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        return self.classifier.features(x).float()

    @torch.no_grad()
    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        f, logits = self.classifier.features_and_logits(x)
        return f.float(), logits
