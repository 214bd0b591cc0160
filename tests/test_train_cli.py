"""`deepi2i pretrain` -> `deepi2i train` on a tiny Shapes set, and resuming after a real SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from deepi2i.cli import main
from deepi2i.data import make_shapes
from deepi2i.networks import DeepI2I
from deepi2i.networks.biggan import BigGAN
from deepi2i.training.state import list_checkpoints, load_checkpoint

CLASSES = ["circle", "square", "triangle"]  # class folders are sorted


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shapes")
    make_shapes(root / "source", "source", per_class=4, resolution=32, seed=0, classes=CLASSES)
    make_shapes(root / "target", "target", per_class=4, resolution=32, seed=1, classes=CLASSES)
    return root


def test_pretrain_then_train(shapes: Path, tmp_path: Path) -> None:
    pre, i2i = tmp_path / "pre", tmp_path / "i2i"
    common = ["--preset", "tiny", "--no-progress"]
    assert main(["pretrain", "--data", str(shapes / "source"), "--out", str(pre), *common]) == 0
    source = BigGAN.from_pretrained(pre / "export")
    train = ["train", "--data", str(shapes / "target"), "--source", str(pre / "export"), "--out", str(i2i)]
    train += ["--class-map", "names", *common]
    assert source.class_names == CLASSES
    assert main(train) == 0
    model = DeepI2I.from_pretrained(i2i / "export")
    assert model.class_names == CLASSES
    x = torch.zeros(2, 3, 32, 32)
    assert model.translate(x, 1, generator=torch.Generator().manual_seed(0)).shape == (2, 3, 32, 32)
    for path in ("config.json", "log.jsonl", "samples/step-000000000.png", "samples/step-000000004.png", "tensorboard"):
        assert (i2i / path).exists(), path
    # rerunning a finished run changes nothing and succeeds
    log, weights = (i2i / "log.jsonl").read_text(), (i2i / "export" / "generator.safetensors").read_bytes()
    assert main(train) == 0
    assert (i2i / "log.jsonl").read_text() == log
    assert (i2i / "export" / "generator.safetensors").read_bytes() == weights


def test_a_generator_trained_from_scratch_can_be_wider_than_its_source(shapes: Path, tmp_path: Path) -> None:
    """--ch with --init-from-source encoder,discriminator: E and D as the source, G at the new width."""
    pre, i2i = tmp_path / "pre", tmp_path / "i2i"
    common = ["--preset", "tiny", "--no-progress"]
    assert main(["pretrain", "--data", str(shapes / "source"), "--out", str(pre), *common]) == 0
    train = ["train", "--data", str(shapes / "target"), "--source", str(pre / "export"), "--out", str(i2i), *common]
    assert main([*train, "--init-from-source", "encoder,discriminator", "--ch", "8"]) == 0
    source, model = BigGAN.from_pretrained(pre / "export"), DeepI2I.from_pretrained(i2i / "export")
    assert source.config.generator.ch == 4 and model.config.generator.ch == 8
    assert model.config.encoder == model.config.discriminator == source.config.discriminator
    out = model.translate(torch.zeros(2, 3, 32, 32), 1, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 3, 32, 32) and torch.isfinite(out).all()


def test_command_line_errors_are_one_clear_message(shapes: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = [
        "train",
        "--data",
        str(shapes / "target"),
        "--out",
        str(tmp_path / "x"),
        "--preset",
        "tiny",
        "--no-progress",
    ]
    assert main(base) == 2
    assert "--source" in capsys.readouterr().err
    assert main([*base, "--scratch", "--source", str(tmp_path)]) == 2
    assert "--scratch takes no --source" in capsys.readouterr().err
    assert main([*base, "--source", str(tmp_path), "--ch", "8"]) == 2  # a transferred generator keeps its width
    assert "--init-from-source" in capsys.readouterr().err


def test_gpu_speed_flags_are_recorded_in_the_run(shapes: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """--tf32 reaches the run's config (it changes CUDA numbers, so resuming checks it); a CPU run is unaffected."""
    run = tmp_path / "run"
    common = ["train", "--data", str(shapes / "target"), "--preset", "tiny", "--scratch", "--no-progress"]
    assert main([*common, "--out", str(run), "--tf32", "--checkpoint-every", "1", "--stop-at-step", "1"]) == 0
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["tf32"] is True and config["compile"] is False
    assert main([*common, "--out", str(run)]) == 2  # resuming without --tf32 is another configuration
    assert "differs in: tf32" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "expected"),
    [(["--color-grid", "2"], ("cells", 2)), (["--color-term", "palette"], ("palette", 4))],
)
def test_colour_term_flags_reach_the_run_and_its_log(
    shapes: Path, tmp_path: Path, flags: list[str], expected: tuple[str, int]
) -> None:
    run = tmp_path / "run"
    args = ["train", "--data", str(shapes / "target"), "--preset", "tiny", "--scratch", "--no-progress"]
    assert main([*args, "--out", str(run), "--lambda-color", "5", *flags]) == 0
    config = json.loads((run / "config.json").read_text())["config"]
    assert (config["lambda_color"], config["color_term"], config["color_grid"]) == (5.0, *expected)
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert any("G/color" in row and row["G/color"] > 0 for row in logged)


def test_class_term_flag_reaches_the_run_and_its_log(shapes: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["train", "--data", str(shapes / "target"), "--preset", "tiny", "--scratch", "--no-progress"]
    assert main([*args, "--out", str(run), "--lambda-class", "0.5"]) == 0
    assert json.loads((run / "config.json").read_text())["config"]["lambda_class"] == 0.5
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert any(row.get("G/class", 0) > 0 and row.get("D/class", 0) > 0 for row in logged)


def test_help_names_the_defaults_each_preset_trains_with(capsys: pytest.CaptureFixture) -> None:
    """shapes64 trains DeepI2I with our terms and DiffAugment on but pretrains without them: --help says which."""
    from deepi2i.training.config import train_preset

    helps = {}
    for command in ("train", "pretrain"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        helps[command] = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    shapes = train_preset("shapes64", "translate", n_classes=10)
    assert f"(default 0.0: off; preset shapes64: {shapes.lambda_class})" in helps["train"]
    assert f"(default 0.0: off; preset shapes64: {shapes.lambda_color})" in helps["train"]
    assert f"(default none; preset shapes64: {','.join(shapes.augment)})" in helps["train"]
    assert train_preset("shapes64", "pretrain", n_classes=10).augment == ()
    assert "or none; not the paper's (default none)" in helps["pretrain"]


def test_transfer_variant_flags_reach_the_run_or_fail_clearly(
    shapes: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """--freeze-d-blocks and --train-encoder reach the run's config; without a source D they are one clear error."""
    pre, run = tmp_path / "pre", tmp_path / "run"
    common = ["--preset", "tiny", "--no-progress"]
    assert main(["pretrain", "--data", str(shapes / "source"), "--out", str(pre), *common]) == 0
    train = ["train", "--data", str(shapes / "target"), *common]
    flags = ["--freeze-d-blocks", "2", "--train-encoder", "--stop-at-step", "1"]
    assert main([*train, "--source", str(pre / "export"), "--out", str(run), *flags]) == 0
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["freeze_d_blocks"] == 2 and config["phases"][1]["train"][-1] == "encoder"
    assert main([*train, "--scratch", "--out", str(tmp_path / "s1"), "--train-encoder"]) == 2
    assert "scratch run trains the encoder anyway" in capsys.readouterr().err
    assert main([*train, "--scratch", "--out", str(tmp_path / "s2"), "--freeze-d-blocks", "1"]) == 2
    assert "freeze_d_blocks" in capsys.readouterr().err


def _final(run: Path) -> dict:
    return load_checkpoint(list_checkpoints(run)[-1][1])


def test_sigkill_then_rerun_reaches_the_uninterrupted_parameters(shapes: Path, tmp_path: Path) -> None:
    args = [
        "train",
        "--data",
        str(shapes / "target"),
        "--preset",
        "tiny",
        "--scratch",
        "--kimg",
        "0.24",
        "--checkpoint-every",
        "5",
        "--log-every",
        "1000",
        "--sample-every",
        "1000",
        "--no-progress",
    ]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "deepi2i", *args, "--out", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not list_checkpoints(killed) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    steps = [s for s, _ in list_checkpoints(killed)]
    assert steps and steps[-1] < 60, "the run must be killed mid-way (tune --kimg if this machine is very fast)"
    assert main([*args, "--out", str(killed)]) == 0
    assert main([*args, "--out", str(tmp_path / "straight")]) == 0
    a, b = _final(killed), _final(tmp_path / "straight")
    assert a["step"] == b["step"] == 60
    for net in a["networks"]:
        for key, value in a["networks"][net].items():
            assert torch.equal(value, b["networks"][net][key]), f"{net}.{key}"
