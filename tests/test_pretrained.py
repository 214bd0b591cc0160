"""The models shipped in the package: they load by name, and the Shapes translator does its job on
inputs it never saw (rendered here with a fresh seed): outputs classified as their target class
well above chance, in the input's place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from deepi2i import DeepI2I
from deepi2i.cli import main
from deepi2i.convert import load_biggan
from deepi2i.demo import render_inputs, score
from deepi2i.metrics.classifier import load_classifier
from deepi2i.pretrained import SHIPPED, resolve_model, shipped_path
from deepi2i.translate import Translator
from deepi2i.visualize import to_uint8

pytestmark = pytest.mark.usefixtures("one_thread")
TARGET_CLASSES = ["arrow", "circle", "crescent", "cross", "heart", "pentagon", "ring", "square", "star5", "triangle"]


def test_every_shipped_model_is_installed_with_its_model_card():
    for name in SHIPPED:
        folder = shipped_path(name)
        assert (folder / "config.json").is_file()
        assert "deepi2i" in (folder / "MODEL_CARD.md").read_text()  # the command that made it


def test_names_resolve_but_an_existing_path_always_wins(tmp_path, monkeypatch):
    assert resolve_model("shapes") == shipped_path("shapes")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shapes").mkdir()
    assert resolve_model("shapes") == Path("shapes")  # a local folder is never shadowed
    assert resolve_model("no-such-model") == Path("no-such-model")
    with pytest.raises(ValueError, match="not a shipped model; shipped: shapes"):
        shipped_path("no-such-model")


def test_shipped_models_load_by_name():
    model = DeepI2I.from_pretrained("shapes")
    assert model.class_names == TARGET_CLASSES and model.config.resolution == 64
    source = load_biggan("shapes-source")
    assert len(source.class_names) == 26 and set(TARGET_CLASSES) <= set(source.class_names)
    classifier, names = load_classifier()
    assert sorted(names) == TARGET_CLASSES and not classifier.training


@pytest.fixture(scope="module")
def fresh() -> tuple[torch.Tensor, list[dict]]:
    """30 target-domain inputs rendered with a seed no shipped model was trained or chosen on."""
    return render_inputs(TARGET_CLASSES, 30, 64, seed=1234)


def test_the_shapes_classifier_recognises_real_images(fresh):
    inputs, params = fresh
    classifier, names = load_classifier()
    with torch.no_grad():
        pred = classifier(inputs).argmax(1)
    truth = torch.tensor([names.index(p["shape"]) for p in params])
    assert (pred == truth).float().mean() >= 0.9


def test_shipped_translator_changes_the_class_and_keeps_the_place(fresh):
    inputs, params = fresh
    t = Translator.from_pretrained("shapes", device="cpu")
    fake = to_uint8(t.translate_tensor(inputs, list(range(10)), 1, seed=0)[:, :, 0])  # [30, 10, 3, 64, 64]
    s = score(fake, inputs, params, t.class_names)
    assert s["translations"] == 270
    assert s["class_accuracy"] >= 50.0  # chance is 10%; the copied input scores 0 by construction
    assert s["copy_class_accuracy"] <= 5.0
    assert s["center_error_px"] <= 5.0  # an output that ignores its input errs by ~10 px
    assert s["iou"] >= 0.4
    assert s["fg_color_error"] <= 80.0  # the input's colours kept (~40; the model before the palette term: ~115)


def test_demo_writes_a_labelled_grid_and_a_summary(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--inputs", "3", "--eval-inputs", "10", "--quiet"]) == 0
    grid = Image.open(tmp_path / "grid.png")
    assert grid.width == 2 + 11 * (64 + 2)  # the input column, then the ten classes
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["translations"] == 90 and summary["model"] == "shapes"
    assert "classified as the target class" in capsys.readouterr().out


def test_cli_takes_shipped_names_wherever_an_export_goes(tmp_path, capsys):
    img = tmp_path / "in.png"
    Image.fromarray(render_inputs(TARGET_CLASSES, 1, 64)[0][0].permute(1, 2, 0).numpy()).save(img)
    assert main(["classes", "--model", "shapes"]) == 0
    assert "star5" in capsys.readouterr().out
    assert main(["translate", str(img), "--model", "shapes", "--to", "heart", "--out", str(tmp_path / "out")]) == 0
    assert len(list((tmp_path / "out").glob("*.png"))) == 1


def test_demo_train_runs_the_pipeline_from_the_shipped_source(tmp_path):
    out = tmp_path / "demo"
    code = main(
        ["demo", "--train", "--kimg", "0.064", "--out", str(out), "--inputs", "2", "--eval-inputs", "4", "--quiet"]
    )
    assert code == 0
    run = json.loads((out / "run" / "config.json").read_text())
    assert run["source"].endswith("shapes-source") and run["config"]["phases"][-1]["kimg"] > 0
    assert (out / "run" / "export" / "config.json").is_file() and (out / "grid.png").is_file()
    assert json.loads((out / "summary.json").read_text())["model"] == str(out / "run" / "export")
