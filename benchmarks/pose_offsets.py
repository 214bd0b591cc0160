"""Where do translations put the shape? Centre offsets of a Shapes model's translations, by input and target class.

    python benchmarks/pose_offsets.py DATA MODEL [MODEL ...] [--per-class 150] [--seed 0]

DATA is a Shapes class folder (its test split gives the inputs and their poses), MODEL a DeepI2I export or a
shipped name. The first `--per-class` eligible inputs of each target class (the head of the evaluation's
interleaved list: every input class alike) are translated once each. Each translation's segmented shape is
compared with the ideal translation's (the input re-rendered as the target class, as the pose metric does).
Printed per model: the mean centre error, the mean offset (x right, y down, in pixels), the error left after
removing that constant offset, and the mean offset per input class and per target class. A constant offset is a
placement bias that the adversarial loss cannot see (it is translation invariant). An offset tied to an input
class says the translator misreads where that class's shapes are (the ideal shares the input's area centroid).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from deepi2i.data.shapes import ShapeParams, shape_mask
from deepi2i.metrics.inputs import eligible_inputs, load_split, shapes_params
from deepi2i.metrics.pose import centre_offset_px, segment_foreground
from deepi2i.metrics.protocol import translate_jobs
from deepi2i.networks.deepi2i import DeepI2I
from deepi2i.pretrained import resolve_model

Offsets = tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]


def offsets(model: DeepI2I, data: Path, per_class: int, seed: int) -> Offsets:
    """(output centroid − ideal centroid in px [N, 2], input class [N], target class [N], class names)."""
    test = load_split(data, model.config.resolution, "test", force_cache=True, progress=False)
    params, names, res = shapes_params(data, test), test.class_names, model.config.resolution
    assert test.cached is not None
    found, sources, targets = [], [], []
    for c, eligible in enumerate(eligible_inputs(list(test.targets), len(names), include_same_class=False)):
        chosen = eligible[:per_class]
        with torch.no_grad():
            out = translate_jobs(model, test.cached, c, [(i, 0) for i in chosen], seed)  # uint8 [n, 3, R, R]
        for image, i in zip(out.permute(0, 2, 3, 1).cpu().numpy(), chosen, strict=True):
            seg = segment_foreground(image)
            if not seg.any():
                continue
            ideal = shape_mask(ShapeParams.from_dict({**params[i], "resolution": res}), names[c])
            found.append(centre_offset_px(seg, ideal))
            sources.append(test.targets[i])
            targets.append(c)
    return np.array(found), np.array(sources), np.array(targets), list(names)


def by_class(d: np.ndarray, classes: np.ndarray, names: list[str]) -> str:
    """'arrow +2.6,+0.4  circle ...': the mean offset (x, y) of each class's translations."""
    means = {n: d[classes == k].mean(0) for k, n in enumerate(names) if (classes == k).any()}
    return "  ".join(f"{n} {m[0]:+.1f},{m[1]:+.1f}" for n, m in means.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--per-class", type=int, default=150, help="inputs per target class (default 150)")
    ap.add_argument("--seed", type=int, default=0, help="seed of z (default 0)")
    args = ap.parse_args()
    for name in args.models:
        model = DeepI2I.from_pretrained(resolve_model(name)).eval()
        d, sources, targets, names = offsets(model, args.data, args.per_class, args.seed)
        mean = d.mean(0)
        print(
            f"{name}: {len(d)} translations, centre error {np.linalg.norm(d, axis=1).mean():.2f} px, "
            f"mean offset (x, y) {mean[0]:+.2f}, {mean[1]:+.2f} px, "
            f"error after removing it {np.linalg.norm(d - mean, axis=1).mean():.2f} px"
        )
        print(f"  by input class:  {by_class(d, sources, names)}")
        print(f"  by target class: {by_class(d, targets, names)}")


if __name__ == "__main__":
    main()
