"""`deepi2i evaluate` end to end on tiny data: the report holds the protocol, a second run reuses
the cache and gives identical numbers, `evaluate-compare` sets reports side by side, ideal
translations score well (RC, FC, pose), and bad input fails with a clear message.

Data: 2-class 32 px Shapes (target domain) and a 3-class folder whose class is the colour. Models:
tiny random 32 px exports. Where a test needs known-good translations it replaces the model's
translation step (`protocol.translate_jobs`) by an ideal one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from deepi2i.cli import main
from deepi2i.config import BigGANConfig, tiny
from deepi2i.data import (
    MANIFEST_NAME,
    SHAPES_MANIFEST_NAME,
    ClassFolderDataset,
    make_shapes,
    read_shapes_manifest,
    render_array,
)
from deepi2i.metrics import (
    ALL_METRICS,
    ClassifierConfig,
    EvalConfig,
    compare_reports,
    default_cache_dir,
    evaluate,
    load_report,
    markdown_report,
    resolve_metrics,
    sha256_file,
)
from deepi2i.metrics import protocol as protocol_module
from deepi2i.metrics.classifier import ImageClassifier
from deepi2i.metrics.inputs import eligible_inputs
from deepi2i.networks import DeepI2I
from deepi2i.networks.biggan import BigGAN

R = 32
COLOURS = {"blue": (40, 50, 220), "green": (30, 200, 40), "red": (220, 30, 30)}


pytestmark = pytest.mark.usefixtures("one_thread")


def export(directory: Path, names: Sequence[str], n_classes: int | None = None) -> Path:
    torch.manual_seed(0)
    config = tiny(resolution=R, ch=4, n_classes=n_classes or len(names))
    model = DeepI2I(dataclasses.replace(config, class_names=tuple(names)))
    return model.save_pretrained(directory)


def noisy(colour: Sequence[int], seed: int) -> torch.Tensor:
    """uint8 [3, R, R]: a solid colour plus seeded per-pixel noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.tensor(colour)[:, None, None] + torch.randint(-30, 31, (3, R, R), generator=g)
    return x.clamp(0, 255).to(torch.uint8)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shapes target domain: 2 classes x 10 images (9 train, 1 test each)."""
    root = tmp_path_factory.mktemp("shapes") / "trg"
    make_shapes(root, domain="target", per_class=10, resolution=R, seed=0, classes=2)
    return root


@pytest.fixture(scope="module")
def shapes_model(shapes: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    names = ClassFolderDataset(shapes, R, "train").class_names
    return export(tmp_path_factory.mktemp("shapes-model"), names)


@pytest.fixture(scope="module")
def colours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A class folder blue/green/red x 20 noisy solid-colour images (18 train, 2 test each)."""
    root = tmp_path_factory.mktemp("colours") / "data"
    for k, (name, colour) in enumerate(COLOURS.items()):
        (root / name).mkdir(parents=True)
        for i in range(20):
            img = noisy(colour, seed=100 * k + i)
            Image.fromarray(img.permute(1, 2, 0).numpy()).save(root / name / f"{i:02d}.png")
    assert len(ClassFolderDataset(root, R, "test")) == 6
    return root


@pytest.fixture(scope="module")
def colour_model(colours: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(tmp_path_factory.mktemp("colour-model"), sorted(COLOURS))


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


# ---- the CLI on a tiny random model --------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(shapes: Path, shapes_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`deepi2i evaluate` twice with the same cache; counts the classifiers each run trains."""
    tmp = tmp_path_factory.mktemp("runs")
    common = [
        "--model", str(shapes_model), "--data", str(shapes), "--per-class", "8",
        "--extractor", "classifier", "--metrics", "fid,kid,rc,fc,pose", "--classifier-epochs", "1",
        "--classifier-batch-size", "8", "--kid-subsets", "5", "--fc-per-class", "8",
        "--cache-dir", str(tmp / "cache"), "--device", "cpu", "--batch-size", "8", "--quiet",
    ]  # fmt: skip
    result: dict[str, Any] = {"cache": tmp / "cache", "trained": []}
    real_train = protocol_module.train_classifier
    for run in ("first", "second"):
        trained: list[str] = []

        def counting(*args, _trained=trained, **kwargs):
            _trained.append(args[5] if len(args) > 5 else kwargs.get("desc", ""))
            return real_train(*args, **kwargs)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(protocol_module, "train_classifier", counting)
            code, out, err = cli("evaluate", *common, "--out", str(tmp / run))
        assert code == 0, err
        assert err == ""  # --quiet: no progress bars, no time estimate
        assert f"wrote {tmp / run}/report.json" in out and "| Method |" in out
        result[run] = tmp / run
        result["trained"].append(trained)
    return result


def test_report_json_holds_the_protocol(runs, shapes, shapes_model):
    r = load_report(runs["first"])
    p = r["protocol"]
    train, test = ClassFolderDataset(shapes, R, "train"), ClassFolderDataset(shapes, R, "test")
    assert p["metrics"] == ["fid", "kid", "rc", "fc", "pose"]
    assert p["seed"] == 0 and p["resolution"] == R and p["per_class"] == 8
    assert p["inputs"]["split"] == "test" and p["inputs"]["count"] == len(test) == 2
    assert p["inputs"]["include_same_class"] is False
    assert p["real_reference"]["split"] == "train" and p["real_reference"]["images"] == len(train) == 18
    assert p["real_reference"]["from_cache"] is False
    classifier_files = list(runs["cache"].glob("classifier-small-*.pt"))
    assert len(classifier_files) == 1
    rc_sha = sha256_file(classifier_files[0])
    assert p["extractor"] == {"name": "classifier-small", "dim": 256, "weights_sha256": rc_sha}
    assert p["classifier"]["rc_classifier_sha256"] == rc_sha
    assert p["classifier"]["rc_classifier_from_cache"] is False
    assert load_report(runs["second"])["protocol"]["classifier"]["rc_classifier_from_cache"] is True
    assert p["classifier"]["backbone"] == "small" and p["classifier"]["epochs"] == 1
    assert p["classifier"]["fc_train_per_class"] == 8 and p["classifier"]["init_weights"] is None
    assert p["kid"]["subsets"] == 5 and p["kid"]["subset_size_used_min"] == 8  # min(8 made, 9 real)
    assert p["pose"] is not None and p["lpips"] is None
    assert r["data"]["manifest_sha256"] == sha256_file(shapes / MANIFEST_NAME)
    assert r["data"]["class_names"] == train.class_names and r["data"]["shapes"] is True
    assert (r["data"]["train_images"], r["data"]["test_images"]) == (18, 2)
    assert r["model"]["path"] == str(shapes_model.resolve()) and r["model"]["classes"] == 2
    assert r["name"] == shapes_model.name
    assert all(r["versions"][k] for k in ("python", "deepi2i", "torch", "torch-fidelity", "numpy"))
    assert r["config"]["seed"] == 0 and r["config"]["classifier"]["epochs"] == 1

    rows = r["per_class"]
    assert [row["name"] for row in rows] == train.class_names and [row["index"] for row in rows] == [0, 1]
    for row in rows:
        assert row["translations"] == 8 and row["real_images"] == 9 and row["kid_subset_size"] == 8
        assert row["fid"] >= 0 and 0 <= row["rc"] <= 100 and 0 <= row["fc"] <= 100
        # the confusion row: every translation got one label, and RC is its diagonal share
        assert len(row["rc_labels"]) == 2 and sum(row["rc_labels"]) == 8
        assert row["rc"] == pytest.approx(100 * row["rc_labels"][row["index"]] / 8)
        assert set(row["pose"]) >= {"iou", "center_error_px", "ideal_l1", "empty"}
    s = r["summary"]
    assert s["mFID"] == pytest.approx(np.mean([row["fid"] for row in rows]))
    assert s["mKIDx100"] == pytest.approx(np.mean([row["kid_x100"] for row in rows]))
    assert s["RC"] == pytest.approx(np.mean([row["rc"] for row in rows]))
    assert s["IoU"] == pytest.approx(np.mean([row["pose"]["iou"] for row in rows]))
    assert s["IoU"] < 0.9  # a random model does not preserve the pose; see the ideal test below
    assert s["LPIPS"] is None


def test_report_md_shows_the_table_row_the_protocol_and_every_class(runs):
    r = load_report(runs["first"])
    md = (runs["first"] / "report.md").read_text(encoding="utf-8")
    assert md.startswith(f"# Evaluation: {r['name']}\n")
    assert "| Method | RC↑ | FC↑ | mKID×100↓ | mFID↓ | IoU↑" in md
    assert "## Protocol" in md and "## Per class" in md
    assert "against the real **train** images of each class (18 in all)" in md
    assert r["protocol"]["extractor"]["weights_sha256"][:16] in md
    assert "KID: 5 subsets of 1000 (smallest used 8)" in md
    assert f"torch-fidelity {r['versions']['torch-fidelity']}" in md
    for name in r["data"]["class_names"]:
        assert f"\n| {name} | " in md
    # where each class's misses went: the other class with its share, or "none"
    assert "| RC misses went to |" in md
    names = r["data"]["class_names"]
    for row in r["per_class"]:
        other = 1 - row["index"]
        n = row["rc_labels"][other]
        expected = f"{names[other]} {100 * n / 8:.0f}%" if n else "none"  # 1 of 8 is 12%: never '<1%' here
        assert md.split(f"\n| {row['name']} | ")[1].split("\n")[0].endswith(f"| {expected} |")
    # one miss in 200 is not shown as "0%"
    r["per_class"][0]["rc_labels"] = [199, 1]
    line = markdown_report(r).split(f"\n| {names[0]} | ")[1].split("\n")[0]
    assert line.endswith(f"| {names[1]} <1% |")
    # the classes the RC judge itself recognises poorly on real images (RC's ceiling there) are named
    assert set(r["protocol"]["classifier"]["rc_real_test_recall"]) == set(names)
    r["protocol"]["classifier"]["rc_real_test_recall"] = {names[0]: 80.0, names[1]: 100.0}
    assert f"on the real test split, lowest: {names[0]} 80.0%;" in markdown_report(r)


def test_second_run_reuses_the_cache_and_gives_identical_numbers(runs):
    first, second = load_report(runs["first"]), load_report(runs["second"])
    assert len(runs["trained"][0]) == 2  # RC on real train, FC on translations
    assert len(runs["trained"][1]) == 1 and "FC" in runs["trained"][1][0]  # RC came from the cache
    assert first["protocol"]["real_reference"]["from_cache"] is False
    assert second["protocol"]["real_reference"]["from_cache"] is True
    assert second["protocol"]["real_reference"]["cache_key"] == first["protocol"]["real_reference"]["cache_key"]
    assert second["protocol"]["extractor"] == first["protocol"]["extractor"]
    assert second["summary"] == first["summary"]
    assert second["per_class"] == first["per_class"]
    assert len(list(runs["cache"].iterdir())) == 2  # one classifier, one real-feature file


def test_evaluate_compare_puts_reports_side_by_side(runs, tmp_path):
    out = tmp_path / "table.md"
    code, stdout, err = cli(
        "evaluate-compare", str(runs["first"]), str(runs["second"] / "report.json"),
        "--out", str(out), "--labels", "one", "two",
    )  # fmt: skip
    assert code == 0, err
    table = out.read_text(encoding="utf-8")
    assert "| Method | RC↑ | FC↑ | mKID×100↓ | mFID↓ | IoU↑" in table
    first = load_report(runs["first"])
    row = f"| {first['summary']['mFID']:.3g} |"
    assert table.count(row) == 2 and "\n| one | " in table and "\n| two | " in table
    assert "Same protocol for every row" in table and "## Protocol (first row)" in table

    other = load_report(runs["second"])
    other["protocol"]["seed"] = 1
    other["protocol"]["extractor"]["weights_sha256"] = "f" * 64
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "report.json").write_text(json.dumps(other), encoding="utf-8")
    table = compare_reports([runs["first"], tmp_path / "other"])
    assert "**Not directly comparable**" in table
    diffs = table.split("**Not directly comparable**")[1].split("## Protocol")[0]
    assert [line for line in diffs.splitlines() if line.startswith("- ")] == [
        "- seed: 0, 1",
        f"- extractor weights SHA-256: {first['protocol']['extractor']['weights_sha256'][:16]}, {'f' * 16}",
    ]
    with pytest.raises(ValueError, match="1 labels for 2 reports"):
        compare_reports([runs["first"], runs["second"]], ["only one"])


# ---- ideal translations ----------------------------------------------------------------------------


def ideal_colour_translations(translator, inputs, target, jobs, seed, truncation=None):
    """What a perfect colour model would make: the target colour, noise depending on (input, sample)."""
    colour = COLOURS[sorted(COLOURS)[target]]
    return torch.stack([noisy(colour, seed=1000 + 100 * i + k) for i, k in jobs])


def unchanged_inputs(translator, inputs, target, jobs, seed, truncation=None):
    return inputs[torch.tensor([i for i, _ in jobs])].clone()


@pytest.fixture(scope="module")
def alex_trunk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    state = torchvision.models.alexnet(weights=None).features.state_dict()
    path = tmp_path_factory.mktemp("lpips") / "alexnet-features.pth"
    torch.save({f"features.{k}": v for k, v in state.items()}, path)
    return path


def test_rc_and_fc_are_high_for_ideal_translations_and_rc_low_for_unchanged_inputs(
    colours, colour_model, alex_trunk, tmp_path, monkeypatch
):
    cfg = EvalConfig(
        per_class=6,
        metrics=("rc", "fc", "lpips"),
        classifier=ClassifierConfig(epochs=2, batch_size=8),
        fc_per_class=6,
        lpips_weights=str(alex_trunk),
        lpips_inputs=2,
        lpips_samples=2,
        cache_dir=str(tmp_path / "cache"),
        device="cpu",
        batch_size=8,
    )
    monkeypatch.setattr(protocol_module, "translate_jobs", ideal_colour_translations)
    ideal = evaluate(colour_model, colours, tmp_path / "ideal", cfg, progress=False)
    assert ideal["protocol"]["classifier"]["rc_real_test_accuracy"] == 100.0
    assert ideal["protocol"]["classifier"]["rc_real_test_recall"] == dict.fromkeys(ideal["data"]["class_names"], 100.0)
    assert ideal["summary"]["RC"] == 100.0 and ideal["summary"]["FC"] == 100.0
    assert [row["fc"] for row in ideal["per_class"]] == [100.0] * 3
    assert all(row["real_test_images"] == 2 for row in ideal["per_class"])
    lp = ideal["protocol"]["lpips"]
    assert lp["trunk_sha256"] == sha256_file(alex_trunk) and lp["net"] == "alex"
    assert (lp["inputs_per_class"], lp["samples"], lp["pairs_per_input"]) == (2, 2, 1)
    assert all(row["lpips"] > 0 for row in ideal["per_class"])
    assert ideal["summary"]["LPIPS"] == pytest.approx(np.mean([row["lpips"] for row in ideal["per_class"]]))
    assert ideal["protocol"]["extractor"] is None and ideal["summary"]["mFID"] is None

    monkeypatch.setattr(protocol_module, "translate_jobs", unchanged_inputs)
    unchanged = evaluate(
        colour_model,
        colours,
        tmp_path / "unchanged",
        dataclasses.replace(cfg, metrics=("rc",)),
        progress=False,
    )
    assert unchanged["summary"]["RC"] == 0.0  # every input is of another class than the target
    sha = unchanged["protocol"]["classifier"]["rc_classifier_sha256"]
    assert sha == ideal["protocol"]["classifier"]["rc_classifier_sha256"]  # the cached classifier


def test_pose_is_perfect_for_ideal_shapes_translations(shapes, shapes_model, tmp_path, monkeypatch):
    test = ClassFolderDataset(shapes, R, "test")
    records = {r["path"]: r for r in read_shapes_manifest(shapes)["images"]}
    params = [records[p.relative_to(shapes).as_posix()] for p in test.paths]

    def ideal(translator, inputs, target, jobs, seed, truncation=None):
        out = [render_array(params[i], shape=test.class_names[target]) for i, _ in jobs]
        return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()

    monkeypatch.setattr(protocol_module, "translate_jobs", ideal)
    cfg = EvalConfig(per_class=3, metrics=("pose",), cache_dir=str(tmp_path / "cache"), device="cpu")
    r = evaluate(shapes_model, shapes, tmp_path / "rep", cfg, progress=False)
    s = r["summary"]
    assert s["IoU"] > 0.97 and s["center_error_px"] < 0.3
    assert s["ideal_l1"] == 0.0 and s["empty_fraction"] == 0.0
    assert s["fg_color_error"] == 0.0 and s["bg_color_error"] == 0.0
    assert s["RC"] is None and s["mFID"] is None
    assert r["protocol"]["metrics"] == ["pose"] and r["protocol"]["real_reference"] is None
    assert r["protocol"]["classifier"] is None and r["data"]["train_images"] is None
    assert not (tmp_path / "cache").exists()  # pose needs no classifier or real features


# ---- bad input -------------------------------------------------------------------------------------


def test_fewer_translations_than_inputs_still_draw_on_every_input_class():
    """Translation q uses input q mod n: the eligible list's head must hold every input class, not the first
    one or two of a split sorted by class (100 translations per class from 450 inputs used only two)."""
    labels = [0] * 5 + [1] * 5 + [2] * 3 + [3] * 5  # sorted by class, as a split is; class 2 is short
    eligible = eligible_inputs(labels, 4, include_same_class=False)
    into_0 = eligible[0]
    assert sorted(into_0) == [i for i, y in enumerate(labels) if y != 0]  # every other-class input, once
    assert [labels[i] for i in into_0[:6]] == [1, 2, 3, 1, 2, 3]  # in turn from each class
    assert [labels[i] for i in into_0[-4:]] == [1, 3, 1, 3]  # class 2 ran out first
    assert [labels[i] for i in eligible_inputs(labels, 4, include_same_class=True)[3][:4]] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="no input images from other classes"):
        eligible_inputs([0, 0], 1, include_same_class=False)


def test_resolve_metrics_orders_and_checks_names(shapes, colours):
    assert resolve_metrics("kid, FID,fid", shapes) == ["fid", "kid"]
    assert resolve_metrics(["pose", "rc"], shapes) == ["rc", "pose"]
    assert resolve_metrics(None, shapes) == list(ALL_METRICS)
    assert resolve_metrics("all", colours) == [m for m in ALL_METRICS if m != "pose"]
    with pytest.raises(ValueError, match=r"unknown metric\(s\) is, top1; choose from fid,kid,rc,fc,lpips,pose"):
        resolve_metrics("fid,top1,is", shapes)
    with pytest.raises(ValueError, match=r"\(none given\)"):
        resolve_metrics(" , ", shapes)
    with pytest.raises(ValueError, match=f"pose metric needs a Shapes dataset \\(with {SHAPES_MANIFEST_NAME}\\)"):
        resolve_metrics("fid,pose", colours)


@pytest.mark.parametrize(
    "bad",
    [
        {"per_class": 1},
        {"batch_size": 0},
        {"kid_subsets": 0},
        {"kid_subset_size": 1},
        {"fc_per_class": 0},
        {"lpips_inputs": 0},
        {"lpips_samples": 1},
        {"workers": -1},
    ],
)
def test_eval_config_rejects_invalid_counts(bad):
    ((key, value),) = bad.items()
    with pytest.raises(ValueError, match=f"invalid evaluation settings: {key}={value}"):
        EvalConfig(**bad)


def test_eval_config_rejects_unknown_split_and_bad_truncation():
    with pytest.raises(ValueError, match="real_split must be 'train' or 'test', got 'val'"):
        EvalConfig(real_split="val")
    with pytest.raises(ValueError, match="truncation must be > 0"):
        EvalConfig(truncation=0.0)


def test_a_model_for_other_classes_fails_clearly(colours, tmp_path):
    cfg = EvalConfig(per_class=2, metrics=("rc",), cache_dir=str(tmp_path / "cache"), device="cpu")
    two = export(tmp_path / "two", ("blue", "green"))
    with pytest.raises(ValueError, match="the model has 2 classes but the data has 3"):
        evaluate(two, colours, tmp_path / "out", cfg, progress=False)
    renamed = export(tmp_path / "renamed", ("blue", "green", "pink"))
    with pytest.raises(ValueError, match="the model's classes differ from the data's .2: model 'pink' vs data 'red'"):
        evaluate(renamed, colours, tmp_path / "out", cfg, progress=False)
    with pytest.raises(FileNotFoundError, match="data folder .* not found"):
        evaluate(renamed, tmp_path / "missing", tmp_path / "out", cfg, progress=False)
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


def test_cli_reports_bad_input_as_an_error_message(colours, colour_model, tmp_path):
    base = ["evaluate", "--model", str(colour_model), "--data", str(colours), "--out", str(tmp_path / "o")]
    code, _, err = cli(*base, "--metrics", "fid,nope")
    assert code == 2 and "deepi2i evaluate: error: unknown metric(s) nope" in err
    code, _, err = cli(*base, "--extractor", "clip")
    assert code == 2 and "unknown --extractor 'clip'; available: classifier, inception" in err
    code, _, err = cli(*base, "--metrics", "pose")
    assert code == 2 and "pose metric needs a Shapes dataset" in err
    (tmp_path / "x.json").write_text("{}", encoding="utf-8")
    code, _, err = cli("evaluate-compare", str(tmp_path / "x.json"), "--out", str(tmp_path / "t.md"))
    assert code == 2 and "is not a report written by `deepi2i evaluate`" in err


def test_default_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPI2I_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("DEEPI2I_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "deepi2i" / "eval"


def test_missing_weights_fail_before_any_work(colours, colour_model, tmp_path, monkeypatch):
    """Inception and LPIPS files are looked up first: no classifier is trained, no cache written,
    and the message says how to do without the file."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-hub"))
    for name in ("DEEPI2I_INCEPTION_WEIGHTS", "DEEPI2I_LPIPS_WEIGHTS"):
        monkeypatch.delenv(name, raising=False)
    trained = []
    monkeypatch.setattr(protocol_module, "train_classifier", lambda *a, **k: trained.append(1))
    base = ["evaluate", "--model", str(colour_model), "--data", str(colours), "--cache-dir", str(tmp_path / "cache")]
    code, _, err = cli(*base, "--out", str(tmp_path / "a"), "--metrics", "fid,rc")
    assert code == 2 and "DEEPI2I_INCEPTION_WEIGHTS" in err and "--extractor classifier" in err
    code, _, err = cli(*base, "--out", str(tmp_path / "b"), "--extractor", "classifier")
    assert code == 2 and "DEEPI2I_LPIPS_WEIGHTS" in err and "--metrics fid,kid,rc,fc" in err
    assert not trained and not (tmp_path / "cache").exists()
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# ---- baselines: the same protocol on references instead of a model's translations -----------------


def test_ideal_baseline_is_perfect_and_copy_baseline_keeps_pose_but_not_shape(shapes, shapes_model, tmp_path):
    cfg = dict(per_class=3, metrics=("pose",), cache_dir=str(tmp_path / "cache"), device="cpu")
    ideal = evaluate(shapes_model, shapes, tmp_path / "ideal", EvalConfig(baseline="ideal", **cfg), progress=False)
    copy = evaluate(shapes_model, shapes, tmp_path / "copy", EvalConfig(baseline="copy", **cfg), progress=False)
    assert ideal["summary"]["IoU"] > 0.97 and ideal["summary"]["ideal_l1"] == 0.0
    # the input copied: same place and colours (shapes share their area centroid), other silhouette
    assert copy["summary"]["center_error_px"] < 1.0 and copy["summary"]["fg_color_error"] < 30.0  # edges blend
    assert copy["summary"]["IoU"] < 0.9 and copy["summary"]["ideal_l1"] > 0.0
    assert ideal["config"]["baseline"] == "ideal"


def test_adaptor_weights_score_the_translations_translate_would_make(shapes, shapes_model, tmp_path):
    """`evaluate --adaptor-weights` scores a model with other w_l, merged into the export's as `translate` merges
    them, and the report says which w_l the translations used."""
    cfg = EvalConfig(per_class=3, metrics=("pose",), cache_dir=str(tmp_path / "cache"), device="cpu")
    own = DeepI2I.from_pretrained(shapes_model).config
    coarsest = min(own.pyramid_levels)
    as_exported = evaluate(shapes_model, shapes, tmp_path / "own", cfg, progress=False)
    same = dataclasses.replace(cfg, adaptor_weights={coarsest: own.weight(coarsest)})
    merged = evaluate(shapes_model, shapes, tmp_path / "merged", same, progress=False)
    silent = evaluate(shapes_model, shapes, tmp_path / "w0", dataclasses.replace(cfg, adaptor_weights=0.0), False)
    assert merged["summary"] == as_exported["summary"]  # naming one level keeps every other level's w_l
    assert silent["summary"]["ideal_l1"] != as_exported["summary"]["ideal_l1"]  # w_l = 0: the input is not heard
    assert as_exported["model"]["adaptor_weights"] == {str(r): own.weight(r) for r in own.pyramid_levels}
    assert set(silent["model"]["adaptor_weights"].values()) == {0.0} and silent["config"]["adaptor_weights"] == 0.0
    md = (tmp_path / "w0" / "report.md").read_text(encoding="utf-8")
    assert f"w_l {' / '.join(['0'] * len(own.pyramid_levels))}" in md and "(set for this evaluation)" in md
    assert "(set for this evaluation)" not in (tmp_path / "own" / "report.md").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match=r"weights for levels \[64\] px, but this model's levels are"):
        evaluate(shapes_model, shapes, tmp_path / "bad", dataclasses.replace(cfg, adaptor_weights={64: 1.0}))
    with pytest.raises(ValueError, match="adaptor weights apply to a DeepI2I's translations, not to the copy baseline"):
        evaluate(shapes_model, shapes, tmp_path / "b", dataclasses.replace(cfg, adaptor_weights=0.0, baseline="copy"))
    # the CLI flag: the same report as the API's, and a malformed value is an error message
    common = ["evaluate", "--model", str(shapes_model), "--data", str(shapes), "--per-class", "3"]
    common += ["--metrics", "pose", "--cache-dir", str(tmp_path / "cache"), "--device", "cpu", "--quiet"]
    code, _, err = cli(*common, "--adaptor-weights", "0", "--out", str(tmp_path / "cli"))
    assert code == 0, err
    assert json.loads((tmp_path / "cli" / "report.json").read_text())["summary"] == silent["summary"]
    code, _, err = cli(*common, "--adaptor-weights", "4=1", "--out", str(tmp_path / "cli-bad"))
    assert code == 2 and "--adaptor-weights '4=1': expected a number or level:weight pairs" in err


@pytest.fixture(scope="module")
def shapes_source(shapes: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BigGAN export (a transfer source) with the Shapes data's classes."""
    names = ClassFolderDataset(shapes, R, "train").class_names
    torch.manual_seed(1)
    config = tiny(resolution=R, ch=4, n_classes=len(names))
    source = BigGAN(BigGANConfig(config.generator, config.discriminator, class_names=tuple(names)))
    return source.save_pretrained(tmp_path_factory.mktemp("source") / "export")


def test_a_biggan_source_is_scored_on_its_samples(runs, shapes, shapes_source, tmp_path):
    """A source's GAN-test: each class's samples G(z, c), z drawn as for a translation, classified by the
    same cached RC classifier; pose does not apply (no input) and is left out."""
    cfg = EvalConfig(
        per_class=6, extractor="classifier", classifier=ClassifierConfig(epochs=1, batch_size=8),
        metrics=("fid", "kid", "rc"), kid_subsets=5, cache_dir=str(runs["cache"]), device="cpu", batch_size=4,
    )  # fmt: skip
    assert "pose" in resolve_metrics(None, shapes) and "pose" not in resolve_metrics(None, shapes, inputs=False)
    made: list[tuple[int, list[tuple[int, int]]]] = []

    def spy(generator, target, jobs, seed, truncation=None):
        made.append((target, list(jobs)))
        return real_generate(generator, target, jobs, seed, truncation)

    real_generate = protocol_module.generate_jobs
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(protocol_module, "generate_jobs", spy)
        r = evaluate(shapes_source, shapes, tmp_path / "source", cfg, progress=False)
    # every class's 6 samples, each its own z (job (q, 0)), in batches of 4
    assert made == [(c, [(q, 0) for q in range(b, min(b + 4, 6))]) for c in range(2) for b in (0, 4)]
    assert r["protocol"]["metrics"] == ["fid", "kid", "rc"] and r["summary"].get("IoU") is None
    assert all(row["fid"] >= 0 for row in r["per_class"])
    assert r["protocol"]["inputs"]["split"] is None and r["model"]["kind"] == "BigGAN"
    assert r["protocol"]["classifier"]["rc_classifier_from_cache"] is True  # the translations' judge

    source = BigGAN.from_pretrained(shapes_source)
    z = protocol_module.z_for_outputs(source.generator.config.dim_z_used, cfg.seed, [(0, 0), (1, 0)])
    expected = protocol_module.to_uint8(source.generator(z, torch.tensor([1, 1])))
    assert torch.equal(real_generate(source.generator, 1, [(0, 0), (1, 0)], cfg.seed), expected)
    judge = ImageClassifier.load(next(runs["cache"].glob("classifier-small-*.pt")), "cpu")
    for row in r["per_class"]:
        images = protocol_module.generate_jobs(source.generator, row["index"], [(q, 0) for q in range(6)], cfg.seed)
        labels = judge(images).argmax(dim=1)
        assert row["rc_labels"] == torch.bincount(labels, minlength=2).tolist()
    md = (tmp_path / "source" / "report.md").read_text(encoding="utf-8")
    assert "- inputs: none (a BigGAN export): 6 samples G(z, c) per class" in md

    with pytest.raises(ValueError, match="compares each translation with its input.*--metrics rc"):
        evaluate(shapes_source, shapes, tmp_path / "pose", dataclasses.replace(cfg, metrics=("rc", "pose")))
    with pytest.raises(ValueError, match="a BigGAN export is scored on its own samples"):
        evaluate(shapes_source, shapes, tmp_path / "copy", dataclasses.replace(cfg, metrics=("rc",), baseline="copy"))


def test_baselines_are_checked(shapes, shapes_model, colours, colour_model, tmp_path):
    with pytest.raises(ValueError, match="baseline must be one of"):
        EvalConfig(baseline="mean")
    cfg = EvalConfig(per_class=2, metrics=("lpips",), baseline="copy", device="cpu", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="LPIPS diversity does not apply"):
        evaluate(shapes_model, shapes, tmp_path / "r", cfg, progress=False)
    cfg = EvalConfig(per_class=2, metrics=("rc",), baseline="ideal", device="cpu", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="needs a Shapes dataset"):
        evaluate(colour_model, colours, tmp_path / "r2", cfg, progress=False)


def test_evaluate_compare_never_replaces_another_file_without_overwrite(runs, tmp_path):
    out = tmp_path / "table.md"
    out.write_text("my notes\n", encoding="utf-8")
    code, _, err = cli("evaluate-compare", str(runs["first"]), "--out", str(out))
    assert code == 2 and "already exists with other content; pass --overwrite" in err
    assert out.read_text(encoding="utf-8") == "my notes\n"
    assert cli("evaluate-compare", str(runs["first"]), "--out", str(out), "--overwrite")[0] == 0
    assert cli("evaluate-compare", str(runs["first"]), "--out", str(out))[0] == 0  # the same table again: fine
    assert "| Method |" in out.read_text(encoding="utf-8")
