"""DiffAugment on the discriminator's inputs: what each transform does to an image, and its gradients."""

from __future__ import annotations

import pytest
import torch

from deepi2i.training.augment import diff_augment, draws
from deepi2i.training.config import TrainConfig


def dot_image(r: int = 16, y: int = 5, x: int = 9) -> torch.Tensor:
    img = torch.zeros(1, 3, r, r)
    img[0, :, y, x] = 1.0
    return img


def test_translation_moves_the_image_by_at_most_an_eighth_and_fills_with_zeros() -> None:
    img = dot_image()  # R 16: shifts of -2..2 pixels
    none = torch.tensor([[0.5, 0.5, 0.0, 0.0]])  # u 0.5 is the zero shift
    assert torch.equal(diff_augment(img, none, ["translation"]), img)
    most = torch.tensor([[0.999, 0.0, 0.0, 0.0]])  # +2 rows, -2 columns
    out = diff_augment(img, most, ["translation"])
    assert out[0, 0].nonzero().tolist() == [[7, 7]]
    edge = torch.ones(1, 3, 16, 16)
    shifted = diff_augment(edge, most, ["translation"])
    assert shifted[0, :, :2].abs().sum() == 0 and shifted[0, :, :, -2:].abs().sum() == 0  # zero filled
    assert shifted[0, :, 2:, :-2].eq(1).all()


def test_cutout_zeroes_a_square_of_half_the_side() -> None:
    img = torch.ones(2, 3, 16, 16)
    u = torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.0, 0.0]])  # centred; at the top-left corner (clipped)
    out = diff_augment(img, u, ["cutout"])
    assert int((out[0, 0] == 0).sum()) == 8 * 8
    assert int((out[1, 0] == 0).sum()) == 4 * 4
    assert out[0, 0, 4:12, 4:12].eq(0).all()


def test_gradients_reach_the_kept_pixels_only() -> None:
    x = torch.randn(3, 3, 16, 16, requires_grad=True)
    u = torch.rand(3, 4, generator=torch.Generator().manual_seed(0))
    diff_augment(x, u, ["translation", "cutout"]).sum().backward()
    assert x.grad is not None
    assert set(x.grad.unique().tolist()) <= {0.0, 1.0} and x.grad.sum() > 0.5 * x.numel() / 2


def test_bad_policies_and_draws_are_refused_with_the_choices() -> None:
    x = torch.zeros(2, 3, 16, 16)
    with pytest.raises(ValueError, match="choose from translation, cutout, color, flip, rotate90"):
        diff_augment(x, torch.zeros(2, 4), ["colour"])
    with pytest.raises(ValueError, match=r"u must be \[2, ≥4\]"):
        diff_augment(x, torch.zeros(3, 4), ["cutout"])
    with pytest.raises(ValueError, match="augment names unknown"):
        TrainConfig.from_dict({**TrainConfig(phases=_one_phase()).to_dict(), "augment": ["zoom"]})


def _one_phase():
    from deepi2i.training.config import PhaseConfig

    return (PhaseConfig("all", 1.0, ("generator", "discriminator")),)


def test_the_augment_setting_survives_the_run_config() -> None:
    config = TrainConfig(phases=_one_phase(), augment=("translation", "cutout"))
    assert TrainConfig.from_dict(config.to_dict()).augment == ("translation", "cutout")


def test_the_layout_comes_back_as_it_went_in() -> None:
    """--channels-last runs keep their layout through the augmentation (and the values do not depend on it)."""
    x = torch.randn(2, 3, 16, 16)
    u = torch.rand(2, 4, generator=torch.Generator().manual_seed(1))
    out = diff_augment(x.contiguous(memory_format=torch.channels_last), u, ["translation", "cutout"])
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out, diff_augment(x, u, ["translation", "cutout"]))


def test_each_policy_reads_its_own_draws_so_adding_one_keeps_the_others_streams() -> None:
    """Runs with translation + cutout draw 4 numbers per image, as before color, flip and rotate90 existed."""
    assert draws(["translation", "cutout"]) == draws(["translation"]) == draws(["cutout"]) == 4
    assert draws(["color", "translation", "cutout"]) == 7 and draws(["rotate90"]) == 9
    x = torch.randn(2, 3, 16, 16)
    u = torch.rand(2, 9, generator=torch.Generator().manual_seed(2))
    only_geometry = diff_augment(x, u[:, :4], ["translation", "cutout"])
    with_identity_colour = u.clone()
    with_identity_colour[:, 4:7] = torch.tensor([0.5, 0.5, 0.5])  # brightness +0, saturation ×1, contrast ×1
    out = diff_augment(x, with_identity_colour[:, :7], ["color", "translation", "cutout"])
    torch.testing.assert_close(out, only_geometry)


def test_color_moves_brightness_saturation_and_contrast_within_diffaugments_ranges() -> None:
    x = torch.rand(1, 3, 8, 8) * 2 - 1
    brighter = diff_augment(x, torch.tensor([[0, 0, 0, 0, 1.0, 0.5, 0.5]]), ["color"])
    torch.testing.assert_close(brighter, x + 0.5)
    grey = diff_augment(x, torch.tensor([[0, 0, 0, 0, 0.5, 0.0, 0.5]]), ["color"])  # saturation ×0
    torch.testing.assert_close(grey, x.mean(1, keepdim=True).expand_as(x))
    flat = diff_augment(x, torch.tensor([[0, 0, 0, 0, 0.5, 0.5, 0.0]]), ["color"])  # contrast ×0.5
    torch.testing.assert_close(flat - flat.mean(), (x - x.mean()) * 0.5)


def test_flip_and_rotate90_move_pixels_without_changing_them() -> None:
    img = dot_image()  # the dot at row 5, column 9 of 16
    where = lambda out: out[0, 0].nonzero().tolist()  # noqa: E731
    u = torch.zeros(1, 9)
    assert where(diff_augment(img, u, ["flip"])) == [[5, 6]]  # mirrored: column 15 - 9
    u[0, 7] = 0.9  # no flip
    assert where(diff_augment(img, u, ["flip"])) == [[5, 9]]
    turns = [where(diff_augment(img, u.index_fill(1, torch.tensor([8]), k / 4 + 0.01), ["rotate90"])) for k in range(4)]
    assert turns == [[[5, 9]], [[6, 5]], [[10, 6]], [[9, 10]]]  # counter-clockwise quarter turns
    x = torch.randn(4, 3, 16, 16)
    out = diff_augment(x, torch.rand(4, 9, generator=torch.Generator().manual_seed(3)), ["flip", "rotate90"])
    torch.testing.assert_close(out.flatten(1).sort(1).values, x.flatten(1).sort(1).values)  # a permutation
    with pytest.raises(ValueError, match="square"):
        diff_augment(torch.zeros(1, 3, 8, 16), torch.zeros(1, 9), ["rotate90"])
