"""Models shipped inside the package, usable by name wherever an export folder is expected.

`--model shapes`, `--source shapes-source`, `Translator.from_pretrained("shapes")` and
`DeepI2I.from_pretrained("shapes")` all resolve here. The exports live in the package's
`weights/<name>/` folder (config.json + safetensors) with a `MODEL_CARD.md` saying which
command made them; nothing is ever downloaded.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deepi2i.metrics.classifier import ImageClassifier

# name -> what it is (shown by errors and `deepi2i demo --help`)
SHIPPED: dict[str, str] = {
    "shapes": "DeepI2I on the Shapes target domain (10 classes, 64 px), transferred from shapes-source",
    "shapes-source": "the Shapes source BigGAN (26 classes, 64 px): a transfer source for `deepi2i train --source`",
}


def _weights(name: str) -> Path:
    """The package's weights/<name> folder (present or not)."""
    return Path(str(resources.files("deepi2i") / "weights" / name))


def shipped_path(name: str) -> Path:
    """The folder of shipped model `name` (ValueError for an unknown name, FileNotFoundError if absent)."""
    if name not in SHIPPED:
        raise ValueError(f"{name!r} is not a shipped model; shipped: {', '.join(SHIPPED)}")
    folder = _weights(name)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"the shipped model {name!r} is missing from this installation ({folder})")
    return folder


def resolve_model(model: str | Path) -> Path:
    """An existing path as it is; otherwise a shipped model's name -> its folder.

    A path that exists always wins, so a local folder called `shapes` is never shadowed.
    """
    path = Path(model).expanduser()
    if path.exists() or str(model) not in SHIPPED:
        return path
    return shipped_path(str(model))


# ---- the Shapes classifier: what `deepi2i demo` and the shipped-model tests score class identity with


CLASSIFIER_FOLDER = "shapes-classifier"


def save_shapes_classifier(classifier: ImageClassifier, class_names: list[str], folder: str | Path, made_by: str) -> Path:
    """Write a classifier as config.json + classifier.safetensors (no pickle), with the command that made it."""
    from safetensors.torch import save

    from deepi2i.checkpoint import atomic_write_bytes

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


def load_shapes_classifier(folder: str | Path | None = None) -> tuple[ImageClassifier, list[str]]:
    """(classifier of uint8 images [B, 3, 64, 64] -> logits, its class names), in eval mode on the CPU."""
    from deepi2i.checkpoint import read_safetensors
    from deepi2i.metrics.classifier import ImageClassifier

    folder = Path(folder) if folder is not None else _weights(CLASSIFIER_FOLDER)
    path = folder / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"the Shapes classifier is missing from this installation ({folder})")
    meta = json.loads(path.read_text())
    model = ImageClassifier(meta["backbone"], int(meta["n_classes"]), meta["input_size"])
    model.load_state_dict(read_safetensors(folder / "classifier.safetensors", "the Shapes classifier"))
    return model.eval(), list(meta["class_names"])
