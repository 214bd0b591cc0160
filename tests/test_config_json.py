"""Configs read back the JSON that exports and run folders hold, including files older versions wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepi2i.checkpoint import read_export_config
from deepi2i.config import BigGANConfig, DeepI2IConfig, DiscriminatorConfig, GeneratorConfig
from deepi2i.training.config import PRESETS, PhaseConfig, TrainConfig, train_preset

WEIGHTS = Path(__file__).resolve().parents[1] / "src" / "deepi2i" / "weights"
DATA = Path(__file__).parent / "data" / "configs"


@pytest.mark.parametrize("name", ["shapes", "shapes-source"])
def test_shipped_exports_load_and_write_the_same_json(name: str) -> None:
    stored = json.loads((WEIGHTS / name / "config.json").read_text())
    kind, config = read_export_config(WEIGHTS / name)
    assert kind == stored["kind"] and config.to_dict() == stored["config"]
    assert type(config) is {"DeepI2I": DeepI2IConfig, "BigGAN": BigGANConfig}[kind]


def test_a_run_folder_config_of_version_0_1_0_loads() -> None:
    """run-0.1.0.json: a run folder's config.json as 0.1.0 wrote it (level maps with string keys, lists)."""
    stored = json.loads((DATA / "run-0.1.0.json").read_text())["config"]
    config = TrainConfig.from_dict(stored)
    # fields newer than 0.1.0 take their defaults
    newer = {
        "tf32": False,
        "compile": False,
        "lambda_color": 0.0,
        "color_term": "cells",
        "color_grid": 4,
        "augment": [],
        "freeze_d_blocks": 0,
        "lambda_class": 0.0,
    }
    assert config.to_dict() == {**stored, **newer}  # take their defaults
    assert config.rec_weights == {32: 0.01, 16: 0.1, 8: 0.1, 4: 0.1} and config.class_rows == (2, 18, 20)
    assert config.model.adaptor_weights == {4: 1.0, 8: 1.0, 16: 0.3, 32: 0.1}
    assert config.phases[0] == PhaseConfig(
        "adaptors+discriminator+encoder", 3.2, ("adaptors", "discriminator", "encoder")
    )
    assert config.betas == (0.0, 0.999) and config.transfer == ("generator", "discriminator")


def test_fields_missing_from_an_older_file_take_their_defaults() -> None:
    stored = json.loads((DATA / "run-0.1.0.json").read_text())["config"]
    for key in ("workers", "n_sample_classes", "channels_last"):
        del stored[key]
    del stored["model"]["relu_last_tap"], stored["model"]["generator"]["init"]
    config = TrainConfig.from_dict(stored)
    assert (config.workers, config.n_sample_classes, config.channels_last) == (0, 8, False)
    assert config.model.relu_last_tap is True and config.model.generator.init == "ortho"


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        (GeneratorConfig, {"attention": [64.0]}, "GeneratorConfig.attention must be a list of integers"),
        (
            DiscriminatorConfig,
            {"downsample": [1, 0]},
            "DiscriminatorConfig.downsample must be a list of true/false or null",
        ),
        (DeepI2IConfig, {"generator": [128]}, "DeepI2IConfig.generator must be a GeneratorConfig object"),
        (
            DeepI2IConfig,
            {"adaptor_weights": {"x": 1}},
            "DeepI2IConfig.adaptor_weights must be a finite number or",
        ),
        (
            BigGANConfig,
            {"class_names": ["a", 2]},
            "BigGANConfig.class_names must be a list of strings or null",
        ),
        (TrainConfig, {"betas": [0.0]}, "TrainConfig.betas must be a list of two finite numbers"),
        (TrainConfig, {"phases": [["all", 1.0]]}, "TrainConfig.phases must be a list of phase objects"),
        (PhaseConfig, {"name": "all", "kimg": "1", "train": []}, "PhaseConfig.kimg must be a finite number"),
        (TrainConfig, [1, 2], "TrainConfig must be a JSON object"),
    ],
)
def test_a_wrong_type_names_the_field(cls: type, data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        cls.from_dict(data)  # type: ignore[attr-defined]


def test_every_preset_builds_both_tasks() -> None:
    assert set(PRESETS) == {"paper128", "shapes64", "tiny"}
    for name in PRESETS:
        for task in ("pretrain", "translate"):
            config = train_preset(name, task, n_classes=4)
            assert config.task == task and config.model.n_classes == 4
