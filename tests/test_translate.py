"""Translating user images: class resolution, inputs, seeding, the API, and the CLI commands.

All on a tiny random 32 px model saved as an export, the way a user would get one.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepi2i.cli import main
from deepi2i.config import BigGANConfig, tiny
from deepi2i.networks import DeepI2I
from deepi2i.networks.biggan import BigGAN
from deepi2i.translate import (
    Translator,
    class_file_names,
    expand_inputs,
    latents,
    resolve_classes,
    unique_stems,
)
from deepi2i.visualize import header_height, to_uint8

NAMES = ("cat", "Dog", "red fox")
R = 32


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = DeepI2I(dataclasses.replace(tiny(resolution=R, ch=4, n_classes=3), class_names=NAMES))
    return model.save_pretrained(tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """a.png, b.png, c.jpg (non-square, other sizes) and sub/a.png (a second 'a' stem)."""
    root = tmp_path_factory.mktemp("images")
    (root / "sub").mkdir()
    rng = np.random.default_rng(0)
    for i, name in enumerate(["a.png", "b.png", "c.jpg", "sub/a.png"]):
        Image.fromarray(rng.integers(0, 256, (40 + 8 * i, 48, 3), dtype=np.uint8)).save(root / name)
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def translator(export: Path) -> Translator:
    return Translator.from_pretrained(export, device="cpu", batch_size=32)


def read_png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


# ---- class names ------------------------------------------------------------------------------


def test_resolve_classes_by_name_index_all_case_insensitive_in_order_once():
    assert resolve_classes("red fox,0", NAMES) == [2, 0]
    assert resolve_classes(["DOG", 2, "cat"], NAMES) == [1, 2, 0]
    assert resolve_classes("all", NAMES) == [0, 1, 2]
    assert resolve_classes(["cat", "0", 0], NAMES) == [0]


def test_exact_spelling_wins_over_case_folding():
    names = ("Cat", "cat", "dog")
    assert resolve_classes("Cat", names) == [0]
    assert resolve_classes("cat", names) == [1]
    with pytest.raises(ValueError, match="ambiguous"):
        resolve_classes("CAT", names)


def test_unknown_name_lists_close_matches_and_the_classes_command():
    with pytest.raises(ValueError) as err:
        resolve_classes("cat,red fx", NAMES, model_path="runs/export")
    message = str(err.value)
    assert "'red fx'" in message and "'red fox'" in message
    assert "deepi2i classes --model runs/export" in message


@pytest.mark.parametrize("bad", [3, "3", "-1", [True]])
def test_index_out_of_range_or_not_an_index_fails(bad):
    with pytest.raises(ValueError, match="out of range|neither"):
        resolve_classes(bad, NAMES)


def test_class_file_names_and_stems_stay_unique():
    assert class_file_names(["red fox", "red/fox", "cat"]) == ["red_fox-0", "red_fox-1", "cat"]
    assert class_file_names(["?", "dog"]) == ["0", "dog"]
    assert unique_stems([Path("x/cat.jpg"), Path("y/cat.png"), Path("cat-2.png")]) == [
        "cat",
        "cat-2",
        "cat-2-2",
    ]


# ---- inputs -----------------------------------------------------------------------------------


def test_expand_inputs_mixes_files_folders_globs_and_uses_each_file_once(images: Path):
    found = expand_inputs([images / "b.png", images, str(images / "sub" / "*.png")])
    names = [p.relative_to(images).as_posix() for p in found]
    assert names == ["b.png", "a.png", "c.jpg", "sub/a.png"]  # notes.txt is not picked from a folder


def test_inputs_that_match_nothing_are_errors(images: Path, tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        expand_inputs([images / "missing.png"])
    with pytest.raises(FileNotFoundError, match="match"):
        expand_inputs([str(images / "*.webp")])
    with pytest.raises(FileNotFoundError, match="no images"):
        expand_inputs([tmp_path])


# ---- the Python API ---------------------------------------------------------------------------


def test_api_returns_pil_nested_input_target_sample(translator: Translator, images: Path):
    out = translator([images / "a.png", images / "b.png"], to=["Dog", 2], samples=3, seed=0)
    assert [len(out), len(out[0]), len(out[0][0])] == [2, 2, 3]
    assert all(im.size == (R, R) and im.mode == "RGB" for row in out for per in row for im in per)


def test_same_seed_same_pixels_other_sample_or_seed_differs(translator: Translator, images: Path):
    run = [images / "a.png", images / "c.jpg"]
    a = translator(run, to="all", samples=2, seed=5, return_tensors=True)
    b = translator(run, to="all", samples=2, seed=5, return_tensors=True)
    c = translator(run, to="all", samples=2, seed=6, return_tensors=True)
    assert torch.equal(a, b)
    assert (a[:, :, 0] - a[:, :, 1]).abs().mean() > 0.05  # the two samples are diverse
    assert (a - c).abs().mean() > 0.05


def test_z_depends_only_on_seed_input_and_sample(translator: Translator):
    z = latents(translator.model.config.generator.dim_z_used, 3, 2, seed=1)
    assert torch.equal(z[:2], latents(z.shape[-1], 2, 2, seed=1))
    assert not torch.equal(z[0, 0], z[0, 1]) and not torch.equal(z[0, 0], z[1, 0])
    truncated = latents(z.shape[-1], 3, 2, seed=1, truncation=0.5)
    assert truncated.abs().max() <= 0.5


def test_batch_size_and_target_subset_keep_the_pixels(export: Path, images: Path):
    """Batching changes only float rounding (other matrix kernels), never which z an output gets."""
    run = sorted(images.glob("*.png"))
    big = Translator.from_pretrained(export, device="cpu", batch_size=64)
    one = Translator.from_pretrained(export, device="cpu", batch_size=1)
    ref = big(run, to="all", samples=2, seed=3, return_tensors=True)
    torch.testing.assert_close(one(run, to="all", samples=2, seed=3, return_tensors=True), ref, atol=1e-5, rtol=0)
    dog = big(run, to="dog", samples=2, seed=3, return_tensors=True)
    torch.testing.assert_close(dog[:, 0], ref[:, 1], atol=1e-5, rtol=0)


def test_path_pil_and_tensor_inputs_are_preprocessed_alike(translator: Translator, images: Path):
    path = images / "b.png"
    pil = Image.open(path)
    as_uint8 = torch.from_numpy(np.array(pil.convert("RGB"))).permute(2, 0, 1)
    x = translator.preprocess([path, pil, as_uint8, as_uint8.float() / 127.5 - 1])
    assert x.shape == (4, 3, R, R)
    for other in x[1:]:
        assert torch.equal(other, x[0])
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        translator.preprocess(as_uint8.float())


def test_interpolation_endpoints_are_the_plain_translations(translator: Translator, images: Path):
    path = images / "a.png"
    frames = translator.interpolate(path, "cat", "red fox", steps=5, seed=4)
    plain = translator(path, to=["cat", "red fox"], seed=4, return_tensors=True)[0, :, 0]
    assert frames.shape == (5, 3, R, R)
    torch.testing.assert_close(frames[0], plain[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(frames[-1], plain[1], atol=1e-5, rtol=0)
    assert (frames[2] - plain[0]).abs().mean() > 1e-3 and (frames[2] - plain[1]).abs().mean() > 1e-3
    with pytest.raises(ValueError, match="one class"):
        translator.interpolate(path, "all", "cat")


# ---- the command line -------------------------------------------------------------------------


def test_cli_translate_writes_one_named_file_per_input_target_sample(export, images, tmp_path, capsys):
    out = tmp_path / "out"
    args = [str(images), "--model", str(export), "--to", "red fox,0", "--samples", "2", "--out", str(out)]
    assert main(["translate", *args, "--device", "cpu"]) == 0
    files = sorted(p.name for p in out.glob("*.png"))
    expected = sorted(
        f"{stem}__to_{cls}__s{k}.png" for stem in ["a", "b", "c", "a-2"] for cls in ["red_fox", "cat"] for k in (0, 1)
    )
    assert files == expected  # 4 inputs x 2 targets x 2 samples, the two 'a' inputs kept apart
    with open(out / "translations.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 16
    row = next(r for r in rows if r["file"] == "a-2__to_red_fox__s1.png")
    assert Path(row["input"]).as_posix().endswith("sub/a.png") and row["target_name"] == "red fox"
    assert "wrote 16 images" in capsys.readouterr().out


def test_cli_and_api_give_identical_pixels(export, images, translator, tmp_path):
    out = tmp_path / "out"
    main(
        ["translate", str(images / "c.jpg"), str(images / "a.png"), "--model", str(export)]
        + ["--to", "Dog", "--to", "2", "--samples", "2", "--seed", "9", "--out", str(out), "--device", "cpu"]
    )
    api = to_uint8(translator([images / "c.jpg", images / "a.png"], to=[1, 2], samples=2, seed=9, return_tensors=True))
    for i, stem in enumerate(["c", "a"]):
        for j, cls in enumerate(["Dog", "red_fox"]):
            for k in range(2):
                png = read_png(out / f"{stem}__to_{cls}__s{k}.png")
                assert np.array_equal(png, api[i, j, k].permute(1, 2, 0).numpy())


def test_cli_batch_size_does_not_change_the_files(export, images, tmp_path):
    for b in (1, 32):
        main(
            ["translate", str(images), "--model", str(export), "--to", "all", "--seed", "2"]
            + ["--batch-size", str(b), "--out", str(tmp_path / f"b{b}"), "--device", "cpu"]
        )
    for png in (tmp_path / "b1").glob("*.png"):
        diff = np.abs(read_png(png).astype(int) - read_png(tmp_path / "b32" / png.name).astype(int))
        assert diff.max() <= 1 and (diff > 0).mean() < 0.01  # only float rounding at a pixel's .5 edge


def test_cli_grid_has_an_input_column_and_one_labelled_column_per_target_sample(export, images, tmp_path):
    out = tmp_path / "out"
    main(
        ["translate", str(images), "--model", str(export), "--to", "all", "--samples", "2"]
        + ["--grid", "--out", str(out), "--device", "cpu"]
    )
    grid = read_png(out / "grid.png")
    pad, cols, rows = 2, 1 + 3 * 2, 4
    assert grid.shape == (header_height() + pad + rows * (R + pad), pad + cols * (R + pad), 3)
    first_input = np.asarray(Image.open(out / "a__to_cat__s0.png"))  # a translation, not the input
    cell = grid[header_height() + pad : header_height() + pad + R, pad + (R + pad) : pad + (R + pad) + R]
    assert np.array_equal(cell, first_input)


def test_set_adaptor_weights_changes_the_named_levels_only(export, images):
    t = Translator.from_pretrained(export, device="cpu")
    levels = t.model.config.pyramid_levels
    before = {r: t.model.config.weight(r) for r in levels}
    plain = t([images / "a.png"], to=[1], seed=0, return_tensors=True)
    coarsest = min(levels)
    t.set_adaptor_weights({coarsest: 3.0})
    assert {r: t.model.config.weight(r) for r in levels} == {**before, coarsest: 3.0}
    assert not torch.equal(t([images / "a.png"], to=[1], seed=0, return_tensors=True), plain)
    t.set_adaptor_weights(0.5)
    assert all(t.model.config.weight(r) == 0.5 for r in levels)
    with pytest.raises(ValueError, match=r"levels \[64\] px, but this model's levels are"):
        t.set_adaptor_weights({64: 1.0})


def test_cli_adaptor_weights_give_the_api_pixels_and_clear_errors(export, images, translator, tmp_path, capsys):
    coarsest = min(translator.model.config.pyramid_levels)
    argv = ["translate", str(images / "a.png"), "--model", str(export), "--to", "Dog", "--device", "cpu"]
    assert main([*argv, "--adaptor-weights", f"{coarsest}:3", "--out", str(tmp_path / "w")]) == 0
    t = Translator.from_pretrained(export, device="cpu")
    t.set_adaptor_weights({coarsest: 3.0})
    api = to_uint8(t([images / "a.png"], to=[1], seed=0, return_tensors=True))
    assert np.array_equal(read_png(tmp_path / "w" / "a__to_Dog__s0.png"), api[0, 0, 0].permute(1, 2, 0).numpy())
    assert main([*argv, "--out", str(tmp_path / "plain")]) == 0
    assert not np.array_equal(read_png(tmp_path / "plain" / "a__to_Dog__s0.png"), api[0, 0, 0].permute(1, 2, 0).numpy())

    assert main([*argv, "--adaptor-weights", "64:1", "--out", str(tmp_path / "bad")]) == 2
    assert "--adaptor-weights '64:1': weights for levels [64] px" in capsys.readouterr().err
    assert main([*argv, "--adaptor-weights", "4=1", "--out", str(tmp_path / "bad")]) == 2
    assert "level:weight pairs" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize(
    "argv_tail,message",
    [
        (["--to", "doge"], "closest matches: 'Dog'"),
        (["--to", "7"], "out of range"),
        (["--to", "cat", "--samples", "0"], "samples must be >= 1"),
    ],
)
def test_cli_target_errors_exit_2_with_a_clear_message(export, images, tmp_path, capsys, argv_tail, message):
    code = main(["translate", str(images / "a.png"), "--model", str(export), "--out", str(tmp_path / "o"), *argv_tail])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("deepi2i translate: error:") and message in err
    assert not (tmp_path / "o").exists()


def test_cli_input_errors_name_the_input(export, images, tmp_path, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    for bad in [str(tmp_path / "nope.png"), str(tmp_path / "*.jpg"), str(broken)]:
        code = main(
            ["translate", str(images / "a.png"), bad, "--model", str(export), "--to", "cat"]
            + ["--out", str(tmp_path / "o"), "--device", "cpu"]
        )
        assert code == 2 and Path(bad).name in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # every input is checked before anything is written


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_cli_cuda_without_a_gpu_is_an_error(export, images, tmp_path, capsys):
    code = main(
        ["translate", str(images / "a.png"), "--model", str(export), "--to", "cat"]
        + ["--out", str(tmp_path), "--device", "cuda"]
    )
    assert code == 2 and "CUDA is not available" in capsys.readouterr().err


def test_cli_classes_lists_index_and_name(export, capsys):
    assert main(["classes", "--model", str(export)]) == 0
    assert capsys.readouterr().out.splitlines() == ["0  cat", "1  Dog", "2  red fox"]


def test_cli_interpolate_writes_strip_and_gif(export, images, tmp_path):
    out = tmp_path / "strip.png"
    argv = ["interpolate", str(images / "a.png"), "--model", str(export), "--from", "cat", "--to", "2"]
    assert main([*argv, "--steps", "4", "--out", str(out), "--gif", "--device", "cpu"]) == 0
    pad = 2
    assert Image.open(out).size == (pad + 5 * (R + pad), header_height() + pad + R + pad)
    with Image.open(out.with_suffix(".gif")) as gif:
        assert gif.n_frames == 4 + 2 and gif.size == (R, R)  # cat -> fox -> back, ends not repeated


def test_cli_tsne_writes_a_plot_of_the_requested_size(export, images, tmp_path):
    out = tmp_path / "tsne.png"
    argv = ["tsne", str(images), "--model", str(export), "--to", "Dog", "--samples", "2"]
    assert main([*argv, "--out", str(out), "--size", "300", "--device", "cpu"]) == 0
    assert Image.open(out).size == (300, 300)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_up_to_float_rounding(export, images):
    """In true float32 the GPU gives the CPU's pixels to 1e-4; with cuDNN's default TF32 convolutions
    (10-bit mantissa) to about 1e-3 (measured on an H200: 1.2e-3)."""
    run = sorted(images.glob("*.png"))
    cpu = Translator.from_pretrained(export, device="cpu")(run, to="all", samples=2, seed=1, return_tensors=True)
    gpu = Translator.from_pretrained(export, device="cuda")(run, to="all", samples=2, seed=1, return_tensors=True)
    torch.testing.assert_close(gpu, cpu, atol=5e-3, rtol=0)
    default = torch.backends.cudnn.conv.fp32_precision
    torch.backends.cudnn.conv.fp32_precision = "ieee"
    try:
        exact = Translator.from_pretrained(export, device="cuda")(run, to="all", samples=2, seed=1, return_tensors=True)
    finally:
        torch.backends.cudnn.conv.fp32_precision = default
    torch.testing.assert_close(exact, cpu, atol=1e-4, rtol=0)


@pytest.fixture(scope="module")
def source(export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BigGAN export (a transfer source) with the same classes."""
    config = DeepI2I.from_pretrained(export).config
    torch.manual_seed(1)
    model = BigGAN(BigGANConfig(config.generator, config.discriminator, class_names=NAMES))
    return model.save_pretrained(tmp_path_factory.mktemp("source"))


def test_cli_sample_draws_one_labelled_column_per_class_one_z_per_row(source, tmp_path, capsys):
    out = tmp_path / "samples.png"
    assert main(["sample", "--model", str(source), "--classes", "red fox,0", "--rows", "3", "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    grid = read_png(out)
    pad = 2
    assert grid.shape == (header_height() + pad + 3 * (R + pad), pad + 2 * (R + pad), 3)
    # the cell of row 1, column 0 is G(z of output (1, 0), red fox)
    model = BigGAN.from_pretrained(source)
    z = latents(model.generator.config.dim_z_used, 2, 1, seed=0)[1]  # [1, dim]
    with torch.no_grad():
        expected = to_uint8(model.generator(z, torch.tensor([2])))[0].permute(1, 2, 0).numpy()
    top = header_height() + pad + (R + pad)
    assert np.array_equal(grid[top : top + R, pad : pad + R], expected)
    # the same command, the same pixels; another seed, other pixels; all classes by default
    common = ["sample", "--model", str(source), "--rows", "3"]
    main([*common, "--classes", "red fox,0", "--out", str(tmp_path / "s1.png")])
    main([*common, "--classes", "red fox,0", "--seed", "1", "--out", str(tmp_path / "s2.png")])
    main([*common, "--out", str(tmp_path / "s3.png")])
    assert np.array_equal(read_png(tmp_path / "s1.png"), grid)
    assert not np.array_equal(read_png(tmp_path / "s2.png"), grid)
    assert read_png(tmp_path / "s3.png").shape[1] == pad + 3 * (R + pad)


def test_cli_sample_errors_say_what_to_do(export, source, tmp_path, capsys):
    assert main(["sample", "--model", str(export), "--out", str(tmp_path / "a.png")]) == 2
    assert "holds a DeepI2I export, not a BigGAN" in capsys.readouterr().err
    assert main(["sample", "--model", str(source), "--classes", "doge", "--out", str(tmp_path / "b.png")]) == 2
    assert "closest matches: 'Dog'" in capsys.readouterr().err
    assert main(["sample", "--model", str(source), "--out", str(tmp_path / "c.jpg")]) == 2
    assert "must be a .png file" in capsys.readouterr().err
    assert main(["sample", "--model", str(source), "--rows", "0", "--out", str(tmp_path / "d.png")]) == 2
    assert "rows must be >= 1" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
