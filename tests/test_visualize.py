"""The pictures: grid and strip layout, GIFs, the t-SNE map and metric curves."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepi2i.cli import main
from deepi2i.visualize import (
    header_height,
    interpolation_labels,
    interpolation_strip,
    labelled_grid,
    metric_series,
    plot_curves,
    read_jsonl,
    save_gif,
    smooth_ema,
    translation_grid,
    tsne_embed,
    tsne_plot,
)

R = 16


def images(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_translation_grid_layout_and_cells():
    inputs, outputs = images(2, 3, R, R), images(2, 3, 2, 3, R, R, seed=1)
    pad = 3
    grid = np.asarray(translation_grid(inputs, outputs, ["cat", "dog", "a very long class name"], padding=pad))
    top = header_height()
    assert grid.shape == (top + pad + 2 * (R + pad), pad + 7 * (R + pad), 3)

    def cell(r: int, c: int) -> np.ndarray:
        y, x = top + pad + r * (R + pad), pad + c * (R + pad)
        return grid[y : y + R, x : x + R]

    to_hwc = lambda t: ((t.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()  # noqa: E731
    assert np.array_equal(cell(1, 0), to_hwc(inputs[1]))
    assert np.array_equal(cell(1, 6), to_hwc(outputs[1, 2, 1]))  # last target, second sample
    assert (grid[:top] < 128).any()  # the labels are drawn


def test_grid_without_labels_has_no_header_and_checks_shapes():
    plain = translation_grid(images(1, 3, R, R), images(1, 2, 1, 3, R, R))
    assert plain.size == (2 + 3 * (R + 2), 2 + R + 2)
    with pytest.raises(ValueError, match="class names"):
        translation_grid(images(1, 3, R, R), images(1, 2, 1, 3, R, R), ["only one"])
    with pytest.raises(ValueError, match="do not match"):
        translation_grid(images(2, 3, R, R), images(1, 2, 1, 3, R, R))
    with pytest.raises(ValueError, match="spans"):
        labelled_grid(images(1, 2, 3, R, R), [("a", 1)])


def test_interpolation_strip_size_and_labels():
    assert interpolation_labels("pug", "mongoose", 5) == ["pug", "0.25", "0.50", "0.75", "mongoose"]
    strip = interpolation_strip(images(3, R, R), images(5, 3, R, R), interpolation_labels("a", "b", 5))
    assert strip.size == (2 + 6 * (R + 2), header_height() + 2 + R + 2)
    with pytest.raises(ValueError, match="labels"):
        interpolation_strip(images(3, R, R), images(5, 3, R, R), ["a", "b"])


def test_gif_loops_forward_and_back(tmp_path: Path):
    path = save_gif(images(4, 3, R, R), tmp_path / "x.gif", duration_ms=50)
    with Image.open(path) as gif:
        assert gif.n_frames == 6 and gif.info["loop"] == 0 and gif.info["duration"] == 50
    with Image.open(save_gif(images(4, 3, R, R), tmp_path / "y.gif", boomerang=False)) as gif:
        assert gif.n_frames == 4


def test_tsne_embed_is_seeded_and_checks_perplexity():
    # two well separated clusters of images must stay separated on the map
    x = torch.cat([images(6, 3, 8, 8, seed=2) * 0.1 - 0.8, images(6, 3, 8, 8, seed=3) * 0.1 + 0.8])
    points = tsne_embed(x, perplexity=3, seed=0)
    assert points.shape == (12, 2)
    assert np.array_equal(points, tsne_embed(x, perplexity=3, seed=0))
    within = np.linalg.norm(points[:6] - points[:6].mean(0), axis=1).max()
    assert np.linalg.norm(points[:6].mean(0) - points[6:].mean(0)) > 2 * within
    with pytest.raises(ValueError, match="perplexity"):
        tsne_embed(x, perplexity=12)


def test_tsne_plot_size(tmp_path: Path):
    points = np.random.default_rng(0).normal(size=(5, 2))
    path = tsne_plot(points, images(5, 3, R, 2 * R), tmp_path / "t.png", size_px=240, title="five")
    assert Image.open(path).size == (240, 240)
    with pytest.raises(ValueError, match="one 2-D point per thumbnail"):
        tsne_plot(points, images(4, 3, R, R), tmp_path / "u.png")


@pytest.fixture
def run_log(tmp_path: Path) -> Path:
    """A log like a training run's: losses every row, mFID only every 5th."""
    path = tmp_path / "scratch" / "log.jsonl"
    path.parent.mkdir()
    rows = []
    for i in range(20):
        rows.append({"kimg": i * 4, "loss_g": 1 / (i + 1)})
        if i % 5 == 0:
            rows.append({"kimg": i * 4, "mFID": 100 * math.exp(-i / 10)})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    return path


def test_metric_series_takes_only_rows_with_the_key(run_log: Path):
    x, y = metric_series(read_jsonl(run_log), "mFID")
    assert x.tolist() == [0, 20, 40, 60] and y[0] == 100


def test_smoothing_is_an_ema():
    assert smooth_ema(np.array([0.0, 1.0, 1.0]), 0.5).tolist() == [0.0, 0.5, 0.75]
    assert smooth_ema(np.array([3.0, 1.0]), 0.0).tolist() == [3.0, 1.0]


def test_plot_curves_size_and_errors(run_log: Path, tmp_path: Path):
    out = plot_curves([run_log, run_log], ["mFID", "loss_g"], tmp_path / "c.png", ["a", "b"], 0.6, (640, 480))
    assert Image.open(out).size == (640, 480)
    with pytest.raises(ValueError, match="keys found: loss_g, mFID"):
        plot_curves(run_log, ["FID"], tmp_path / "d.png")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kimg": 1}\n{"kimg": 2,\n')
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        plot_curves(bad, ["mFID"], tmp_path / "e.png")


def test_cli_plot_curves(run_log: Path, tmp_path: Path, capsys):
    out = tmp_path / "curves.png"
    assert main(["plot-curves", str(run_log), "--keys", "mFID,loss_g", "--out", str(out), "--size", "500x300"]) == 0
    assert Image.open(out).size == (500, 300)
    assert main(["plot-curves", str(run_log), "--keys", "mFID", "--size", "big"]) == 2
    assert "--size must look like 800x500" in capsys.readouterr().err


def test_figures_and_gifs_replace_a_planted_symlink_instead_of_writing_through_it(tmp_path):
    """A link planted at an output path must not redirect the write onto another file."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    frames = torch.rand(3, 3, 8, 8) * 2 - 1
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(json.dumps({"kimg": k, "G/loss": 1.0 / (k + 1)}) for k in range(3)) + "\n")
    for name, write in (
        ("strip.gif", lambda p: save_gif(frames, p)),
        ("curves.png", lambda p: plot_curves(log, ["G/loss"], p)),
    ):
        planted = tmp_path / name
        planted.symlink_to(victim)
        write(planted)
        assert not planted.is_symlink() and planted.stat().st_size > 0
        assert victim.read_text() == "keep me"
