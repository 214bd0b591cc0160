"""Shapes, gradients, determinism and the paper's architectural variants on tiny configs."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from deepi2i.config import (
    DeepI2IConfig,
    DiscriminatorConfig,
    GeneratorConfig,
    default_levels,
    paper128,
    tiny,
)
from deepi2i.networks import DeepI2I, Discriminator, Generator
from deepi2i.networks.deepi2i import sample_z


@pytest.mark.parametrize(
    "resolution,levels",
    [(32, (8,)), (64, (16, 8, 4)), (128, (32, 16, 8, 4)), (256, (64, 32, 16, 8, 4))],
)
def test_shapes_and_levels_at_every_resolution(resolution, levels):
    torch.manual_seed(0)
    config = tiny(resolution=resolution, ch=1, n_classes=3)
    assert config.pyramid_levels == levels
    model = DeepI2I(config).eval()
    x = torch.rand(2, 3, resolution, resolution) * 2 - 1
    y = torch.tensor([0, 2])
    feats = model.encoder(x)
    assert sorted(feats) == sorted(levels)
    for r, f in feats.items():
        assert f.shape[-2:] == (r, r)
        assert model.adaptors(feats)[r].shape[1] == config.generator.channels_at(r)
    out = model.translate(x, y)
    assert out.shape == (2, 3, resolution, resolution)
    assert out.abs().max() <= 1
    assert model.discriminator(x, y).shape == (2,)


def test_paper_config_matches_appendix_a():
    """Appendix A: encoder taps 32x32x192, 16x16x384, 8x8x768, 4x4x1536 -> adaptors to G's channels."""
    c = paper128()
    assert c.pyramid_levels == (32, 16, 8, 4)
    enc = {r: c.encoder.out_channels[c.encoder.tap_block(r)] for r in c.pyramid_levels}
    gen = {r: c.generator.channels_at(r) for r in c.pyramid_levels}
    assert enc == {32: 192, 16: 384, 8: 768, 4: 1536}
    assert gen == {32: 384, 16: 768, 8: 1536, 4: 1536}
    assert [c.encoder.tap_block(r) for r in c.pyramid_levels] == [1, 2, 3, 5]
    assert c.generator.dim_z_used == 120


def test_256px_rounds_dim_z_like_biggan():
    assert GeneratorConfig(resolution=256).dim_z_used == 119  # 7 chunks of 17


def test_every_trainable_parameter_receives_a_gradient():
    torch.manual_seed(0)
    model = DeepI2I(tiny(resolution=32, ch=4, n_classes=3, attention=(16,)))
    for m in model.modules():  # attention starts at gamma = 0, which zeroes its branch's gradients
        if hasattr(m, "gamma"):
            torch.nn.init.constant_(m.gamma, 0.5)
    assert sum(1 for m in model.modules() if hasattr(m, "gamma")) == 3  # G, D and encoder attention
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.tensor([0, 1])
    x_fake = model(x, y)
    logits = model.discriminator(x_fake, y)
    (logits.sum() + x_fake.square().mean()).backward()
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum())]
    assert no_grad == []


def test_same_seed_same_model_and_outputs():
    def run() -> torch.Tensor:
        torch.manual_seed(123)
        model = DeepI2I(tiny()).eval()
        g = torch.Generator().manual_seed(7)
        return model.translate(torch.zeros(2, 3, 32, 32), 1, generator=g)

    assert torch.equal(run(), run())


def test_truncation_bounds_z_and_different_z_differ():
    g = torch.Generator().manual_seed(0)
    z = sample_z(1000, 20, truncation=0.5, generator=g)
    assert z.abs().max() <= 0.5
    model = DeepI2I(tiny()).eval()
    x = torch.zeros(1, 3, 32, 32)
    assert not torch.equal(model.translate(x, 0), model.translate(x, 0))
    with pytest.raises(ValueError, match="truncation"):
        sample_z(2, 20, truncation=0)


def test_translate_rejects_bad_classes():
    model = DeepI2I(tiny(n_classes=3)).eval()
    with pytest.raises(ValueError, match=r"class indices must be in \[0, 3\)"):
        model.translate(torch.zeros(1, 3, 32, 32), 3)
    with pytest.raises(ValueError, match="one class or one per input"):
        model.translate(torch.zeros(2, 3, 32, 32), torch.tensor([0, 1, 2]))


def test_wrong_image_size_is_a_clear_error():
    model = DeepI2I(tiny())
    with pytest.raises(ValueError, match=r"expected images \[B, 3, 32, 32\]"):
        model.encoder(torch.zeros(1, 3, 64, 64))


def test_level_subset_is_the_w3_ablation():
    """DeepI2I (w-3): only one adaptor; the generator receives nothing at the other levels."""
    base = tiny(resolution=64, ch=2)
    model = DeepI2I(dataclasses.replace(base, levels=(8,)))
    assert list(model.adaptors.level) == ["8"]
    skips = model.skips(torch.zeros(1, 3, 64, 64))
    assert list(skips) == [8]


def test_adaptor_weights_scale_the_skips():
    torch.manual_seed(0)
    base = tiny(resolution=64, ch=2)
    model = DeepI2I(dataclasses.replace(base, adaptor_weights={16: 1.0, 8: 0.5, 4: 0.0})).eval()
    x = torch.rand(1, 3, 64, 64)
    adapted = model.adaptors(model.encoder(x))
    skips = model.skips(x)
    assert torch.equal(skips[16], adapted[16])
    assert torch.allclose(skips[8], 0.5 * adapted[8])
    assert not skips[4].any()


def test_no_adaptor_variant_repeats_channels():
    """†DeepI2I: encoder features added directly, channels duplicated to the generator's width."""
    model = DeepI2I(dataclasses.replace(tiny(resolution=64, ch=2), use_adaptors=False)).eval()
    assert sum(p.numel() for p in model.adaptors.parameters()) == 0
    x = torch.rand(1, 3, 64, 64)
    feats = model.encoder(x)
    adapted = model.adaptors(feats)
    for r, f in feats.items():
        k = model.config.generator.channels_at(r) // f.shape[1]
        assert adapted[r].shape[1] == model.config.generator.channels_at(r)
        assert torch.equal(adapted[r], torch.cat([f] * k, dim=1))


def test_relu_last_tap_can_be_turned_off():
    torch.manual_seed(0)
    on = DeepI2I(tiny(resolution=64, ch=2)).eval()
    off = DeepI2I(dataclasses.replace(on.config, relu_last_tap=False)).eval()
    off.load_state_dict(on.state_dict())
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    f_on, f_off = on.encoder(x), off.encoder(x)
    assert torch.equal(f_on[4], f_off[4].clamp(min=0))
    assert (f_off[4] < 0).any()
    assert torch.equal(f_on[8], f_off[8])  # only the final block's tap is affected


def test_generator_accepts_an_embedding_instead_of_classes():
    torch.manual_seed(0)
    g = Generator(tiny().generator).eval()
    z = torch.randn(2, g.config.dim_z_used)
    y = torch.tensor([0, 2])
    assert torch.equal(g(z, y), g(z, embed=g.shared(y)))
    with pytest.raises(ValueError, match="exactly one"):
        g(z)


def test_custom_channel_chain_for_small_presets():
    g = GeneratorConfig(resolution=64, ch=4, n_classes=3, attention=(), channel_chain=(8, 8, 4, 2, 1))
    d = DiscriminatorConfig(resolution=64, ch=4, n_classes=3, attention=(), channel_chain=(1, 2, 4, 8, 8))
    config = DeepI2IConfig(generator=g, discriminator=d, encoder=d, levels=(32, 16, 8, 4))
    model = DeepI2I(config).eval()
    assert model.generator.blocks[0][0].conv1.weight.shape == (32, 32, 3, 3)
    assert model.translate(torch.zeros(1, 3, 64, 64), 0).shape == (1, 3, 64, 64)
    with pytest.raises(ValueError, match="channel_chain needs 5 entries"):
        GeneratorConfig(resolution=64, channel_chain=(1, 2))


def test_config_errors_teach():
    with pytest.raises(ValueError, match="choose one of"):
        GeneratorConfig(resolution=100)
    with pytest.raises(ValueError, match="no 32 px feature"):
        DeepI2IConfig(
            generator=GeneratorConfig(resolution=32, ch=1, attention=()),
            discriminator=DiscriminatorConfig(resolution=32, ch=1, attention=()),
            encoder=DiscriminatorConfig(resolution=32, ch=1, attention=()),
            levels=(32,),
        )


def test_config_json_round_trip():
    config = dataclasses.replace(
        paper128(n_classes=3, class_names=["a", "b", "c"]), adaptor_weights={32: 1.0, 16: 1.0, 8: 1.0, 4: 0.1}
    )
    import json

    again = DeepI2IConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    with pytest.raises(ValueError, match="unknown DeepI2IConfig fields"):
        DeepI2IConfig.from_dict({**config.to_dict(), "typo": 1})


def test_default_levels_rule():
    c = tiny(resolution=32, ch=1)
    assert default_levels(c.generator, c.encoder) == (8,)  # the 32 px D has no 4x4 block


def test_discriminator_feature_pyramid_matches_encoder_with_same_weights():
    torch.manual_seed(0)
    model = DeepI2I(tiny(resolution=64, ch=2)).eval()
    model.encoder.load_state_dict(
        {k: v for k, v in model.discriminator.state_dict().items() if k.startswith("blocks.")}
    )
    x, y = torch.rand(2, 3, 64, 64), torch.tensor([0, 1])
    _, feats = model.discriminator.features(x, y, model.config.pyramid_levels)
    enc = model.encoder(x)
    assert all(torch.equal(feats[r], enc[r]) for r in enc)
    assert isinstance(Discriminator(tiny().discriminator)(torch.zeros(1, 3, 32, 32), torch.tensor([0])), torch.Tensor)


def test_discriminator_scores_every_class_as_its_projection_does_one() -> None:
    """D(x, None)[:, c] == D(x, c): our class term reads the projection as a classifier over all classes."""
    torch.manual_seed(0)
    d = Discriminator(tiny(n_classes=5).discriminator).eval()
    x = torch.rand(3, 3, 32, 32)
    every = d(x, None)  # [3, 5]
    assert every.shape == (3, 5)
    for c in range(5):
        torch.testing.assert_close(every[:, c], d(x, torch.full((3,), c)))
    logits, feats = d.features(x, None, (16, 8))
    torch.testing.assert_close(logits, every)
    assert set(feats) == {16, 8}
    assert not torch.allclose(every[:, 0], every[:, 1])  # the classes are scored apart
