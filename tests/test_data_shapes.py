"""Shapes benchmark: deterministic files, exact re-rendering, and translations that keep pose and style."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepi2i.data import (
    MANIFEST_NAME,
    SHAPE_NAMES,
    SHAPES_MANIFEST_NAME,
    SOURCE,
    TARGET,
    ClassFolderDataset,
    Pose,
    ShapeParams,
    ShapesDomain,
    Style,
    image_params,
    make_shapes,
    mask_centroid,
    read_shapes_manifest,
    render_array,
    shape_coverage,
    shape_mask,
)
from deepi2i.data.shapes_benchmark import shape_classes

RES = 32


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_at_least_20_classes_with_clearly_different_silhouettes() -> None:
    assert len(SHAPE_NAMES) >= 20
    pose = Pose(cx=0.5, cy=0.5, size=0.8, angle=0.0)
    masks = {s: shape_mask(ShapeParams(s, pose, Style((1, 1, 1), (0, 0, 0), (0, 0, 0)), 64)) for s in SHAPE_NAMES}
    for a, b in combinations(SHAPE_NAMES, 2):
        iou = (masks[a] & masks[b]).sum() / (masks[a] | masks[b]).sum()
        # The closest pair is pentagon/hexagon (~0.87, both from the list); the rest stay below.
        assert iou < 0.9, f"{a} and {b} look alike (IoU {iou:.2f})"


@pytest.mark.parametrize("angle", [0.0, 37.0, -120.0])
def test_pose_centre_is_the_mask_centroid_for_every_shape(angle: float) -> None:
    pose = Pose(cx=0.45, cy=0.58, size=0.7, angle=angle)
    for shape in SHAPE_NAMES:
        mask = shape_mask(ShapeParams(shape, pose, Style((1, 1, 1), (0, 0, 0), (0, 0, 0)), 64))
        cx, cy = mask_centroid(mask)
        assert abs(cx - pose.cx) * 64 < 1.0 and abs(cy - pose.cy) * 64 < 1.0, shape
        assert not mask[0].any() and not mask[-1].any() and not mask[:, 0].any() and not mask[:, -1].any()


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    kwargs = dict(domain="target", per_class=3, resolution=RES, seed=7, classes=4)
    make_shapes(tmp_path / "a", **kwargs)
    make_shapes(tmp_path / "b", workers=2, **kwargs)
    make_shapes(tmp_path / "c", **{**kwargs, "seed": 8})
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert len([p for p in a if p.endswith(".png")]) == 12
    assert a == b, "same arguments (any worker count) must give byte-identical output"
    assert a.keys() == c.keys()
    assert all(a[p] != c[p] for p in a if p.endswith(".png")), "another seed must give other images"


def test_images_do_not_depend_on_which_other_classes_are_rendered(tmp_path: Path) -> None:
    make_shapes(tmp_path / "all", domain="source", per_class=2, resolution=RES, classes=5)
    make_shapes(tmp_path / "one", domain="source", per_class=2, resolution=RES, classes=[SOURCE.classes[3]])
    name = SOURCE.classes[3]
    for i in range(2):
        assert (tmp_path / "all" / name / f"{i:05d}.png").read_bytes() == (
            tmp_path / "one" / name / f"{i:05d}.png"
        ).read_bytes()


@pytest.mark.parametrize("domain", ["source", "target"])
def test_manifest_parameters_rerender_every_png_exactly(tmp_path: Path, domain: str) -> None:
    make_shapes(tmp_path / "s", domain=domain, per_class=2, resolution=RES, seed=1, classes=6)
    manifest = read_shapes_manifest(tmp_path / "s")
    assert len(manifest["images"]) == 12
    for record in manifest["images"]:
        on_disk = np.asarray(Image.open(tmp_path / "s" / record["path"]))
        assert np.array_equal(render_array(record), on_disk), record["path"]
        assert record["path"].split("/")[0] == record["shape"]


@pytest.mark.parametrize("domain", [SOURCE, TARGET])
def test_translation_keeps_pose_and_background(domain: ShapesDomain) -> None:
    params = image_params(domain, "heart", 0, 64, seed=3)
    for other in ("star5", "cross", "ring", "arrow"):
        translated = render_array(params, shape=other)
        mask = shape_mask(params, shape=other)
        cx, cy = mask_centroid(mask)
        assert abs(cx - params.pose.cx) * 64 < 1.0 and abs(cy - params.pose.cy) * 64 < 1.0
        own = render_array(params)
        # Pixels no shape touches are pure background, identical in the image and its translation.
        background = (shape_coverage("heart", params.pose, 64) == 0) & (shape_coverage(other, params.pose, 64) == 0)
        assert background.mean() > 0.2
        assert np.array_equal(own[background], translated[background])
        # Inside the new shape the translation has the image's fill colour.
        inside = shape_coverage(other, params.pose, 64) == 1
        assert inside.any() and (translated[inside] == np.rint(np.asarray(params.style.fg) * 255)).all()


def test_domains_differ_as_documented() -> None:
    assert len(TARGET.classes) < len(SOURCE.classes) and TARGET.per_class < SOURCE.per_class
    assert set(TARGET.classes) <= set(SOURCE.classes)
    s = image_params(SOURCE, "circle", 0, RES, seed=0)
    t = image_params(TARGET, "circle", 0, RES, seed=0)
    assert s.style.bg == s.style.bg2 and t.style.bg != t.style.bg2, "source plain, target gradient"
    assert sum(s.style.fg) > sum(s.style.bg) and sum(t.style.fg) < sum(t.style.bg), "light-on-dark vs dark-on-light"
    for p in (s, t):
        assert 0.56 <= p.pose.size <= 0.84


def test_output_is_a_class_folder_with_split_manifest(tmp_path: Path) -> None:
    make_shapes(tmp_path / "s", domain="target", per_class=10, resolution=RES, classes="circle,heart")
    assert (tmp_path / "s" / SHAPES_MANIFEST_NAME).exists() and (tmp_path / "s" / MANIFEST_NAME).exists()
    test = ClassFolderDataset(tmp_path / "s", RES, "test")
    assert test.class_names == ["circle", "heart"] and len(test) == 2
    assert json.loads((tmp_path / "s" / MANIFEST_NAME).read_text())["skipped"] == []


def test_class_selection_and_bad_arguments(tmp_path: Path) -> None:
    assert shape_classes(TARGET, "3") == list(TARGET.classes[:3])
    assert (
        shape_classes(TARGET, len(TARGET.classes) + 2)[-2:] == [s for s in SHAPE_NAMES if s not in TARGET.classes][:2]
    )
    with pytest.raises(ValueError, match="unknown shape class"):
        shape_classes(SOURCE, "circle,blob")
    with pytest.raises(ValueError, match="between 1 and"):
        shape_classes(SOURCE, 0)
    with pytest.raises(ValueError, match="unknown domain"):
        make_shapes(tmp_path / "x", domain="imagenet")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        make_shapes(tmp_path / "full", per_class=1)
