"""Models shipped inside the package, usable by name wherever an export folder is expected.

`--model shapes`, `--source shapes-source`, `Translator.from_pretrained("shapes")` and
`DeepI2I.from_pretrained("shapes")` all resolve here. The exports live in the package's
`weights/<name>/` folder (config.json + safetensors) with a `MODEL_CARD.md` saying which
command made them; nothing is ever downloaded.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# name -> what it is (shown by errors and `deepi2i demo --help`)
SHIPPED: dict[str, str] = {
    "shapes": "DeepI2I on the Shapes target domain (10 classes, 64 px), transferred from a Shapes source BigGAN",
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


# The Shapes classifier that `deepi2i demo` and the shipped-model tests score class identity with
# (read by `deepi2i.metrics.classifier.load_classifier`).
CLASSIFIER_FOLDER = "shapes-classifier"


def shipped_classifier_path() -> Path:
    return _weights(CLASSIFIER_FOLDER)
