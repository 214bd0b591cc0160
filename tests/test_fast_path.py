"""The fast path (cached eval-mode spectral norm, shortcut before upsampling) gives the eager path's
outputs and gradients: it reorders work, never changes the maths."""

from __future__ import annotations

import copy

import pytest
import torch

from deepi2i.config import tiny
from deepi2i.networks import DeepI2I
from deepi2i.networks.layers import SNConv2d, fast_path


def _model(seed: int = 0) -> DeepI2I:
    torch.manual_seed(seed)
    return DeepI2I(tiny(resolution=32, ch=8, n_classes=3, attention=(16,)))


def _inputs(model: DeepI2I) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 3, 32, 32, generator=g) * 2 - 1
    z = torch.randn(4, model.config.generator.dim_z_used, generator=g)
    return x, torch.tensor([0, 1, 2, 1]), z


@pytest.mark.parametrize("train", [False, True])
def test_fast_and_eager_paths_agree_on_outputs_and_gradients(train):
    fast, eager = _model(), _model()
    x, y, z = _inputs(fast)
    results = []
    for model, enabled in ((fast, True), (eager, False)):
        model.train(train)
        with fast_path(enabled):
            out = model(x, y, z)
            out.square().mean().backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        results.append((out.detach(), grads, {k: v.clone() for k, v in model.state_dict().items()}))
    (out_f, grads_f, state_f), (out_e, grads_e, state_e) = results
    torch.testing.assert_close(out_f, out_e, rtol=1e-5, atol=1e-5)
    assert grads_f.keys() == grads_e.keys() and grads_f
    for name in grads_f:
        torch.testing.assert_close(grads_f[name], grads_e[name], rtol=1e-4, atol=1e-6, msg=name)
    for name in state_f:  # train mode writes u0 / sv0 / BN stats the same way on both paths
        torch.testing.assert_close(state_f[name], state_e[name], rtol=1e-5, atol=1e-6, msg=name)


def test_cached_spectral_norm_follows_weight_updates():
    """An eval-mode layer reuses W / sigma only while W and u0 are unchanged."""
    torch.manual_seed(0)
    conv = SNConv2d(4, 4).eval().requires_grad_(False)
    reference = copy.deepcopy(conv)
    x = torch.randn(2, 4, 8, 8)
    change = torch.randn_like(conv.weight)  # not a rescaling: W / sigma(W) ignores those
    with fast_path(True):
        first = conv(x)
        assert torch.equal(conv(x), first)  # served from the cache
        with torch.no_grad():
            conv.weight.add_(change)  # in place, as an optimizer or load_state_dict would
        moved = conv(x)
    with fast_path(False):
        reference.weight.data.add_(change)
        torch.testing.assert_close(moved, reference(x))
    assert not torch.allclose(moved, first)


def test_a_cache_made_in_inference_mode_does_not_leak_into_autograd():
    """Frozen eval-mode networks in training take gradients through their activations."""
    model = _model().eval().requires_grad_(False)
    x, y, z = _inputs(model)
    with fast_path(True):
        with torch.inference_mode():
            model(x, y, z)
        x = x.clone().requires_grad_(True)
        model(x, y, z).sum().backward()  # would raise if an inference tensor were saved for backward
    assert x.grad is not None and torch.isfinite(x.grad).all()
