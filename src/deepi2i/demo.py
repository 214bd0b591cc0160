"""`deepi2i demo`: see a translation in under a minute, with no data and no training.

Renders fresh Shapes inputs (a seed the shipped model never saw), translates each into every
class with the shipped model (or any Shapes export), writes the labelled grid, and scores every
translation against its ideal (the input re-rendered with the target's shape): class accuracy by
the shipped Shapes classifier, mask IoU and centre error, next to the same scores for the input
copied unchanged (perfect pose, wrong class). `train=True` first runs DeepI2I transfer from the
shipped source BigGAN on freshly rendered target data, then does the same on the new model.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from deepi2i._io import atomic_write, atomic_write_bytes
from deepi2i.data.shapes import SHAPE_NAMES, render_array
from deepi2i.data.shapes_benchmark import TARGET, image_params, make_shapes
from deepi2i.metrics.classifier import ImageClassifier, load_classifier
from deepi2i.metrics.pose import PoseAccumulator, pose_scores
from deepi2i.training import preset_config, train
from deepi2i.translate import Translator
from deepi2i.visualize import to_uint8, translation_grid

DEMO_SEED = 7  # inputs rendered with a seed unused by the training (0), validation (1) and test (2) data


@dataclass(frozen=True)
class DemoSummary:
    """Scores of the translations into classes other than the input's (means over all of them)."""

    model: str
    inputs: int
    translations: int
    class_accuracy: float  # % classified as their target by the Shapes classifier (chance: 100 / classes)
    iou: float  # mask IoU with the ideal translation
    center_error_px: float
    fg_color_error: float  # RGB distance of the shape's mean colour to the ideal's, 0-255
    copy_class_accuracy: float  # the same scores for the input copied unchanged
    copy_iou: float
    copy_center_error_px: float
    seconds: float

    def lines(self) -> list[str]:
        return [
            f"{self.translations} translations of {self.inputs} fresh inputs into the other classes:",
            f"  classified as the target class  {self.class_accuracy:5.1f}%   "
            f"(input copied: {self.copy_class_accuracy:.1f}%)",
            f"  mask IoU with the ideal         {self.iou:5.3f}    (input copied: {self.copy_iou:.3f})",
            f"  centre error                    {self.center_error_px:5.2f} px "
            f"(input copied: {self.copy_center_error_px:.2f} px)",
            f"  shape colour error (0-255)      {self.fg_color_error:5.1f}",
        ]


def render_inputs(
    class_names: list[str], n: int, resolution: int, seed: int = DEMO_SEED
) -> tuple[torch.Tensor, list[dict[str, Any]]]:
    """n target-domain images cycling through the model's classes: uint8 [n, 3, R, R] and their parameters."""
    unknown = [c for c in class_names if c not in SHAPE_NAMES]
    if unknown:
        raise ValueError(f"the demo needs a Shapes model; {unknown[:3]} are not Shapes classes")
    params = [image_params(TARGET, class_names[i % len(class_names)], i, resolution, seed) for i in range(n)]
    images = np.stack([render_array(p) for p in params])  # [n, R, R, 3]
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), [p.to_dict() for p in params]


def score(
    outputs: torch.Tensor,
    inputs: torch.Tensor,
    params: list[dict[str, Any]],
    class_names: list[str],
    classifier: tuple[ImageClassifier, list[str]] | None = None,
) -> dict[str, float]:
    """Class accuracy, IoU, centre and colour errors of outputs uint8 [N, T, 3, R, R] (T = all classes),
    and of the inputs copied, over the pairs whose target differs from the input's class.

    `classifier`: (model, its class names); default the shipped Shapes classifier."""
    classifier, clf_names = classifier or load_classifier()
    column = [clf_names.index(c) for c in class_names]  # model class t -> classifier class
    mine, copy = PoseAccumulator(), PoseAccumulator()
    hit = copy_hit = total = 0
    with torch.no_grad():
        pred = classifier(outputs.flatten(0, 1)).argmax(1).view(outputs.shape[:2])  # [N, T]
        copy_pred = classifier(inputs).argmax(1)  # [N]
    for i, p in enumerate(params):
        for t, name in enumerate(class_names):
            if name == p["shape"]:
                continue
            total += 1
            hit += int(pred[i, t] == column[t])
            copy_hit += int(copy_pred[i] == column[t])
            mine.add(pose_scores(outputs[i, t].permute(1, 2, 0).numpy(), p, name))
            copy.add(pose_scores(inputs[i].permute(1, 2, 0).numpy(), p, name))
    m, c = mine.means(), copy.means()
    return {
        "translations": total,
        "class_accuracy": 100.0 * hit / max(total, 1),
        "iou": m["iou"],
        "center_error_px": m["center_error_px"],
        "fg_color_error": m["fg_color_error"],
        "copy_class_accuracy": 100.0 * copy_hit / max(total, 1),
        "copy_iou": c["iou"],
        "copy_center_error_px": c["center_error_px"],
    }


def run_demo(
    out: str | Path,
    model: str | Path = "shapes",
    grid_inputs: int = 8,
    eval_inputs: int = 60,
    seed: int = 0,
    device: str | None = None,
    progress: bool = True,
) -> DemoSummary:
    """Write OUT/grid.png (grid_inputs inputs x every class) and OUT/summary.json; return the summary."""
    started = time.perf_counter()
    out = Path(out)
    translator = Translator.from_pretrained(model, device=device)
    names = translator.class_names
    n = max(grid_inputs, eval_inputs)
    inputs, params = render_inputs(names, n, translator.resolution)
    targets = list(range(len(names)))
    with tqdm(total=n * len(names), desc="translating", unit="img", disable=not progress) as bar:
        fake = translator.translate_tensor(inputs, targets, 1, seed, progress=bar.update)  # [N, T, 1, 3, R, R]
    grid = translation_grid(inputs[:grid_inputs], fake[:grid_inputs], names)
    atomic_write(out / "grid.png", lambda f: grid.save(f, format="PNG"))
    scores = score(to_uint8(fake[:eval_inputs, :, 0]), inputs[:eval_inputs], params[:eval_inputs], names)
    summary = DemoSummary(
        model=str(model),
        inputs=eval_inputs,
        seconds=time.perf_counter() - started,
        **scores,  # type: ignore[arg-type]
    )
    body = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(summary).items()}
    atomic_write_bytes(out / "summary.json", (json.dumps(body, indent=2) + "\n").encode())
    return summary


def train_demo_model(out: str | Path, kimg: float = 9.6, seed: int = 0, progress: bool = True) -> Path:
    """Render the Shapes target data and train DeepI2I on it from the shipped source; returns the export."""
    out = Path(out)
    data = out / "data"
    if not (data / "deepi2i_manifest.json").is_file():
        make_shapes(data, domain="target", resolution=64, seed=0, progress=progress)
    # no EMA: over a few hundred steps the preset's (decay 0.999) would still hold the starting weights
    config = preset_config(
        "shapes64", "translate", data, kimg=kimg, phase1_kimg=min(kimg / 4, 3.2), seed=seed, ema_decay=None
    )
    result = train(data, out / "run", config, "shapes-source", class_map="names", progress=progress)
    assert result.export is not None
    return result.export
