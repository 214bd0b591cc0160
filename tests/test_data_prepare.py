"""`prepare_*` on tiny fabricated copies of each published layout, including missing and broken inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepi2i.data import (
    MANIFEST_NAME,
    ClassFolderDataset,
    ManifestMismatchError,
    SkippedFilesWarning,
    prepare_animalfaces,
    prepare_cat2dog,
    prepare_nabirds,
    prepare_uecfood256,
)

RED, BLUE = (230, 20, 20), (20, 20, 230)


def _photo(path: Path, size: tuple[int, int] = (60, 40), box: tuple[int, int, int, int] | None = None) -> None:
    """A blue image with a red rectangle at `box`, so crops can be checked by colour."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", size, BLUE)
    if box is not None:
        img.paste(RED, box)
    img.save(path, quality=95)


def _is_red(path: Path) -> bool:
    """Mostly the red box (JPEG blurs colour edges a little), not the blue surroundings."""
    r, _, b = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(0)
    return bool(r > 190 and b < 60)


# ---------------------------------------------------------------- Animal Faces


def _animalfaces_inputs(tmp_path: Path) -> tuple[Path, Path]:
    train = tmp_path / "ILSVRC" / "train"
    _photo(train / "n02085620" / "n02085620_1.JPEG", box=(10, 5, 30, 25))
    _photo(train / "n02085620" / "n02085620_2.JPEG", box=(40, 20, 60, 40))
    _photo(train / "n02085782" / "n02085782_7.JPEG", box=(0, 0, 20, 20))
    coords = tmp_path / "animalface_coordinates.txt"
    coords.write_text(
        "n02085620/n02085620_1.JPEG 10 5 30 25\n"
        "n02085620/n02085620_2.JPEG 40 20 999 999\n"  # past the border: clamped to 60x40
        "n02085620/n02085620_404.JPEG 1 1 10 10\n"  # file not in ImageNet folder
        "\n"
        "n02085782/n02085782_7.JPEG 0 0 20 20\n"
        "n02085782/n02085782_7.JPEG 500 500 600 600\n"  # box entirely outside
        "garbage line\n"
    )
    return train, coords


def test_animalfaces_crops_boxes_with_funit_names(tmp_path: Path) -> None:
    train, coords = _animalfaces_inputs(tmp_path)
    out = tmp_path / "animals"
    report = prepare_animalfaces(train, coords, out, seed=0)
    crops = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))
    assert crops == [
        "n02085620/n02085620_1.JPEG_10_5_30_25.jpg",
        "n02085620/n02085620_2.JPEG_40_20_999_999.jpg",
        "n02085782/n02085782_7.JPEG_0_0_20_20.jpg",
    ]
    assert Image.open(out / crops[0]).size == (20, 20)
    assert Image.open(out / crops[1]).size == (20, 20), "box clamped to the image"
    for crop in crops:
        assert _is_red(out / crop), "the crop is the boxed region"
    reasons = sorted(s["reason"].split(" (")[0] for s in report.skipped_inputs)
    assert reasons == ["box empty after clamping to the image", "malformed line", "missing source file"]
    meta = report.manifest["metadata"]
    assert meta["imagenet_offset"] == 151 and meta["prepare_skipped"]["count"] == 3
    assert report.classes == 2 and report.images == 3
    summary = report.summary()
    assert "3 images in 2 classes" in summary and "missing source file" in summary and "n02085620_404" in summary
    assert ClassFolderDataset(out, 16, "all").class_names == ["n02085620", "n02085782"]
    threaded = prepare_animalfaces(train, coords, tmp_path / "threaded", seed=0, workers=2)
    assert threaded.manifest["splits"] == report.manifest["splits"]


def test_animalfaces_missing_inputs_are_clear_errors(tmp_path: Path) -> None:
    train, coords = _animalfaces_inputs(tmp_path)
    with pytest.raises(FileNotFoundError, match="coordinate file.*animalface_coordinates.txt"):
        prepare_animalfaces(train, tmp_path / "nope.txt", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="ImageNet train folder"):
        prepare_animalfaces(tmp_path / "no_imagenet", coords, tmp_path / "out")
    other = tmp_path / "other_train"
    other.mkdir()
    with pytest.raises(
        ValueError, match="no animalfaces images were prepared: 5 missing source file, 1 malformed line"
    ):
        prepare_animalfaces(other, coords, tmp_path / "out")
    assert not (tmp_path / "out").exists(), "a failed preparation leaves no half-made folder"


# ---------------------------------------------------------------- NABirds


def _nabirds_inputs(tmp_path: Path) -> Path:
    root = tmp_path / "nabirds"
    ids = {
        "aaaa-1": ("0817/aaaa1.jpg", "817"),
        "bbbb-2": ("0817/bbbb2.jpg", "817"),
        "cccc-3": ("0295/cccc3.jpg", "295"),
    }
    for rel, _ in ids.values():
        _photo(root / "images" / rel, box=(5, 5, 25, 35))
    (root / "images.txt").write_text(
        "".join(f"{i} {rel}\n" for i, (rel, _) in ids.items()) + "dddd-4 0295/missing.jpg\n"
    )
    (root / "image_class_labels.txt").write_text("".join(f"{i} {c}\n" for i, (_, c) in ids.items()) + "dddd-4 295\n")
    (root / "classes.txt").write_text("0 Birds\n295 Ruby-crowned Kinglet\n817 Red-tailed Hawk (Adult)\n")
    (root / "bounding_boxes.txt").write_text("".join(f"{i} 5 5 20 30\n" for i in ids) + "dddd-4 1 1 5 5\n")
    (root / "train_test_split.txt").write_text("aaaa-1 1\nbbbb-2 0\ncccc-3 1\ndddd-4 1\n")
    return root


def test_nabirds_class_folders_per_leaf_class_with_bbox_crops(tmp_path: Path) -> None:
    report = prepare_nabirds(_nabirds_inputs(tmp_path), tmp_path / "birds")
    out = tmp_path / "birds"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["0295", "0817"], "only classes with images"
    assert Image.open(out / "0817" / "aaaa1.jpg").size == (20, 30), "x y w h box"
    assert _is_red(out / "0817" / "aaaa1.jpg")
    assert report.manifest["metadata"]["class_titles"] == {
        "0295": "Ruby-crowned Kinglet",
        "0817": "Red-tailed Hawk (Adult)",
    }
    assert [s["reason"] for s in report.skipped_inputs] == ["missing source file"]
    assert report.manifest["split_source"] == "seeded"


def test_nabirds_whole_images_and_official_split(tmp_path: Path) -> None:
    report = prepare_nabirds(_nabirds_inputs(tmp_path), tmp_path / "birds", crop=False, official_split=True)
    out = tmp_path / "birds"
    assert Image.open(out / "0817" / "aaaa1.jpg").size == (60, 40)
    assert report.manifest["split_source"] == "given"
    assert [p for p, _ in report.manifest["splits"]["test"]] == ["0817/bbbb2.jpg"]


def test_nabirds_missing_list_file_is_a_clear_error(tmp_path: Path) -> None:
    root = _nabirds_inputs(tmp_path)
    (root / "bounding_boxes.txt").unlink()
    with pytest.raises(FileNotFoundError, match="bounding_boxes.txt"):
        prepare_nabirds(root, tmp_path / "birds")
    assert prepare_nabirds(root, tmp_path / "birds", crop=False).images == 3, "boxes only needed for crops"


# ---------------------------------------------------------------- UECFood-256


def _uec_inputs(tmp_path: Path) -> Path:
    root = tmp_path / "UECFOOD256"
    root.mkdir()
    (root / "category.txt").write_text("id\tname\n1\trice\n2\teels on rice\n3\tpilaf\n")
    _photo(root / "1" / "10.jpg", box=(0, 0, 30, 20))
    _photo(root / "1" / "11.jpg", box=(30, 20, 60, 40))
    (root / "1" / "bb_info.txt").write_text("img x1 y1 x2 y2\n10 0 0 30 20\n11 30 20 60 40\n10 0 0 30 20\n")
    _photo(root / "2" / "10.jpg", box=(0, 0, 30, 20))  # one photo, two foods
    (root / "2" / "bb_info.txt").write_text("img x1 y1 x2 y2\n10 0 0 30 20\n12 0 0 5 5\n")
    return root  # class 3 has no folder


def test_uecfood256_crops_every_box(tmp_path: Path) -> None:
    report = prepare_uecfood256(_uec_inputs(tmp_path), tmp_path / "food")
    out = tmp_path / "food"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg")) == [
        "001/10.jpg",
        "001/10_1.jpg",
        "001/11.jpg",
        "002/10.jpg",
    ]
    assert Image.open(out / "001" / "11.jpg").size == (30, 20)
    assert _is_red(out / "001" / "11.jpg")
    assert report.manifest["metadata"]["class_titles"]["002"] == "eels on rice"
    reasons = sorted(s["reason"].split(" (")[0] for s in report.skipped_inputs)
    assert reasons == ["missing bb_info.txt", "missing source file"]


def test_uecfood256_missing_category_file(tmp_path: Path) -> None:
    root = _uec_inputs(tmp_path)
    (root / "category.txt").unlink()
    with pytest.raises(FileNotFoundError, match="category.txt"):
        prepare_uecfood256(root, tmp_path / "food")


# ---------------------------------------------------------------- cat2dog


def _cat2dog_inputs(tmp_path: Path) -> Path:
    root = tmp_path / "cat2dog"
    for folder, n in (("trainA", 3), ("trainB", 2), ("testA", 1), ("testB", 1)):
        for i in range(n):
            _photo(root / folder / f"{i:04d}.jpg")
    (root / "trainA" / "0009.jpg").write_bytes(b"\xff\xd8\xff broken")
    return root


def test_cat2dog_keeps_drits_split(tmp_path: Path) -> None:
    with pytest.warns(SkippedFilesWarning, match="cat/trainA_0009.jpg"):
        report = prepare_cat2dog(_cat2dog_inputs(tmp_path), tmp_path / "c2d")
    out = tmp_path / "c2d"
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["split_source"] == "given"
    test = ClassFolderDataset(out, 16, "test")
    assert [p.name for p in test.paths] == ["testA_0000.jpg", "testB_0000.jpg"] and test.targets == [0, 1]
    assert test.class_names == ["cat", "dog"]
    assert len(ClassFolderDataset(out, 16, "train")) == 5
    assert report.manifest["counts"]["skipped"] == 1
    with pytest.raises(ManifestMismatchError, match="split shipped with the dataset"):
        ClassFolderDataset(out, 16, "train", seed=0)


def test_cat2dog_missing_folder_and_non_empty_output(tmp_path: Path) -> None:
    root = _cat2dog_inputs(tmp_path)
    (tmp_path / "c2d").mkdir()
    (tmp_path / "c2d" / "old.txt").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        prepare_cat2dog(root, tmp_path / "c2d")
    for p in (root / "testB").iterdir():
        p.unlink()
    (root / "testB").rmdir()
    with pytest.raises(FileNotFoundError, match="testB"):
        prepare_cat2dog(root, tmp_path / "new")
