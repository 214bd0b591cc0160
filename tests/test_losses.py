"""Loss terms on hand-made inputs."""

from __future__ import annotations

import math

import pytest
import torch

from deepi2i.losses import d_loss, g_loss, reconstruction_loss


def test_hinge_terms():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-2.0, 0.5])
    assert d_loss(real, fake).item() == pytest.approx((0 + 1) / 2 + (0 + 1.5) / 2)
    assert g_loss(fake).item() == pytest.approx(0.75)


def test_log_form_is_eq1():
    real, fake = torch.tensor([0.0]), torch.tensor([0.0])
    assert d_loss(real, fake, "log").item() == pytest.approx(2 * math.log(2))
    assert g_loss(torch.tensor([0.0]), "log").item() == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="choose 'hinge' or 'log'"):
        d_loss(real, fake, "wgan")


def test_reconstruction_pairs_each_translation_with_its_own_input():
    src = {4: torch.stack([torch.zeros(1, 4, 4), torch.ones(1, 4, 4)])}  # two inputs
    same = {4: src[4].clone()}
    swapped = {4: src[4].flip(0)}  # translation i compared with input 1 - i would give 0
    assert reconstruction_loss(same, src, {4: 0.1}).item() == 0
    assert reconstruction_loss(swapped, src, {4: 0.1}).item() == pytest.approx(0.1)
    assert reconstruction_loss(swapped, src, {4: 0.1}, "mse").item() == pytest.approx(0.1)


def test_reconstruction_weights_per_level_and_errors():
    fake = {8: torch.full((1, 1, 8, 8), 2.0), 4: torch.full((1, 1, 4, 4), 2.0)}
    src = {8: torch.zeros(1, 1, 8, 8), 4: torch.zeros(1, 1, 4, 4)}
    assert reconstruction_loss(fake, src, {8: 0.01, 4: 0.1}).item() == pytest.approx(0.01 * 2 + 0.1 * 2)
    with pytest.raises(ValueError, match="levels differ"):
        reconstruction_loss(fake, {8: src[8]}, {8: 1.0, 4: 1.0})
    with pytest.raises(ValueError, match="vs input features"):
        reconstruction_loss({4: torch.zeros(2, 1, 4, 4)}, {4: torch.zeros(1, 1, 4, 4)}, {4: 1.0})
