"""Pose and style preservation on Shapes: the ideal re-rendering of an image into another class
scores perfectly, blank, shifted or untranslated images do not.

Parameters come from the benchmark's own sampler (`image_params`), as `deepi2i shapes` writes them.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from deepi2i.data import SOURCE, TARGET, image_params, render_array, shape_mask
from deepi2i.metrics import mask_iou, pose_scores, segment_foreground
from deepi2i.metrics.pose import PoseAccumulator

R = 32


@pytest.mark.parametrize("index", range(3))
@pytest.mark.parametrize("target", ["square", "star5", "heart"])
def test_ideal_rerendering_on_a_plain_background_scores_perfectly(index, target):
    params = image_params(SOURCE, "circle", index, R, seed=0)
    s = pose_scores(render_array(params, shape=target), params.to_dict(), target)
    assert s.iou == 1.0 and s.center_error_px == 0.0 and not s.empty
    assert s.fg_color_error == 0.0 and s.bg_color_error == 0.0 and s.ideal_l1 == 0.0


@pytest.mark.parametrize("index", range(4))
def test_ideal_rerendering_on_a_gradient_background_scores_nearly_perfectly(index):
    params = image_params(TARGET, "circle", index, R, seed=0)
    s = pose_scores(render_array(params, shape="star5"), params, "star5")
    assert s.iou > 0.98 and s.center_error_px < 0.15
    assert s.ideal_l1 == 0.0


def test_scores_rescale_the_parameters_to_the_translation_resolution():
    params = image_params(SOURCE, "triangle", 0, 64, seed=0)
    small = render_array(replace(params, resolution=R), shape="hexagon")
    s = pose_scores(small, params, "hexagon")
    assert s.ideal_l1 == 0.0  # compared with the 32 px ideal, not the 64 px one
    assert s.iou > 0.98 and s.center_error_px < 0.1


def test_blank_image_gives_an_empty_mask_and_bad_scores():
    params = image_params(TARGET, "circle", 0, R, seed=0)
    s = pose_scores(np.full((R, R, 3), 128, np.uint8), params, "square")
    assert s.empty and s.iou == 0.0
    assert math.isnan(s.center_error_px) and math.isnan(s.fg_color_error)
    assert s.ideal_l1 > 30


def test_untranslated_input_scores_worse_than_the_ideal():
    params = image_params(TARGET, "circle", 1, R, seed=0)
    s = pose_scores(render_array(params), params, "star5")
    assert not s.empty and s.iou < 0.6 and s.ideal_l1 > 10


def test_a_shift_shows_as_centre_error_in_pixels():
    params = image_params(SOURCE, "circle", 1, R, seed=0)  # plain background: a roll only moves the shape
    shifted = np.roll(render_array(params, shape="square"), 3, axis=1)
    s = pose_scores(shifted, params, "square")
    assert s.center_error_px == pytest.approx(3.0, abs=0.3)
    assert s.iou < 0.8


def test_segmentation_recovers_the_shape_mask_whatever_the_colours():
    for domain in (SOURCE, TARGET):
        params = image_params(domain, "cross", 2, R, seed=0)
        assert mask_iou(segment_foreground(render_array(params)), shape_mask(params)) > 0.97


def test_mask_iou_and_the_accumulator_skip_nan():
    a = np.zeros((4, 4), bool)
    b = a.copy()
    assert mask_iou(a, b) == 1.0  # both empty
    a[:2], b[1:3] = True, True
    assert mask_iou(a, b) == pytest.approx(1 / 3)
    params = image_params(SOURCE, "circle", 0, R, seed=0)
    acc = PoseAccumulator()
    acc.add(pose_scores(render_array(params, shape="square"), params, "square"))
    acc.add(pose_scores(np.zeros((R, R, 3), np.uint8), params, "square"))
    means = acc.means()
    assert means["iou"] == 0.5 and means["empty"] == 0.5
    assert means["center_error_px"] == 0.0  # the blank image's NaN centre is skipped, not averaged
    assert math.isnan(PoseAccumulator().means()["iou"])


def test_pose_rejects_non_rgb_images():
    params = image_params(SOURCE, "circle", 0, R, seed=0)
    with pytest.raises(ValueError, match="RGB"):
        pose_scores(np.zeros((R, R), np.uint8), params, "square")
