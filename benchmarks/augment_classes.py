"""Does a flip or a quarter turn keep an image in its class? A judge trained on real images says, per class.

    python benchmarks/augment_classes.py --data WORK/trg-val --classifier WORK/eval-cache-val/classifier-small-*.pt

`--augment flip` / `rotate90` transform every image D sees, real and fake alike. If the data does not
already hold each image's mirror or turns, the generator may learn to draw them ("leaking", Karras et
al. 2020). The RC classifier that `deepi2i evaluate` trains on a split's real training images (cached in
its --cache-dir) is the judge: its per-class recall on the split's real test images, as they are and
transformed. A class whose recall falls under a transform is one that transform changes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import torch

from deepi2i.metrics.classifier import ImageClassifier, accuracy, predict
from deepi2i.metrics.inputs import Uint8Split, load_split

TRANSFORMS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "as is": lambda x: x,
    "flip": lambda x: x.flip(3),
    "turn 90°": lambda x: torch.rot90(x, 1, (2, 3)),
    "turn 180°": lambda x: torch.rot90(x, 2, (2, 3)),
    "turn 270°": lambda x: torch.rot90(x, 3, (2, 3)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, type=Path, help="a split folder with real images (e.g. WORK/trg-val)")
    ap.add_argument("--classifier", required=True, help="a cached RC classifier (classifier-*.pt) trained on it")
    ap.add_argument("--split", default="test", choices=("train", "test"))
    ap.add_argument("--resolution", type=int, default=64)
    a = ap.parse_args()

    judge = ImageClassifier.load(a.classifier).eval()
    ds = load_split(a.data, a.resolution, a.split, progress=False)
    names = ds.class_names
    print("| transform | all | " + " | ".join(names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for label, t in TRANSFORMS.items():
        with torch.no_grad():
            preds, labels = predict(lambda b, t=t: judge(t(b)), Uint8Split(ds), batch_size=256)  # uint8 [B, 3, R, R]
        overall, per_class = accuracy(preds, labels, len(names))
        print(f"| {label} | {overall * 100:.1f} | " + " | ".join(f"{r * 100:.0f}" for r in per_class) + " |")


if __name__ == "__main__":
    main()
