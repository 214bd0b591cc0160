"""Pieces of training: schedule, data streams, configs, EMA, ortho regularisation, transfer, loss wiring."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepi2i import losses
from deepi2i.config import tiny
from deepi2i.networks.biggan import BigGAN
from deepi2i.networks.layers import BatchNorm, ConditionalBatchNorm
from deepi2i.training import (
    EMA,
    Batch,
    PretrainObjective,
    Schedule,
    TrainingNetworks,
    TranslationObjective,
    TranslationTask,
    parse_class_map,
    resolve_transfer_config,
)
from deepi2i.training.config import PhaseConfig, TrainConfig, train_preset
from deepi2i.training.distributed import convert_cross_replica_bn
from deepi2i.training.regularizers import add_ortho_grad_
from deepi2i.training.stream import IndexStream, StepBatches

from .test_train_loop import N_CLASSES, tiny_config, tiny_source

# ---- schedule and configs ---------------------------------------------------------------------


def test_schedule_turns_kimg_into_step_ranges() -> None:
    phases = (
        PhaseConfig("a", 0.5, ("adaptors",)),
        PhaseConfig("b", 1.0, ("generator",)),
        PhaseConfig("c", 0, ("encoder",)),
    )
    s = Schedule.build(phases, batch_size=32)
    assert [(p.start, p.end) for p in s.phases] == [(0, 16), (16, 47), (47, 47)]
    assert s.total_steps == 47
    assert s.phase_at(0).name == "a" and s.phase_at(15).name == "a" and s.phase_at(16).name == "b"
    assert s.trained_networks() == ("adaptors", "generator")  # an empty phase trains nothing
    with pytest.raises(IndexError):
        s.phase_at(47)


def test_train_config_round_trips_through_json() -> None:
    for name in ("paper128", "shapes64", "tiny"):
        for task in ("pretrain", "translate"):
            c = train_preset(name, task, n_classes=5)
            assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    c = dataclasses.replace(tiny_config(), rec_weights={16: 0.5, 8: 0.25}, class_rows=(2, 0, 1))
    assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_paper_defaults() -> None:
    c = train_preset("paper128", "translate", n_classes=149)
    assert (c.batch_size, c.lr_generator, c.lr_encoder, c.lr_adaptors, c.lr_discriminator) == (
        32,
        1e-4,
        4e-4,
        4e-4,
        4e-4,
    )
    assert c.betas == (0.0, 0.999) and c.adam_eps == 1e-6 and c.adv_loss == "hinge" and c.rec_distance == "l1"
    assert c.reconstruction_weights() == {32: 0.01, 16: 0.1, 8: 0.1, 4: 0.1}
    assert [p.train for p in c.phases] == [("adaptors", "discriminator"), ("generator", "adaptors", "discriminator")]
    assert c.phases[0].kimg == 16.0  # 500 steps of 32, as the official code
    assert c.transfer == ("encoder", "generator", "discriminator")
    shapes = train_preset("shapes64", "translate", n_classes=10)
    assert shapes.model.resolution == 64 and shapes.model.pyramid_levels == (32, 16, 8, 4)


def test_partial_transfer_trains_the_random_networks_in_every_phase() -> None:
    c = train_preset("tiny", "translate", n_classes=3, transfer=("generator", "discriminator"))
    assert all("encoder" in p.train for p in c.phases)
    assert "generator" not in c.phases[0].train


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"adv_loss": "wgan"}, "adv_loss"),
        ({"amp": "fp8"}, "amp"),
        ({"batch_size": 6, "accumulation": 4}, "multiple of accumulation"),
        ({"phases": ()}, "at least one phase"),
        ({"class_rows": (0, 1)}, "class_rows"),
        ({"transfer": ("adaptors",)}, "transfer"),
        ({"lambda_color": -1.0}, "lambda_color"),
        ({"color_grid": 0}, "color_grid"),
        ({"color_term": "histogram"}, "color_term"),
        ({"lambda_class": -0.5}, "lambda_class"),
        (
            {
                "lambda_class": 1.0,
                "task": "pretrain",
                "phases": (PhaseConfig("p", 1.0, ("generator", "discriminator")),),
            },
            "pretraining has no class term",
        ),
    ],
)
def test_train_config_rejects_bad_settings(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(tiny_config(), **changes)
    with pytest.raises(ValueError, match="unknown networks"):
        PhaseConfig("x", 1.0, ("critic",))


# ---- data order ------------------------------------------------------------------------------


def test_data_order_is_a_pure_function_of_seed_and_position() -> None:
    a, b = IndexStream(10, seed=3, stream=0), IndexStream(10, seed=3, stream=0)
    first = a.take(0, 25)
    assert b.take(17, 8) == first[17:]  # any position, no history needed
    for epoch in range(2):
        assert sorted(first[10 * epoch : 10 * epoch + 10]) == list(range(10))  # every epoch a permutation
    assert first[:10] != first[10:20]
    assert IndexStream(10, seed=4, stream=0).take(0, 10) != first[:10]
    assert IndexStream(10, seed=3, stream=1).take(0, 10) != first[:10]


def test_replicas_take_contiguous_slices_of_the_global_batch() -> None:
    stream = IndexStream(7, seed=0, stream=0)
    whole = iter(StepBatches(stream, 4, rank=0, world=1, start_step=3))
    parts = [iter(StepBatches(stream, 4, rank=r, world=2, start_step=3)) for r in range(2)]
    for _ in range(3):
        assert next(whole) == next(parts[0]) + next(parts[1])


# ---- EMA, ortho regularisation, cross-replica BN ---------------------------------------------------


def test_ema_follows_biggan_pytorch() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    ema = EMA(net, decay=0.9)
    old = {k: v.clone() for k, v in ema.state_dict().items()}
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
        net[1].running_mean.add_(2.0)
    net[1].num_batches_tracked.add_(5)
    ema.update(net)
    new = net.state_dict()
    for k, v in ema.state_dict().items():
        if v.is_floating_point():
            torch.testing.assert_close(v, 0.9 * old[k] + 0.1 * new[k])  # buffers averaged too
        else:
            assert torch.equal(v, new[k])
    ema.update(net, decay=0.0)
    assert all(torch.equal(v, new[k]) for k, v in ema.state_dict().items())
    assert not any(p.requires_grad for p in ema.module.parameters())


def test_ortho_gradient_matches_biggan_and_skips_the_embedding() -> None:
    lin = nn.Linear(3, 2, bias=True)
    emb = nn.Embedding(4, 3)
    net = nn.ModuleDict({"lin": lin, "emb": emb})
    w = torch.tensor([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]])
    with torch.no_grad():
        lin.weight.copy_(w)
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    add_ortho_grad_(net, 1e-4, skip=emb.parameters())
    expected = 2 * ((w @ w.t()) * (1 - torch.eye(2))) @ w
    torch.testing.assert_close(lin.weight.grad, 1e-4 * expected)
    assert torch.count_nonzero(lin.bias.grad) == 0  # 1-D parameters are not regularised
    assert torch.count_nonzero(emb.weight.grad) == 0


def test_cross_replica_bn_is_plain_bn_in_one_process_and_keeps_keys() -> None:
    torch.manual_seed(0)
    net = nn.ModuleDict({"cbn": ConditionalBatchNorm(4, 6), "bn": BatchNorm(4)})
    keys = list(net.state_dict())
    x, cond = torch.randn(5, 4, 3, 3), torch.randn(5, 6)
    ref = (net["cbn"](x, cond), net["bn"](x))
    ref_stats = {k: v.clone() for k, v in net.state_dict().items()}
    torch.manual_seed(0)
    net2 = nn.ModuleDict({"cbn": ConditionalBatchNorm(4, 6), "bn": BatchNorm(4)})
    assert convert_cross_replica_bn(net2) == 2
    assert list(net2.state_dict()) == keys
    out = (net2["cbn"](x, cond), net2["bn"](x))
    for a, b in zip(ref, out, strict=True):
        assert torch.equal(a, b)
    assert all(torch.equal(v, ref_stats[k]) for k, v in net2.state_dict().items())


# ---- transfer ------------------------------------------------------------------------------------


def test_class_maps() -> None:
    names = ["cat", "dog", "fox"]
    assert parse_class_map(None, names, None, 10) == (0, 1, 2)
    assert parse_class_map("offset:151", names, None, 1000) == (151, 152, 153)
    assert parse_class_map("names", names, ["ant", "fox", "cat", "dog"], 4) == (2, 3, 1)
    assert parse_class_map("7,0,3", names, None, 8) == (7, 0, 3)
    with pytest.raises(ValueError, match="outside the source"):
        parse_class_map("offset:8", names, None, 10)
    with pytest.raises(ValueError, match="not source classes"):
        parse_class_map("names", names, ["cat", "dog"], 2)
    with pytest.raises(ValueError, match="2 rows for 3"):
        parse_class_map("1,2", names, None, 8)


def test_transfer_copies_chosen_class_rows_and_the_encoder_from_d() -> None:
    """5 source classes -> 3 target classes starting from rows (4, 0, 2) in G.shared and D.embed."""
    src_config = dataclasses.replace(train_preset("tiny", "translate", n_classes=5))
    source = tiny_source(src_config)
    config = dataclasses.replace(tiny_config(), class_rows=(4, 0, 2))
    config = resolve_transfer_config(config, source)
    assert config.model.n_classes == N_CLASSES
    task = TranslationTask(config, source)
    rows = torch.tensor([4, 0, 2])
    g, d, e = task.networks["generator"], task.networks["discriminator"], task.networks["encoder"]
    assert torch.equal(g.shared.weight, source.generator.shared.weight[rows])
    assert torch.equal(d.embed.weight, source.discriminator.embed.weight[rows])
    torch.testing.assert_close(d.embed.u0, F.normalize(source.discriminator.embed.u0[:, rows]))
    assert torch.equal(g.linear.weight, source.generator.linear.weight)
    src_d = source.discriminator.state_dict()
    for k, v in e.state_dict().items():
        assert torch.equal(v, src_d[k]), k  # the encoder is the source D's trunk, buffers included


def test_transfer_from_a_biggan_pytorch_folder_with_1000_classes(biggan_dir: Path) -> None:
    from deepi2i.convert import load_biggan

    source = load_biggan(biggan_dir)
    config = train_preset("paper128", "translate", n_classes=3, class_names=["a", "b", "c"])
    config = dataclasses.replace(resolve_transfer_config(config, source), class_rows=(151, 152, 153))
    assert config.model.generator.ch == source.config.generator.ch == 8
    task = TranslationTask(config, source)
    assert torch.equal(task.networks["generator"].shared.weight, source.generator.shared.weight[151:154])
    assert torch.equal(task.networks["generator"].output_layer[2].weight, source.generator.output_layer[2].weight)


def test_a_preset_for_another_resolution_is_refused() -> None:
    source = tiny_source(tiny_config())
    with pytest.raises(ValueError, match="32 px BigGAN but the preset is for 64 px"):
        resolve_transfer_config(train_preset("shapes64", "translate", n_classes=3), source)


# ---- how the objectives combine the loss terms (hand-made networks) ------------------------------


class Identity(nn.Module):
    def forward(self, x):
        return x


class HandEncoder(nn.Module):
    """{8: x}, so the adaptors see the raw input."""

    def forward(self, x: Tensor) -> dict[int, Tensor]:
        return {8: x}


class HandAdaptors(nn.Module):
    def forward(self, feats: dict[int, Tensor]) -> dict[int, Tensor]:
        return {r: 2.0 * f for r, f in feats.items()}  # x 2, then w = 0.5: skip == x_src exactly


class HandGenerator(nn.Module):
    """x_fake = skip + z[:, :1] * offset: equals x_src exactly when z = 0."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = nn.Parameter(torch.tensor(1.0))

    def forward(self, z: Tensor, y: Tensor, *, skips: dict[int, Tensor]) -> Tensor:
        return skips[8] + z[:, :1, None, None] * self.offset


class HandDiscriminator(nn.Module):
    """logits = mean pixel + class index (y=None: every class of 3); features {8: x, 4: 2x}."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, x: Tensor, y: Tensor | None) -> Tensor:
        classes = torch.arange(3.0) if y is None else y.float()
        m = self.scale * x.mean(dim=(1, 2, 3))
        return m[:, None] + classes if y is None else m + classes

    def features(self, x: Tensor, y: Tensor, levels, relu_last_tap: bool = True):
        return self(x, y), {8: x, 4: 2 * x}


def _hand_nets() -> TrainingNetworks:
    return TrainingNetworks(
        {
            "encoder": HandEncoder(),
            "adaptors": HandAdaptors(),
            "generator": HandGenerator(),
            "discriminator": HandDiscriminator(),
        }
    )


def _objective(**kw) -> TranslationObjective:
    model = dataclasses.replace(tiny(32, 4, 3), levels=(16, 8), adaptor_weights=0.5)
    return TranslationObjective(model=model, rec_weights={8: 0.5, 4: 0.25}, **kw)


def _batch(z_scale: float) -> Batch:
    g = torch.Generator().manual_seed(0)
    x_src = torch.randn(4, 3, 2, 2, generator=g)
    z = torch.zeros(4, 20)
    z[:, 0] = z_scale * torch.tensor([1.0, -2.0, 3.0, 0.5])
    return Batch(
        x_real=torch.randn(4, 3, 2, 2, generator=g),
        y_real=torch.tensor([0, 1, 2, 0]),
        y_d=torch.tensor([1, 1, 0, 2]),
        z_d=z,
        y_g=torch.tensor([2, 0, 1, 1]),
        z_g=z,
        x_src=x_src,
        y_src=torch.tensor([0, 0, 1, 2]),
    )


def test_reconstruction_pairs_each_translation_with_its_own_input() -> None:
    """x_fake == x_src per sample gives rec == 0, although the inputs differ from each other."""
    obj = _objective(lambda_rec=3.0)
    b = _batch(z_scale=0.0)
    loss, logs = obj.g_loss(_hand_nets(), b)
    assert logs["G/rec"] == 0.0
    assert not torch.equal(b.x_src[0], b.x_src[1])
    torch.testing.assert_close(loss, -(b.x_src.mean(dim=(1, 2, 3)) + b.y_g.float()).mean())


def test_generator_side_loss_is_lambda_adv_adv_plus_lambda_rec_rec() -> None:
    obj = _objective(lambda_adv=0.5, lambda_rec=3.0, rec_distance="l1")
    b = _batch(z_scale=1.0)
    loss, logs = obj.g_loss(_hand_nets(), b)
    x_fake = b.x_src + b.z_g[:, :1, None, None]
    adv = -(x_fake.mean(dim=(1, 2, 3)) + b.y_g.float()).mean()
    rec = 0.5 * (x_fake - b.x_src).abs().mean() + 0.25 * (2 * x_fake - 2 * b.x_src).abs().mean()
    torch.testing.assert_close(logs["G/adv"], adv)
    torch.testing.assert_close(logs["G/rec"], rec)
    torch.testing.assert_close(loss, 0.5 * adv + 3.0 * rec)
    mse = _objective(rec_distance="mse").g_loss(_hand_nets(), b)[1]["G/rec"]
    torch.testing.assert_close(
        mse, 0.5 * ((x_fake - b.x_src) ** 2).mean() + 0.25 * ((2 * x_fake - 2 * b.x_src) ** 2).mean()
    )


def test_colour_term_is_added_only_when_asked_for() -> None:
    b = _batch(z_scale=1.0)
    plain_loss, plain = _objective().g_loss(_hand_nets(), b)
    assert "G/color" not in plain  # the paper's objective: no colour term, no log entry
    loss, logs = _objective(lambda_color=2.0, color_grid=1).g_loss(_hand_nets(), b)
    x_fake = b.x_src + b.z_g[:, :1, None, None]
    color = (x_fake.mean(dim=(2, 3)) - b.x_src.mean(dim=(2, 3))).abs().mean()
    torch.testing.assert_close(logs["G/color"], color)
    torch.testing.assert_close(loss, plain_loss + 2.0 * color)
    loss, logs = _objective(lambda_color=2.0, color_term="palette").g_loss(_hand_nets(), b)
    palette = losses.palette_loss(x_fake, b.x_src)
    assert palette > 0
    torch.testing.assert_close(logs["G/color"], palette)
    torch.testing.assert_close(loss, plain_loss + 2.0 * palette)


def test_class_term_is_added_only_when_asked_for_on_real_images_and_translations() -> None:
    """λ_class · CE of D's every-class logits: on the real images in the D step (not on the fakes, whose
    classes D must not learn), on the translations toward y_g in the G step."""
    b = _batch(z_scale=1.0)
    nll = -torch.log_softmax(torch.arange(3.0), 0)  # the hand D's logits are (m, m + 1, m + 2) for any image
    plain_g, plain_g_logs = _objective().g_loss(_hand_nets(), b)
    plain_d, plain_d_logs = _objective().d_loss(_hand_nets(), b)
    assert "G/class" not in plain_g_logs and "D/class" not in plain_d_logs  # the paper's objective
    g, g_logs = _objective(lambda_class=2.0).g_loss(_hand_nets(), b)
    d, d_logs = _objective(lambda_class=2.0).d_loss(_hand_nets(), b)
    torch.testing.assert_close(g_logs["G/class"], nll[b.y_g].mean())
    torch.testing.assert_close(g, plain_g + 2.0 * nll[b.y_g].mean())
    torch.testing.assert_close(g_logs["G/adv"], plain_g_logs["G/adv"])  # L_adv reads the target's logit
    torch.testing.assert_close(d_logs["D/class"], nll[b.y_real].mean())
    torch.testing.assert_close(d, plain_d + 2.0 * nll[b.y_real].mean())
    assert not torch.isclose(nll[b.y_real].mean(), nll[torch.cat([b.y_real, b.y_d])].mean())


@pytest.mark.parametrize("kind", ["hinge", "log"])
def test_discriminator_loss_on_real_and_detached_translations(kind: str) -> None:
    nets = _hand_nets()
    b = _batch(z_scale=1.0)
    loss, logs = _objective(adv_loss=kind).d_loss(nets, b)
    x_fake = b.x_src + b.z_d[:, :1, None, None]
    real = b.x_real.mean(dim=(1, 2, 3)) + b.y_real.float()
    fake = x_fake.mean(dim=(1, 2, 3)) + b.y_d.float()
    torch.testing.assert_close(loss, losses.d_loss(real, fake, kind))
    loss.backward()
    assert nets["generator"].offset.grad is None  # translations are made without gradients in the D step
    assert nets["discriminator"].scale.grad is not None


def test_pretrain_objective() -> None:
    class G(nn.Module):
        def forward(self, z, y):
            return z[:, :12].reshape(-1, 3, 2, 2)

    nets = TrainingNetworks({"generator": G(), "discriminator": HandDiscriminator()})
    b = _batch(1.0)
    loss, _ = PretrainObjective("hinge").g_loss(nets, b)
    torch.testing.assert_close(loss, -(b.z_g[:, :12].mean(dim=1) + b.y_g.float()).mean())


def test_micro_batches_keep_sample_order() -> None:
    b = _batch(1.0)
    parts = b.split(2)
    assert torch.equal(torch.cat([p.x_src for p in parts]), b.x_src)
    assert torch.equal(torch.cat([p.y_g for p in parts]), b.y_g)


def test_biggan_source_export_round_trip(tmp_path: Path) -> None:
    """A pretraining export is a transfer source: load_biggan reads it back."""
    from deepi2i.convert import load_biggan

    source = tiny_source(tiny_config())
    source.save_pretrained(tmp_path)
    again = load_biggan(tmp_path)
    assert isinstance(again, BigGAN)
    assert torch.equal(again.generator.shared.weight, source.generator.shared.weight)
