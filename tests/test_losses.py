"""Loss terms on hand-made inputs."""

from __future__ import annotations

import math

import pytest
import torch

from deepi2i.losses import color_loss, d_loss, g_loss, palette_loss, reconstruction_loss


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


def test_color_loss_sees_colours_and_place_but_not_the_shape_within_a_cell():
    src = torch.zeros(2, 3, 8, 8)  # 2 x 2 cells of 4 x 4 pixels
    src[0, 0, :4, :2] = 1.0  # input 0: a red vertical bar in the top-left cell; input 1: all black
    reshaped = torch.zeros_like(src)
    reshaped[0, 0, :2, :4] = 1.0  # a horizontal bar instead: same cell, same colour
    moved = torch.zeros_like(src)
    moved[0, 0, 4:, 4:6] = 1.0  # the bar in the bottom-right cell
    recoloured = torch.zeros_like(src)
    recoloured[0, 1, :4, :2] = 1.0  # green instead of red
    assert color_loss(src.clone(), src, grid=2).item() == 0
    assert color_loss(reshaped, src, grid=2).item() == 0  # the silhouette inside a cell is free
    assert color_loss(recoloured, src, grid=2).item() > 0
    assert color_loss(moved, src, grid=2).item() > 0
    assert color_loss(src.flip(0), src, grid=2).item() > 0  # each translation against its own input
    with pytest.raises(ValueError, match="shapes must match"):
        color_loss(src[:1], src)


def test_palette_loss_sees_colours_and_their_amounts_but_not_where_they_are():
    src = torch.zeros(2, 3, 8, 8)
    src[0, 0, :4, :2] = 1.0  # input 0: 8 red pixels (a vertical bar) on black; input 1: all black
    elsewhere = torch.zeros_like(src)
    elsewhere[0, 0, 6:, 4:] = 1.0  # 8 red pixels in another place and another shape
    recoloured = torch.zeros_like(src)
    recoloured[0, 1, :4, :2] = 1.0  # green instead of red
    grown = torch.zeros_like(src)
    grown[0, 0, :4, :4] = 1.0  # twice as much red
    assert palette_loss(src.clone(), src).item() == 0
    assert palette_loss(elsewhere, src).item() == 0  # the layout is free: the target's silhouette is its own
    assert palette_loss(recoloured, src).item() > palette_loss(grown, src).item() > 0
    assert palette_loss(src.flip(0), src).item() > 0  # each translation against its own input
    with pytest.raises(ValueError, match="shapes must match"):
        palette_loss(src[:1], src)


def test_palette_loss_of_one_pixel_is_the_mean_projected_colour_difference():
    """Sorting one pixel does nothing: the term is then mean_k |d_k . (a - b)| over the unit directions."""
    a, b = torch.tensor([0.5, -0.2, 0.1]), torch.tensor([-0.3, 0.4, 0.0])
    dirs = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [1, -1, 0], [1, 0, -1], [0, 1, -1]]).float()
    expected = ((dirs / dirs.norm(dim=1, keepdim=True)) @ (a - b)).abs().mean()
    torch.testing.assert_close(palette_loss(a.view(1, 3, 1, 1), b.view(1, 3, 1, 1)), expected)
