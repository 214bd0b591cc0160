"""The data subcommands through `deepi2i.cli.main`: output, summaries, and exit status 2 with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from deepi2i.cli import main
from deepi2i.data import MANIFEST_NAME, SHAPES_MANIFEST_NAME


def test_shapes_command_writes_class_folders_and_manifests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "shapes"
    argv = [
        "shapes",
        str(out),
        "--domain",
        "target",
        "--per-class",
        "3",
        "--classes",
        "heart,ring",
        "--resolution",
        "24",
    ]
    assert main(argv) == 0
    assert "wrote 6 target images (2 classes x 3, 24 px)" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "heart").iterdir()) == ["00000.png", "00001.png", "00002.png"]
    assert Image.open(out / "ring" / "00000.png").size == (24, 24)
    records = json.loads((out / SHAPES_MANIFEST_NAME).read_text())["images"]
    assert {r["shape"] for r in records} == {"heart", "ring"} and all("pose" in r for r in records)
    assert (out / MANIFEST_NAME).exists()

    assert main(argv) == 2, "refuses to write into a non-empty folder"
    assert "deepi2i shapes: error: output folder" in capsys.readouterr().err
    assert main(["shapes", str(tmp_path / "x"), "--classes", "blob"]) == 2
    assert "unknown shape class(es) blob" in capsys.readouterr().err


def test_prepare_cat2dog_command_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "cat2dog"
    for folder in ("trainA", "trainB", "testA", "testB"):
        (src / folder).mkdir(parents=True)
        Image.new("RGB", (20, 20), (90, 90, 90)).save(src / folder / "0001.jpg")
    (src / "testB" / "notes.txt").write_text("not an image")
    assert main(["prepare", "cat2dog", str(src), str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "cat2dog: wrote 4 images in 2 classes" in captured.out
    assert "train 2, test 2; split shipped with the dataset" in captured.out
    assert "dog/testB_notes.txt: not an image" in captured.out
    assert "deepi2i prepare: warning:" in captured.err

    assert main(["prepare", "cat2dog", str(tmp_path / "missing"), str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepi2i prepare: error: cat2dog folder") and "trainA" in err


def test_prepare_animalfaces_requires_coordinates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["prepare", "animalfaces", str(tmp_path), str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert "--coordinates" in capsys.readouterr().err


def test_split_command_creates_then_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / cls / f"{i}.png")
    assert main(["split", str(tmp_path), "--seed", "2"]) == 0
    assert "2 classes, 10 images (train 8, test 2; seeded split: seed 2" in capsys.readouterr().out
    assert main(["split", str(tmp_path)]) == 0
    Image.new("RGB", (8, 8)).save(tmp_path / "a" / "9.png")
    assert main(["split", str(tmp_path)]) == 2
    assert "changed since its split manifest" in capsys.readouterr().err
    assert main(["split", str(tmp_path), "--resplit"]) == 0
    assert "11 images (train 9, test 2; seeded split: seed 2," in capsys.readouterr().out, "re-split keeps the seed"
