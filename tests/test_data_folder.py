"""ClassFolderDataset + split manifest: deterministic, persistent split; bad files skipped and listed."""

from __future__ import annotations

import io
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepi2i.data import MANIFEST_NAME, ClassFolderDataset, ManifestMismatchError, SkippedFilesWarning

COLOURS = {"apple": (220, 30, 30), "banana": (230, 220, 40), "cherry": (120, 0, 40)}


def _make_folder(root: Path, per_class: int = 10) -> Path:
    for name, colour in COLOURS.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (10 + i, 8), colour).save(root / name / f"{i:02d}.png")
    return root


def _split_paths(ds: ClassFolderDataset) -> list[str]:
    return [p.relative_to(ds.root).as_posix() for p in ds.paths]


def test_items_are_model_ready_tensors_with_folder_labels(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "data")
    ds = ClassFolderDataset(root, resolution=8, split="train")
    assert ds.class_names == ["apple", "banana", "cherry"]
    assert len(ds) == 27  # 10 per class, 1 per class held out
    for i in (0, len(ds) - 1):
        x, y = ds[i]
        assert x.shape == (3, 8, 8) and x.dtype == torch.float32 and isinstance(y, int)
        expected = torch.tensor(COLOURS[ds.class_names[y]], dtype=torch.float32) / 127.5 - 1
        assert torch.allclose(x[:, 4, 4], expected, atol=1e-6)
        assert ds.paths[i].parent.name == ds.class_names[y]


def test_split_is_disjoint_complete_and_written_once(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "data")
    train = ClassFolderDataset(root, 8, "train")
    manifest_file = root / MANIFEST_NAME
    written, stat = manifest_file.read_bytes(), manifest_file.stat()
    test = ClassFolderDataset(root, 8, "test")
    everything = ClassFolderDataset(root, 8, "all")
    after = manifest_file.stat()
    assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns), "reused, not rewritten"
    assert set(_split_paths(train)).isdisjoint(_split_paths(test))
    assert sorted(_split_paths(train) + _split_paths(test)) == sorted(_split_paths(everything))
    assert sorted(test.targets) == [0, 1, 2]
    assert json.loads(written)["class_to_idx"] == {"apple": 0, "banana": 1, "cherry": 2}
    assert [p.name for p in root.iterdir() if p.is_file()] == [MANIFEST_NAME], "no temp files left behind"


def test_split_is_deterministic_and_depends_on_seed(tmp_path: Path) -> None:
    a = _make_folder(tmp_path / "a", per_class=20)
    b = shutil.copytree(a, tmp_path / "b")
    c = shutil.copytree(a, tmp_path / "c")
    test_a = _split_paths(ClassFolderDataset(a, 8, "test"))
    assert _split_paths(ClassFolderDataset(b, 8, "test")) == test_a
    assert _split_paths(ClassFolderDataset(c, 8, "test", seed=1)) != test_a
    assert len(test_a) == 6


def test_changed_folder_fails_instead_of_resplitting(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "data")
    ClassFolderDataset(root, 8, "test")
    Image.new("RGB", (8, 8)).save(root / "apple" / "new.png")
    with pytest.raises(ManifestMismatchError, match=r"1 file\(s\) added.*apple/new.png.*resplit"):
        ClassFolderDataset(root, 8, "test")
    (root / "apple" / "new.png").unlink()
    (root / "banana" / "00.png").unlink()
    with pytest.raises(ManifestMismatchError, match="1 removed"):
        ClassFolderDataset(root, 8, "test")
    Image.new("RGB", (8, 8)).save(root / "banana" / "00.png")  # different bytes, same name
    with pytest.raises(ManifestMismatchError, match="1 changed size"):
        ClassFolderDataset(root, 8, "train")
    resplit = ClassFolderDataset(root, 8, "all", resplit=True)
    assert len(resplit) == 30, "re-splitting on request covers the current files"


def test_requested_seed_must_match_existing_manifest(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "data")
    ClassFolderDataset(root, 8, "train", seed=3, test_fraction=0.2)
    assert len(ClassFolderDataset(root, 8, "test")) == 6, "None reuses the stored seed and fraction"
    with pytest.raises(ManifestMismatchError, match="seed=3.*seed=4"):
        ClassFolderDataset(root, 8, "train", seed=4)
    with pytest.raises(ManifestMismatchError, match="test_fraction"):
        ClassFolderDataset(root, 8, "train", test_fraction=0.1)


def test_tiny_classes_keep_a_training_image(tmp_path: Path) -> None:
    for name, n in (("one", 1), ("two", 2), ("five", 5)):
        (tmp_path / name).mkdir()
        for i in range(n):
            Image.new("RGB", (8, 8)).save(tmp_path / name / f"{i}.png")
    test = ClassFolderDataset(tmp_path, 8, "test")
    counts = {name: test.targets.count(test.class_to_idx[name]) for name in test.class_names}
    assert counts == {"one": 0, "two": 1, "five": 1}


def test_cache_gives_the_same_items(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "data", per_class=3)
    plain = ClassFolderDataset(root, 6, "all")
    cached = ClassFolderDataset(root, 6, "all", cache=True)
    assert cached.cached is not None and cached.cached.dtype == torch.uint8
    assert cached.cached.shape == (9, 3, 6, 6)
    for i in range(len(plain)):
        assert torch.equal(plain[i][0], cached[i][0]) and plain[i][1] == cached[i][1]


def _noise_bytes(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(buf, fmt)
    return buf.getvalue()


def test_bad_files_are_skipped_with_a_warning_and_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _make_folder(tmp_path / "data", per_class=4)
    jpeg, png = _noise_bytes("JPEG"), _noise_bytes("PNG")
    (root / "apple" / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (root / "apple" / "cut.png").write_bytes(png[: len(png) // 2])
    (root / "banana" / "notes.txt").write_text("hello")
    (root / "banana" / ".DS_Store").write_bytes(b"\0\0")
    Image.new("RGB", (64, 64)).save(root / "cherry" / "bomb.png")
    (root / "README.txt").write_text("loose file")
    (root / ".git").mkdir()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)
    with pytest.warns(SkippedFilesWarning, match="skipped 7 of"):
        ds = ClassFolderDataset(root, 8, "all")
    skipped = {s["path"]: s["reason"] for s in ds.manifest["skipped"]}
    assert set(skipped) == {
        "apple/cut.jpg",
        "apple/cut.png",
        "banana/notes.txt",
        "banana/.DS_Store",
        "cherry/bomb.png",
        "README.txt",
        ".git/",
    }
    assert "truncated" in skipped["apple/cut.jpg"] and "truncated" in skipped["apple/cut.png"]
    assert "not an image" in skipped["banana/notes.txt"]
    assert skipped["banana/.DS_Store"] == "hidden file"
    assert "decompression bomb" in skipped["cherry/bomb.png"]
    assert ds.manifest["counts"]["skipped"] == 7
    assert len(ds) == 12 and not any(p.name in {"cut.jpg", "bomb.png"} for p in ds.paths)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(ClassFolderDataset(root, 8, "all")) == 12, "reusing the manifest neither re-warns nor re-splits"


def test_class_without_readable_images_is_an_error(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "data", per_class=2)
    (root / "durian").mkdir()
    with pytest.raises(ValueError, match="no readable images: 'durian'"):
        ClassFolderDataset(root, 8)
    (root / "durian" / "x.png").write_text("not an image")
    with pytest.raises(ValueError, match="'durian'.*durian/x.png"):
        ClassFolderDataset(root, 8)
    assert not (root / MANIFEST_NAME).exists()


def test_empty_or_missing_dataset_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "lonely.png").write_bytes(b"")
    with pytest.raises(ValueError, match="no class folders"):
        ClassFolderDataset(tmp_path / "empty", 8)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ClassFolderDataset(tmp_path / "missing", 8)


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "data", per_class=2)
    with pytest.raises(ValueError, match="split must be"):
        ClassFolderDataset(root, 8, split="val")
    with pytest.raises(ValueError, match="test_fraction"):
        ClassFolderDataset(root, 8, test_fraction=1.5, resplit=True)
    (root / MANIFEST_NAME).write_text("{broken")
    with pytest.raises(ValueError, match="not valid JSON"):
        ClassFolderDataset(root, 8)


def test_threaded_checking_gives_the_same_manifest(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "a", per_class=6)
    (root / "apple" / "bad.png").write_text("nope")
    copy = shutil.copytree(root, tmp_path / "b")
    with pytest.warns(SkippedFilesWarning):
        one = ClassFolderDataset(root, 8, "all").manifest
    with pytest.warns(SkippedFilesWarning):
        two = ClassFolderDataset(copy, 8, "all", workers=2).manifest
    assert one == two


def test_custom_manifest_path_inside_the_folder_is_not_data(tmp_path: Path) -> None:
    root = _make_folder(tmp_path / "data", per_class=3)
    custom = root / "my_split.json"
    first = ClassFolderDataset(root, 8, "train", manifest_path=custom)
    assert custom.exists() and not (root / MANIFEST_NAME).exists()
    again = ClassFolderDataset(root, 8, "train", manifest_path=custom)
    assert again.paths == first.paths and first.manifest["skipped"] == []
