"""The claims benchmark's bookkeeping: kept reports are keyed by teacher, and the recipe rule picks as stated."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "shapes_claims.py"


@pytest.fixture(scope="module")
def claims():
    spec = importlib.util.spec_from_file_location("shapes_claims", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["shapes_claims"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    yield module
    del sys.modules["shapes_claims"]


def _source(folder: Path, content: bytes) -> Path:
    folder.mkdir(parents=True)
    (folder / "generator.safetensors").write_bytes(content)
    return folder


def _plan(claims, work: Path, source: Path):
    return claims.Plan(
        work=work, quick=False, seeds=(0,), only=None, source_kimg=288.0, train_kimg=48.0, per_class=200,
        source=str(source),
    )  # fmt: skip


def _report(work: Path, name: str, rc: float) -> None:
    folder = work / "reports" / name
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps({"summary": {"RC": rc}}))


def test_records_of_two_teachers_never_mix(claims, tmp_path, monkeypatch):
    monkeypatch.setattr(claims, "RECORDS", tmp_path / "records")
    old = _plan(claims, tmp_path / "work-old", _source(tmp_path / "old", b"old teacher"))
    new = _plan(claims, tmp_path / "work-new", _source(tmp_path / "new", b"new teacher"))
    _report(old.work, "deepi2i-s0", 60.0)
    _report(new.work, "deepi2i-s0", 80.0)
    _report(new.work, "source-k288", 96.0)
    claims.keep_records(old)
    claims.keep_records(new)

    assert claims.teacher_records(old) != claims.teacher_records(new)
    records = tmp_path / "records"
    kept = sorted(p.relative_to(records).as_posix() for p in records.rglob("*.json"))
    assert kept == sorted(
        [f"{claims.teacher_records(t).relative_to(records).as_posix()}/deepi2i-s0.json" for t in (old, new)]
        + ["source-k288.json"]
    )
    # each teacher's folder keeps this code's reports apart from those made with the old (split-order) input lists
    assert all(claims.teacher_records(t).name == claims.INPUT_LISTS for t in (old, new))
    # once the work folders are gone, each plan reads back its own teacher's run, and the source's own scores
    for plan in (old, new):
        for report in (plan.work / "reports").glob("*/report.json"):
            report.unlink()
    assert claims.load(old, "deepi2i-s0")["RC"] == 60.0
    assert claims.load(new, "deepi2i-s0")["RC"] == 80.0
    assert claims.load(old, "source-k288")["RC"] == 96.0


def test_claims_table_names_the_judge_of_each_seed(claims, tmp_path, monkeypatch):
    """Rows scored by two RC classifiers (one recipe, trained on two machines) are marked per seed, and the
    legend names both, so that a mean over seeds never hides a change of judge."""
    monkeypatch.setattr(claims, "RECORDS", tmp_path / "records")
    monkeypatch.setattr(claims, "shipped_report", lambda: "no-shipped-report")
    plan = replace(_plan(claims, tmp_path / "work", _source(tmp_path / "src", b"teacher")), seeds=(0, 1))
    for name, rc, sha in (
        ("baseline-copy", 0.0, "a" * 64),
        ("deepi2i-s0", 60.0, "a" * 64),
        ("deepi2i-s1", 70.0, "b" * 64),
    ):
        folder = plan.work / "reports" / name
        folder.mkdir(parents=True)
        report = {"summary": {"RC": rc}, "protocol": {"classifier": {"rc_classifier_sha256": sha}}}
        (folder / "report.json").write_text(json.dumps(report))

    table = claims.stage_report(plan).read_text().splitlines()

    assert [line for line in table if line.startswith("| DeepI2I |")] == [
        "| DeepI2I | 1,2,3,4 | 2 | 65.0 ± 5.0 | – | – | – | – | – | – | – | A/B |"
    ]
    assert [line for line in table if line.startswith("| input copied")][0].endswith("| A |")
    assert any(line.startswith("judge:") and "A = aaaaaaaa, B = bbbbbbbb" in line for line in table)


def test_recipe_rule_least_miss_then_colour(claims):
    far = {"RC": 70.0, "center_error_px": 2.0, "fg_color_error": 10.0}
    near = {"RC": 89.0, "center_error_px": 2.0, "fg_color_error": 60.0}
    near_better_colour = {"RC": 88.0, "center_error_px": 3.0, "fg_color_error": 40.0}
    assert claims.miss(near) == pytest.approx(1 / 90)
    assert claims.choose([far, near]) is near  # the least miss wins however bad its colours
    # within MISS_TIE of the least miss, the lower foreground colour error wins
    assert claims.choose([far, near, near_better_colour]) is near_better_colour


def test_recipe_winner_is_trained_on_the_goals_target_set(claims, tmp_path, monkeypatch):
    """A candidate trained on other data (a diagnostic, e.g. ten times the images) is scored but never
    chosen, however well it scores: the goals are for the 45-per-class target."""
    diagnostic = next(c for c in claims.CANDIDATES if c.data != "trg")
    plan = _plan(claims, tmp_path / "work", tmp_path / "source")
    scores = {
        name: {
            "RC": 95.0 if slug in (diagnostic.slug, diagnostic.raw[0]) else 70.0,
            "center_error_px": 2.5,
            "fg_color_error": 40.0,
        }
        for slug, _, _, _, name in claims.recipe_runs(plan)
    }
    monkeypatch.setattr(claims, "load", lambda p, name, recipe=False: scores[name])
    candidate, slug, _, _ = claims.chosen_recipe(plan)
    assert candidate.data == "trg" and slug not in (diagnostic.slug, diagnostic.raw[0])
    assert claims.choose(list(scores.values()))["RC"] == 95.0  # the rule alone would have picked it


def test_calibration_weights_are_multiples_of_the_preset(claims):
    assert claims.CALIBRATION[0] == (1, 1, 1, 1)  # as trained is always a candidate: never worse on trg-val
    assert claims.calibrated_weights((1.3, 0.5, 1, 1)) == {4: 1.3, 8: 0.5, 16: 0.3, 32: 0.1}
    assert claims.calibration_scale({"4": 1.3, "8": 0.5, "16": 0.3, "32": 0.1}) == (1.3, 0.5, 1, 1)
    assert claims.calibration_scale(1.0) == (1, 1, pytest.approx(1 / 0.3), pytest.approx(10))
    assert claims.calibration_label((1.3, 0.5, 1, 1)) == "w1.3-0.5-1-1"


def test_shipped_report_names_its_translation_time_weights(claims, tmp_path, monkeypatch):
    """A shipped model re-weighted by `calibrate` (a new config.json beside the same network files) is
    scored anew, under a name that says how."""
    from deepi2i.checkpoint import load_export
    from deepi2i.pretrained import shipped_path

    shipped = tmp_path / "shipped"
    shutil.copytree(shipped_path("shapes"), shipped)
    model = load_export(shipped)
    model.config = replace(model.config, adaptor_weights=claims.calibrated_weights((1, 1, 1, 1)))
    model.save_pretrained(tmp_path / "as-trained")
    shutil.copy(tmp_path / "as-trained" / "config.json", shipped)
    monkeypatch.setattr(claims, "shipped_model", lambda: shipped)
    plain = claims.shipped_report()
    assert plain == f"shipped-{claims.weights_tag(shipped)}"

    model.config = replace(model.config, adaptor_weights=claims.calibrated_weights((1.3, 0.5, 1, 1)))
    model.save_pretrained(tmp_path / "calibrated")
    shutil.copy(tmp_path / "calibrated" / "config.json", shipped)
    assert claims.shipped_report() == f"{plain}-w1.3-0.5-1-1"


def test_calibrate_ships_the_rules_choice_in_config_json_only(claims, tmp_path, monkeypatch):
    """The stage scores every setting (here: stubbed scores), ships the rule's pick as a new config.json
    beside byte-identical network files, says so in the model card, and a rerun changes nothing."""
    from deepi2i.checkpoint import read_export_config
    from deepi2i.pretrained import shipped_path

    shipped = tmp_path / "shipped"
    shutil.copytree(shipped_path("shapes"), shipped)
    networks = {f.name: f.read_bytes() for f in shipped.glob("*.safetensors")}
    monkeypatch.setattr(claims, "shipped_model", lambda: shipped)
    monkeypatch.setattr(claims, "evaluate", lambda *args, **kwargs: None)
    best = claims.calibration_label((1.3, 0.5, 1, 1))

    def load(p, name, recipe=False):
        rc = 85.0 if name.endswith(best) else 70.0
        return {"RC": rc, "center_error_px": 2.5, "fg_color_error": 40.0}

    monkeypatch.setattr(claims, "load", load)
    plan = _plan(claims, tmp_path / "work", shipped)
    claims.stage_calibrate(plan)
    assert read_export_config(shipped)[1].adaptor_weights == {4: 1.3, 8: 0.5, 16: 0.3, 32: 0.1}
    assert {f.name: f.read_bytes() for f in shipped.glob("*.safetensors")} == networks
    card = (shipped / "MODEL_CARD.md").read_text()
    assert card.count("Translation-time adaptor weights") == 1 and "--stages data,calibrate" in card

    claims.stage_calibrate(plan)  # the shipped config already holds the choice
    assert (shipped / "MODEL_CARD.md").read_text() == card


def test_calibrate_a_candidate_scores_it_and_writes_nothing(claims, tmp_path, monkeypatch, capsys):
    """--calibrate EXPORT scores a candidate's settings under its own weights' tag and prints the rule's
    choice; neither the candidate nor the shipped model is rewritten."""
    import torch

    from deepi2i.checkpoint import load_export
    from deepi2i.pretrained import shipped_path

    candidate = tmp_path / "candidate"
    model = load_export(shipped_path("shapes"))
    with torch.no_grad():
        next(model.generator.parameters()).add_(0.01)  # other networks: another weights tag than the shipped
    model.save_pretrained(candidate)
    before = {f.name: f.read_bytes() for f in candidate.iterdir()}
    shipped_files = {f.name: f.read_bytes() for f in shipped_path("shapes").iterdir()}
    shipped = tmp_path / "shipped"  # a copy stands in for the shipped model: a fault must not touch the real one
    shutil.copytree(shipped_path("shapes"), shipped)
    monkeypatch.setattr(claims, "shipped_model", lambda: shipped)
    monkeypatch.setattr(claims, "evaluate", lambda *args, **kwargs: None)
    best = claims.calibration_label((1.6, 0.5, 1, 1))
    names = []

    def load(p, name, recipe=False):
        names.append(name)
        return {"RC": 85.0 if name.endswith(best) else 70.0, "center_error_px": 2.5, "fg_color_error": 40.0}

    monkeypatch.setattr(claims, "load", load)
    plan = replace(_plan(claims, tmp_path / "work", candidate), calibrate=candidate)
    claims.stage_calibrate(plan)
    assert len(names) == len(claims.CALIBRATION)
    assert all(n.startswith(f"calibrate-{claims.weights_tag(candidate)}") for n in names)
    out = capsys.readouterr().out
    assert "w1.6-0.5-1-1" in out
    # the folder to test is named in full: labels repeat across the models calibrated in one work folder
    chosen = tmp_path / "work" / "calibrate" / claims.calibration_name(claims.weights_tag(candidate), (1.6, 0.5, 1, 1))
    assert f"its export: {chosen}\n" in out and (chosen / "config.json").is_file()
    assert {f.name: f.read_bytes() for f in candidate.iterdir()} == before
    assert claims.weights_tag(candidate) != claims.weights_tag(shipped)
    assert {f.name: f.read_bytes() for f in shipped.iterdir()} == shipped_files


def test_validation_judge_trains_longer_and_its_records_are_kept_apart(claims, tmp_path, monkeypatch):
    """trg-val's judge trains 20 epochs (its split is about half trg-eval's; at 5 it missed a fifth of real
    pentagons), trg-eval's stays at 5, and validation reports go to a folder the 5-epoch judge's never used."""
    commands = []
    monkeypatch.setattr(claims, "run", lambda cmd, log: commands.append(cmd))
    plan = _plan(claims, tmp_path / "work", _source(tmp_path / "teacher", b"teacher"))
    for split in ("trg-val", "trg-eval"):
        claims.evaluate(plan, tmp_path / "model", tmp_path / split, [], split)
    epochs = [cmd[cmd.index("--classifier-epochs") + 1] for cmd in commands]
    assert epochs == ["20", "5"]
    assert [cmd[cmd.index("--cache-dir") + 1] for cmd in commands] == [
        str(plan.work / "eval-cache-val"),
        str(plan.work / "eval-cache"),
    ]
    kept = claims.record_path(plan, "palette-ema-s0-k144", recipe=True)
    assert kept.parent.name == claims.RECIPE_RECORDS != "recipe"
    assert kept.parent.parent == claims.teacher_records(plan)


def test_runs_keep_the_settings_they_were_trained_with_when_the_preset_moves(claims, tmp_path, monkeypatch):
    """The preset now carries the recipe (EMA, palette and class terms, DiffAugment); the claims variants and the
    earlier candidates name none of them, so their commands must switch each off, and a candidate's own flags win."""
    import dataclasses

    from deepi2i.cli import _training_overrides, build_parser
    from deepi2i.training.config import train_preset

    commands = []
    monkeypatch.setattr(claims, "run", lambda cmd, log: commands.append(cmd))
    plan = _plan(claims, tmp_path / "work", _source(tmp_path / "teacher", b"teacher"))
    recipe = next(c for c in claims.CANDIDATES if c.slug == "palette-ema-cls-aug")
    for args in ((), recipe.args):
        claims.train(plan, "trg", tmp_path / "run", 0, args, 48.0, scratch=False)
    preset = train_preset("shapes64", "translate", n_classes=10)
    configs = []
    for cmd in commands:
        parsed = build_parser().parse_args(cmd[cmd.index("train") :])
        configs.append(dataclasses.replace(preset, **_training_overrides(parsed)))
    plain, candidate = configs
    assert (plain.ema_decay, plain.lambda_color, plain.lambda_class, plain.augment) == (None, 0.0, 0.0, ())
    assert (candidate.ema_decay, candidate.lambda_color, candidate.color_term) == (0.999, 5.0, "palette")
    assert (candidate.lambda_class, candidate.augment) == (1.0, ("translation", "cutout"))
    assert (preset.lambda_class, preset.augment) == (1.0, ("translation", "cutout"))  # the preset is the recipe
