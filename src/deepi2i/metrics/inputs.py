"""What an evaluation reads from the data folder: the splits as uint8 images, the check that the
model's classes are the data's, which test inputs translate into each class, and (on Shapes
data) each input's rendering parameters."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import Tensor
from torch.utils.data import Dataset

from deepi2i.data import SHAPES_MANIFEST_NAME, ClassFolderDataset, read_shapes_manifest
from deepi2i.data.images import load_image_uint8

# Decode a whole split into memory below this many bytes; stream it from disk above.
_CACHE_BYTES = 4 << 30


class Uint8Split(Dataset[tuple[Tensor, int]]):
    """(uint8 [3, R, R], label) of a ClassFolderDataset split, decoded in memory or on the fly."""

    def __init__(self, ds: ClassFolderDataset) -> None:
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        x = self.ds.cached[i] if self.ds.cached is not None else load_image_uint8(self.ds.paths[i], self.ds.resolution)
        return x, self.ds.targets[i]


def load_split(
    root: Path, resolution: int, split: str, force_cache: bool = False, progress: bool = True
) -> ClassFolderDataset:
    """One split of the manifest, decoded into memory when it fits (`force_cache`: always)."""
    ds = ClassFolderDataset(root, resolution, split)
    if force_cache or len(ds) * 3 * resolution * resolution <= _CACHE_BYTES:
        ds.decode_all(progress)  # in memory: the manifest is read and checked only once
    return ds


def check_classes(n_model: int, model_names: Sequence[str] | None, names: list[str]) -> list[str]:
    """The model's class c must be the dataset's class c; returns warnings for the report."""
    if n_model != len(names):
        raise ValueError(
            f"the model has {n_model} classes but the data has {len(names)}; evaluate on the data it was trained on"
        )
    if model_names is None:
        return ["the model has no class names; its class order is assumed to be the dataset's"]
    if list(model_names) != names:
        diffs = [
            f"{i}: model {a!r} vs data {b!r}" for i, (a, b) in enumerate(zip(model_names, names, strict=True)) if a != b
        ]
        raise ValueError(f"the model's classes differ from the data's ({'; '.join(diffs[:3])})")
    return []


def eligible_inputs(labels: Sequence[int], n_classes: int, include_same_class: bool) -> list[list[int]]:
    """Per target class, the test inputs translated into it (those of other classes, unless
    `include_same_class`), taken in turn from each class: the first input of every class, then the second...

    Translation q uses input q mod n, so with fewer translations per class than inputs only the list's head is
    used; in split order (sorted by class) that head would hold one or two input classes."""
    rank: dict[int, int] = {}
    order: list[tuple[int, int, int]] = []  # (rank within its class, class, index)
    for i, y in enumerate(labels):
        order.append((rank.get(y, 0), y, i))
        rank[y] = rank.get(y, 0) + 1
    interleaved = [i for _, _, i in sorted(order)]
    eligible = [[i for i in interleaved if include_same_class or labels[i] != c] for c in range(n_classes)]
    if not all(eligible):
        raise ValueError("some class has no input images from other classes; use include_same_class")
    return eligible


def shapes_params(root: Path, split: ClassFolderDataset) -> list[dict[str, Any]]:
    """The Shapes manifest's record (rendering parameters) of every image of `split`, in order."""
    records = {r["path"]: r for r in read_shapes_manifest(root)["images"]}
    rel = [p.relative_to(root).as_posix() for p in split.paths]
    missing = [r for r in rel if r not in records]
    if missing:
        raise ValueError(f"{len(missing)} test images are not in {SHAPES_MANIFEST_NAME} (e.g. {missing[0]})")
    return [records[r] for r in rel]
