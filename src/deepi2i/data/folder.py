"""A torch Dataset over ROOT/<class>/<images> with a persistent, reproducible train/test split."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from deepi2i.data.images import StrPath, load_image_uint8, to_model_range
from deepi2i.data.manifest import load_or_create_manifest, split_entries


class ClassFolderDataset(Dataset[tuple[torch.Tensor, int]]):
    """Images of one split of a class folder as (float [3, R, R] in [-1, 1], int label).

    The split comes from ROOT/deepi2i_manifest.json, created on first use and reused afterwards
    (see `deepi2i.data.manifest`). With `cache=True` the whole split is decoded once into a uint8
    tensor, which makes small datasets on CPU much faster to iterate (N*3*R*R bytes of memory).
    """

    def __init__(
        self,
        root: StrPath,
        resolution: int = 128,
        split: str = "train",
        *,
        seed: int | None = None,
        test_fraction: float | None = None,
        cache: bool = False,
        resplit: bool = False,
        manifest_path: StrPath | None = None,
        workers: int = 1,
        progress: bool = True,
        manifest: Mapping[str, Any] | None = None,
    ) -> None:
        self.root = Path(root)
        self.resolution = int(resolution)
        if self.resolution < 1:
            raise ValueError(f"resolution must be a positive number of pixels, got {resolution}")
        self.split = split
        # `manifest`: one just read and checked (another split of the same folder): no second folder scan
        self.manifest: dict[str, Any] = (
            dict(manifest)
            if manifest is not None
            else load_or_create_manifest(
                self.root,
                seed=seed,
                test_fraction=test_fraction,
                resplit=resplit,
                manifest_path=manifest_path,
                workers=workers,
            )
        )
        entries = split_entries(self.manifest, split)
        self.class_names: list[str] = list(self.manifest["class_names"])
        self.class_to_idx: dict[str, int] = dict(self.manifest["class_to_idx"])
        self.paths: list[Path] = [self.root / p for p, _ in entries]
        self.targets: list[int] = [y for _, y in entries]
        self.cached: torch.Tensor | None = None
        if cache:
            self.decode_all(progress)

    def decode_all(self, progress: bool = True) -> torch.Tensor:
        """Decode the whole split once into `self.cached` (uint8 [N, 3, R, R]); what `cache=True` does."""
        if self.cached is not None:
            return self.cached
        r = self.resolution
        out = torch.empty((len(self.paths), 3, r, r), dtype=torch.uint8)
        for i, path in enumerate(
            tqdm(self.paths, desc=f"caching {self.split} images", unit="img", leave=False, disable=not progress)
        ):
            out[i] = load_image_uint8(path, r)
        self.cached = out
        return out

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if self.cached is not None:
            x = self.cached[index]
        else:
            x = load_image_uint8(self.paths[index], self.resolution)
        return to_model_range(x), self.targets[index]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(root={str(self.root)!r}, split={self.split!r}, resolution={self.resolution}, "
            f"images={len(self)}, classes={self.num_classes}, cached={self.cached is not None})"
        )
