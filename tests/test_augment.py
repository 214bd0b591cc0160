"""DiffAugment on the discriminator's inputs: what each transform does to an image, and its gradients."""

from __future__ import annotations

import pytest
import torch

from deepi2i.training.augment import diff_augment
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
    with pytest.raises(ValueError, match="choose from translation, cutout"):
        diff_augment(x, torch.zeros(2, 4), ["colour"])
    with pytest.raises(ValueError, match=r"u must be \[2, 4\]"):
        diff_augment(x, torch.zeros(3, 4), ["cutout"])
    with pytest.raises(ValueError, match="augment names unknown"):
        TrainConfig.from_dict({**TrainConfig(phases=_one_phase()).to_dict(), "augment": ["flip"]})


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
