"""Turn datasets the user already has on disk into class folders + split manifest (nothing is downloaded).

Every `prepare_*` function reads one published layout, crops or copies each image into
OUT/<class>/, skips (and reports) what is missing or unreadable instead of crashing midway, then
writes OUT/deepi2i_manifest.json with the same code `ClassFolderDataset` uses.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from deepi2i._io import StrPath, map_with_progress
from deepi2i.data.images import ImageLoadError, open_rgb
from deepi2i.data.manifest import (
    DEFAULT_SEED,
    DEFAULT_TEST_FRACTION,
    MANIFEST_NAME,
    build_manifest,
    check_new_output_folder,
    manifest_summary,
    reason_summary,
    save_manifest,
)

Box = tuple[float, float, float, float]
JPEG_QUALITY = 95
# FUNIT's Animal Faces are ImageNet classes 151-299 (n02085620 Chihuahua ... n02138441 meerkat).
ANIMALFACES_IMAGENET_OFFSET = 151
_WNID = re.compile(r"^n\d{8}$")


@dataclass(frozen=True)
class _Job:
    """Copy (box None) or crop one source image to OUT/<dst>."""

    src: Path
    dst: str
    box: Box | None = None


@dataclass
class PrepareReport:
    """What a preparation produced; `summary()` is what the CLI prints."""

    dataset: str
    out: Path
    manifest: dict[str, Any]
    skipped_inputs: list[dict[str, str]] = field(default_factory=list)

    @property
    def classes(self) -> int:
        return len(self.manifest["class_names"])

    @property
    def images(self) -> int:
        return self.manifest["counts"]["train"] + self.manifest["counts"]["test"]

    def summary(self) -> str:
        lines = [
            f"{self.dataset}: wrote {self.images} images in {self.classes} classes to {self.out}",
            manifest_summary(self.manifest),
        ]
        skipped = self.skipped_inputs
        why = reason_summary(skipped)
        lines.append(f"skipped {len(skipped)} input entries" + (f": {why}" if skipped else ""))
        lines += [f"  {s['path']}: {s['reason']}" for s in skipped[:10]]
        if len(skipped) > 10:
            lines.append(f"  ... ({len(skipped) - 10} more listed in the manifest's metadata.prepare_skipped)")
        lines.append(f"split manifest: {self.out / MANIFEST_NAME}")
        return "\n".join(lines)


def _require(paths: Mapping[str, Path], what: str, hint: str) -> None:
    """Fail before writing anything when an input is missing, naming each one and what to pass."""
    missing = [f"{name} ({path})" for name, path in paths.items() if not path.exists()]
    parents = {path.parent for path in paths.values()}
    if len(parents) == 1 and not next(iter(parents)).exists():
        missing = [f"the folder itself ({next(iter(parents))})"]
    if missing:
        raise FileNotFoundError(f"{what}: missing {', '.join(missing)}; {hint}")


def _clamp(box: Box, width: int, height: int) -> tuple[int, int, int, int] | None:
    x1, y1 = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
    x2, y2 = min(width, math.ceil(box[2])), min(height, math.ceil(box[3]))
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


def _run_job(out: Path, job: _Job) -> str | None:
    """Do one job; the reason it was skipped, or None. Class folders appear only once an image is written."""
    if not job.src.is_file():
        return "missing source file"
    dst = out / job.dst
    if job.box is None:
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(job.src, dst)
        except OSError as err:
            return f"cannot copy ({err})"
        return None
    try:
        # Boxes refer to the stored pixels, so no EXIF rotation before cropping.
        img = open_rgb(job.src, exif_transpose=False)
    except ImageLoadError as err:
        return str(err).removeprefix(f"{job.src}: ")
    box = _clamp(job.box, img.width, img.height)
    if box is None:
        return f"box empty after clamping to the image (box {job.box}, image {img.width}x{img.height})"
    dst.parent.mkdir(parents=True, exist_ok=True)
    img.crop(box).save(dst, format="JPEG", quality=JPEG_QUALITY)
    return None


def _run_jobs(out: Path, jobs: list[_Job], desc: str, workers: int) -> list[dict[str, str]]:
    reasons = map_with_progress(lambda j: _run_job(out, j), jobs, workers, desc=desc, unit="img")
    return [{"path": str(j.src), "reason": r} for j, r in zip(jobs, reasons, strict=True) if r is not None]


def _dedupe(jobs: Iterable[_Job], skipped: list[dict[str, str]]) -> list[_Job]:
    seen: set[str] = set()
    unique = []
    for job in jobs:
        if job.dst in seen:
            skipped.append({"path": str(job.src), "reason": f"duplicate entry (same output {job.dst})"})
            continue
        seen.add(job.dst)
        unique.append(job)
    return unique


def _finish(
    dataset: str,
    out: Path,
    jobs: list[_Job],
    skipped: list[dict[str, str]],
    *,
    workers: int,
    seed: int,
    test_fraction: float,
    metadata: Mapping[str, Any],
    given_split: Mapping[str, str] | None = None,
    hint: str,
) -> PrepareReport:
    """Run the jobs, fail clearly if nothing came out, write the split manifest."""
    jobs = _dedupe(jobs, skipped)
    out.mkdir(parents=True, exist_ok=True)
    failed = _run_jobs(out, jobs, f"preparing {dataset}", workers)
    skipped += failed
    if len(failed) == len(jobs):
        if not any(out.iterdir()):
            out.rmdir()
        why = reason_summary(skipped) or "no entries in the input lists"
        example = f" (e.g. {skipped[0]['path']}: {skipped[0]['reason']})" if skipped else ""
        raise ValueError(f"no {dataset} images were prepared: {why}{example}; {hint}")
    meta = {
        "source": f"deepi2i prepare {dataset}",
        **metadata,
        "prepare_skipped": {"count": len(skipped), "files": skipped},
    }
    manifest = build_manifest(
        out,
        seed=seed,
        test_fraction=test_fraction,
        given_split=given_split,
        metadata=meta,
        # Crops were decoded and re-encoded here; copied files still need checking.
        validate=any(j.box is None for j in jobs),
        workers=workers,
    )
    save_manifest(manifest, out / MANIFEST_NAME)
    return PrepareReport(dataset=dataset, out=out, manifest=manifest, skipped_inputs=skipped)


def _read_rows(path: Path, n_fields: int, *, header: bool = False) -> Iterable[tuple[int, list[str]]]:
    """(line number, at most `n_fields` fields) of a whitespace-separated text file (the last field keeps
    its inner spaces, e.g. class names), blank lines dropped."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            text = line.strip()
            if (header and number == 1) or not text:
                continue
            yield number, [field.strip() for field in text.split(None, n_fields - 1)]


def _box(fields: list[str]) -> Box:
    x1, y1, x2, y2 = (float(v) for v in fields)
    return (x1, y1, x2, y2)


def _safe_relpath(text: str) -> PurePosixPath | None:
    rel = PurePosixPath(text.replace("\\", "/"))
    return None if rel.is_absolute() or ".." in rel.parts or not rel.parts else rel


def prepare_animalfaces(
    imagenet_train: StrPath,
    coordinates: StrPath,
    out: StrPath,
    *,
    seed: int = DEFAULT_SEED,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    workers: int = 1,
) -> PrepareReport:
    """FUNIT's Animal Faces: crop the boxes of `animalface_coordinates.txt` out of ImageNet train images.

    Each line is `<wnid>/<file>.JPEG x1 y1 x2 y2`; crops go to OUT/<wnid>/<file>.JPEG_x1_y1_x2_y2.jpg
    (FUNIT's own file names, so its class/image lists match). Boxes are clamped to the image;
    missing files and bad lines are skipped and reported.
    """
    imagenet_train, coordinates = Path(imagenet_train), Path(coordinates)
    _require(
        {"ImageNet train folder": imagenet_train, "coordinate file": coordinates},
        "Animal Faces inputs",
        "pass the ILSVRC2012 train folder (the one holding n01440764/, n02085620/, ...) and FUNIT's "
        "animalface_coordinates.txt (from the FUNIT repository's datasets/ folder)",
    )
    out = check_new_output_folder(out)
    jobs: list[_Job] = []
    skipped: list[dict[str, str]] = []
    for number, fields in _read_rows(coordinates, 5):
        rel = _safe_relpath(fields[0])
        try:
            box = _box(fields[1:5]) if len(fields) == 5 else None
        except ValueError:
            box = None
        if rel is None or box is None or len(rel.parts) != 2:
            skipped.append(
                {
                    "path": f"{coordinates}:{number}",
                    "reason": "malformed line (expected 'wnid/file.JPEG x1 y1 x2 y2')",
                }
            )
            continue
        name = "_".join([rel.name, *(str(int(v)) if v.is_integer() else str(v) for v in box)])
        jobs.append(_Job(src=imagenet_train / rel, dst=f"{rel.parts[0]}/{name}.jpg", box=box))
    wnids = sorted(p.name for p in imagenet_train.iterdir() if p.is_dir() and _WNID.match(p.name))
    # The sorted position of a wnid among the 1000 ILSVRC2012 classes is its ImageNet index (what
    # BigGAN's class embedding uses); only trustworthy when the full train folder is present.
    imagenet_index = {w: i for i, w in enumerate(wnids)} if len(wnids) == 1000 else None
    classes = sorted({j.dst.split("/")[0] for j in jobs})
    return _finish(
        "animalfaces",
        out,
        jobs,
        skipped,
        workers=workers,
        seed=seed,
        test_fraction=test_fraction,
        metadata={
            "imagenet_offset": ANIMALFACES_IMAGENET_OFFSET,
            "imagenet_class_index": None if imagenet_index is None else {c: imagenet_index.get(c) for c in classes},
            "inputs": {"imagenet_train": str(imagenet_train), "coordinates": str(coordinates)},
        },
        hint=f"check that {imagenet_train} is the ILSVRC2012 train folder the coordinate file refers to",
    )


def prepare_nabirds(
    root: StrPath,
    out: StrPath,
    *,
    crop: bool = True,
    official_split: bool = False,
    seed: int = DEFAULT_SEED,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    workers: int = 1,
) -> PrepareReport:
    """NABirds: one class folder per leaf class id used in image_class_labels.txt (555), bbox-cropped
    unless `crop=False`; `official_split` keeps train_test_split.txt instead of the seeded split."""
    root = Path(root)
    files = {
        name: root / name
        for name in ["images", "images.txt", "image_class_labels.txt", "classes.txt"]
        + (["bounding_boxes.txt"] if crop else [])
        + (["train_test_split.txt"] if official_split else [])
    }
    _require(
        files,
        f"NABirds folder {root}",
        "pass the extracted NABirds folder (holding images/ and the *.txt lists)",
    )
    out = check_new_output_folder(out)
    image_paths = {f[0]: f[1] for _, f in _read_rows(files["images.txt"], 2) if len(f) == 2}
    labels = {f[0]: f[1] for _, f in _read_rows(files["image_class_labels.txt"], 2) if len(f) == 2}
    names = {f[0]: f[1] for _, f in _read_rows(files["classes.txt"], 2) if len(f) == 2}
    boxes: dict[str, Box] = {}
    if crop:
        for _, f in _read_rows(files["bounding_boxes.txt"], 5):
            try:
                x, y, w, h = (float(v) for v in f[1:5])
            except ValueError:
                continue  # the image is then reported as having no bounding box
            boxes[f[0]] = (x, y, x + w, y + h)
    official: dict[str, str] = {}
    if official_split:
        official = {
            f[0]: ("train" if f[1] == "1" else "test")
            for _, f in _read_rows(files["train_test_split.txt"], 2)
            if len(f) == 2
        }
    jobs: list[_Job] = []
    skipped: list[dict[str, str]] = []
    given: dict[str, str] = {}
    titles: dict[str, str] = {}
    for image_id, relpath in image_paths.items():
        rel = _safe_relpath(relpath)
        if rel is None:
            skipped.append({"path": relpath, "reason": "malformed path in images.txt"})
        elif image_id not in labels:
            skipped.append({"path": relpath, "reason": "no class label in image_class_labels.txt"})
        elif crop and image_id not in boxes:
            skipped.append({"path": relpath, "reason": "no bounding box in bounding_boxes.txt"})
        elif official_split and image_id not in official:
            skipped.append({"path": relpath, "reason": "not in train_test_split.txt"})
        else:
            cls = f"{int(labels[image_id]):04d}" if labels[image_id].isdigit() else labels[image_id]
            dst = f"{cls}/{rel.stem}.jpg" if crop else f"{cls}/{rel.name}"
            jobs.append(_Job(src=files["images"] / rel, dst=dst, box=boxes.get(image_id) if crop else None))
            titles[cls] = names.get(labels[image_id], "")
            if official_split:
                given[dst] = official[image_id]
    return _finish(
        "nabirds",
        out,
        jobs,
        skipped,
        workers=workers,
        seed=seed,
        test_fraction=test_fraction,
        given_split=given if official_split else None,
        metadata={
            "class_titles": dict(sorted(titles.items())),
            "cropped": crop,
            "inputs": {"root": str(root)},
        },
        hint=f"check that {root}/images holds the files listed in images.txt",
    )


def prepare_uecfood256(
    root: StrPath,
    out: StrPath,
    *,
    seed: int = DEFAULT_SEED,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    workers: int = 1,
) -> PrepareReport:
    """UECFood-256: crop every bb_info.txt box of ROOT/<id>/ into OUT/<id as 3 digits>/.

    One photo can show several foods, so it can appear in several classes (and several times in
    one class: the k-th extra box of an image is saved as <img>_<k>.jpg).
    """
    root = Path(root)
    _require(
        {"category.txt": root / "category.txt"},
        f"UECFood-256 folder {root}",
        "pass the extracted UECFOOD256 folder (holding category.txt and the folders 1/ ... 256/)",
    )
    out = check_new_output_folder(out)
    categories = {f[0]: f[1] for _, f in _read_rows(root / "category.txt", 2, header=True) if len(f) == 2}
    jobs: list[_Job] = []
    skipped: list[dict[str, str]] = []
    for cid in sorted(categories, key=lambda c: int(c) if c.isdigit() else c):
        cls = f"{int(cid):03d}" if cid.isdigit() else cid
        bb_info = root / cid / "bb_info.txt"
        if not bb_info.is_file():
            skipped.append({"path": str(bb_info), "reason": "missing bb_info.txt (class folder absent or incomplete)"})
            continue
        count: dict[str, int] = {}
        for number, fields in _read_rows(bb_info, 5, header=True):
            try:
                box = _box(fields[1:5])
            except ValueError:
                skipped.append({"path": f"{bb_info}:{number}", "reason": "malformed line (expected 'img x1 y1 x2 y2')"})
                continue
            img = fields[0]
            k = count.get(img, 0)
            count[img] = k + 1
            name = img if k == 0 else f"{img}_{k}"
            jobs.append(_Job(src=root / cid / f"{img}.jpg", dst=f"{cls}/{name}.jpg", box=box))
    return _finish(
        "uecfood256",
        out,
        jobs,
        skipped,
        workers=workers,
        seed=seed,
        test_fraction=test_fraction,
        metadata={
            "class_titles": {(f"{int(c):03d}" if c.isdigit() else c): name for c, name in categories.items()},
            "inputs": {"root": str(root)},
        },
        hint=f"check that {root}/<id>/ holds the images named in bb_info.txt",
    )


CAT2DOG_FOLDERS = {
    "trainA": ("cat", "train"),
    "trainB": ("dog", "train"),
    "testA": ("cat", "test"),
    "testB": ("dog", "test"),
}


def prepare_cat2dog(root: StrPath, out: StrPath, *, workers: int = 1) -> PrepareReport:
    """DRIT's cat2dog (trainA/trainB/testA/testB): classes cat and dog, keeping DRIT's own train/test split."""
    root = Path(root)
    _require(
        {name: root / name for name in CAT2DOG_FOLDERS},
        f"cat2dog folder {root}",
        "pass DRIT's datasets/cat2dog folder (with trainA, trainB, testA, testB)",
    )
    out = check_new_output_folder(out)
    jobs: list[_Job] = []
    skipped: list[dict[str, str]] = []
    given: dict[str, str] = {}
    for folder, (cls, split) in CAT2DOG_FOLDERS.items():
        for path in sorted((root / folder).iterdir()):
            if path.name.startswith(".") or not path.is_file():
                skipped.append(
                    {
                        "path": str(path),
                        "reason": "hidden file" if path.name.startswith(".") else "not a file",
                    }
                )
                continue
            dst = f"{cls}/{folder}_{path.name}"
            jobs.append(_Job(src=path, dst=dst))
            given[dst] = split
    return _finish(
        "cat2dog",
        out,
        jobs,
        skipped,
        workers=workers,
        seed=DEFAULT_SEED,
        test_fraction=DEFAULT_TEST_FRACTION,
        given_split=given,
        metadata={"inputs": {"root": str(root)}, "split": "DRIT trainA/B -> train, testA/B -> test"},
        hint=f"put the images into {root}/trainA, trainB, testA and testB",
    )
