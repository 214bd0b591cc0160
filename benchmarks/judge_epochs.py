"""How well does the RC judge know the real images? The evaluation's classifier recipe trained on a split's real
training images for several epoch counts (seed 0), scored on the split's real test images, per class.

    python benchmarks/judge_epochs.py DATA [--epochs 5,10,20] [--resolution 64]

The evaluation trains its judge for a fixed number of epochs (`--classifier-epochs`), so a split with fewer
training images gets fewer optimiser steps. A judge that misses real images of a class caps RC on that class.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from deepi2i.metrics.classifier import ClassifierConfig, accuracy, predict, train_classifier
from deepi2i.metrics.inputs import Uint8Split, load_split


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", type=Path, help="a class folder with a train/test split")
    ap.add_argument("--epochs", default="5,10,20", help="comma list of epoch counts (default 5,10,20)")
    ap.add_argument("--resolution", type=int, default=64, help="image side the judge sees (default 64)")
    args = ap.parse_args()
    train = load_split(args.data, args.resolution, "train", force_cache=True, progress=False)
    test = load_split(args.data, args.resolution, "test", force_cache=True, progress=False)
    names = test.class_names
    for epochs in (int(e) for e in args.epochs.split(",")):
        judge = train_classifier(Uint8Split(train), len(names), ClassifierConfig(epochs=epochs), progress=False)
        with torch.no_grad():
            preds, labels = predict(judge.eval(), Uint8Split(test))
        acc, recall = accuracy(preds, labels, len(names))
        per_class = ", ".join(f"{n} {100 * r:.0f}" for n, r in zip(names, recall, strict=True))
        print(f"{epochs} epochs ({len(train)} training images): {100 * acc:.1f}% of real test images; {per_class}")


if __name__ == "__main__":
    main()
