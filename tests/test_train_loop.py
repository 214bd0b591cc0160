"""The training loop: what each phase updates, exact resume, NaN stop, AMP / channels-last paths."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch
from torch.utils.data import Dataset, TensorDataset

from deepi2i.config import BigGANConfig
from deepi2i.networks.biggan import BigGAN
from deepi2i.training import NonFiniteLossError, PretrainTask, TranslationTask, fit, pretrain, train
from deepi2i.training.augment import AUGMENTS
from deepi2i.training.config import PhaseConfig, TrainConfig, train_preset
from deepi2i.training.state import list_checkpoints, load_checkpoint

N_CLASSES = 3


def tiny_dataset(n: int = 12, seed: int = 0) -> TensorDataset:
    """Class c: a bright square at a class-specific place on noise, labels 0, 1, 2, 0, ..."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, 32, 32, generator=g) * 0.4 - 1.0
    y = torch.arange(n) % N_CLASSES
    for i in range(n):
        c = int(y[i])
        x[i, :, 4 + 8 * c : 14 + 8 * c, 8:20] = 0.8
    return TensorDataset(x, y)


def tiny_config(task: str = "translate", **changes) -> TrainConfig:
    return dataclasses.replace(train_preset("tiny", task, n_classes=N_CLASSES), **changes)


def tiny_source(config: TrainConfig, seed: int = 1) -> BigGAN:
    torch.manual_seed(seed)
    m = config.model
    return BigGAN(BigGANConfig(generator=m.generator, discriminator=m.discriminator)).eval()


def translation_task(config: TrainConfig, seed: int = 0) -> TranslationTask:
    source = tiny_source(config) if config.transfer else None
    torch.manual_seed(seed)
    return TranslationTask(config, source)


def snapshot(modules: dict[str, torch.nn.Module]) -> dict[str, dict[str, torch.Tensor]]:
    return {name: {k: v.detach().clone() for k, v in m.state_dict().items()} for name, m in modules.items()}


def same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def changed_params(before: dict[str, torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(before[k], p.detach()) for k, p in module.named_parameters())


# ---- what each phase updates ------------------------------------------------------------------


def test_phase1_trains_adaptors_and_discriminator_only(tmp_path: Path) -> None:
    """Phase 1: adaptors + D change; encoder and generator are bit-for-bit unchanged, buffers included."""
    config = tiny_config()
    task = translation_task(config)
    before = snapshot(task.networks)
    result = fit(task, tiny_dataset(), tmp_path, progress=False, stop_at_step=2)  # phase 1 is steps 0-1
    assert result.step == 2 and not result.complete
    for name in ("encoder", "generator"):
        assert same_state(before[name], task.networks[name].state_dict()), f"{name} changed in phase 1"
    for name in ("adaptors", "discriminator"):
        assert changed_params(before[name], task.networks[name]), f"{name} did not train in phase 1"


def test_phase2_trains_generator_too_and_keeps_the_encoder_frozen(tmp_path: Path) -> None:
    config = tiny_config()
    fit(translation_task(config), tiny_dataset(), tmp_path, progress=False, stop_at_step=2)
    after1 = load_checkpoint(list_checkpoints(tmp_path)[-1][1])["networks"]
    task = translation_task(config)
    result = fit(task, tiny_dataset(), tmp_path, progress=False)  # resumes at step 2, runs phase 2
    assert result.complete and (tmp_path / "export" / "config.json").is_file()
    assert same_state(after1["encoder"], task.networks["encoder"].state_dict())
    for name in ("generator", "adaptors", "discriminator"):
        assert changed_params(after1[name], task.networks[name]), f"{name} did not train in phase 2"


def test_freezed_keeps_the_lowest_discriminator_blocks_at_the_source_through_both_phases(tmp_path: Path) -> None:
    """FreezeD: D's lowest blocks (weights and spectral-norm buffers) stay the source's; its upper blocks train."""
    config = tiny_config(freeze_d_blocks=2, sample_every=1)  # sample grids switch modes every step
    task = translation_task(config)
    d = task.networks["discriminator"]
    n_blocks = len(d.blocks)
    before = {k: v.clone() for k, v in d.state_dict().items()}
    fit(task, tiny_dataset(), tmp_path, progress=False)
    kept = [k for k in before if k.startswith(("blocks.0.", "blocks.1."))]
    assert kept and all(torch.equal(before[k], d.state_dict()[k]) for k in kept)
    upper = {k: v for k, v in before.items() if k.startswith(f"blocks.{n_blocks - 1}.")}
    assert any(not torch.equal(v, d.state_dict()[k]) for k, v in upper.items()), "the upper blocks did not train"


def test_train_encoder_trains_the_transferred_encoder_in_phase_2_only(tmp_path: Path) -> None:
    config = dataclasses.replace(
        train_preset("tiny", "translate", n_classes=N_CLASSES, train_encoder=True), sample_every=1
    )
    assert [p.train for p in config.phases] == [
        ("adaptors", "discriminator"),
        ("generator", "adaptors", "discriminator", "encoder"),
    ]
    task = translation_task(config)
    before = snapshot(task.networks)
    fit(task, tiny_dataset(), tmp_path, progress=False, stop_at_step=2)  # phase 1
    assert same_state(before["encoder"], task.networks["encoder"].state_dict())
    fit(translation_task(config), tiny_dataset(), tmp_path, progress=False)  # resumes, runs phase 2
    after = load_checkpoint(list_checkpoints(tmp_path)[-1][1])["networks"]
    assert any(not torch.equal(before["encoder"][k], v) for k, v in after["encoder"].items())
    with pytest.raises(ValueError, match="scratch"):
        train_preset("tiny", "translate", n_classes=N_CLASSES, scratch=True, train_encoder=True)


def test_freezed_needs_a_transferred_discriminator() -> None:
    with pytest.raises(ValueError, match="random weights"):
        tiny_config(freeze_d_blocks=1, transfer=("encoder", "generator"))
    with pytest.raises(ValueError, match="freeze_d_blocks must be in"):
        tiny_config(freeze_d_blocks=99)


def test_scratch_trains_every_network_including_the_encoder(tmp_path: Path) -> None:
    config = train_preset("tiny", "translate", n_classes=N_CLASSES, scratch=True)
    assert config.transfer == () and config.phases[0].train == ("encoder", "adaptors", "generator", "discriminator")
    task = translation_task(config)
    before = snapshot(task.networks)
    fit(task, tiny_dataset(), tmp_path, progress=False)
    for name, net in task.networks.items():
        assert changed_params(before[name], net), name


def test_pretraining_trains_generator_and_discriminator_and_exports_the_ema(tmp_path: Path) -> None:
    config = tiny_config("pretrain", ema_decay=0.5)
    torch.manual_seed(0)
    task = PretrainTask(config)
    before = snapshot(task.networks)
    result = fit(task, tiny_dataset(), tmp_path, progress=False)
    for name, net in task.networks.items():
        assert changed_params(before[name], net), name
    export = BigGAN.from_pretrained(result.export)
    g_live = task.networks["generator"].state_dict()
    g_export = export.generator.state_dict()
    assert not torch.equal(g_export["linear.weight"], g_live["linear.weight"]), "the export must hold the EMA generator"
    assert same_state(export.discriminator.state_dict(), task.networks["discriminator"].state_dict())


class _CheckingObjective:
    """Wraps an objective and records whether D could receive gradients in each step kind."""

    def __init__(self, inner) -> None:
        self.inner, self.d_grad_in_d_step, self.d_grad_in_g_step = inner, [], []

    def _d_requires_grad(self, nets) -> bool:
        return any(p.requires_grad for p in nets["discriminator"].parameters())

    def prepare(self, nets, b, frozen):
        return self.inner.prepare(nets, b, frozen)

    def d_loss(self, nets, b):
        self.d_grad_in_d_step.append(self._d_requires_grad(nets))
        return self.inner.d_loss(nets, b)

    def g_loss(self, nets, b):
        self.d_grad_in_g_step.append(self._d_requires_grad(nets))
        loss, logs = self.inner.g_loss(nets, b)
        return loss, logs


def test_generator_side_losses_never_update_the_discriminator(tmp_path: Path) -> None:
    """The reconstruction (and adversarial G) loss runs with D's gradients off, in every phase."""
    config = tiny_config()
    task = translation_task(config)
    task.objective = checking = _CheckingObjective(task.objective)  # type: ignore[assignment]
    fit(task, tiny_dataset(), tmp_path, progress=False)
    assert checking.d_grad_in_d_step == [True] * 4
    assert checking.d_grad_in_g_step == [False] * 4


class _NoSharing:
    """The objective with the frozen encoder's pyramid recomputed in each step (the plain path)."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def prepare(self, nets, b, frozen):
        return b

    def d_loss(self, nets, b):
        return self.inner.d_loss(nets, b)

    def g_loss(self, nets, b):
        return self.inner.g_loss(nets, b)


@pytest.mark.parametrize("accumulation", [1, 2])
def test_a_frozen_encoder_runs_once_per_step_with_the_same_result(tmp_path: Path, accumulation: int) -> None:
    """The D and G steps share a frozen encoder's pyramid: bit-identical training, one encoder pass fewer
    per micro-batch and step."""
    config = tiny_config(accumulation=accumulation, sample_every=1_000)
    states, passes = {}, {}
    for share in (True, False):
        task = translation_task(config)
        if not share:
            task.objective = _NoSharing(task.objective)  # type: ignore[assignment]
        calls: list[int] = []
        task.networks["encoder"].register_forward_hook(lambda *_, calls=calls: calls.append(1))
        result = fit(task, tiny_dataset(), tmp_path / str(share), progress=False)
        states[share], passes[share] = snapshot(task.networks), len(calls)
    for name in states[True]:
        assert same_state(states[True][name], states[False][name]), name
    assert passes[False] - passes[True] == result.step * accumulation


def test_a_phase_is_data(tmp_path: Path) -> None:
    """Any list of phases works: here only the adaptors train, so D stays unchanged too."""
    config = tiny_config(phases=(PhaseConfig("adaptors only", 0.008, ("adaptors",)),))
    task = translation_task(config)
    before = snapshot(task.networks)
    fit(task, tiny_dataset(), tmp_path, progress=False)
    for name in ("encoder", "generator", "discriminator"):
        assert same_state(before[name], task.networks[name].state_dict()), name
    assert changed_params(before["adaptors"], task.networks["adaptors"])


# ---- exact resume --------------------------------------------------------------------------------


def full_state(run_dir: Path) -> dict:
    step, path = list_checkpoints(run_dir)[-1]
    return load_checkpoint(path)


def assert_identical_runs(a: dict, b: dict) -> None:
    assert a["step"] == b["step"]
    for name in a["networks"]:
        assert same_state(a["networks"][name], b["networks"][name]), name
    for name in a["optimizers"]:
        sa, sb = a["optimizers"][name]["state"], b["optimizers"][name]["state"]
        assert sa.keys() == sb.keys()
        for k in sa:
            assert all(torch.equal(sa[k][f], sb[k][f]) for f in sa[k]), f"{name} optimizer state {k}"
    if a["ema"] is not None:
        assert same_state(a["ema"], b["ema"])
    assert torch.equal(a["rng"]["loop"], b["rng"]["loop"])


@pytest.mark.parametrize("task_kind", ["translate", "pretrain", "translate+augment"])
def test_resume_after_a_kill_reproduces_the_uninterrupted_run(tmp_path: Path, task_kind: str) -> None:
    """Stop at step 3 (the last checkpoint is step 2), rerun: identical final state, bit for bit
    (with augmentation too: its draws come from the loop's seeded stream)."""
    task, _, extra = task_kind.partition("+")
    augment = AUGMENTS if extra == "augment" else ()  # every transform, colour and turns included
    config = tiny_config(task, checkpoint_every=2, accumulation=2, ema_decay=0.8, augment=augment)

    def make_task():
        if task == "translate":
            return translation_task(config)
        torch.manual_seed(0)
        return PretrainTask(config)

    fit(make_task(), tiny_dataset(), tmp_path / "straight", progress=False)
    killed = tmp_path / "killed"
    fit(make_task(), tiny_dataset(), killed, progress=False, stop_at_step=3)
    assert [s for s, _ in list_checkpoints(killed)] == [2]  # step 3 ran but was never saved
    result = fit(make_task(), tiny_dataset(), killed, progress=False)
    assert result.complete
    assert_identical_runs(full_state(tmp_path / "straight"), full_state(killed))
    steps = [json.loads(line)["step"] for line in (killed / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4], "each step is logged once, also across the interruption"


def test_augmentation_changes_what_the_discriminator_learns(tmp_path: Path) -> None:
    """--augment is wired through: the same seed with and without it ends in different weights, and
    the runs without it draw what they always drew (the generator, trained on un-augmented losses
    from the same z, starts to differ only through D)."""
    runs = {}
    for name, augment in (("plain", ()), ("again", ()), ("augment", ("translation", "cutout"))):
        fit(translation_task(tiny_config(augment=augment)), tiny_dataset(), tmp_path / name, progress=False)
        runs[name] = full_state(tmp_path / name)
    assert_identical_runs(runs["plain"], runs["again"])
    d_plain, d_aug = runs["plain"]["networks"]["discriminator"], runs["augment"]["networks"]["discriminator"]
    assert not same_state(d_plain, d_aug)


def test_resume_refuses_a_different_configuration(tmp_path: Path) -> None:
    fit(translation_task(tiny_config()), tiny_dataset(), tmp_path, progress=False, stop_at_step=2)
    other = tiny_config(lambda_rec=5.0)
    with pytest.raises(ValueError, match="different configuration.*lambda_rec"):
        fit(translation_task(other), tiny_dataset(), tmp_path, progress=False)


def test_a_run_written_before_a_config_field_existed_resumes(tmp_path: Path) -> None:
    """An older version's checkpoint lacks newer TrainConfig fields: they read as their defaults."""
    fit(translation_task(tiny_config()), tiny_dataset(), tmp_path, progress=False, stop_at_step=2)
    path = list_checkpoints(tmp_path)[-1][1]
    state = torch.load(path, weights_only=True)
    del state["config"]["compile"], state["config"]["tf32"]
    torch.save(state, path)
    assert fit(translation_task(tiny_config()), tiny_dataset(), tmp_path, progress=False).complete


def test_rerunning_a_finished_run_only_keeps_its_export(tmp_path: Path) -> None:
    config = tiny_config()
    fit(translation_task(config), tiny_dataset(), tmp_path, progress=False)
    stamp = (tmp_path / "export" / "generator.safetensors").stat().st_mtime_ns
    result = fit(translation_task(config), tiny_dataset(), tmp_path, progress=False)
    assert result.complete and result.export == tmp_path / "export"
    assert (tmp_path / "export" / "generator.safetensors").stat().st_mtime_ns == stamp


# ---- non-finite losses --------------------------------------------------------------------------


class PoisonAfter(Dataset):
    """Returns NaN images once `clean` items have been read (steps after that see NaN data)."""

    def __init__(self, base: TensorDataset, clean: int) -> None:
        self.base, self.clean, self.reads = base, clean, 0

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int):
        self.reads += 1
        x, y = self.base[i]
        return (torch.full_like(x, float("nan")) if self.reads > self.clean else x), y


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    config = tiny_config(checkpoint_every=1)
    # 2 fixed sample inputs, then steps 1-2 read 4 real + 4 source images each; step 3 sees NaN
    data = PoisonAfter(tiny_dataset(), clean=2 + 2 * 8)
    with pytest.raises(NonFiniteLossError, match=r"at step 3 .*state-000000002\.pt"):
        fit(translation_task(config), data, tmp_path, progress=False)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [1, 2]
    state = full_state(tmp_path)
    assert all(
        torch.isfinite(v).all() for net in state["networks"].values() for v in net.values() if v.is_floating_point()
    )
    assert not (tmp_path / "export").exists()


# ---- precision and memory-format paths ----------------------------------------------------------


def test_bf16_autocast_and_channels_last_run_on_cpu(tmp_path: Path) -> None:
    config = tiny_config(amp="bf16", channels_last=True)
    task = translation_task(config)
    before = snapshot(task.networks)
    result = fit(task, tiny_dataset(), tmp_path, progress=False)
    assert result.complete
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert all(isinstance(r["G/rec"], float) and r["G/rec"] == r["G/rec"] for r in records)
    assert not any("G/grad_scale" in r for r in records)  # no GradScaler outside fp16
    for name in ("generator", "adaptors", "discriminator"):
        assert changed_params(before[name], task.networks[name])
        assert all(p.dtype == torch.float32 for p in task.networks[name].parameters())


def test_fp16_logs_each_sides_grad_scale_so_skipped_steps_show(tmp_path: Path) -> None:
    """GradScaler skips a step whose fp16 gradients overflow and halves its scale; the logged scale
    is how a user sees that (this tiny run overflows at every step, as its falling scale shows)."""
    fit(translation_task(tiny_config(amp="fp16")), tiny_dataset(), tmp_path, device="cpu", progress=False)
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    for side in ("D", "G"):
        scales = [r[f"{side}/grad_scale"] for r in records]
        assert all(0 < s <= 2**16 and math.log2(s).is_integer() for s in scales), scales
        assert scales[-1] < scales[0], scales


def test_library_entry_points_write_a_complete_run(tmp_path: Path) -> None:
    """pretrain -> train through the library with an in-memory dataset; the run folder has everything."""
    pre = pretrain(tiny_dataset(), tmp_path / "pre", tiny_config("pretrain"), progress=False)
    run = train(tiny_dataset(), tmp_path / "i2i", tiny_config(), source=pre.export, progress=False)
    for path in ("config.json", "log.jsonl", "export/config.json", "samples/step-000000004.png"):
        assert (tmp_path / "i2i" / path).is_file(), path
    meta = json.loads((tmp_path / "i2i" / "config.json").read_text())
    assert meta["format"] == "deepi2i-run" and meta["config"]["task"] == "translate"
    assert meta["source"].endswith("pre/export")
    assert run.complete


def test_sample_grids_label_their_columns(tmp_path: Path) -> None:
    """Translation grids: an input column, then one column per fixed class, headed by its name;
    pretraining grids: one labelled column per class, one row per fixed z."""
    import numpy as np
    from PIL import Image

    from deepi2i.visualize import header_height

    names = ("disc", "bar", "box")
    for task_kind in ("translate", "pretrain"):
        config = tiny_config(task_kind, n_sample_inputs=2, n_sample_classes=3)
        config = dataclasses.replace(config, model=dataclasses.replace(config.model, class_names=names))
        task = translation_task(config) if task_kind == "translate" else PretrainTask(config)
        run = tmp_path / task_kind
        fit(task, tiny_dataset(), run, progress=False, stop_at_step=1)
        grid = np.asarray(Image.open(run / "samples" / "step-000000000.png").convert("RGB"))
        cols = 4 if task_kind == "translate" else 3
        rows = 2 if task_kind == "translate" else config.n_sample_inputs
        assert grid.shape == (header_height() + 2 + rows * 34, 2 + cols * 34, 3)
        header = grid[: header_height()]
        assert (header < 128).any(), "the column headers carry text"
        assert (header.reshape(-1, 3) == 255).all(axis=1).mean() > 0.5, "on a white band"
