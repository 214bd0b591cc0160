"""The RC / FC classifiers (paper §4.1, App. A): a backbone plus one fully connected layer.

RC ("GAN-test") trains on the real training split and scores the translations against their
target labels; FC ("GAN-train") trains on translations and scores the real test split. The paper
uses a ResNet-50 backbone; `small` (a 4-block CNN) and `resnet18` keep CPU runs short. Training
is seeded, so the same data and config give the same classifier (its SHA-256 goes in the report).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import save
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from deepi2i._io import atomic_write, atomic_write_bytes
from deepi2i.checkpoint import check_finite, read_safetensors, safe_torch_load
from deepi2i.metrics.weights import StrPath, load_state_dict, sha256_file
from deepi2i.pretrained import shipped_classifier_path

BACKBONES = ("small", "resnet18", "resnet34", "resnet50")
CLASSIFIER_FORMAT = "deepi2i-eval-classifier"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ClassifierConfig:
    """Backbone, initial weights (a local torchvision state_dict, or None: random) and schedule."""

    backbone: str = "small"
    init_weights: str | None = None
    input_size: int | None = None
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 5e-4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown classifier backbone {self.backbone!r}; choose one of {', '.join(BACKBONES)}")
        if self.epochs < 1 or self.batch_size < 2 or self.lr <= 0:
            raise ValueError(
                f"classifier needs epochs >= 1, batch_size >= 2 and lr > 0, got {self.epochs}, "
                f"{self.batch_size}, {self.lr}"
            )
        if self.input_size is not None and self.input_size < 8:
            raise ValueError(f"classifier input_size must be >= 8 pixels, got {self.input_size}")
        if self.init_weights is not None and not Path(self.init_weights).is_file():
            raise FileNotFoundError(f"classifier initial weights {self.init_weights} not found")

    def describe(self) -> dict[str, Any]:
        """The config as the report records it: the init file by its SHA-256, not its local path."""
        d = asdict(self)
        d["init_weights"] = None if self.init_weights is None else Path(self.init_weights).name
        d["init_weights_sha256"] = None if self.init_weights is None else sha256_file(self.init_weights)
        return d


class SmallCNN(nn.Module):
    """Four conv-BN-ReLU-pool blocks and global pooling: seconds per epoch on CPU at 32-64 px."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c in widths:
            layers += [
                nn.Conv2d(c_in, c, 3, padding=1, bias=False),
                nn.BatchNorm2d(c),
                nn.ReLU(),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            c_in = c
        self.body = nn.Sequential(*layers)
        self.out_dim = c_in

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x).mean(dim=(2, 3))


def build_backbone(name: str) -> tuple[nn.Module, int]:
    """(backbone mapping normalised images to penultimate features, feature dim)."""
    if name == "small":
        net = SmallCNN()
        return net, net.out_dim
    if name not in BACKBONES:
        raise ValueError(f"unknown classifier backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    import torchvision

    net = getattr(torchvision.models, name)(weights=None)
    dim = net.fc.in_features
    net.fc = nn.Identity()
    return net, dim


class ImageClassifier(nn.Module):
    """uint8 images [B, 3, H, W] -> logits; `features` gives the penultimate layer (a FID extractor)."""

    def __init__(self, backbone: str, n_classes: int, input_size: int | None = None) -> None:
        super().__init__()
        self.backbone_name = backbone
        self.n_classes = n_classes
        self.input_size = input_size
        self.backbone, self.dim = build_backbone(backbone)
        self.fc = nn.Linear(self.dim, n_classes)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def load_backbone(self, path: StrPath) -> None:
        """Initial backbone weights from a torchvision-style state_dict (its `fc.*` head is ignored)."""
        state = {
            k: v
            for k, v in load_state_dict(path, f"a {self.backbone_name} backbone").items()
            if not k.startswith("fc.")
        }
        missing, unexpected = self.backbone.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(
                f"{path} does not fit a {self.backbone_name} backbone: missing {list(missing)[:5]}, "
                f"unexpected {list(unexpected)[:5]}"
            )

    def prepare(self, x: Tensor) -> Tensor:
        """uint8 -> ImageNet-normalised floats at `input_size` (torchvision backbones expect that)."""
        x = x.float().div(255.0)
        if self.input_size is not None and x.shape[-1] != self.input_size:
            x = F.interpolate(
                x,
                size=(self.input_size, self.input_size),
                mode="bilinear",
                antialias=True,
                align_corners=False,
            )
        return (x - self.mean) / self.std

    def features(self, x: Tensor) -> Tensor:
        return self.backbone(self.prepare(x))

    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """One pass for both, so each translation is classified and embedded only once."""
        f = self.features(x)
        return f, self.fc(f)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.features(x))

    def save(self, path: StrPath) -> Path:
        """One file (plain tensors and strings, loadable with weights_only)."""
        path = Path(path)
        meta = {
            "format": CLASSIFIER_FORMAT,
            "backbone": self.backbone_name,
            "n_classes": self.n_classes,
            "input_size": self.input_size,
        }
        state = {"meta": meta, "state_dict": {k: v.cpu() for k, v in self.state_dict().items()}}
        atomic_write(path, lambda f: torch.save(state, f))
        return path

    @classmethod
    def load(cls, path: StrPath, map_location: str | torch.device = "cpu") -> ImageClassifier:
        data = safe_torch_load(path, "a classifier saved by deepi2i evaluate", map_location)
        meta = data.get("meta", {}) if isinstance(data, dict) else {}
        if not isinstance(meta, dict) or meta.get("format") != CLASSIFIER_FORMAT:
            raise ValueError(f"{path} is not a classifier saved by deepi2i evaluate")
        try:
            check_finite(data["state_dict"], str(path))
            model = cls(meta["backbone"], int(meta["n_classes"]), meta["input_size"])
            model.load_state_dict(data["state_dict"])
        except (KeyError, TypeError, RuntimeError, AttributeError) as err:
            raise ValueError(
                f"{path} is a damaged deepi2i classifier file ({err}); delete it to train it again"
            ) from err
        return model.eval()


def train_classifier(
    data: Dataset[tuple[Tensor, int]],
    n_classes: int,
    config: ClassifierConfig,
    device: str | torch.device = "cpu",
    progress: bool = True,
    desc: str = "training classifier",
    workers: int = 0,
) -> ImageClassifier:
    """Cross-entropy, AdamW with a cosine schedule; seeded init and batch order (no augmentation)."""
    n = len(data)  # type: ignore[arg-type]
    if n < 2:
        raise ValueError(f"a classifier needs at least 2 training images, got {n}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = ImageClassifier(config.backbone, n_classes, config.input_size)
    if config.init_weights is not None:
        model.load_backbone(config.init_weights)
    model.to(device).train()
    loader = DataLoader(
        data,
        batch_size=min(config.batch_size, n),
        shuffle=True,
        drop_last=n > config.batch_size,
        generator=torch.Generator().manual_seed(config.seed),
        num_workers=workers,
    )
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    total = config.epochs * len(loader)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5 * (1 + math.cos(math.pi * step / total)))
    with tqdm(total=total, desc=desc, unit="step", disable=not progress) as bar:
        for _ in range(config.epochs):
            for x, y in loader:
                loss = F.cross_entropy(model(x.to(device)), torch.as_tensor(y, device=device))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
                bar.update()
    return model.eval()


@torch.no_grad()
def predict(
    model: Callable[[Tensor], Tensor],
    data: Dataset[tuple[Tensor, int]],
    device: str | torch.device = "cpu",
    batch_size: int = 128,
    workers: int = 0,
) -> tuple[Tensor, Tensor]:
    """(predicted labels, true labels) over a dataset of (uint8 image, label)."""
    preds, labels = [], []
    for x, y in DataLoader(data, batch_size=batch_size, num_workers=workers):
        preds.append(model(x.to(device)).argmax(dim=1).cpu())
        labels.append(torch.as_tensor(y))
    return torch.cat(preds), torch.cat(labels)


def accuracy(preds: Tensor, labels: Tensor, n_classes: int) -> tuple[float, list[float]]:
    """(overall accuracy, per-class recall; NaN for a class without examples), as fractions."""
    correct = (preds == labels).double()
    per_class = []
    for c in range(n_classes):
        sel = labels == c
        per_class.append(float(correct[sel].mean()) if bool(sel.any()) else float("nan"))
    return float(correct.mean()), per_class


# ---- a trained classifier as files (the shipped Shapes classifier): config.json + safetensors, no pickle


def save_classifier(classifier: ImageClassifier, class_names: list[str], folder: StrPath, made_by: str) -> Path:
    """Write a classifier as config.json + classifier.safetensors, with the command that made it."""
    folder = Path(folder)
    meta = {
        "format": "deepi2i-classifier",
        "backbone": classifier.backbone_name,
        "n_classes": classifier.n_classes,
        "input_size": classifier.input_size,
        "class_names": list(class_names),
        "made_by": made_by,
    }
    state = {k: v.detach().contiguous().cpu() for k, v in classifier.state_dict().items()}
    atomic_write_bytes(folder / "classifier.safetensors", save(state))
    atomic_write_bytes(folder / "config.json", (json.dumps(meta, indent=2) + "\n").encode())
    return folder


def load_classifier(folder: StrPath | None = None) -> tuple[ImageClassifier, list[str]]:
    """(classifier of uint8 images [B, 3, R, R] -> logits, its class names) in eval mode on the CPU;
    `folder` None: the shipped Shapes classifier."""
    folder = Path(folder) if folder is not None else shipped_classifier_path()
    path = folder / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"no classifier in {folder} (config.json missing)")
    meta = json.loads(path.read_text())
    model = ImageClassifier(meta["backbone"], int(meta["n_classes"]), meta["input_size"])
    model.load_state_dict(read_safetensors(folder / "classifier.safetensors", f"the classifier in {folder}"))
    return model.eval(), list(meta["class_names"])
