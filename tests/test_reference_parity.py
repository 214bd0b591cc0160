"""Our modules reproduce BigGAN-PyTorch and the official DeepI2I code on their own saved outputs."""

from __future__ import annotations

import pytest
import torch

from deepi2i.convert import load_biggan_pytorch, load_deepi2i_official
from deepi2i.losses import d_loss, g_loss, reconstruction_loss

from .conftest import unflatten

TOL = 1e-4


def max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return (a - b).abs().max().item()


@pytest.mark.parametrize("generator_file,key", [("G.pth", "G_eval"), ("G_ema.pth", "G_ema_eval")])
def test_generator_eval_matches_biggan_pytorch(biggan_dir, biggan_vectors, generator_file, key):
    g, _ = load_biggan_pytorch(biggan_dir, generator_file=generator_file)
    with torch.no_grad():
        out = g.eval()(biggan_vectors["z"], biggan_vectors["y"])
    assert max_err(out, biggan_vectors[key]) <= TOL


def test_discriminator_eval_matches_biggan_pytorch(biggan_dir, biggan_vectors):
    _, d = load_biggan_pytorch(biggan_dir)
    with torch.no_grad():
        logits = d.eval()(biggan_vectors["x"], biggan_vectors["y"])
    assert logits.shape == (4,)
    assert max_err(logits, biggan_vectors["D_eval"][:, 0]) <= TOL


def test_train_mode_outputs_and_buffer_updates_match(biggan_dir, biggan_vectors):
    """Train mode: batch statistics, and u0/sv0/stored_* written back exactly as BigGAN-PyTorch does."""
    g, d = load_biggan_pytorch(biggan_dir, generator_file="G.pth")
    g_before = {k: v.clone() for k, v in g.state_dict().items()}
    with torch.no_grad():
        g_out = g.train()(biggan_vectors["z"], biggan_vectors["y"])
        d_out = d.train()(biggan_vectors["x"], biggan_vectors["y"])
    assert max_err(g_out, biggan_vectors["G_train"]) <= TOL
    assert max_err(d_out, biggan_vectors["D_train"][:, 0]) <= TOL
    for name, net in (("G", g), ("D", d)):
        expected = {
            k[len(name) + 21 :]: v for k, v in biggan_vectors.items() if k.startswith(f"{name}_after_train_buffers.")
        }
        state = net.state_dict()
        assert len(expected) == sum(1 for k in state if k.endswith(("u0", "sv0", "stored_mean", "stored_var")))
        for key, value in expected.items():
            assert max_err(state[key], value) <= TOL, key
    # the buffers really moved: the comparison above is not vacuous
    assert not torch.allclose(g.state_dict()["blocks.0.0.bn1.stored_mean"], g_before["blocks.0.0.bn1.stored_mean"])


def test_eval_mode_leaves_buffers_alone(biggan_dir, biggan_vectors):
    g, _ = load_biggan_pytorch(biggan_dir)
    before = {k: v.clone() for k, v in g.state_dict().items()}
    with torch.no_grad():
        g.eval()(biggan_vectors["z"], biggan_vectors["y"])
    assert all(torch.equal(before[k], v) for k, v in g.state_dict().items())


def test_official_deepi2i_pipeline_matches(official_dir, official_vectors):
    v = official_vectors
    model = load_deepi2i_official(official_dir)
    assert model.config.pyramid_levels == (32, 16, 8, 4)
    with torch.no_grad():
        feats = model.encoder(v["x_src"])
        adapted = model.adaptors(feats)
        x_fake = model(v["x_src"], v["y_trg"], v["z"])
        logits, fake_feats = model.discriminator.features(x_fake, v["y_trg"], model.config.pyramid_levels)
    for r, expected in unflatten(v, "encoder_feats").items():
        assert max_err(feats[r], expected) <= TOL, r
    for r, expected in unflatten(v, "adaptor_feats").items():
        assert max_err(adapted[r], expected) <= TOL, r
    assert max_err(x_fake, v["G_out"]) <= TOL
    assert max_err(logits, v["D_fake_logits"][:, 0]) <= TOL
    for r, expected in unflatten(v, "D_fake_feats").items():
        assert max_err(fake_feats[r], expected) <= TOL, r
    assert fake_feats[4].min() >= 0  # the 4x4 tap is post-ReLU, as the in-place ReLU leaves it


def test_official_losses_match(official_dir, official_vectors):
    v = official_vectors
    model = load_deepi2i_official(official_dir)
    levels = model.config.pyramid_levels
    weights = {r: float(w) for r, w in unflatten(v, "rec_weights").items()}
    with torch.no_grad():
        real = model.discriminator(v["x_real"], v["y_real"])
        fake, fake_feats = model.discriminator.features(v["G_out"], v["y_trg"], levels)
        _, src_feats = model.discriminator.features(v["x_src"], v["y_src"], levels)
    # the discriminator's features of the input equal the encoder's (both are D.pth's trunk)
    for r, expected in unflatten(v, "encoder_feats").items():
        assert max_err(src_feats[r], expected) <= TOL
    assert abs(d_loss(real, fake).item() - v["loss_D_hinge"].item()) <= TOL
    assert abs(g_loss(fake).item() - v["loss_G_hinge"].item()) <= TOL
    assert abs(reconstruction_loss(fake_feats, src_feats, weights, "mse").item() - v["loss_rec_mse"].item()) <= 1e-6
    assert abs(reconstruction_loss(fake_feats, src_feats, weights, "l1").item() - v["loss_rec_l1"].item()) <= 1e-6
