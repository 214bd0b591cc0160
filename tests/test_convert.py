"""Checkpoint import (BigGAN-PyTorch, official DeepI2I), architecture detection, our own exports."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import torch

from deepi2i.checkpoint import load_export
from deepi2i.cli import main
from deepi2i.config import BigGANConfig, DiscriminatorConfig, GeneratorConfig, tiny
from deepi2i.convert import (
    detect_discriminator_config,
    detect_generator_config,
    load_biggan,
    load_biggan_pytorch,
    load_deepi2i_official,
    read_state,
)
from deepi2i.networks import DeepI2I, Discriminator, Generator
from deepi2i.networks.biggan import BigGAN

from .conftest import REFERENCE


def released_keys() -> dict[str, list[tuple[str, tuple[int, ...]]]]:
    """The released 128 px ch 96 checkpoint's keys and shapes, in registration order."""
    rows: dict[str, list[tuple[str, tuple[int, ...]]]] = {"G.pth": [], "D.pth": []}
    for line in (REFERENCE / "biggan_pytorch_128_ch96_keys.tsv").read_text().splitlines():
        if line.startswith("#"):
            continue
        file, key, shape, _ = line.split("\t")
        rows[file].append((key, tuple(json.loads(shape))))
    return rows


def test_detects_the_released_128px_ch96_checkpoint_from_shapes_alone():
    keys = released_keys()
    g_meta = {k: torch.empty(s, device="meta") for k, s in keys["G.pth"]}
    d_meta = {k: torch.empty(s, device="meta") for k, s in keys["D.pth"]}
    g_config, d_config = detect_generator_config(g_meta), detect_discriminator_config(d_meta)
    assert g_config == GeneratorConfig()  # 128 px, ch 96, 1000 classes, attention 64, dim_z 120
    assert d_config == DiscriminatorConfig()
    with torch.device("meta"):
        g, d = Generator(g_config), Discriminator(d_config)
    # same keys, same shapes, same order as the released files
    assert [(k, tuple(v.shape)) for k, v in g.state_dict().items()] == keys["G.pth"]
    assert [(k, tuple(v.shape)) for k, v in d.state_dict().items()] == keys["D.pth"]


@pytest.mark.parametrize(
    "resolution,ch,n_classes,attention,d_attention",
    [(32, 2, 10, (16,), (16,)), (64, 1, 5, (), ()), (128, 2, 7, (32,), ()), (256, 2, 4, (), (8,))],
)
def test_detection_recovers_other_configurations(resolution, ch, n_classes, attention, d_attention):
    g_config = GeneratorConfig(resolution=resolution, ch=ch, n_classes=n_classes, attention=attention, dim_z=120)
    d_config = DiscriminatorConfig(resolution=resolution, ch=ch, n_classes=n_classes, attention=d_attention)
    with torch.device("meta"):
        g_state, d_state = Generator(g_config).state_dict(), Discriminator(d_config).state_dict()
    assert detect_generator_config(g_state) == dataclasses.replace(g_config, dim_z=g_config.dim_z_used)
    assert detect_discriminator_config(d_state) == d_config


def test_detection_of_a_custom_channel_chain():
    """A chain off BigGAN's tables is recovered as an equivalent (ch, channel_chain) pair."""
    g_config = GeneratorConfig(resolution=64, ch=4, n_classes=3, attention=(), channel_chain=(8, 8, 4, 2, 2))
    d_config = DiscriminatorConfig(resolution=64, ch=4, n_classes=3, attention=(), channel_chain=(1, 2, 4, 4, 4))
    with torch.device("meta"):
        g_state, d_state = Generator(g_config).state_dict(), Discriminator(d_config).state_dict()
        g_again = Generator(detect_generator_config(g_state)).state_dict()
        d_again = Discriminator(detect_discriminator_config(d_state)).state_dict()
    assert detect_generator_config(g_state).channel_chain is not None
    assert {k: v.shape for k, v in g_again.items()} == {k: v.shape for k, v in g_state.items()}
    assert {k: v.shape for k, v in d_again.items()} == {k: v.shape for k, v in d_state.items()}


def test_load_biggan_pytorch_then_overrides(biggan_dir):
    g, d = load_biggan_pytorch(biggan_dir)
    assert (g.config.resolution, g.config.ch, g.config.n_classes, g.config.attention) == (128, 8, 1000, (64,))
    assert (d.config.ch, d.config.attention) == (8, (64,))
    g2, _ = load_biggan_pytorch(biggan_dir, sn_eps=1e-8)
    assert g2.config.sn_eps == 1e-8
    with pytest.raises(ValueError, match="unknown override.s. sn_esp"):  # a typo is an error, not ignored
        load_biggan_pytorch(biggan_dir, sn_esp=1e-8)


def test_default_generator_is_g_ema_and_g_is_selectable(biggan_dir, biggan_vectors, tmp_path, caplog):
    z, y = biggan_vectors["z"], biggan_vectors["y"]
    g_default, _ = load_biggan_pytorch(biggan_dir)
    with torch.no_grad():
        assert torch.allclose(g_default.eval()(z, y), biggan_vectors["G_ema_eval"], atol=1e-4)
    only_g = tmp_path / "only_g"
    only_g.mkdir()
    for name in ("G.pth", "D.pth"):
        shutil.copy(biggan_dir / name, only_g / name)
    g_fallback, _ = load_biggan_pytorch(only_g)
    assert "no G_ema.pth" in caplog.text
    with torch.no_grad():
        assert torch.allclose(g_fallback.eval()(z, y), biggan_vectors["G_eval"], atol=1e-4)
    with pytest.raises(FileNotFoundError, match="G_ema.pth"):
        load_biggan_pytorch(only_g, generator_file="G_ema.pth")


def test_mismatch_lists_missing_unexpected_and_misshaped_keys(biggan_dir, tmp_path):
    state = read_state(biggan_dir / "G.pth")
    del state["blocks.0.0.conv1.bias"]
    state["extra.weight"] = torch.zeros(1)
    state["blocks.1.0.conv2.weight"] = torch.zeros(3, 3, 3, 3)
    shutil.copy(biggan_dir / "D.pth", tmp_path / "D.pth")
    torch.save(state, tmp_path / "G.pth")
    with pytest.raises(ValueError) as err:
        load_biggan_pytorch(tmp_path, generator_file="G.pth")
    message = str(err.value)
    assert "missing keys (1): blocks.0.0.conv1.bias" in message
    assert "unexpected keys (1): extra.weight" in message
    assert "mis-shaped keys (1): blocks.1.0.conv2.weight: file [3, 3, 3, 3]" in message


class _Payload:
    """Unpickling this runs code: the attack a weights_only loader must refuse."""

    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path(__import__('os').environ['PWNED']).write_text('ran')",))


def test_a_pickle_carrying_code_is_refused(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PWNED", str(marker))
    torch.save({"linear.weight": torch.zeros(1), "evil": _Payload()}, tmp_path / "D.pth")
    with pytest.raises(ValueError, match="refusing to load"):
        read_state(tmp_path / "D.pth")
    assert not marker.exists()


def test_official_folder_requires_its_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="needs G.pth, D.pth and A1.pth"):
        load_deepi2i_official(tmp_path)


def test_official_encoder_comes_from_e1_when_present(official_dir, official_vectors, tmp_path):
    folder = tmp_path / "with_e1"
    shutil.copytree(official_dir, folder)
    state = read_state(folder / "D.pth")
    state["blocks.0.0.conv1.bias"] = state["blocks.0.0.conv1.bias"] + 1.0
    torch.save(state, folder / "E1.pth")
    plain, with_e1 = load_deepi2i_official(official_dir), load_deepi2i_official(folder)
    assert torch.equal(with_e1.encoder.state_dict()["blocks.0.0.conv1.bias"], state["blocks.0.0.conv1.bias"])
    assert torch.equal(
        with_e1.discriminator.state_dict()["blocks.0.0.conv1.bias"],
        plain.discriminator.state_dict()["blocks.0.0.conv1.bias"],
    )


def test_deepi2i_export_round_trip_is_exact(official_dir, official_vectors, tmp_path):
    model = load_deepi2i_official(official_dir)
    model = DeepI2I(dataclasses.replace(model.config, class_names=tuple(f"c{i}" for i in range(1000)))).eval()
    model.load_state_dict(load_deepi2i_official(official_dir).state_dict())
    model.save_pretrained(tmp_path / "export")
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == [
        "adaptors.safetensors",
        "config.json",
        "discriminator.safetensors",
        "encoder.safetensors",
        "generator.safetensors",
    ]
    again = DeepI2I.from_pretrained(tmp_path / "export")
    assert not again.training
    assert again.config == model.config and again.class_names[3] == "c3"
    for (k, a), (k2, b) in zip(model.state_dict().items(), again.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(a, b)
    v = official_vectors
    with torch.no_grad():
        assert torch.equal(model(v["x_src"], v["y_trg"], v["z"]), again(v["x_src"], v["y_trg"], v["z"]))


def test_export_loading_is_strict_and_explains(tmp_path):
    model = DeepI2I(tiny())
    model.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="holds a DeepI2I export, not a BigGAN: .*deepi2i translate"):
        BigGAN.from_pretrained(tmp_path)
    source = BigGAN(BigGANConfig(generator=model.config.generator, discriminator=model.config.discriminator))
    source.save_pretrained(tmp_path / "source")
    with pytest.raises(ValueError, match=r"holds a BigGAN export, not a DeepI2I: .*deepi2i train --source"):
        DeepI2I.from_pretrained(tmp_path / "source")
    (tmp_path / "adaptors.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="adaptors.safetensors is missing"):
        DeepI2I.from_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["config"]["generator"]["ch"] = 8
    (tmp_path / "config.json").write_text(json.dumps(config))
    model.save_pretrained(tmp_path / "again")
    shutil.copy(tmp_path / "config.json", tmp_path / "again" / "config.json")
    with pytest.raises(ValueError, match="mis-shaped keys"):
        load_export(tmp_path / "again")


def test_biggan_pytorch_folder_is_not_an_export(biggan_dir):
    with pytest.raises(FileNotFoundError, match="deepi2i import-biggan"):
        DeepI2I.from_pretrained(biggan_dir)


def test_cli_import_biggan_writes_an_equivalent_export(biggan_dir, biggan_vectors, tmp_path, capsys):
    assert main(["import-biggan", str(biggan_dir), str(tmp_path / "src")]) == 0
    assert "wrote" in capsys.readouterr().out
    source = load_biggan(tmp_path / "src")
    assert isinstance(source, BigGAN) and source.config == BigGANConfig(
        generator=source.generator.config, discriminator=source.discriminator.config
    )
    with torch.no_grad():
        out = source.generator(biggan_vectors["z"], biggan_vectors["y"])
        logits = source.discriminator(biggan_vectors["x"], biggan_vectors["y"])
    assert (out - biggan_vectors["G_ema_eval"]).abs().max() <= 1e-4
    assert (logits - biggan_vectors["D_eval"][:, 0]).abs().max() <= 1e-4


def test_cli_import_biggan_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["import-biggan", str(tmp_path / "nope"), str(tmp_path / "out")]) == 2
    assert "is not a folder" in capsys.readouterr().err
